"""momentumlab.theory against brute-force NumPy: closed forms, laws, validation, layering."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import mxnet as mx
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import momentumlab as ml
from momentumlab._src.types import Array
from momentumlab.theory._noise import _transfer

THEORY_DIR = Path(ml.theory.__file__).parent


def iteration_matrix(H: Array, alpha: float, beta: float) -> Array:
    """The explicit 2p×2p heavy-ball matrix on (e_t, e_{t-1})."""
    p = H.shape[0]
    eye = np.eye(p)
    return np.block([[(1 + beta) * eye - alpha * H, -beta * eye], [eye, np.zeros((p, p))]])


def brute_rate(H: Array, alpha: float, beta: float) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(iteration_matrix(H, alpha, beta)))))


def random_spd(rng: np.random.Generator, evals: Array) -> Array:
    q, _ = np.linalg.qr(rng.standard_normal((evals.size, evals.size)))
    out: Array = (q * evals) @ q.T
    return out


spectra = st.lists(st.floats(1e-3, 1e3), min_size=2, max_size=6).map(np.array)


# --- layering ---------------------------------------------------------------------------------


def test_theory_imports_only_numpy_stdlib_and_src() -> None:
    allowed_roots = {"__future__", "dataclasses", "math", "typing", "numpy", "numbers", "collections"}
    for path in THEORY_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                ok = name.split(".")[0] in allowed_roots or name.startswith(
                    ("momentumlab._src", "momentumlab.theory")
                )
                assert ok, f"{path.name} imports {name}"


# --- Hessian and least squares ----------------------------------------------------------------


def test_hessian_is_mean_outer_product_of_augmented_features() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    H = ml.theory.hessian(X)
    A = np.hstack([X, np.ones((50, 1))])
    np.testing.assert_allclose(H, sum(np.outer(a, a) for a in A) / 50, rtol=1e-12)
    np.testing.assert_allclose(ml.theory.hessian(X, n_outputs=2), H / 2, rtol=1e-12)


def test_hessian_matches_one_full_batch_mxnet_update() -> None:
    """w1 = w0 - lr * H (θ0 - θ*) exactly as Trainer.step(batch_size) scales the gradient."""
    data = ml.data.make_conditioned_regression(64, 3, condition_number=20.0, noise=0.3, seed=1)
    q = ml.theory.least_squares(data)
    net = ml.models.LinearRegressor(3)
    ml.models.init_normal(net, seed=2)
    w0, b0 = ml.models.get_linear_params(net)
    trainer = ml.optim.make_trainer(net.collect_params(), learning_rate=0.1)
    loss = mx.gluon.loss.L2Loss()
    with mx.autograd.record():
        lv = loss(net(data.features), data.labels)
    lv.backward()
    trainer.step(data.n_samples)
    w1, b1 = ml.models.get_linear_params(net)
    e0 = np.concatenate([w0[0] - q.weight[0], b0 - q.bias])
    expected = np.concatenate([w0[0], b0]) - 0.1 * q.hessian @ e0
    np.testing.assert_allclose(np.concatenate([w1[0], b1]), expected, rtol=0, atol=2e-6)
    # and the loss the runner records is the theory's quadratic
    recorded = float(loss(net(data.features), data.labels).mean().asscalar())
    assert recorded == pytest.approx(q.loss(w1, b1), rel=1e-5)


def test_least_squares_optimum_and_loss_match_numpy_lstsq() -> None:
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 2))
    Y = X @ np.array([[1.0, -2.0], [0.5, 3.0]]) + np.array([0.3, -1.0]) + 0.1 * rng.standard_normal((40, 2))
    q = ml.theory.least_squares((X, Y))
    A = np.hstack([X, np.ones((40, 1))])
    theta, *_ = np.linalg.lstsq(A, Y, rcond=None)
    np.testing.assert_allclose(q.weight, theta[:2].T, rtol=1e-10)
    np.testing.assert_allclose(q.bias, theta[2], rtol=1e-10)
    assert q.optimal_loss == pytest.approx(np.mean(0.5 * (A @ theta - Y) ** 2), rel=1e-12)
    assert q.n_outputs == 2
    assert q.n_features == 2
    # the optimum is a minimum: any perturbation raises the loss by ½ eᵀHe
    w, b = q.weight + 0.1, q.bias - 0.2
    direct = float(np.mean(0.5 * (X @ w.T + b - Y) ** 2))
    assert q.loss(w, b) == pytest.approx(direct, rel=1e-12)
    assert q.loss(w, b) > q.optimal_loss


def test_least_squares_rejects_bad_input() -> None:
    with pytest.raises(TypeError, match="data must be"):
        ml.theory.least_squares([1, 2])
    with pytest.raises(ValueError, match="labels must have shape"):
        ml.theory.least_squares((np.ones((3, 1)), np.ones(4)))
    with pytest.raises(TypeError, match="features must have a floating dtype"):
        ml.theory.least_squares((np.ones((3, 1), dtype=int), np.ones(3)))
    with pytest.raises(ValueError, match="features must be finite"):
        ml.theory.least_squares((np.full((3, 1), np.nan), np.ones(3)))


# --- rates ------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(spectra, st.floats(1e-4, 1.0), st.floats(0.0, 0.999))
def test_rate_equals_spectral_radius_of_explicit_matrix(evals: Array, a: float, beta: float) -> None:
    alpha = a * 4.0 / evals.max()
    H = random_spd(np.random.default_rng(0), evals)
    assert ml.theory.rate(evals, alpha, beta) == pytest.approx(brute_rate(H, alpha, beta), rel=1e-6, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(spectra)
def test_polyak_optimum_rate_law(evals: Array) -> None:
    kappa = evals.max() / evals.min()
    t = ml.theory.optimal_momentum(evals)
    expected = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    assert t.rate == pytest.approx(expected, rel=1e-12, abs=1e-12)
    # at the double root the radius is sqrt-sensitive to rounding: ~1e-8 absolute
    assert ml.theory.rate(evals, t.learning_rate, t.momentum) == pytest.approx(expected, abs=1e-7)
    assert t.momentum == pytest.approx(expected**2)
    assert t.learning_rate == pytest.approx(4 / (math.sqrt(evals.max()) + math.sqrt(evals.min())) ** 2)
    gd = ml.theory.optimal_gd(evals)
    assert gd.rate == pytest.approx((kappa - 1) / (kappa + 1), abs=1e-12)
    assert ml.theory.rate(evals, gd.learning_rate) == pytest.approx(gd.rate, rel=1e-9, abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(spectra, st.floats(1e-3, 3.0), st.floats(0.0, 0.99))
def test_no_setting_beats_polyak_and_best_step_beats_others(evals: Array, a: float, beta: float) -> None:
    alpha = a / evals.max()
    r = ml.theory.rate(evals, alpha, beta)
    assert r >= ml.theory.optimal_momentum(evals).rate - 1e-9
    assert r >= ml.theory.best_learning_rate(evals, beta).rate - 1e-9
    assert ml.theory.rate(evals, alpha, 0.0) >= ml.theory.optimal_gd(evals).rate - 1e-9


@settings(max_examples=100, deadline=None)
@given(spectra, st.floats(1e-3, 5.0), st.floats(0.0, 0.999))
def test_stable_iff_rate_below_one(evals: Array, a: float, beta: float) -> None:
    alpha = a / evals.max()
    assume(abs(alpha * evals.max() - 2 - 2 * beta) > 1e-6)
    assert ml.theory.is_stable(evals, alpha, beta) == (ml.theory.rate(evals, alpha, beta) < 1.0)
    boundary = ml.theory.max_stable_learning_rate(evals, beta)
    assert ml.theory.is_stable(evals, alpha, beta) == (alpha < boundary)


def test_rate_is_vectorised_like_scalar_calls() -> None:
    evals = np.array([0.5, 2.0, 40.0])
    alphas = np.linspace(0.001, 0.12, 7)
    betas = np.linspace(0.0, 0.95, 5)[:, None]
    grid = ml.theory.rate(evals, alphas, betas)
    assert grid.shape == (5, 7)
    for i, b in enumerate(betas[:, 0]):
        for j, a in enumerate(alphas):
            assert grid[i, j] == ml.theory.rate(evals, float(a), float(b))
    assert ml.theory.is_stable(evals, alphas, betas).shape == (5, 7)


@settings(max_examples=50, deadline=None)
@given(st.floats(1e-2, 1e2), st.floats(0.0, 0.99))
def test_critical_damping_gives_a_double_root(lam: float, beta: float) -> None:
    lo, hi = ml.theory.critical_learning_rates(lam, beta)
    for alpha in (lo, hi):
        t = 1 + beta - alpha * lam
        assert t * t == pytest.approx(4 * beta, abs=1e-9)
    if beta > 1e-4:
        mid = 0.5 * (lo + hi)
        assert float(ml.theory.mode_rate(lam, mid, beta)) == pytest.approx(math.sqrt(beta))


def test_polyak_point_is_where_the_critical_curves_of_the_extremes_meet() -> None:
    evals = [0.01, 1.0, 3.0]
    t = ml.theory.optimal_momentum(evals)
    low_of_min, _ = ml.theory.critical_learning_rates(0.01, t.momentum)
    _, high_of_max = ml.theory.critical_learning_rates(3.0, t.momentum)
    assert low_of_min == pytest.approx(t.learning_rate)
    assert high_of_max == pytest.approx(t.learning_rate)


def test_numpy_heavy_ball_converges_at_the_predicted_rate() -> None:
    """Simulated heavy ball in float64 (MXNet's v/w form): ‖e_t‖^{1/t} -> rate."""
    rng = np.random.default_rng(5)
    evals = np.array([0.02, 0.3, 1.0, 2.0])
    H = random_spd(rng, evals)
    for alpha, beta in [
        (0.3, 0.5),
        (0.9, 0.0),
        (0.05, 0.95),
        (ml.theory.optimal_gd(evals).learning_rate, 0.0),
    ]:
        w, v = rng.standard_normal(4), np.zeros(4)
        norms = []
        for _ in range(3000):
            v = beta * v - alpha * (H @ w)
            w = w + v
            norms.append(np.linalg.norm(w))
        measured = (norms[2999] / norms[1999]) ** (1 / 1000)
        assert measured == pytest.approx(ml.theory.rate(evals, alpha, beta), rel=2e-3)


def test_rate_functions_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"spectrum\[0\] must be a finite number > 0.0, got 0.0"):
        ml.theory.rate([0.0, 1.0], 0.1)
    with pytest.raises(ValueError, match=r"learning_rate must be a finite number > 0.0, got -0.1"):
        ml.theory.rate([1.0], -0.1)
    with pytest.raises(ValueError, match=r"momentum must be a finite number >= 0.0, got -0.5"):
        ml.theory.is_stable([1.0], 0.1, -0.5)
    with pytest.raises(ValueError, match=r"momentum must be in \[0.0, 1.0\), got 1.0"):
        ml.theory.best_learning_rate([1.0, 2.0], 1.0)
    with pytest.raises(TypeError, match="spectrum must be a LeastSquares"):
        ml.theory.optimal_gd(object())


