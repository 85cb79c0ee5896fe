"""Laws of the momentum family, on the float64 references and on the MXNet optimizers.

Scalings (``alpha`` the QHM/AggMo learning rate, ``beta`` the momentum):
* QHM ``nu = 0`` is plain SGD with the same rates (any schedule);
* QHM ``nu = 1`` is torch heavy ball with rates ``alpha_t (1 - beta)`` (any schedule), hence
  MXNet heavy ball with rate ``alpha (1 - beta)`` while the rate is constant;
* QHM ``nu = beta`` is NAG with rate ``alpha (1 - beta)`` (constant rate, no weight decay);
* AggMo with one beta is torch heavy ball (any schedule);
* Lookahead with ``k = 1, alpha = 1`` is its inner optimizer (any schedule);
* Demon with a constant momentum (``total_steps=None``) is MXNet heavy ball, and Demon is
  heavy ball with the per-step momentum ``demon_momentum(t)``;
* schedule-free SGD with ``beta = 0`` trains at ``z``, i.e. it is plain SGD, and with a
  constant rate its evaluation point is the running mean of the ``z`` iterates;
* MXNet and torch heavy ball agree while the rate is constant; the first update after a
  change from ``lr`` to ``lr'`` differs by ``(lr' - lr) mu b`` (``b`` the torch buffer);
  with ``mxnet_to_torch_momentum`` they agree under any schedule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import momentumlab as ml
from tests.test_family_reference import N_STEPS, SCHEDULES, deviation, mxnet_run

F64 = npt.NDArray[np.float64]
TIGHT = 1e-10  # float64 identities: measured below 1e-13


@st.composite
def quadratics(draw: Any) -> tuple[Callable[[F64], F64], F64]:
    """A random convex quadratic's gradient ``H w - c`` and a start point (d <= 4)."""
    d = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    H = Q @ np.diag(rng.uniform(0.05, 2.0, size=d)) @ Q.T
    c = rng.normal(size=d)
    w0 = rng.normal(size=d)

    def gradient(w: F64) -> F64:
        g: F64 = H @ w - c
        return g

    return gradient, w0


def rates(constant: bool) -> st.SearchStrategy[F64]:
    n = st.integers(1, 30)
    if constant:
        return st.tuples(n, st.floats(0.01, 0.5)).map(lambda p: np.full(p[0], p[1]))
    return n.flatmap(lambda k: st.lists(st.floats(0.01, 0.5), min_size=k, max_size=k)).map(np.array)


momenta = st.floats(0.0, 0.99)


def run(name: str, problem: tuple[Callable[[F64], F64], F64], lrs: F64, **kw: Any) -> ml.optim.ReferenceRun:
    gradient, w0 = problem
    return ml.optim.reference_run(name, gradient, w0, lrs, **kw)


def close(a: F64, b: F64, tol: float = TIGHT) -> None:
    assert a.shape == b.shape
    assert deviation(a, b + 1e-300) < tol or np.allclose(a, b, rtol=tol, atol=tol)


@settings(max_examples=80, deadline=None)
@given(quadratics(), rates(constant=False), momenta, st.floats(0.0, 0.1))
def test_qhm_nu0_is_sgd_and_nu1_is_torch_heavy_ball(problem: Any, lrs: F64, beta: float, wd: float) -> None:
    close(
        run("qhm", problem, lrs, momentum=beta, nu=0.0, weight_decay=wd).weights,
        run("sgd", problem, lrs, momentum=0.0, weight_decay=wd).weights,
    )
    close(
        run("qhm", problem, lrs, momentum=beta, nu=1.0, weight_decay=wd).weights,
        run("sgd_torch", problem, lrs * (1 - beta), momentum=beta, weight_decay=wd).weights,
    )


@settings(max_examples=80, deadline=None)
@given(quadratics(), rates(constant=True), momenta)
def test_qhm_is_mxnet_heavy_ball_and_nag_at_constant_rate(problem: Any, lrs: F64, beta: float) -> None:
    close(
        run("qhm", problem, lrs, momentum=beta, nu=1.0).weights,
        run("sgd", problem, lrs * (1 - beta), momentum=beta).weights,
    )
    close(
        run("qhm", problem, lrs, momentum=beta, nu=beta).weights,
        run("nag", problem, lrs * (1 - beta), momentum=beta).weights,
    )


