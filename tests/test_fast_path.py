"""The fast path of ``train`` against the Gluon loop and the chapter's loop; record caps; moments."""

from __future__ import annotations

import dataclasses
from typing import Any

import mxnet as mx
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import momentumlab as ml
from momentumlab.runner._moments import SquaredMoments, direct_loss
from momentumlab.runner._numpy import gather_per_batch
from tests.chapter import chapter_train


def assert_close_params(a: npt.NDArray[Any], b: npt.NDArray[Any], tol: float = 1e-6) -> None:
    """``|a - b| <= tol * max(1, |b|)`` elementwise: within 1e-6 relative (absolute near 0)."""
    bound = tol * np.maximum(1.0, np.abs(b))
    assert np.all(np.abs(a - b) <= bound), (a, b, np.abs(a - b).max())


CASES = [
    # batch_size, lr, momentum, epochs, period, seed, weight_decay, shuffle
    (10, 0.2, 0.9, 3, 10, 0, 0.0, True),
    (5, 0.05, 0.5, 5, 20, 1, 0.0, True),
    (20, 0.3, 0.0, 4, 40, 2, 0.0, True),
    (25, 0.1, 0.95, 6, 25, 3, 0.01, True),
    (8, 0.02, 0.99, 5, 8, 4, 0.0, True),
    (7, 0.1, 0.9, 3, 7, 5, 0.05, False),
    (10, 0.1, None, 2, 10, 6, 0.0, True),
]


@pytest.mark.parametrize(("bs", "lr", "mom", "epochs", "period", "seed", "wd", "shuffle"), CASES)
def test_fast_path_matches_gluon_path(
    bs: int, lr: float, mom: float | None, epochs: int, period: int, seed: int, wd: float, shuffle: bool
) -> None:
    data = ml.data.make_linear_regression(seed=200 + seed)
    config = ml.RunConfig.chapter(
        batch_size=bs,
        learning_rate=lr,
        momentum=mom,
        epochs=epochs,
        period=period,
        seed=seed,
        weight_decay=wd,
        shuffle=shuffle,
    )
    fast = ml.train(config, data)
    gluon = ml.train(config, data, engine="gluon")
    assert (fast.engine, gluon.engine) == ("numpy", "gluon")
    assert fast.weight is not None
    assert gluon.weight is not None
    assert fast.bias is not None
    assert gluon.bias is not None
    assert_close_params(fast.weight, gluon.weight)
    assert_close_params(fast.bias, gluon.bias)
    np.testing.assert_array_equal(fast.record_steps, gluon.record_steps)
    # Gluon records are float32 means; near the optimum they carry ~1e-5 relative error.
    np.testing.assert_allclose(fast.losses, gluon.losses, rtol=2e-4)
    np.testing.assert_array_equal(fast.learning_rates, gluon.learning_rates)
    np.testing.assert_array_equal(fast.momenta, gluon.momenta)
    assert fast.n_steps == gluon.n_steps
    assert fast.epochs_completed == gluon.epochs_completed


def test_fast_path_matches_the_chapter_loop() -> None:
    data = ml.data.make_linear_regression(seed=100)
    config = ml.RunConfig.chapter()
    net = ml.models.LinearRegressor(2)
    ml.models.init_normal(net, seed=0)
    w0, b0 = ml.models.get_linear_params(net)
    result = ml.train(config, data, net=net, initialize=False, engine="numpy")
    orders = ml.batch_orders(config, data.n_samples)
    losses, w, b = chapter_train(data.features, data.labels, w0, b0, orders, 10, 0.2, 0.9, 3, 10)
    assert result.weight is not None
    assert result.bias is not None
    assert_close_params(result.weight, w)
    assert_close_params(result.bias, b)
    np.testing.assert_allclose(result.losses, losses, rtol=2e-4)
    # the trained values are written back into the caller's net
    np.testing.assert_array_equal(ml.models.get_linear_params(net)[0], result.weight)


