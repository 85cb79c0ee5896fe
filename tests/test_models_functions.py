"""The 2-D test functions, the MLP and the seeded initialisers."""

from __future__ import annotations

import mxnet as mx
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import momentumlab as ml

FUNCTIONS = [ml.models.Bowl, ml.models.Rosenbrock, ml.models.Beale, ml.models.Saddle]


def _grad(block: ml.models.Function2D, point: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    block.initialize(mx.init.Zero())
    block.xy.set_data(mx.nd.array(point, dtype="float32"))
    with mx.autograd.record():
        out = block(mx.nd.zeros((1, 1)))
    out.backward()
    return np.asarray(block.xy.grad().asnumpy(), dtype=np.float64)


@pytest.mark.parametrize("cls", FUNCTIONS)
@settings(max_examples=15, deadline=None)
@given(x=st.floats(-1.5, 1.5), y=st.floats(-1.5, 1.5))
def test_autograd_gradient_matches_finite_differences(
    cls: type[ml.models.Function2D], x: float, y: float
) -> None:
    block = cls()
    g = _grad(block, np.array([x, y]))
    h = 1e-6
    fd = np.array(
        [
            (block.value(x + h, y) - block.value(x - h, y)) / (2 * h),
            (block.value(x, y + h) - block.value(x, y - h)) / (2 * h),
        ]
    )
    np.testing.assert_allclose(g, fd, rtol=1e-3, atol=1e-3 * (1 + np.abs(fd).max()))


@pytest.mark.parametrize("cls", FUNCTIONS)
def test_minimum_is_a_stationary_point_with_its_value(cls: type[ml.models.Function2D]) -> None:
    block = cls()
    assert cls.minimum is not None
    assert float(block.value(*cls.minimum)) == pytest.approx(cls.minimum_value, abs=1e-12)
    np.testing.assert_allclose(_grad(cls(), np.asarray(cls.minimum)), 0.0, atol=1e-5)
    xs = np.linspace(*cls.bounds[0], 41)
    ys = np.linspace(*cls.bounds[1], 41)
    grid = block.value(*np.meshgrid(xs, ys))
    assert grid.min() >= cls.minimum_value - 1e-12  # no lower point in the picture's frame


def test_block_returns_one_value_per_row_and_objective_loss_ignores_labels() -> None:
    block = ml.models.Rosenbrock()
    block.initialize(mx.init.Zero())
    out = block(mx.nd.zeros((3, 1)))
    assert out.shape == (3, 1)
    np.testing.assert_allclose(out.asnumpy().ravel(), [1.0, 1.0, 1.0])
    loss = ml.models.ObjectiveLoss()(out, mx.nd.array([5.0, -2.0, 7.0]))
    np.testing.assert_array_equal(loss.asnumpy(), [1.0, 1.0, 1.0])


def test_bowl_checks_its_coefficients() -> None:
    with pytest.raises(ValueError, match=r"b must be > 0\.0, got 0\.0"):
        ml.models.Bowl(b=0.0)


def test_mlp_shapes_names_and_validation() -> None:
    net = ml.models.MLP(5, (7, 3), 2)
    ml.models.init_glorot(net, seed=0)
    params = ml.models.get_params(net)
    assert {k: v.shape for k, v in params.items()} == {
        "dense0_weight": (7, 5),
        "dense0_bias": (7,),
        "dense1_weight": (3, 7),
        "dense1_bias": (3,),
        "dense2_weight": (2, 3),
        "dense2_bias": (2,),
    }
    assert net(mx.nd.zeros((4, 5))).shape == (4, 2)
    assert "dense0_bias" not in ml.models.get_params(_init(ml.models.MLP(5, (), 1, use_bias=False)))
    with pytest.raises(ValueError, match=r"hidden\[1\] must be an integer >= 1, got 0"):
        ml.models.MLP(5, (3, 0), 2)
    with pytest.raises(ValueError, match="activation must be one of"):
        ml.models.MLP(5, (3,), 2, activation="gelu")


def _init(net: mx.gluon.Block) -> mx.gluon.Block:
    ml.models.init_glorot(net, seed=0)
    return net


def test_initialisers_are_seeded_and_scaled() -> None:
    a, b, c = (ml.models.MLP(400, (300,), 10) for _ in range(3))
    ml.models.init_he(a, seed=3)
    ml.models.init_he(b, seed=3)
    ml.models.init_he(c, seed=4)
    pa, pb, pc = (ml.models.get_params(n) for n in (a, b, c))
    np.testing.assert_array_equal(pa["dense0_weight"], pb["dense0_weight"])
    assert not np.array_equal(pa["dense0_weight"], pc["dense0_weight"])
    assert pa["dense0_weight"].std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert (pa["dense0_bias"] == 0).all()
    g = ml.models.MLP(400, (300,), 10)
    ml.models.init_glorot(g, seed=0)
    w = ml.models.get_params(g)["dense0_weight"]
    bound = np.sqrt(6 / 700)
    assert np.abs(w).max() <= bound
    assert w.std() == pytest.approx(bound / np.sqrt(3), rel=0.02)
    with pytest.raises(ValueError, match=r"gain must be > 0\.0, got 0\.0"):
        ml.models.init_glorot(g, gain=0.0)


def test_make_logistic_margin_and_noise() -> None:
    d = ml.data.make_logistic(4000, n_features=3, margin=0.5, seed=0)
    w = np.asarray(d.description["true_weight"])
    X, y = d.numpy()
    s = X.astype(np.float64) @ w
    assert np.abs(s).min() >= 0.5 - 1e-6
    np.testing.assert_array_equal(y, (s > 0).astype(np.float32))
    noisy = ml.data.make_logistic(4000, n_features=3, margin=0.5, label_noise=0.2, seed=0)
    flipped = float(np.mean(noisy.labels.asnumpy() != y))
    assert 0.17 < flipped < 0.23
    with pytest.raises(ValueError, match=r"label_noise must be in \[0.0, 0.5\], got 0.7"):
        ml.data.make_logistic(10, label_noise=0.7)