@settings(max_examples=80, deadline=None)
@given(quadratics(), rates(constant=False), momenta)
def test_aggmo_with_one_beta_is_torch_heavy_ball(problem: Any, lrs: F64, beta: float) -> None:
    close(
        run("aggmo", problem, lrs, betas=(beta,)).weights,
        run("sgd_torch", problem, lrs, momentum=beta).weights,
    )


@settings(max_examples=60, deadline=None)
@given(quadratics(), rates(constant=False), momenta, st.sampled_from(["sgd", "nag", "sgd_torch", "qhm"]))
def test_lookahead_k1_alpha1_is_its_inner_optimizer(problem: Any, lrs: F64, beta: float, inner: str) -> None:
    close(
        run("lookahead", problem, lrs, k=1, alpha=1.0, inner=inner, momentum=beta).weights,
        run(inner, problem, lrs, momentum=beta).weights,
    )


@settings(max_examples=80, deadline=None)
@given(quadratics(), rates(constant=False), momenta, st.integers(1, 40))
def test_demon_is_heavy_ball_with_its_momentum_schedule(problem: Any, lrs: F64, beta: float, T: int) -> None:
    close(
        run("demon", problem, lrs, momentum=beta, total_steps=None).weights,
        run("sgd", problem, lrs, momentum=beta).weights,
    )
    schedule = [ml.optim.demon_momentum(t, beta, T) for t in range(len(lrs))]
    close(
        run("demon", problem, lrs, momentum=beta, total_steps=T).weights,
        run("sgd", problem, lrs, momentum=schedule).weights,
    )


@settings(max_examples=60, deadline=None)
@given(quadratics(), rates(constant=False), rates(constant=True), momenta)
def test_schedule_free_with_beta0_is_sgd_and_averages_z(
    problem: Any, lrs: F64, const: F64, beta: float
) -> None:
    close(run("sgd_schedule_free", problem, lrs, momentum=0.0).weights, run("sgd", problem, lrs).weights)
    sf = run("sgd_schedule_free", problem, const, momentum=beta)
    assert sf.evaluation_weights.shape == sf.weights.shape == (len(const) + 1, len(problem[1]))
    # with beta, z_{t+1} = z_t - lr g(y_t); reconstruct z from y and x: y = (1-beta) z + beta x
    if beta < 0.98:
        zs = (sf.weights[1:] - beta * sf.evaluation_weights[1:]) / (1 - beta)
        running_mean = np.cumsum(zs, axis=0) / np.arange(1, len(zs) + 1)[:, None]
        close(sf.evaluation_weights[1:], running_mean, 1e-8)


