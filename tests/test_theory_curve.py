"""predict_curve: the exact full-batch loss under any schedule, against float64 runs."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import momentumlab as ml

F64 = npt.NDArray[np.float64]
N_STEPS = 60


def setup(seed: int, kappa: float, noise: float = 0.1) -> tuple[Any, Any, F64]:
    data = ml.data.make_conditioned_regression(64, 3, condition_number=kappa, noise=noise, seed=seed)
    q = ml.theory.least_squares(data)
    X, y = data.numpy()
    A = np.hstack([X.astype(np.float64), np.ones((len(X), 1))])
    yd = y.astype(np.float64).reshape(-1)
    theta0 = np.random.default_rng(seed).normal(size=A.shape[1])

    def gradient(theta: F64) -> F64:
        g: F64 = A.T @ (A @ theta - yd) / len(yd)
        return g

    return q, gradient, theta0


def measured(q: Any, weights: F64) -> F64:
    return np.array([q.loss(w[:-1], w[-1:]) for w in weights])


SCHEDULES: dict[str, Callable[[int], float]] = {
    "constant": lambda t: 0.3,
    "warmup-cosine": ml.optim.warmup(ml.optim.cosine_decay(0.5, N_STEPS - 10, end_value=0.01), 10),
    "step": ml.optim.multistep_decay(0.5, [20, 40], 0.2),
    "wsd-1-sqrt": ml.optim.warmup_stable_decay(0.5, 5, 25, 30, decay_shape="1-sqrt"),
}
METHODS: dict[str, dict[str, Any]] = {
    "sgd": {"momentum": 0.8},
    "nag": {"momentum": 0.8},
    "sgd_torch": {"momentum": 0.8},
    "qhm": {"momentum": 0.9, "nu": 0.7},
    "aggmo": {"betas": (0.0, 0.5, 0.8)},
    "sgd_schedule_free": {"momentum": 0.9},
}


def assert_matches(predicted: F64, run: F64, q: Any) -> float:
    """Relative deviation of the losses and of the excess losses (where above 1e-12)."""
    assert predicted.shape == run.shape == (N_STEPS + 1,)
    rel = np.abs(predicted - run) / run
    excess_run, excess_pred = run - q.optimal_loss, predicted - q.optimal_loss
    big = excess_run > 1e-12
    assert big[:5].all()
    rel_excess = np.abs(excess_pred[big] - excess_run[big]) / excess_run[big]
    worst = float(max(rel.max(), rel_excess.max()))
    assert worst < 1e-6, worst
    return worst


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
@pytest.mark.parametrize("method", sorted(METHODS))
def test_prediction_matches_a_float64_full_batch_run(method: str, schedule: str) -> None:
    q, gradient, theta0 = setup(0, 30.0)
    lrs = np.array([SCHEDULES[schedule](t) for t in range(N_STEPS)])
    hyper = METHODS[method]
    if method == "aggmo":
        lrs = lrs / 4  # AggMo's effective rate is (lr/K) sum 1/(1-beta_i)
    run = ml.optim.reference_run(method, gradient, theta0, lrs, **hyper)
    kw: dict[str, Any] = {"weight": theta0[:-1].reshape(1, -1), "bias": theta0[-1:]}
    curve = ml.theory.predict_curve(q, method, lrs, **kw, **hyper)
    assert_matches(curve.losses, measured(q, run.weights), q)
    if method == "sgd_schedule_free":
        at_x = ml.theory.predict_curve(q, method, lrs, **kw, **hyper, at_evaluation_point=True)
        assert_matches(at_x.losses, measured(q, run.evaluation_weights), q)
        assert not np.allclose(at_x.losses, curve.losses)
    np.testing.assert_allclose(
        curve.mode_losses.sum(axis=1), curve.losses - q.optimal_loss, rtol=1e-9, atol=1e-15
    )


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 10_000),
    st.floats(1.0, 200.0),
    st.lists(st.floats(0.0, 0.95), min_size=N_STEPS, max_size=N_STEPS),
    st.lists(st.floats(0.0, 1.0), min_size=N_STEPS, max_size=N_STEPS),
    st.sampled_from(["sgd", "nag", "sgd_torch", "qhm"]),
)
def test_any_per_step_momentum_and_nu_schedule(
    seed: int, kappa: float, moms: list[float], nus: list[float], method: str
) -> None:
    q, gradient, theta0 = setup(seed, kappa)
    rng = np.random.default_rng(seed)
    lrs = rng.uniform(0.05, 1.0, size=N_STEPS) / q.lambda_max
    kw: dict[str, Any] = {"weight": theta0[:-1].reshape(1, -1), "bias": theta0[-1:]}
    if method == "qhm":
        curve = ml.theory.predict_curve(q, "qhm", lrs, momentum=moms, nu=nus, **kw)
        w, state = theta0, None
        weights = [w]
        for t in range(N_STEPS):  # reference_run takes a momentum schedule; nu per step by hand
            w, state = ml.optim.reference_update(
                "qhm", w, gradient(w), state, learning_rate=lrs[t], step=t + 1, momentum=moms[t], nu=nus[t]
            )
            weights.append(w)
        run_losses = measured(q, np.array(weights))
    else:
        curve = ml.theory.predict_curve(q, method, lrs, momentum=moms, **kw)
        run_losses = measured(q, ml.optim.reference_run(method, gradient, theta0, lrs, momentum=moms).weights)
    rel = np.abs(curve.losses - run_losses) / run_losses
    assert rel.max() < 1e-6


def test_demon_is_predicted_as_sgd_with_its_decayed_momenta() -> None:
    q, gradient, theta0 = setup(3, 40.0)
    lrs = np.array([SCHEDULES["warmup-cosine"](t) for t in range(N_STEPS)])
    run = ml.optim.reference_run("demon", gradient, theta0, lrs, momentum=0.9, total_steps=40)
    momenta = [ml.optim.demon_momentum(t, 0.9, 40) for t in range(N_STEPS)]
    curve = ml.theory.predict_curve(
        q, "sgd", lrs, weight=theta0[:-1].reshape(1, -1), bias=theta0[-1:], momentum=momenta
    )
    assert_matches(curve.losses, measured(q, run.weights), q)


def test_a_constant_schedule_gives_the_predicted_rate() -> None:
    q, _, theta0 = setup(1, 50.0)
    tuning = ml.theory.optimal_momentum(q)
    lrs = np.full(300, tuning.learning_rate)
    curve = ml.theory.predict_curve(
        q, "sgd", lrs, weight=theta0[:-1].reshape(1, -1), bias=theta0[-1:], momentum=tuning.momentum
    )
    excess = curve.mode_losses.sum(axis=1)  # free of the rounding of L* + excess
    assert excess[-1] > 0
    measured_rate = (excess[-1] / excess[-201]) ** (1 / 400)  # the loss contracts by rate^2
    assert abs(measured_rate - tuning.rate) < 0.02 * tuning.rate


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"optimizer": "adam"}, ValueError, "optimizer must be one of"),
        (
            {"learning_rates": [0.1, -0.1]},
            ValueError,
            "learning_rates must be a finite number >= 0.0 at every step, got -0.1 at step 1",
        ),
        ({"momentum": 1.0}, ValueError, "momentum must be in [0.0, 1.0), got 1.0"),
        (
            {"momentum": [0.5]},
            ValueError,
            "momentum must be a float or one value per learning rate (2), got 1 values",
        ),
        (
            {"momentum": [0.5, 1.5]},
            ValueError,
            "momentum must be a finite number in [0.0, 1.0) at every step, got 1.5 at step 1",
        ),
        ({"optimizer": "qhm", "nu": 2.0}, ValueError, "nu must be in [0.0, 1.0], got 2.0"),
        ({"bias": None}, ValueError, "bias must be given for a problem with a bias"),
        ({"optimizer": "aggmo", "betas": ()}, ValueError, "betas must be a non-empty sequence"),
        ({"optimizer": "lookahead", "inner": "adam"}, ValueError, "inner must be one of ['aggmo', 'nag',"),
        ({"optimizer": "lookahead", "k": 0}, ValueError, "k must be an integer >= 1, got 0"),
        ({"optimizer": "lookahead", "alpha": 0.0}, ValueError, "alpha must be in (0.0, 1.0], got 0.0"),
        (
            {"optimizer": "lookahead", "at_evaluation_point": True},
            ValueError,
            "at_evaluation_point must be False for lookahead (its runs are evaluated at the fast weights)",
        ),
    ],
)
def test_predict_curve_checks_its_arguments(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    q, _, theta0 = setup(0, 10.0)
    args: dict[str, Any] = {
        "optimizer": "sgd",
        "learning_rates": [0.1, 0.1],
        "weight": theta0[:-1].reshape(1, -1),
        "bias": theta0[-1:],
        **kwargs,
    }
    with pytest.raises(error, match=re.escape(message)):
        ml.theory.predict_curve(q, args.pop("optimizer"), args.pop("learning_rates"), **args)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_float32_mxnet_full_batch_run_follows_the_prediction_to_its_float32_floor(method: str) -> None:
    """Measured (seed 0, kappa 30, 200 updates of warmup+cosine): loss within 2.1e-6 relative,
    excess loss within 1e-5 relative while it is above 1e-4 of the initial excess."""
    import mxnet as mx

    data = ml.data.make_conditioned_regression(64, 3, condition_number=30.0, noise=0.1, seed=0)
    q = ml.theory.least_squares(data)
    X, y = data.numpy()
    theta0 = np.random.default_rng(0).normal(size=4)
    scale = 4.0 if method == "aggmo" else 1.0
    base = ml.optim.warmup(ml.optim.cosine_decay(0.5 / scale, 190, end_value=0.01 / scale), 10)
    lrs = np.array([base(t) for t in range(200)])
    hyper = METHODS[method]
    net = mx.gluon.nn.Dense(1, in_units=3)
    net.initialize()
    net.weight.set_data(mx.nd.array(theta0[:3].reshape(1, 3)))
    net.bias.set_data(mx.nd.array(theta0[3:]))
    params = {"learning_rate": base(0), "lr_scheduler": ml.optim.as_lr_scheduler(base), **hyper}
    trainer = mx.gluon.Trainer(net.collect_params(), method, params)
    Xm, ym = mx.nd.array(X), mx.nd.array(y.reshape(-1, 1))
    losses = [q.loss(net.weight.data().asnumpy(), net.bias.data().asnumpy())]
    for _ in range(200):
        with mx.autograd.record():
            loss = 0.5 * (net(Xm) - ym) ** 2
        loss.backward()
        trainer.step(len(X))
        losses.append(q.loss(net.weight.data().asnumpy(), net.bias.data().asnumpy()))
    run = np.array(losses)
    curve = ml.theory.predict_curve(q, method, lrs, weight=theta0[:3].reshape(1, 3), bias=theta0[3:], **hyper)
    assert np.max(np.abs(run - curve.losses) / curve.losses) < 1e-5
    excess = curve.mode_losses.sum(axis=1)
    big = excess > 1e-4 * excess[0]
    assert big.sum() >= 10  # NAG is below 1e-4 after 18 updates
    assert np.max(np.abs(run[big] - q.optimal_loss - excess[big]) / excess[big]) < 1e-4


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(0.01, 100.0), min_size=1, max_size=5),
    st.floats(0.001, 0.5),
    st.floats(0.0, 0.95),
)
def test_family_rates_agree_with_heavy_ball_where_the_methods_coincide(
    spectrum: list[float], lr: float, mu: float
) -> None:
    hb = ml.theory.rate(spectrum, lr, mu)
    rate = ml.theory.family_rate
    assert math.isclose(rate(spectrum, "sgd", lr, mu), hb, rel_tol=1e-6, abs_tol=1e-9)
    assert math.isclose(rate(spectrum, "sgd_torch", lr, mu), hb, rel_tol=1e-6, abs_tol=1e-9)
    assert math.isclose(rate(spectrum, "aggmo", lr, betas=(mu,)), hb, rel_tol=1e-6, abs_tol=1e-9)
    assert math.isclose(
        rate(spectrum, "qhm", lr, mu, nu=0.0), ml.theory.rate(spectrum, lr), rel_tol=1e-6, abs_tol=1e-9
    )
    if mu < 0.95:
        scaled = lr / (1 - mu)
        assert math.isclose(rate(spectrum, "qhm", scaled, mu, nu=1.0), hb, rel_tol=1e-6, abs_tol=1e-9)
        nag = rate(spectrum, "nag", lr, mu)
        assert math.isclose(rate(spectrum, "qhm", scaled, mu, nu=mu), nag, rel_tol=1e-6, abs_tol=1e-9)


@pytest.mark.parametrize("method", ["sgd", "nag", "qhm", "aggmo"])
def test_family_rate_is_the_contraction_of_the_predicted_curve(method: str) -> None:
    q, _, theta0 = setup(2, 40.0)
    hyper = {"sgd": {"momentum": 0.7}, "nag": {"momentum": 0.7}, "qhm": {"momentum": 0.9, "nu": 0.7}}
    kw = hyper.get(method, {"betas": (0.0, 0.5, 0.8)})
    lr = 0.5 / q.lambda_max
    curve = ml.theory.predict_curve(
        q, method, np.full(600, lr), weight=theta0[:-1].reshape(1, -1), bias=theta0[-1:], **kw
    )
    excess = curve.mode_losses.sum(axis=1)
    assert excess[-1] > 0
    contraction = (excess[-1] / excess[-301]) ** (1 / 600)
    predicted = ml.theory.family_rate(q, method, lr, **kw)
    assert predicted < 1
    assert abs(contraction - predicted) < 0.01 * predicted


def test_schedule_free_has_no_constant_rate() -> None:
    with pytest.raises(ValueError, match="optimizer must not be 'sgd_schedule_free' for a rate"):
        ml.theory.family_rate([1.0], "sgd_schedule_free", 0.1, 0.9)


def _lookahead(inner: str) -> tuple[dict[str, Any], dict[str, Any], float]:
    """Lookahead around ``inner`` (k = 3, alpha = 0.6): the reference's keywords, the theory's,
    and a scale of the learning rate (AggMo's effective rate is about 4 times the others')."""
    hyper = dict(METHODS[inner])
    momentum = hyper.pop("momentum", None)
    ref = {"k": 3, "alpha": 0.6, "inner": inner, "momentum": momentum, "inner_hyperparameters": hyper}
    return ref, {"k": 3, "alpha": 0.6, "inner": inner, **METHODS[inner]}, 0.25 if inner == "aggmo" else 1.0


@pytest.mark.parametrize("schedule", ["constant", "wsd-1-sqrt"])
@pytest.mark.parametrize("inner", ml.theory.LOOKAHEAD_INNER)
def test_lookahead_prediction_matches_a_float64_full_batch_run(inner: str, schedule: str) -> None:
    """Lookahead's synchronisation is one more linear map every k-th update: exact, for every inner."""
    q, gradient, theta0 = setup(0, 30.0)
    ref, theory, scale = _lookahead(inner)
    lrs = scale * np.array([SCHEDULES[schedule](t) for t in range(N_STEPS)])
    run = ml.optim.reference_run("lookahead", gradient, theta0, lrs, **ref)
    kw: dict[str, Any] = {"weight": theta0[:-1].reshape(1, -1), "bias": theta0[-1:]}
    curve = ml.theory.predict_curve(q, "lookahead", lrs, **kw, **theory)
    assert_matches(curve.losses, measured(q, run.weights), q)
    inner_only = ml.theory.predict_curve(q, inner, lrs, **kw, **METHODS[inner])
    assert np.abs(curve.losses / inner_only.losses - 1).max() > 1e-3  # the synchronisation matters
    np.testing.assert_allclose(
        curve.mode_losses.sum(axis=1), curve.losses - q.optimal_loss, rtol=1e-9, atol=1e-15
    )


