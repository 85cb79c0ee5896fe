"""Data generators and wrappers."""

from __future__ import annotations

import mxnet as mx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import momentumlab as ml


def test_chapter_data_has_the_chapter_shape_and_truth() -> None:
    data = ml.data.make_linear_regression(seed=0)
    assert (data.n_samples, data.n_features, data.n_outputs) == (1000, 2, 1)
    assert data.features.dtype == np.float32
    assert data.labels.dtype == np.float32
    assert data.labels.shape == (1000,)
    assert data.true_weight is not None
    assert data.true_weight.tolist() == [[2.0, -3.4]]
    assert data.true_bias is not None
    assert data.true_bias.tolist() == [4.2]
    X, y = data.numpy()
    residual = y - (X.astype(np.float64) @ np.array([2.0, -3.4]) + 4.2)
    assert 0.008 < residual.std() < 0.012  # the 0.01 noise
    assert abs(X.mean()) < 0.1
    assert 0.9 < X.std() < 1.1
    assert isinstance(data.dataset, mx.gluon.data.ArrayDataset)
    assert len(data.dataset) == 1000


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_same_seed_same_data_different_seed_differs(seed: int) -> None:
    a = ml.data.make_linear_regression(n_samples=20, seed=seed)
    b = ml.data.make_linear_regression(n_samples=20, seed=seed)
    c = ml.data.make_linear_regression(n_samples=20, seed=seed + 1)
    np.testing.assert_array_equal(a.features.asnumpy(), b.features.asnumpy())
    np.testing.assert_array_equal(a.labels.asnumpy(), b.labels.asnumpy())
    assert not np.array_equal(a.features.asnumpy(), c.features.asnumpy())


def test_a_generator_seed_is_used_as_is() -> None:
    rng = np.random.default_rng(5)
    a = ml.data.make_linear_regression(n_samples=5, seed=rng)
    b = ml.data.make_linear_regression(n_samples=5, seed=rng)
    assert not np.array_equal(a.features.asnumpy(), b.features.asnumpy())


def test_several_outputs() -> None:
    data = ml.data.make_linear_regression(
        n_samples=50,
        weight=np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]]),
        bias=[0.5, -0.5],
        noise=0.0,
        seed=1,
    )
    assert (data.n_features, data.n_outputs) == (3, 2)
    X, y = data.numpy()
    assert data.true_weight is not None
    assert data.true_bias is not None
    np.testing.assert_allclose(y, X @ data.true_weight.T + data.true_bias, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        ({"n_samples": 0}, ValueError, r"n_samples must be an integer >= 1, got 0"),
        ({"n_samples": 1.5}, TypeError, r"n_samples must be an integer, got 1.5"),
        ({"noise": -0.1}, ValueError, r"noise must be >= 0.0, got -0.1"),
        ({"noise": float("nan")}, ValueError, r"noise must be a finite number >= 0.0, got nan"),
        ({"weight": [[[1.0]]]}, ValueError, r"weight must be a finite 1-D or 2-D array of numbers, got sh"),
        ({"weight": [1.0, float("inf")]}, ValueError, r"weight\[1\] must be a finite number, got inf"),
        ({"weight": "abc"}, TypeError, r"weight must be a finite 1-D or 2-D array of numbers, got 'abc'"),
        ({"noise": 1e300}, ValueError, r"noise=1e\+300 makes the labels non-finite"),
        ({"bias": 1e300, "noise": 1e300}, ValueError, r"bias=1e\+300 and noise=1e\+300 make the labels"),
        ({"bias": [1.0, 2.0]}, ValueError, r"bias must have shape \(1,\) to match weight, got shape \(2,\)"),
        ({"seed": -3}, ValueError, r"seed must be an int >= 0, a numpy.random.Generator or None, got -3"),
        ({"seed": "x"}, TypeError, r"seed must be an int >= 0"),
    ],
)
def test_generator_rejects_bad_arguments(
    kwargs: dict[str, object], exc: type[Exception], message: str
) -> None:
    with pytest.raises(exc, match=message):
        ml.data.make_linear_regression(**kwargs)  # type: ignore[arg-type]


