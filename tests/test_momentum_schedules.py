"""Momentum schedules against a NumPy heavy-ball reference of MXNet's update."""

from __future__ import annotations

from collections.abc import Callable

import mxnet as mx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import momentumlab as ml
from momentumlab._src.types import Array

DATA = ml.data.make_linear_regression(n_samples=120, seed=11)


def heavy_ball_reference(
    config: ml.RunConfig, data: ml.data.LinearData, w0: Array, b0: Array, lrs: list[float], moms: list[float]
) -> tuple[Array, Array]:
    """MXNet's SGD in float64: v <- mu v - lr g / bs; w <- w + v (g summed over the batch)."""
    X, y = (a.astype(np.float64) for a in data.numpy())
    w, b = w0.astype(np.float64).ravel(), b0.astype(np.float64).copy()
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    bs, t = config.batch_size, 0
    for order in ml.batch_orders(config, data.n_samples):
        for lo in range(0, data.n_samples, bs):
            idx = order[lo : lo + bs]
            r = X[idx] @ w + b[0] - y[idx]
            gw, gb = X[idx].T @ r, np.array([r.sum()])
            vw = moms[t] * vw - lrs[t] * gw / len(idx)
            vb = moms[t] * vb - lrs[t] * gb / len(idx)
            w, b = w + vw, b + vb
            t += 1
    return w, b


def _step_and_wait(trainer: mx.gluon.Trainer) -> None:
    trainer.step(10)
    mx.nd.waitall()


def _run(config: ml.RunConfig, seed: int = 0) -> tuple[ml.RunResult, Array, Array]:
    net = ml.models.LinearRegressor(2)
    ml.models.init_normal(net, seed=seed)
    w0, b0 = ml.models.get_linear_params(net)
    return ml.train(config, DATA, net=net, initialize=False, engine="gluon"), w0, b0


@settings(max_examples=6, deadline=None)
@given(
    st.floats(0.0, 0.3),
    st.floats(0.3, 0.95),
    st.integers(1, 30),
    st.lists(st.floats(0.01, 0.3), min_size=3, max_size=3),
)
def test_scheduled_momentum_matches_numpy_heavy_ball_across_lr_changes(
    m0: float, m1: float, ramp: int, lrs3: list[float]
) -> None:
    momentum = ml.optim.linear_schedule(m0, m1, ramp)
    lr = ml.optim.piecewise_constant([12, 24], lrs3)
    config = ml.RunConfig(
        period=10,
        init_sigma=1.0,
        max_records_per_epoch=None,
        learning_rate=lr,
        momentum=momentum,
        epochs=3,
        batch_size=10,
        seed=2,
    )
    result, w0, b0 = _run(config)
    n = result.n_steps
    assert list(result.momenta) == [momentum(t) for t in range(n)]
    assert list(result.learning_rates) == [lr(t) for t in range(n)]
    w, b = heavy_ball_reference(
        config, DATA, w0, b0, [lr(t) for t in range(n)], [momentum(t) for t in range(n)]
    )
    assert result.weight is not None
    assert result.bias is not None
    np.testing.assert_allclose(result.weight.ravel(), w, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(result.bias), b, atol=1e-5, rtol=1e-5)


@settings(max_examples=4, deadline=None)
@given(st.floats(0.05, 0.95), st.floats(0.01, 0.3))
def test_constant_float_momentum_matches_numpy_heavy_ball_with_epoch_decay(mu: float, lr: float) -> None:
    config = ml.RunConfig.chapter(
        learning_rate=lr, momentum=mu, epochs=3, seed=4
    )  # chapter decay: lr changes
    result, w0, b0 = _run(config, seed=4)
    assert set(result.momenta) == {mu}
    w, b = heavy_ball_reference(config, DATA, w0, b0, list(result.learning_rates), [mu] * result.n_steps)
    assert result.weight is not None
    np.testing.assert_allclose(result.weight.ravel(), w, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(result.bias), b, atol=1e-5, rtol=1e-5)


def test_momentum_schedule_starting_at_zero_works_where_stock_sgd_has_no_state() -> None:
    # Stock MXNet: created with momentum 0 it allocates no state, so raising it later fails
    # (its kernel gets None for the momentum buffer).
    net = ml.models.LinearRegressor(2, initializer=mx.init.Zero())
    stock = mx.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.0})
    x, y = DATA.features[:10], DATA.labels[:10]
    for mu in (0.0, 0.9):
        stock._optimizer.momentum = mu
        with mx.autograd.record():
            out = mx.gluon.loss.L2Loss()(net(x), y)
        out.backward()
        if mu == 0.0:
            stock.step(10)
        else:
            with pytest.raises(AssertionError, match="must have NDArray type, but got None"):
                _step_and_wait(stock)
    # Ours: a per-epoch schedule 0, 0.5, 0.9 runs and records what it used
    sched = ml.optim.PerEpoch(ml.optim.piecewise_constant([1, 2], [0.0, 0.5, 0.9]))
    result, w0, b0 = _run(
        ml.RunConfig(
            batch_size=10,
            period=10,
            init_sigma=1.0,
            max_records_per_epoch=None,
            momentum=sched,
            epochs=3,
            learning_rate=0.1,
        )
    )
    spe = result.steps_per_epoch
    assert list(result.momenta) == [0.0] * spe + [0.5] * spe + [0.9] * spe
    moms = list(result.momenta)
    w, _ = heavy_ball_reference(result.config, DATA, w0, b0, [0.1] * result.n_steps, moms)
    np.testing.assert_allclose(result.weight.ravel(), w, atol=1e-5, rtol=1e-5)  # type: ignore[union-attr]