# --- rate fitting -----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.floats(0.3, 0.995), st.floats(1e-3, 10.0), st.integers(0, 2**31))
def test_fit_rate_recovers_a_known_rate_through_a_noisy_floor(rho: float, e0: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    steps = np.arange(int(35 / -math.log(rho)))  # ~15 decades of excess
    floor = e0 * 1e-10
    losses = 2.0 + e0 * rho ** (2 * steps) + floor * rng.standard_normal(steps.size)
    fit = ml.theory.fit_rate(steps, losses, optimal_loss=2.0)
    assert fit.rate == pytest.approx(rho, rel=5e-3)
    assert fit.loss_rate == pytest.approx(fit.rate**2)
    assert fit.stop_step < steps[-1]


def test_fit_rate_power_removes_the_jordan_factor() -> None:
    steps = np.arange(1, 60)
    losses = steps**2.0 * 0.6 ** (2 * steps)
    plain = ml.theory.fit_rate(steps, losses, optimal_loss=0.0)
    corrected = ml.theory.fit_rate(steps, losses, optimal_loss=0.0, power=2)
    assert corrected.rate == pytest.approx(0.6, rel=1e-9)
    assert plain.rate > 0.61


def test_fit_rate_and_steps_to_tolerance_accept_result_like_objects() -> None:
    class Hist:
        record_steps = np.arange(0, 100, 2)
        losses = 1.0 + 0.9 ** np.arange(0, 100, 2)

    assert ml.theory.fit_rate(Hist(), optimal_loss=1.0).loss_rate == pytest.approx(0.9)
    assert ml.theory.steps_to_tolerance(Hist(), optimal_loss=1.0, tolerance=0.5) == 8
    assert ml.theory.steps_to_tolerance(Hist(), optimal_loss=1.0, tolerance=1e-9) is None


def test_steps_to_tolerance_waits_until_the_excess_stays_below() -> None:
    excess = np.array([1.0, 0.05, 0.5, 0.08, 0.02, 0.01])
    assert ml.theory.steps_to_tolerance(np.arange(6), excess, optimal_loss=0.0, tolerance=0.1) == 3


def test_fit_rate_rejects_bad_input() -> None:
    with pytest.raises(TypeError, match="history must be a RunResult"):
        ml.theory.fit_rate(np.arange(5), optimal_loss=0.0)
    with pytest.raises(ValueError, match="same length"):
        ml.theory.fit_rate(np.arange(5), np.ones(4), optimal_loss=0.0)
    with pytest.raises(ValueError, match="initial excess loss"):
        ml.theory.fit_rate(np.arange(5), np.ones(5), optimal_loss=2.0)
    with pytest.raises(ValueError, match="min_points=5"):
        ml.theory.fit_rate(np.arange(5), 0.1 ** np.arange(5), optimal_loss=0.0)
    with pytest.raises(ValueError, match="start must be in"):
        ml.theory.fit_rate(np.arange(5), 0.1 ** np.arange(5), optimal_loss=0.0, start=2.0)
    with pytest.raises(ValueError, match="tolerance must be in"):
        ml.theory.steps_to_tolerance(np.arange(5), 0.1 ** np.arange(5), optimal_loss=0.0, tolerance=0.0)


# --- the stationary floor: the Lyapunov solution against a brute-force one ---------------------


@pytest.mark.parametrize(("alpha", "beta"), [(0.3, 0.0), (0.1, 0.9), (0.5, 0.5)])
def test_transfer_matrix_matches_the_kronecker_lyapunov_solve(alpha: float, beta: float) -> None:
    """Additive model: Σ = α² G ∘ C in the eigenbasis equals vec-solving Z = M Z Mᵀ + Q."""
    rng = np.random.default_rng(7)
    lam = np.array([0.1, 0.7, 1.3])
    C = np.cov(rng.standard_normal((3, 10)))
    M = iteration_matrix(np.diag(lam), alpha, beta)
    Q = np.zeros((6, 6))
    Q[:3, :3] = alpha**2 * C
    Z = np.linalg.solve(np.eye(36) - np.kron(M, M), Q.ravel()).reshape(6, 6)
    np.testing.assert_allclose(alpha**2 * _transfer(lam, alpha, beta) * C, Z[:3, :3], rtol=1e-9)


# --- the generator ----------------------------------------------------------------------------


@pytest.mark.parametrize("spectrum", ["geometric", "linear", "outlier", "two-cluster"])
@pytest.mark.parametrize("rotate", [True, False])
@pytest.mark.parametrize("kappa", [1.0, 10.0, 1000.0, 1e4])
def test_conditioned_regression_has_the_requested_kappa(spectrum: str, rotate: bool, kappa: float) -> None:
    data = ml.data.make_conditioned_regression(
        200, 4, condition_number=kappa, spectrum=spectrum, rotate=rotate, seed=3
    )
    q = ml.theory.least_squares(data)
    assert q.condition_number == pytest.approx(kappa, rel=1e-6)
    assert q.hessian[-1, -1] == pytest.approx(1.0, abs=1e-12)
    rel = q.eigenvalues / q.lambda_max
    if spectrum == "geometric":
        np.testing.assert_allclose(np.diff(np.log(rel)), np.log(kappa) / 4, rtol=1e-5, atol=1e-7)
    if spectrum == "outlier":
        np.testing.assert_allclose(rel[1:], 1.0, rtol=1e-5)
    if not rotate:
        np.testing.assert_allclose(data.features.asnumpy().mean(axis=0), 0.0, atol=1e-6)


def test_conditioned_regression_truth_seed_and_description() -> None:
    a = ml.data.make_conditioned_regression(100, 2, condition_number=5.0, noise=0.0, seed=4)
    b = ml.data.make_conditioned_regression(100, 2, condition_number=5.0, noise=0.0, seed=4)
    c = ml.data.make_conditioned_regression(100, 2, condition_number=5.0, noise=0.0, seed=5)
    assert np.array_equal(a.features.asnumpy(), b.features.asnumpy())
    assert not np.array_equal(a.features.asnumpy(), c.features.asnumpy())
    q = ml.theory.least_squares(a)
    assert a.true_weight is not None
    assert a.true_bias is not None
    np.testing.assert_allclose(q.weight, a.true_weight, atol=1e-5)
    np.testing.assert_allclose(q.bias, a.true_bias, atol=1e-5)
    assert a.description == {
        "generator": "make_conditioned_regression",
        "n_samples": 100,
        "n_features": 2,
        "condition_number": 5.0,
        "spectrum": "geometric",
        "rotate": True,
        "noise": 0.0,
        "weight": None,
        "bias": None,
        "seed": 4,
    }
    given = ml.data.make_conditioned_regression(50, 2, condition_number=5.0, weight=[1.0, 2.0], bias=3.0)
    assert given.true_weight is not None
    assert given.true_weight.tolist() == [[1.0, 2.0]]


def test_conditioned_regression_rejects_bad_arguments() -> None:
    make = ml.data.make_conditioned_regression
    with pytest.raises(ValueError, match=r"condition_number must be in \[1.0, 1000000000000.0\], got 0.5"):
        make(10, 2, condition_number=0.5)
    with pytest.raises(ValueError, match="n_samples must be an integer >= 3, got 2"):
        make(2, 2, condition_number=2.0)
    with pytest.raises(ValueError, match="spectrum must be one of"):
        make(10, 2, condition_number=2.0, spectrum="cubic")
    with pytest.raises(ValueError, match=r"noise must be >= 0.0"):
        make(10, 2, condition_number=2.0, noise=-1.0)
    with pytest.raises(ValueError, match=r"weight must have shape \(2,\), got shape \(1,\)"):
        make(10, 2, condition_number=2.0, weight=[1.0])
    with pytest.raises(ValueError, match=r"condition_number must be in \[1.0, 1000000000000.0\], got 1e"):
        make(10, 2, condition_number=1e300)
    with pytest.raises(ValueError, match=r"noise=1e\+300 makes the labels non-finite"):
        make(10, 2, condition_number=2.0, noise=1e300)
    with pytest.raises(TypeError, match="rotate must be a bool"):
        make(10, 2, condition_number=2.0, rotate=1)  # type: ignore[arg-type]


def test_least_squares_without_bias_matches_numpy_lstsq_on_x() -> None:
    rng = np.random.default_rng(4)
    X = rng.standard_normal((30, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(30)
    q = ml.theory.least_squares((X, y), use_bias=False)
    w, *_ = np.linalg.lstsq(X, y, rcond=None)
    np.testing.assert_allclose(q.weight[0], w, rtol=1e-12)
    assert q.bias.tolist() == [0.0]
    assert (q.n_features, q.hessian.shape, q.rank, q.use_bias) == (3, (3, 3), 3, False)
    np.testing.assert_allclose(q.hessian, X.T @ X / 30, rtol=1e-12)
    assert q.optimal_loss == pytest.approx(0.5 * np.mean((X @ w - y) ** 2), rel=1e-12)
    assert q.loss(w) == pytest.approx(q.optimal_loss, rel=1e-12)
    assert q.loss(w + 0.1, [0.0]) == pytest.approx(0.5 * np.mean((X @ (w + 0.1) - y) ** 2), rel=1e-12)
    without = r"bias must be None or zeros without a bias \(use_bias=False\), got \[1.0\]"
    with pytest.raises(ValueError, match=without):
        q.loss(w, [1.0])
    with pytest.raises(ValueError, match=r"bias must be given for a fit with a bias \(use_bias=True\)"):
        ml.theory.least_squares((X, y)).loss(w)
    with pytest.raises(TypeError, match="use_bias must be a bool, got 1"):
        ml.theory.least_squares((X, y), use_bias=1)  # type: ignore[arg-type]


def test_least_squares_reports_the_rank() -> None:
    X = np.ones((5, 2))  # both columns equal to the bias column: rank 1 of 3
    q = ml.theory.least_squares((X, np.arange(5.0)))
    assert q.rank == 1
    assert ml.theory.least_squares((np.arange(10.0).reshape(5, 2) ** 2, np.arange(5.0))).rank == 3