def test_fast_path_multi_output_schedule_callback_and_history() -> None:
    data = ml.data.make_linear_regression(
        n_samples=300, weight=np.array([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]]), bias=[0.5, -1.0], seed=3
    )
    config = ml.RunConfig(
        init_sigma=1.0,
        max_records_per_epoch=None,
        batch_size=12,
        learning_rate=lambda t: 0.1 / (1.0 + 0.01 * t),
        momentum=0.8,
        epochs=3,
        period=24,
        seed=9,
    )
    seen: dict[str, list[ml.EpochInfo]] = {"fast": [], "gluon": []}
    fast = ml.train(config, data, callback=seen["fast"].append, record_params=True)
    gluon = ml.train(config, data, callback=seen["gluon"].append, record_params=True, engine="gluon")
    assert fast.engine == "numpy"
    assert fast.weight is not None
    assert gluon.weight is not None
    assert_close_params(fast.weight, gluon.weight)
    assert [i.epoch for i in seen["fast"]] == [i.epoch for i in seen["gluon"]] == [1, 2, 3]
    assert [i.step for i in seen["fast"]] == [i.step for i in seen["gluon"]]
    assert fast.param_history.keys() == gluon.param_history.keys()
    for key, value in fast.param_history.items():
        assert value.shape == gluon.param_history[key].shape
        np.testing.assert_allclose(value, gluon.param_history[key], rtol=1e-5, atol=1e-5)


def test_fast_path_divergence_agrees_with_gluon() -> None:
    data = ml.data.make_linear_regression(n_samples=100, seed=1)
    config = ml.RunConfig(
        batch_size=10,
        period=10,
        init_sigma=1.0,
        max_records_per_epoch=None,
        learning_rate=50.0,
        momentum=0.9,
        epochs=4,
    )
    fast = ml.train(config, data)
    gluon = ml.train(config, data, engine="gluon")
    assert fast.diverged
    assert gluon.diverged
    assert fast.epochs_completed == gluon.epochs_completed
    assert fast.n_steps == gluon.n_steps
    assert len(fast.losses) == len(gluon.losses)


def test_fast_path_heldout_loss_metric() -> None:
    train_data = ml.data.make_linear_regression(n_samples=200, seed=1)
    held = ml.data.make_linear_regression(n_samples=50, seed=2)
    problem = ml.problems.linear_problem(train_data, heldout=held)
    config = ml.RunConfig.chapter(epochs=2)
    fast = ml.train(config, problem)
    gluon = ml.train(config, problem, engine="gluon")
    assert fast.engine == "numpy"
    assert fast.metric_name == "loss"
    np.testing.assert_allclose(fast.metrics, gluon.metrics, rtol=2e-4)


def test_fast_path_per_batch_gather_on_wide_data() -> None:
    rng = np.random.default_rng(0)
    weight = rng.standard_normal(120)
    data = ml.data.make_linear_regression(n_samples=400, weight=weight, seed=4)
    assert gather_per_batch(400, 120, 10)
    config = ml.RunConfig.chapter(learning_rate=0.005, epochs=2, max_records_per_epoch=3, seed=1)
    fast = ml.train(config, data)
    gluon = ml.train(config, data, engine="gluon")
    assert fast.weight is not None
    assert gluon.weight is not None
    assert_close_params(fast.weight, gluon.weight)
    np.testing.assert_array_equal(fast.record_steps, gluon.record_steps)
    assert len(fast.losses) == 1 + 2 * 3


@pytest.mark.parametrize(
    ("config", "problem_kind", "reason"),
    [
        (ml.RunConfig.chapter(optimizer="adam", momentum=None), "data", "optimizer"),
        (ml.RunConfig.chapter(hyperparameters={"clip_gradient": 1.0}), "data", "hyperparameters"),
        (ml.RunConfig.chapter(), "relu", "activation"),
    ],
)
def test_auto_falls_back_and_fast_explains(config: ml.RunConfig, problem_kind: str, reason: str) -> None:
    data = ml.data.make_linear_regression(n_samples=50, seed=0)
    net = None
    if problem_kind == "relu":
        net = mx.gluon.nn.Dense(1, in_units=2, activation="relu")
    cfg = dataclasses.replace(config, epochs=1)
    assert ml.train(cfg, data, net=net).engine == "gluon"
    with pytest.raises(ValueError, match=f"engine must be 'auto' or 'gluon'.*{reason}"):
        ml.train(cfg, data, net=net, engine="numpy")


