"""Bad input fails before training with a ValueError naming what is wrong."""

from __future__ import annotations

import functools

import mxnet as mx
import numpy as np
import pytest

import momentumlab as ml
from momentumlab.data._arrays import check_arrays


def _nd(a: object) -> mx.nd.NDArray:
    return mx.nd.array(np.asarray(a, dtype=np.float32), dtype="float32")


@pytest.mark.parametrize(
    ("features", "labels", "n_classes", "message"),
    [
        ([[0.0], [np.nan]], [0.0, 1.0], None, r"features must be finite, got 1 NaN/inf value\(s\)"),
        ([[0.0], [1.0]], [np.inf, 1.0], None, r"labels must be finite, got 1 NaN/inf value\(s\)"),
        (
            [[0.0], [1.0], [2.0]],
            [0.0, 1.0],
            None,
            r"labels must have the same length as features \(3\), got 2",
        ),
        (np.zeros((0, 2)), np.zeros(0), None, "features must have at least 1 sample and 1 feature"),
        (
            [[0.0], [1.0]],
            [0.0, 2.0],
            2,
            r"labels must be class indices in \[0, 2\), got 1 label\(s\) outside",
        ),
        ([[0.0], [1.0]], [0.0, -1.0], 2, r"labels must be class indices in \[0, 2\)"),
        ([[0.0], [1.0]], [0.0, 0.5], 2, "labels must be whole-number class indices, got e.g. 0.5"),
        ([[0.0], [1.0]], [[0.0], [1.0]], 2, "labels must be 1-D class indices for classification"),
        ([0.0, 1.0], [0.0, 1.0], None, r"features must be 2-D \(n_samples, n_features\)"),
    ],
)
def test_array_data_rejects_bad_arrays(
    features: object, labels: object, n_classes: int | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ml.data.ArrayData(_nd(features), _nd(labels), n_classes=n_classes)


def test_array_data_rejects_wrong_dtypes() -> None:
    X = mx.nd.zeros((2, 1))
    with pytest.raises(ValueError, match="labels must have dtype float32, got int32"):
        ml.data.ArrayData(X, mx.nd.array([0, 1], dtype="int32"), n_classes=2)
    with pytest.raises(ValueError, match="features must have dtype float32, got float64"):
        ml.data.ArrayData(mx.nd.zeros((2, 1), dtype="float64"), mx.nd.zeros(2))
    with pytest.raises(ValueError, match="labels must have a floating dtype, got int64"):
        check_arrays(np.zeros((2, 1)), np.array([0, 1]))


def test_classification_arrays_accepts_integer_labels_and_rejects_others() -> None:
    d = ml.data.classification_arrays(np.zeros((3, 2)), np.array([0, 2, 1]))
    assert d.n_classes == 3
    assert d.labels.dtype == np.float32
    with pytest.raises(ValueError, match="labels must have a floating or integer dtype, got bool"):
        ml.data.classification_arrays(np.zeros((2, 2)), np.array([True, False]))
    with pytest.raises(ValueError, match=r"labels must be class indices in \[0, 2\)"):
        ml.data.classification_arrays(np.zeros((2, 2)), np.array([0, 5]), n_classes=2)
    with pytest.raises(ValueError, match="n_classes must be an integer >= 2, got 1"):
        ml.data.classification_arrays(np.zeros((2, 2)), np.array([0, 0]), n_classes=1)
    with pytest.raises(ValueError, match="n_classes must be None for regression data"):
        ml.data.LinearData(mx.nd.zeros((2, 1)), mx.nd.zeros(2), n_classes=2)


def _problem(**kw: object) -> ml.problems.Problem:
    data = ml.data.classification_arrays(np.eye(4, 3), np.array([0, 1, 2, 0]))
    base: dict[str, object] = {
        "name": "toy",
        "data": data,
        "heldout": data,
        "make_net": functools.partial(ml.models.MLP, 3, (), 3),
        "make_loss": mx.gluon.loss.SoftmaxCrossEntropyLoss,
        "metric": "accuracy",
        "output_size": 3,
    }
    base.update(kw)
    return ml.problems.Problem(**base)  # type: ignore[arg-type]


def test_problem_checks_its_parts() -> None:
    reg = ml.data.from_arrays(np.eye(4, 3), np.zeros(4))
    with pytest.raises(ValueError, match="heldout must have n_features=3 like data, got 2"):
        _problem(heldout=ml.data.classification_arrays(np.zeros((2, 2)), np.array([0, 2])))
    with pytest.raises(ValueError, match="heldout must have n_classes=3 like data, got None"):
        _problem(heldout=reg)
    with pytest.raises(ValueError, match="metric 'accuracy' needs classification data"):
        _problem(data=reg, heldout=reg)
    with pytest.raises(ValueError, match="heldout must be given when metric is set"):
        _problem(heldout=None)
    with pytest.raises(ValueError, match="output_size must be an integer >= 1, got 0"):
        _problem(output_size=0)
    assert "name='toy'" in repr(_problem())


def test_net_whose_output_does_not_fit_fails_before_training() -> None:
    config = ml.RunConfig(
        learning_rate=0.2,
        momentum=0.9,
        init_sigma=1.0,
        max_records_per_epoch=None,
        batch_size=2,
        period=2,
        epochs=1,
    )
    # 2 logits for 3 classes: SoftmaxCrossEntropyLoss would silently clip the label
    bad = _problem(make_net=functools.partial(ml.models.MLP, 3, (), 2))
    with pytest.raises(ValueError, match="net output must have 3 value\\(s\\) per example for problem 'toy'"):
        ml.train(config, bad)
    # a regression net of the wrong width fails inside the loss
    data = ml.data.make_linear_regression(n_samples=10, seed=0)
    with pytest.raises(ValueError, match="net output must fit the loss and labels"):
        ml.train(config, data, net=ml.models.MLP(2, (), 3), initialize=True)
    result = ml.train(config, _problem())  # the right net trains
    assert result.n_steps == 2
