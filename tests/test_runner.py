"""The runner: laws against plain SGD and NumPy references, seeds, divergence, validation."""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any

import mxnet as mx
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import momentumlab as ml
from tests.reference import numpy_sgd

F32 = npt.NDArray[np.float32]
N = 200
DATA = ml.data.make_linear_regression(n_samples=N, seed=11)

run_params = st.fixed_dictionaries(
    {
        "lr": st.floats(0.005, 0.3),
        "batch_size": st.sampled_from([1, 5, 10, 40, 200]),
        "epochs": st.integers(1, 5),
        "seed": st.integers(0, 2**16),
    }
)
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _f32_tol(n_steps: int, momentum: float) -> float:
    """Float32 engine against a reference of the same maths: round-off of a few ulps per update
    adds up like a random walk (sqrt of the updates) and momentum carries each error for about
    ``1 / (1 - momentum)`` updates; 1e-5 at least (the engines' documented agreement)."""
    return max(1e-5, 3e-7 * float(np.sqrt(n_steps)) / (1.0 - momentum))


def _config(p: dict[str, float], momentum: float) -> ml.RunConfig:
    return ml.RunConfig.chapter(
        batch_size=int(p["batch_size"]),
        learning_rate=float(p["lr"]),
        momentum=momentum,
        epochs=int(p["epochs"]),
        period=int(p["batch_size"]),
        seed=int(p["seed"]),
    )