def test_engine_argument_is_validated() -> None:
    data = ml.data.make_linear_regression(n_samples=20, seed=0)
    with pytest.raises(ValueError, match="engine must be one of"):
        ml.train(ml.RunConfig.chapter(epochs=1), data, engine="fast")


@settings(max_examples=60, deadline=None)
@given(
    bs=st.integers(1, 12),
    mult=st.integers(1, 5),
    n=st.integers(1, 300),
    cap=st.one_of(st.none(), st.integers(1, 40)),
)
def test_record_mask_keeps_evenly_spaced_chapter_positions(
    bs: int, mult: int, n: int, cap: int | None
) -> None:
    if bs > n:
        bs = n
    config = ml.RunConfig.chapter(batch_size=bs, period=bs * mult, max_records_per_epoch=cap)
    mask = config.record_mask(n)
    steps = -(-n // bs)
    candidates = [i for i in range(steps) if i * bs % (bs * mult) == 0]
    kept = [i for i, keep in enumerate(mask) if keep]
    assert len(mask) == steps
    assert set(kept) <= set(candidates)
    assert len(kept) == (len(candidates) if cap is None else min(cap, len(candidates)))
    assert kept[-1] == candidates[-1]
    if cap is None or cap >= len(candidates):
        assert kept == candidates


def test_max_records_per_epoch_is_validated() -> None:
    with pytest.raises(ValueError, match="max_records_per_epoch must be an integer >= 1, got 0"):
        ml.RunConfig.chapter(max_records_per_epoch=0)


def test_record_cap_gives_the_same_positions_on_both_paths() -> None:
    data = ml.data.make_linear_regression(n_samples=500, seed=0)
    config = ml.RunConfig.chapter(epochs=2, max_records_per_epoch=4)
    fast = ml.train(config, data)
    gluon = ml.train(config, data, engine="gluon")
    np.testing.assert_array_equal(fast.record_steps, gluon.record_steps)
    np.testing.assert_array_equal(fast.record_steps, [0, 12, 25, 37, 50, 62, 75, 87, 100])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(1, 6), o=st.integers(1, 3))
def test_moments_loss_matches_float64_pass(seed: int, d: int, o: int) -> None:
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((257, d)) * 3 + 1).astype(np.float32)
    Y = (rng.standard_normal((257, o)) + 5).astype(np.float32)
    W = rng.standard_normal((o, d)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    exact = 0.5 * np.mean((X.astype(np.float64) @ W.T.astype(np.float64) + b - Y) ** 2)
    moments = SquaredMoments.of(X, Y)
    np.testing.assert_allclose(moments.loss(W, b), exact, rtol=1e-10)
    np.testing.assert_allclose(direct_loss(X, Y, W, b), exact, rtol=1e-5)
    # batched: (K, o, d) weights give K losses
    Wk = np.stack([W, 2 * W])
    bk = np.stack([b, b])
    assert moments.loss(Wk, bk).shape == (2,)


def test_moments_loss_is_accurate_near_the_optimum() -> None:
    data = ml.data.make_linear_regression(seed=0)
    X, y = data.numpy()
    Y = y.reshape(-1, 1)
    W = data.true_weight.astype(np.float32)  # type: ignore[union-attr]
    b = data.true_bias.astype(np.float32)  # type: ignore[union-attr]
    exact = 0.5 * np.mean((X.astype(np.float64) @ W.T.astype(np.float64) + b - Y) ** 2)
    assert exact < 1e-4
    np.testing.assert_allclose(SquaredMoments.of(X, Y).loss(W, b), exact, rtol=1e-9)