@settings(max_examples=4, deadline=None)
@given(st.floats(0.01, 0.3), st.one_of(st.just(0.0), st.floats(1e-6, 0.95)))
def test_constant_schedule_runs_are_bit_identical_to_floats(lr: float, mu: float) -> None:
    base = ml.RunConfig(
        batch_size=10,
        period=10,
        init_sigma=1.0,
        max_records_per_epoch=None,
        learning_rate=lr,
        momentum=mu,
        epochs=2,
        seed=1,
    )
    plain, _, _ = _run(base, seed=1)
    sched = ml.RunConfig(
        batch_size=10,
        period=10,
        init_sigma=1.0,
        max_records_per_epoch=None,
        learning_rate=ml.optim.constant_schedule(lr),
        momentum=ml.optim.constant_schedule(mu),
        epochs=2,
        seed=1,
    )
    scheduled, _, _ = _run(sched, seed=1)
    lr_only = ml.RunConfig(
        batch_size=10,
        period=10,
        init_sigma=1.0,
        max_records_per_epoch=None,
        learning_rate=ml.optim.constant_schedule(lr),
        momentum=mu,
        epochs=2,
        seed=1,
    )
    lr_sched, _, _ = _run(lr_only, seed=1)
    for other in (scheduled, lr_sched):
        np.testing.assert_array_equal(np.asarray(other.weight), np.asarray(plain.weight))
        np.testing.assert_array_equal(np.asarray(other.bias), np.asarray(plain.bias))
        np.testing.assert_array_equal(other.losses, plain.losses)


@settings(max_examples=3, deadline=None)
@given(st.floats(0.01, 0.3))
def test_momentum_zero_is_bit_identical_to_plain_sgd(lr: float) -> None:
    plain, _, _ = _run(ml.RunConfig.chapter(learning_rate=lr, momentum=None, epochs=2, seed=3), seed=3)
    zero, _, _ = _run(ml.RunConfig.chapter(learning_rate=lr, momentum=0.0, epochs=2, seed=3), seed=3)
    zero_sched, _, _ = _run(
        ml.RunConfig.chapter(learning_rate=lr, momentum=ml.optim.constant_schedule(0.0), epochs=2, seed=3),
        seed=3,
    )
    for other in (zero, zero_sched):
        np.testing.assert_array_equal(np.asarray(other.weight), np.asarray(plain.weight))
        np.testing.assert_array_equal(np.asarray(other.bias), np.asarray(plain.bias))


def test_one_cycle_drives_lr_and_momentum_in_a_run() -> None:
    n_steps = 3 * 12
    cyc = ml.optim.one_cycle(0.3, n_steps)
    result, w0, b0 = _run(
        ml.RunConfig(
            batch_size=10,
            epochs=3,
            period=10,
            init_sigma=1.0,
            max_records_per_epoch=None,
            learning_rate=cyc.learning_rate,
            momentum=cyc.momentum,
        )
    )
    assert list(result.learning_rates) == [cyc.learning_rate(t) for t in range(n_steps)]
    assert list(result.momenta) == [cyc.momentum(t) for t in range(n_steps)]
    w, _ = heavy_ball_reference(
        result.config, DATA, w0, b0, list(result.learning_rates), list(result.momenta)
    )
    np.testing.assert_allclose(result.weight.ravel(), w, atol=1e-5, rtol=1e-5)  # type: ignore[union-attr]


def test_scheduled_nag_keeps_state_from_zero() -> None:
    sched = ml.optim.linear_schedule(0.0, 0.9, 10)
    result, _, _ = _run(
        ml.RunConfig(
            batch_size=10,
            epochs=3,
            period=10,
            init_sigma=1.0,
            max_records_per_epoch=None,
            optimizer="nag",
            momentum=sched,
            learning_rate=0.1,
        )
    )
    assert result.momenta[0] == 0.0
    assert result.momenta[-1] == pytest.approx(0.9)
    assert result.final_loss < result.losses[0] / 100


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"optimizer": "adam", "momentum": ml.optim.constant_schedule(0.5)},
            "momentum must be None for optimizer 'adam'",
        ),
        (
            {"optimizer": "signum", "momentum": ml.optim.constant_schedule(0.5)},
            "momentum may be a schedule only",
        ),
        ({"optimizer": "dcasgd", "momentum": 0.5}, "momentum must be 0 or None for optimizer 'dcasgd'"),
    ],
)
def test_bad_momentum_configs_raise(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ml.RunConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ["auto", "gluon"])
def test_momentum_schedule_out_of_range_raises_when_planned(engine: str) -> None:
    bad: Callable[[int], float] = lambda t: 0.5 if t < 7 else 1.5  # noqa: E731
    with pytest.raises(
        ValueError, match=r"momentum must be a finite number in \[0.0, 1.0\) at every step, got 1.5 at step 7"
    ):
        ml.train(ml.RunConfig.chapter(momentum=bad, epochs=1), DATA, engine=engine)


@pytest.mark.parametrize("engine", ["auto", "gluon"])
def test_learning_rate_schedule_with_a_bad_value_names_the_step(engine: str) -> None:
    for value, shown in ((-0.5, "-0.5"), (float("nan"), "nan")):

        def bad(t: int, v: float = value) -> float:
            return 0.1 if t != 5 else v

        message = rf"learning_rate must be a finite number >= 0.0 at every step, got {shown} at step 5"
        with pytest.raises(ValueError, match=message):
            ml.train(ml.RunConfig.chapter(learning_rate=bad, epochs=1), DATA, engine=engine)