def test_from_arrays_accepts_numpy_and_mxnet() -> None:
    X = np.random.default_rng(0).standard_normal((10, 3))
    y = X.sum(axis=1)
    a = ml.data.from_arrays(X, y, name="mine")
    b = ml.data.from_arrays(mx.nd.array(X), mx.nd.array(y), name="mine")
    assert a.features.dtype == np.float32
    assert (a.n_samples, a.n_features) == (10, 3)
    np.testing.assert_array_equal(a.features.asnumpy(), b.features.asnumpy())
    assert a.description == b.description
    assert a.description["sha256"] != ml.data.from_arrays(X, y + 1).description["sha256"]
    assert a.true_weight is None


@pytest.mark.parametrize(
    ("X", "y", "exc", "message"),
    [
        (
            np.ones((4, 2)),
            np.ones(3),
            ValueError,
            r"labels must have the same length as features \(4\), got 3",
        ),
        (
            np.ones(4),
            np.ones(4),
            ValueError,
            r"features must be 2-D \(n_samples, n_features\), got shape \(4,\)",
        ),
        (np.ones((4, 2)), np.ones((4, 1, 1)), ValueError, r"labels must be 1-D .* got shape \(4, 1, 1\)"),
        (np.ones((0, 2)), np.ones(0), ValueError, r"features must have at least 1 sample"),
        (
            np.ones((4, 2), dtype=int),
            np.ones(4),
            TypeError,
            r"features must have a floating dtype.*got int64",
        ),
        (np.ones((4, 2)), np.ones(4, dtype=bool), TypeError, r"labels must have a floating dtype.*got bool"),
        (np.array([[1.0, np.nan]]), np.ones(1), ValueError, r"features must be finite, got 1 NaN/inf value"),
        (np.ones((2, 2)), np.array([1.0, np.inf]), ValueError, r"labels must be finite, got 1 NaN/inf value"),
        ([[1.0, 2.0]], [1.0], TypeError, r"features must be a numpy.ndarray or mxnet.nd.NDArray, got list"),
    ],
)
def test_from_arrays_rejects_bad_input(X: object, y: object, exc: type[Exception], message: str) -> None:
    with pytest.raises(exc, match=message):
        ml.data.from_arrays(X, y)


def test_data_is_frozen() -> None:
    data = ml.data.make_linear_regression(n_samples=3, seed=0)
    with pytest.raises(AttributeError):
        data.noise = 1.0  # type: ignore[misc]


def test_data_keeps_numpy_and_makes_one_mxnet_view_on_demand() -> None:
    X = np.arange(6, dtype=np.float32).reshape(3, 2)
    y = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    data = ml.data.LinearData(X, y, noise=0.5)
    X[0, 0] = 99.0  # the caller's array is copied, not aliased
    Xn = data.numpy()[0]
    assert Xn[0, 0] == 0.0
    Xn[0, 0] = 7.0  # numpy() hands out a copy
    assert data.numpy()[0][0, 0] == 0.0
    assert isinstance(data.features, mx.nd.NDArray)
    assert data.features is data.features  # made once
    np.testing.assert_array_equal(data.features.asnumpy(), data.numpy()[0])
    np.testing.assert_array_equal(data.labels.asnumpy(), y)
    given = mx.nd.array(data.numpy()[0]), mx.nd.array(y)
    wrapped = ml.data.LinearData(*given)
    assert wrapped.features is given[0]  # NDArrays given are the view as they are
    assert wrapped.labels is given[1]


def test_data_pickles_without_its_mxnet_view() -> None:
    import pickle

    data = ml.data.make_conditioned_regression(20, 2, condition_number=5.0, seed=0)
    _ = data.features
    back = pickle.loads(pickle.dumps(data))
    assert type(back) is ml.data.LinearData
    assert back.__dict__["_nd"] is None
    for a, b in zip(back.numpy(), data.numpy(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert back.description == data.description
    assert back.true_weight is not None
    assert data.true_weight is not None
    np.testing.assert_array_equal(back.true_weight, data.true_weight)
    np.testing.assert_array_equal(back.features.asnumpy(), data.features.asnumpy())