@pytest.mark.parametrize("inner", ml.theory.LOOKAHEAD_INNER)
def test_lookahead_with_k_1_and_alpha_1_is_its_inner_optimizer(inner: str) -> None:
    q, _, theta0 = setup(4, 20.0)
    lrs = np.array([SCHEDULES["warmup-cosine"](t) for t in range(N_STEPS)]) / 4
    kw: dict[str, Any] = {"weight": theta0[:-1].reshape(1, -1), "bias": theta0[-1:], **METHODS[inner]}
    lookahead = ml.theory.predict_curve(q, "lookahead", lrs, inner=inner, k=1, alpha=1.0, **kw)
    alone = ml.theory.predict_curve(q, inner, lrs, **kw)
    if inner == "sgd_schedule_free":  # another state, (y, z, x): the same numbers up to rounding
        np.testing.assert_allclose(lookahead.losses, alone.losses, rtol=1e-13)
    else:
        np.testing.assert_array_equal(lookahead.losses, alone.losses)
    assert lookahead.losses[-1] < 0.5 * lookahead.losses[0]


@pytest.mark.parametrize("inner", ["sgd", "qhm", "sgd_schedule_free"])
def test_float32_mxnet_lookahead_run_follows_the_prediction_to_its_float32_floor(inner: str) -> None:
    import mxnet as mx

    data = ml.data.make_conditioned_regression(64, 3, condition_number=30.0, noise=0.1, seed=0)
    q = ml.theory.least_squares(data)
    X, y = data.numpy()
    theta0 = np.random.default_rng(0).normal(size=4)
    base = ml.optim.warmup(ml.optim.cosine_decay(0.5, 190, end_value=0.01), 10)
    lrs = np.array([base(t) for t in range(200)])
    ref, theory, _ = _lookahead(inner)
    net = mx.gluon.nn.Dense(1, in_units=3)
    net.initialize()
    net.weight.set_data(mx.nd.array(theta0[:3].reshape(1, 3)))
    net.bias.set_data(mx.nd.array(theta0[3:]))
    params = {"learning_rate": base(0), "lr_scheduler": ml.optim.as_lr_scheduler(base), **ref}
    trainer = mx.gluon.Trainer(net.collect_params(), "lookahead", params)
    Xm, ym = mx.nd.array(X), mx.nd.array(y.reshape(-1, 1))
    losses = [q.loss(net.weight.data().asnumpy(), net.bias.data().asnumpy())]
    for _ in range(200):
        with mx.autograd.record():
            loss = 0.5 * (net(Xm) - ym) ** 2
        loss.backward()
        trainer.step(len(X))
        losses.append(q.loss(net.weight.data().asnumpy(), net.bias.data().asnumpy()))
    run = np.array(losses)
    curve = ml.theory.predict_curve(
        q, "lookahead", lrs, weight=theta0[:3].reshape(1, 3), bias=theta0[3:], **theory
    )
    assert np.max(np.abs(run - curve.losses) / curve.losses) < 1e-5
    excess = curve.mode_losses.sum(axis=1)
    big = excess > 1e-4 * excess[0]
    assert big.sum() >= 10
    worst = np.max(np.abs(run[big] - q.optimal_loss - excess[big]) / excess[big])
    print(f"lookahead({inner}), float32: excess within {worst:.1e} while above 1e-4 of the start")
    assert worst < 1e-4


def test_lookahead_has_no_constant_rate() -> None:
    with pytest.raises(ValueError, match="optimizer must not be 'lookahead' for a rate"):
        ml.theory.family_rate([1.0], "lookahead", 0.1, 0.9)