@settings(max_examples=80, deadline=None)
@given(
    quadratics(), st.integers(1, 15), st.integers(1, 15), st.floats(0.01, 0.5), st.floats(0.01, 0.5), momenta
)
def test_mxnet_and_torch_heavy_ball_agree_until_the_rate_changes(
    problem: Any, before: int, after: int, lr: float, lr2: float, mu: float
) -> None:
    lrs = np.array([lr] * before + [lr2] * after)
    mx_run = run("sgd", problem, lrs, momentum=mu).weights
    torch_run = run("sgd_torch", problem, lrs, momentum=mu).weights
    close(mx_run[: before + 1], torch_run[: before + 1])
    b = (torch_run[before - 1] - torch_run[before]) / lr  # torch buffer after `before` updates
    np.testing.assert_allclose(
        mx_run[before + 1] - torch_run[before + 1], (lr2 - lr) * mu * b, rtol=1e-8, atol=1e-12
    )
    converted = ml.optim.mxnet_to_torch_momentum(mu, lrs)
    close(run("sgd_torch", problem, lrs, momentum=converted).weights, mx_run, 1e-9)
    back = ml.optim.torch_to_mxnet_momentum(converted, lrs)
    np.testing.assert_allclose(back, mu, rtol=1e-12, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(quadratics(), rates(constant=False), momenta)
def test_torch_to_mxnet_momentum_gives_torchs_trajectory(problem: Any, lrs: F64, m: float) -> None:
    mu = ml.optim.torch_to_mxnet_momentum(m, lrs)
    close(
        run("sgd", problem, lrs, momentum=mu).weights,
        run("sgd_torch", problem, lrs, momentum=m).weights,
        1e-9,
    )


@given(st.lists(st.floats(-10, 10), min_size=1, max_size=5), st.floats(1e-3, 10))
def test_velocity_and_buffer_converters_are_inverse(values: list[float], lr: float) -> None:
    v = np.array(values)
    b = ml.optim.mxnet_velocity_to_torch_buffer(v, lr)
    np.testing.assert_allclose(b, -v / lr)
    np.testing.assert_allclose(ml.optim.torch_buffer_to_mxnet_velocity(b, lr), v, atol=1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: ml.optim.mxnet_to_torch_momentum(0.9, [0.1, 0.0]),
            "learning_rates[1] must be a finite number > 0.0, got 0.0",
        ),
        (
            lambda: ml.optim.mxnet_to_torch_momentum([0.9, 0.9], [0.1]),
            "momentum must be a float or one value per learning rate (1), got 2 values",
        ),
        (lambda: ml.optim.torch_to_mxnet_momentum(0.9, []), "learning_rates must be a finite 1-D array"),
        (lambda: ml.optim.mxnet_velocity_to_torch_buffer([1.0], 0.0), "learning_rate must be > 0.0, got 0.0"),
        (
            lambda: ml.optim.reference_update("adam", [0.0], [0.0], None, learning_rate=0.1, step=1),
            "name must be one of",
        ),
        (
            lambda: ml.optim.reference_update("sgd", [0.0], [0.0], None, learning_rate=0.1, step=0),
            "step must be an integer >= 1, got 0",
        ),
        (
            lambda: ml.optim.reference_run("sgd", lambda w: w, [1.0], [0.1], momentum=[0.1, 0.2]),
            "momentum must be a float or one value per update (1), got 2 values",
        ),
    ],
)
def test_converters_and_references_check_their_arguments(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


# --------------------------------------------------------------------------- on the MXNet optimizers


def mx_weights(name: str, hyper: dict[str, Any], schedule: ml.Schedule) -> F64:
    return mxnet_run(name, hyper, schedule, 0.0, 3, "float64")[0]


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_mxnet_optimizers_obey_the_identities(schedule: str) -> None:
    s = SCHEDULES[schedule]
    scaled = ml.optim.custom_schedule(lambda t: s(t) * (1 - 0.9))
    tol = 1e-12
    # lookahead k=1, alpha=1 and demon without decay run MXNet's own kernels: identical
    np.testing.assert_array_equal(
        mx_weights("lookahead", {"k": 1, "alpha": 1.0, "momentum": 0.9}, s),
        mx_weights("sgd", {"momentum": 0.9}, s),
    )
    np.testing.assert_array_equal(
        mx_weights("demon", {"momentum": 0.9}, s), mx_weights("sgd", {"momentum": 0.9}, s)
    )
    # MXNet's sgd kernel takes the rate as float32: agreement to float32 rounding of lr
    assert deviation(mx_weights("qhm", {"momentum": 0.9, "nu": 0.0}, s), mx_weights("sgd", {}, s)) < 1e-7
    assert (
        deviation(
            mx_weights("qhm", {"momentum": 0.9, "nu": 1.0}, s),
            mx_weights("sgd_torch", {"momentum": 0.9}, scaled),
        )
        < 1e-9
    )
    assert (
        deviation(mx_weights("aggmo", {"betas": (0.9,)}, s), mx_weights("sgd_torch", {"momentum": 0.9}, s))
        < tol
    )
    if schedule == "constant":
        assert (
            deviation(mx_weights("sgd_torch", {"momentum": 0.9}, s), mx_weights("sgd", {"momentum": 0.9}, s))
            < 1e-6
        )
    else:  # the conventions part after the first change of rate
        assert (
            deviation(mx_weights("sgd_torch", {"momentum": 0.9}, s), mx_weights("sgd", {"momentum": 0.9}, s))
            > 1e-4
        )
    assert N_STEPS > 10