def _plain_sgd_gluon(
    config: ml.RunConfig, w0: npt.NDArray[np.float32], b0: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """A hand-written Gluon loop with ``Trainer('sgd', {'learning_rate': lr})``, no momentum."""
    net = mx.gluon.nn.Dense(1, in_units=2)
    net.initialize(mx.init.Zero())
    net.weight.set_data(mx.nd.array(w0))
    net.bias.set_data(mx.nd.array(b0))
    decay = config.learning_rate  # the chapter's PerEpoch(EpochDecay(...))
    assert isinstance(decay, ml.optim.PerEpoch)
    trainer = mx.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": decay.schedule(0)})
    loss = mx.gluon.loss.L2Loss()
    X, y = DATA.features, DATA.labels
    for epoch, order in enumerate(ml.batch_orders(config, N), start=1):
        lr = decay.schedule(epoch - 1)
        if lr != trainer.learning_rate:
            trainer.set_learning_rate(lr)
        idx = mx.nd.array(order, dtype="int64")
        Xe, ye = X.take(idx), y.take(idx)
        for lo in range(0, N, config.batch_size):
            with mx.autograd.record():
                lv = loss(net(Xe[lo : lo + config.batch_size]), ye[lo : lo + config.batch_size])
            lv.backward()
            trainer.step(config.batch_size)
    return np.concatenate([net.weight.data().asnumpy().ravel(), net.bias.data().asnumpy()])


def _start(
    config: ml.RunConfig,
) -> tuple[ml.models.LinearRegressor, npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    net = ml.models.LinearRegressor(2)
    ml.models.init_normal(net, seed=config.seed)
    w0, b0 = ml.models.get_linear_params(net)
    return net, w0, b0


@SETTINGS
@given(p=run_params)
def test_momentum_zero_is_plain_sgd_bit_for_bit(p: dict[str, float]) -> None:
    config = _config(p, momentum=0.0)
    net, w0, b0 = _start(config)
    result = ml.train(config, DATA, net=net, initialize=False, engine="gluon")
    assert result.weight is not None
    assert result.bias is not None
    got = np.concatenate([result.weight.ravel(), result.bias])
    np.testing.assert_array_equal(got, _plain_sgd_gluon(config, w0, b0))


@SETTINGS
@given(p=run_params)
def test_momentum_zero_matches_numpy_plain_update(p: dict[str, float]) -> None:
    config = _config(p, momentum=0.0)
    net, w0, b0 = _start(config)
    result = ml.train(config, DATA, net=net, initialize=False)
    X, y = DATA.numpy()
    w, b, _ = numpy_sgd(
        X,
        y,
        w0,
        b0,
        ml.batch_orders(config, N),
        config.batch_size,
        list(result.learning_rates),
        0.0,
    )
    assert result.weight is not None
    assert result.bias is not None
    # float32 BLAS against the reference's products (a drawn lr=0.22, batch 1, 5 epochs run
    # differed by 5.5e-6)
    tol = _f32_tol(result.n_steps, 0.0)
    np.testing.assert_allclose(result.weight, w, rtol=tol, atol=tol)
    np.testing.assert_allclose(result.bias, b, rtol=tol, atol=tol)


@SETTINGS
@given(p=run_params, momentum=st.floats(0.05, 0.95))
def test_heavy_ball_matches_numpy_reference_across_decay(p: dict[str, float], momentum: float) -> None:
    lr = min(float(p["lr"]), 0.9 * (1 - momentum))  # keep the noisy iteration well inside stability
    config = ml.sweep.apply_changes(_config(p, momentum=momentum), {"learning_rate.schedule.init_value": lr})
    net, w0, b0 = _start(config)
    result = ml.train(config, DATA, net=net, initialize=False)
    X, y = DATA.numpy()
    lrs = list(result.learning_rates)
    w, b, losses = numpy_sgd(X, y, w0, b0, ml.batch_orders(config, N), config.batch_size, lrs, momentum)
    assert result.weight is not None
    assert result.bias is not None
    # (a drawn lr 0.17, batch 1, momentum 0.81 run of 1,000 updates differed by 2.5e-5)
    tol = _f32_tol(result.n_steps, momentum)
    np.testing.assert_allclose(result.weight, w, rtol=tol, atol=tol)
    np.testing.assert_allclose(result.bias, b, rtol=tol, atol=tol)
    # the recorded curve (every update here) follows the reference too
    np.testing.assert_allclose(result.losses[1:], losses, rtol=1e-3, atol=1e-6)
    if config.epochs > 2:
        assert set(np.round(np.asarray(lrs) / lr, 12)) >= {1.0, 0.1}


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_same_seed_same_history_different_seed_differs(seed: int) -> None:
    config = ml.RunConfig.chapter(epochs=1, seed=seed)
    a = ml.train(config, DATA)
    b = ml.train(config, DATA)
    np.testing.assert_array_equal(a.losses, b.losses)
    np.testing.assert_array_equal(a.weight, b.weight)  # type: ignore[arg-type]
    c = ml.train(dataclasses.replace(config, seed=seed + 1), DATA)
    assert not np.array_equal(a.losses, c.losses)


def test_one_seed_fixes_data_init_and_order_end_to_end() -> None:
    def run(seed: int) -> ml.RunResult:
        return ml.train(ml.RunConfig.chapter(epochs=1, seed=seed), ml.data.make_linear_regression(seed=seed))

    a, b, c = run(3), run(3), run(4)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert a.losses[0] != c.losses[0]


def test_no_global_rng_is_read_or_seeded() -> None:
    np_state: Any = np.random.get_state()
    mx.random.seed(1234)
    expected = mx.nd.random.uniform(shape=(5,)).asnumpy()
    mx.random.seed(1234)
    ml.train(ml.RunConfig.chapter(epochs=1), ml.data.make_linear_regression(n_samples=50, seed=0))
    after = mx.nd.random.uniform(shape=(5,)).asnumpy()
    np.testing.assert_array_equal(after, expected)
    new_state: Any = np.random.get_state()
    assert np_state[0] == new_state[0]
    np.testing.assert_array_equal(np_state[1], new_state[1])
    assert np_state[2:] == new_state[2:]


def test_chapter_settings_reach_the_chapter_result() -> None:
    result = ml.train(ml.RunConfig.chapter(), ml.data.make_linear_regression(seed=0))
    assert result.final_loss < 1e-4
    assert result.weight is not None
    assert result.bias is not None
    np.testing.assert_allclose(result.weight, [[2.0, -3.4]], atol=0.01)
    np.testing.assert_allclose(result.bias, [4.2], atol=0.01)
    assert len(result.losses) == 301
    np.testing.assert_allclose(result.record_epochs, np.linspace(0, 3, 301))
    assert list(result.learning_rates[[0, 199, 200, 299]]) == [0.2, 0.2, 0.020000000000000004] * 1 + [
        0.020000000000000004
    ]
    assert result.momenta.shape == (300,)
    assert set(result.momenta) == {0.9}


def test_records_follow_the_period_rule() -> None:
    config = ml.RunConfig.chapter(batch_size=10, period=30, epochs=2)
    result = ml.train(config, DATA)
    per_epoch = [i + 1 for i in range(20) if i * 10 % 30 == 0]
    expected = [0] + per_epoch + [20 + s for s in per_epoch]
    assert result.record_steps.tolist() == expected
    assert result.epoch_loss(1) == result.losses[len(per_epoch)]


def test_short_last_batch_is_kept() -> None:
    result = ml.train(ml.RunConfig.chapter(batch_size=30, period=30, epochs=1), DATA)
    assert result.steps_per_epoch == 7
    assert result.n_steps == 7


def test_divergence_stops_early_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    config = ml.RunConfig.chapter(learning_rate=50.0, momentum=0.9, epochs=5, batch_size=10, period=10)
    with caplog.at_level(logging.WARNING, logger="momentumlab"):
        result = ml.train(config, DATA)
    assert result.diverged
    assert result.epochs_completed < 5
    assert result.n_steps < 5 * 20
    assert not math.isfinite(result.final_loss)
    assert "diverged" in result.message
    assert any("diverged" in r.message for r in caplog.records)


def test_callback_gets_every_epoch() -> None:
    seen: list[ml.EpochInfo] = []
    result = ml.train(ml.RunConfig.chapter(epochs=4), DATA, callback=seen.append)
    assert [s.epoch for s in seen] == [1, 2, 3, 4]
    assert [s.learning_rate for s in seen] == pytest.approx([0.2, 0.2, 0.02, 0.002])
    assert seen[-1].loss == result.final_loss


def test_keeps_a_callers_net_parameters_when_asked() -> None:
    net = ml.models.LinearRegressor(2)
    net.initialize(mx.init.Zero())
    ml.models.set_params(net, {"dense0_weight": np.array([[2.0, -3.4]]), "dense0_bias": np.array([4.2])})
    kept = ml.train(ml.RunConfig.chapter(epochs=1), DATA, net=net, initialize=False)
    assert kept.losses[0] < 1e-3  # started at the truth
    fresh = ml.train(ml.RunConfig.chapter(epochs=1), DATA, net=net, initialize=True)
    assert fresh.losses[0] > 1e-2


def test_an_imperative_net_runs_the_imperative_path() -> None:
    net = mx.gluon.nn.Sequential()
    net.add(mx.gluon.nn.Dense(1, in_units=2))
    result = ml.train(ml.RunConfig.chapter(epochs=1), DATA, net=net, engine="gluon")
    assert result.engine == "imperative"
    assert result.weight is not None
    assert result.final_loss < result.losses[0]


def test_record_params_keeps_the_path() -> None:
    result = ml.train(ml.RunConfig.chapter(epochs=1, period=10), DATA, record_params=True)
    w = result.param_history["dense0_weight"]
    assert w.shape == (len(result.losses), 1, 2)
    np.testing.assert_array_equal(w[-1], result.weight)  # type: ignore[arg-type]
    assert not np.array_equal(w[0], w[-1])


def test_final_loss_is_the_loss_of_the_final_parameters() -> None:
    # period 50 with batch 10: the last record comes after update 16 of 20
    result = ml.train(ml.RunConfig.chapter(epochs=1, period=50), DATA)
    assert result.record_steps[-1] == 16
    X, y = DATA.numpy()
    assert result.weight is not None
    assert result.bias is not None
    pred = X.astype(np.float64) @ result.weight.T.astype(np.float64) + result.bias
    expected = float(np.mean(0.5 * (pred[:, 0] - y) ** 2))
    assert result.final_loss == pytest.approx(expected, rel=1e-5)
    assert result.final_loss != result.losses[-1]


def test_result_is_frozen() -> None:
    result = ml.train(ml.RunConfig.chapter(epochs=1), DATA)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.diverged = True  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        result.losses[0] = 0.0


# --- bad input -------------------------------------------------------------------------------

BAD_CONFIGS = [
    ({"learning_rate": 0.0}, ValueError, r"learning_rate must be > 0.0, got 0.0"),
    ({"learning_rate": -1.0}, ValueError, r"learning_rate must be > 0.0, got -1.0"),
    ({"learning_rate": float("nan")}, ValueError, r"learning_rate must be a finite number > 0.0, got nan"),
    ({"learning_rate": float("inf")}, ValueError, r"learning_rate must be a finite number"),
    ({"learning_rate": "0.1"}, TypeError, r"learning_rate must be a real number, got '0.1'"),
    ({"momentum": 1.0}, ValueError, r"momentum must be in \[0.0, 1.0\), got 1.0"),
    ({"momentum": -0.1}, ValueError, r"momentum must be in \[0.0, 1.0\), got -0.1"),
    ({"momentum": 1.5}, ValueError, r"momentum must be in \[0.0, 1.0\), got 1.5"),
    ({"batch_size": 0}, ValueError, r"batch_size must be an integer >= 1, got 0"),
    ({"batch_size": 2.5}, TypeError, r"batch_size must be an integer, got 2.5"),
    ({"epochs": 0}, ValueError, r"epochs must be an integer >= 1, got 0"),
    ({"momentum": 1e-40}, ValueError, r"momentum must be 0 or in \[1.17\d*e-38, 1.0\) .*got 1e-40"),
    ({"period": 0}, ValueError, r"period must be an integer >= 1, got 0"),
    ({"seed": -1}, ValueError, r"seed must be an integer >= 0, got -1"),
    ({"optimizer": "sdg"}, ValueError, r"optimizer must be one of \[.*'sgd'.*\], got 'sdg'"),
    ({"optimizer": "adam", "momentum": 0.9}, ValueError, r"momentum must be None for optimizer 'adam'"),
    ({"weight_decay": -1.0}, ValueError, r"weight_decay must be >= 0.0, got -1.0"),
    ({"hyperparameters": {"beta9": 1.0}}, ValueError, r"hyperparameters has 'beta9'.*valid ones are"),
    ({"shuffle": 1}, TypeError, r"shuffle must be a bool, got 1"),
]


@pytest.mark.parametrize(("changes", "exc", "message"), BAD_CONFIGS)
def test_config_rejects_bad_values(changes: dict[str, object], exc: type[Exception], message: str) -> None:
    with pytest.raises(exc, match=message):
        ml.RunConfig(**changes)  # type: ignore[arg-type]


def test_replace_validates_again() -> None:
    with pytest.raises(ValueError, match="momentum must be in"):
        dataclasses.replace(ml.RunConfig.chapter(), momentum=2.0)


def test_batch_larger_than_data_is_rejected() -> None:
    with pytest.raises(
        ValueError, match=r"batch_size must be in \[1, 200\] \(the number of examples\), got 400"
    ):
        ml.train(ml.RunConfig.chapter(batch_size=400, period=400), DATA)


def test_train_rejects_wrong_types() -> None:
    with pytest.raises(TypeError, match="config must be a RunConfig"):
        ml.train({"batch_size": 10}, DATA)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"problem must be a momentumlab\.problems\.Problem"):
        ml.train(ml.RunConfig.chapter(), DATA.numpy())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callback must be callable"):
        ml.train(ml.RunConfig.chapter(), DATA, callback=3)  # type: ignore[arg-type]


def test_uninitialised_net_with_initialize_false_is_rejected() -> None:
    with pytest.raises(ValueError, match="must be initialised when initialize=False"):
        ml.train(ml.RunConfig.chapter(), DATA, net=ml.models.LinearRegressor(2), initialize=False)


def test_net_that_does_not_fit_the_loss_is_rejected_before_training() -> None:
    net = ml.models.LinearRegressor(2, 3)
    with pytest.raises(ValueError, match="net output must"):
        ml.train(ml.RunConfig.chapter(), DATA, net=net)
