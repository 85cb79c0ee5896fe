"""expected_curve: the expected mini-batch loss of the momentum family under any schedule."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import momentumlab as ml
from momentumlab.theory._expected import noise_inputs

F64 = npt.NDArray[np.float64]

#: Each method with hyperparameters it is tested at (``lr_scale`` keeps the torch-convention
#: methods, whose step is ``lr / (1 - beta)``, at a comparable effective rate).
METHODS: dict[str, dict[str, Any]] = {
    "sgd": {"momentum": 0.9},
    "nag": {"momentum": 0.9},
    "sgd_torch": {"momentum": 0.9, "lr_scale": 0.3},
    "qhm": {"momentum": 0.9, "nu": 0.7, "lr_scale": 5.0},
    "aggmo": {"betas": (0.0, 0.9, 0.99), "lr_scale": 0.1},
    "sgd_schedule_free": {"momentum": 0.9, "lr_scale": 3.0},
    "lookahead": {"momentum": 0.9, "inner": "sgd", "k": 2, "alpha": 0.5},
}


def _lookahead(inner: str, k: int = 2) -> tuple[float, dict[str, Any], dict[str, Any]]:
    """Lookahead around ``inner``: the rate's scale, the reference's keywords and the theory's."""
    scale, theory = _split(METHODS[inner])
    hyper = dict(theory)
    momentum = hyper.pop("momentum", None)
    ref = {"k": k, "alpha": 0.5, "inner": inner, "momentum": momentum, "inner_hyperparameters": hyper}
    return scale, ref, {"k": k, "alpha": 0.5, "inner": inner, **theory}


def _split(kw: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    kw = dict(kw)
    return float(kw.pop("lr_scale", 1.0)), kw


def _batch_gradient(A: F64, y: F64, batches: list[Any]) -> Any:
    def gradient(w: F64, t: int) -> F64:
        rows = batches[t]
        g: F64 = A[rows].T @ (A[rows] @ w - y[rows]) / len(rows)
        return g

    return gradient


def _losses(q: Any, weights: F64) -> F64:
    e = weights - np.concatenate([q.weight[0], q.bias])
    out: F64 = q.optimal_loss + 0.5 * np.einsum("tp,pq,tq->t", e, q.hessian, e)
    return out


@pytest.mark.parametrize("method", sorted(METHODS))
def test_with_replacement_the_recursion_is_exact(method: str) -> None:
    """Every sequence of single-example batches enumerated: the mean loss equals the prediction."""
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(4, 1)), rng.normal(size=4)
    q = ml.theory.least_squares((X, y))
    A = np.hstack([X, np.ones((4, 1))])
    _, kw = _split(METHODS[method])
    lrs = [0.3, 0.5, 0.2, 0.4]
    w0 = np.array([1.0, -1.0])
    runs = [
        _losses(
            q, ml.optim.reference_run(method, _batch_gradient(A, y, [[i] for i in s]), w0, lrs, **kw).weights
        )
        for s in itertools.product(range(4), repeat=len(lrs))
    ]
    exact = np.mean(runs, axis=0)
    pred = ml.theory.expected_curve(
        q, method, lrs, batch_size=1, weight=[[1.0]], bias=[-1.0], sampling="with-replacement", **kw
    )
    np.testing.assert_allclose(pred.losses, exact, rtol=1e-10)
    np.testing.assert_allclose(pred.mode_losses.sum(axis=1) + q.optimal_loss, pred.losses, rtol=1e-12)
    assert pred.losses[-1] > pred.mean_losses[-1]  # the noise adds to the full-batch loss


@pytest.mark.parametrize("inner", ml.theory.LOOKAHEAD_INNER)
def test_with_replacement_the_lookahead_recursion_is_exact(inner: str) -> None:
    """As above, for Lookahead (k = 2) around every inner optimizer."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(4, 1)), rng.normal(size=4)
    q = ml.theory.least_squares((X, y))
    A = np.hstack([X, np.ones((4, 1))])
    _, ref, theory = _lookahead(inner)
    lrs = [0.3, 0.5, 0.2, 0.4, 0.3]
    w0 = np.array([1.0, -1.0])
    runs = [
        _losses(
            q,
            ml.optim.reference_run(
                "lookahead", _batch_gradient(A, y, [[i] for i in s]), w0, lrs, **ref
            ).weights,
        )
        for s in itertools.product(range(4), repeat=len(lrs))
    ]
    pred = ml.theory.expected_curve(
        q, "lookahead", lrs, batch_size=1, weight=[[1.0]], bias=[-1.0], sampling="with-replacement", **theory
    )
    np.testing.assert_allclose(pred.losses, np.mean(runs, axis=0), rtol=1e-10)
    assert pred.losses[-1] > pred.mean_losses[-1]


@pytest.mark.parametrize("inner", ml.theory.LOOKAHEAD_INNER)
@pytest.mark.parametrize("synchronise", [False, True])
@settings(max_examples=15, deadline=None)
@given(lam=st.floats(0.0, 10.0), eta=st.floats(0.0, 1.0), mu=st.floats(0.0, 0.99), c=st.floats(0.0, 1.0))
def test_the_gradient_enters_every_lookahead_step_matrix_through_b_and_p(
    inner: str, synchronise: bool, lam: float, eta: float, mu: float, c: float
) -> None:
    kw: dict[str, Any] = {
        "betas": (0.0, 0.5),
        "averaging": c,
        "inner": inner,
        "alpha": 0.3,
        "synchronise": synchronise,
    }
    with_lam = ml.theory.step_matrices("lookahead", [lam], eta, mu, **kw)[0]
    without = ml.theory.step_matrices("lookahead", [0.0], eta, mu, **kw)[0]
    b, P = noise_inputs("lookahead", eta, mu, **kw)
    np.testing.assert_allclose(with_lam - without, lam * np.outer(b, P), atol=1e-12)


@pytest.mark.parametrize("method", sorted(METHODS))
@settings(max_examples=20, deadline=None)
@given(
    lam=st.floats(0.0, 10.0),
    eta=st.floats(0.0, 1.0),
    mu=st.floats(0.0, 0.99),
    nu=st.floats(0.0, 1.0),
    c=st.floats(0.0, 1.0),
)
def test_the_gradient_enters_every_step_matrix_through_b_and_p(
    method: str, lam: float, eta: float, mu: float, nu: float, c: float
) -> None:
    """Law: ``step_matrices(lam) = step_matrices(0) + lam b Pᵀ`` for the ``(b, P)`` of noise_inputs."""
    betas = (0.0, 0.5, 0.9)
    with_lam = ml.theory.step_matrices(method, [lam], eta, mu, nu=nu, betas=betas, averaging=c)[0]
    without = ml.theory.step_matrices(method, [0.0], eta, mu, nu=nu, betas=betas, averaging=c)[0]
    b, P = noise_inputs(method, eta, mu, nu=nu, betas=betas, averaging=c)
    np.testing.assert_allclose(with_lam - without, lam * np.outer(b, P), atol=1e-12)


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("batch_size", [1, 4])
def test_a_random_start_is_averaged_exactly(method: str, batch_size: int) -> None:
    """Two equally likely starts (mean (1, -1), variance 0.25 on the weight), every batch sequence
    (single examples drawn with replacement, or the full batch)."""
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(4, 1)), rng.normal(size=4)
    q = ml.theory.least_squares((X, y))
    A = np.hstack([X, np.ones((4, 1))])
    _, kw = _split(METHODS[method])
    lrs = [0.3, 0.5, 0.2]
    sampling = "with-replacement" if batch_size == 1 else "without-replacement"
    seqs = list(itertools.product(range(4), repeat=len(lrs))) if batch_size == 1 else [(0, 0, 0)]
    runs = [
        _losses(
            q,
            ml.optim.reference_run(
                method,
                _batch_gradient(A, y, [[i] for i in s] if batch_size == 1 else [range(4)] * 3),
                w0,
                lrs,
                **kw,
            ).weights,
        )
        for w0 in (np.array([1.5, -1.0]), np.array([0.5, -1.0]))
        for s in seqs
    ]
    pred = ml.theory.expected_curve(
        q, method, lrs, batch_size=batch_size, weight=[[1.0]], bias=[-1.0], sampling=sampling,
        initial_covariance=np.diag([0.25, 0.0]), **kw,
    )  # fmt: skip
    np.testing.assert_allclose(pred.losses, np.mean(runs, axis=0), rtol=1e-10)
    fixed = ml.theory.expected_curve(
        q, method, lrs, batch_size=batch_size, weight=[[1.0]], bias=[-1.0], sampling=sampling, **kw
    )
    assert pred.losses[0] > fixed.losses[0]


def test_full_batches_give_the_full_batch_curve() -> None:
    data = ml.data.make_conditioned_regression(100, 2, condition_number=10.0, noise=0.3, seed=0)
    q = ml.theory.least_squares(data)
    wsd = ml.optim.warmup_stable_decay(0.5, 5, 20, 25, decay_shape="1-sqrt")
    lrs = [wsd(t) for t in range(50)]
    start: dict[str, Any] = {"weight": np.ones((1, 2)), "bias": [0.0], "momentum": 0.9}
    exp = ml.theory.expected_curve(q, "qhm", lrs, batch_size=100, **start)
    full = ml.theory.predict_curve(q, "qhm", lrs, **start)
    np.testing.assert_array_equal(exp.losses, full.losses)
    assert exp.losses[-1] < 0.5 * exp.losses[0]


N, BATCH, EPOCHS, SEEDS = 1000, 10, 3, 32


@pytest.fixture(scope="module")
def regression() -> tuple[Any, F64, F64]:
    data = ml.data.make_conditioned_regression(N, 2, condition_number=10.0, noise=0.1, seed=0)
    X, y = data.numpy()
    A = np.hstack([X.astype(np.float64), np.ones((N, 1))])
    return ml.theory.least_squares(data), A, y.astype(np.float64).reshape(-1)


def _seed_mean(method: str, q: Any, A: F64, y: F64, lrs: list[float], **kw: Any) -> F64:
    """Mean loss of SEEDS float64 runs, batches from a fresh permutation every epoch (as train)."""
    spe = N // BATCH
    runs = []
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        batches = []
        for _ in range(EPOCHS):
            perm = rng.permutation(N)
            batches += [perm[i * BATCH : (i + 1) * BATCH] for i in range(spe)]
        w = ml.optim.reference_run(method, _batch_gradient(A, y, batches), np.zeros(3), lrs, **kw).weights
        runs.append(_losses(q, w))
    out: F64 = np.mean(runs, axis=0)
    return out


@pytest.mark.parametrize("method", [*sorted(METHODS), "demon"])
def test_expected_loss_within_10_percent_of_32_seeds_under_wsd(
    method: str, regression: tuple[Any, F64, F64]
) -> None:
    q, A, y = regression
    spe = N // BATCH
    decay = EPOCHS * spe - spe - spe // 4
    wsd = ml.optim.warmup_stable_decay(0.1, spe // 4, spe, decay, decay_shape="cosine")
    if method == "demon":  # Demon is sgd with its decayed momenta
        kw: dict[str, Any] = {"momentum": 0.9, "total_steps": EPOCHS * spe}
        scale, theory_method = 1.0, "sgd"
        theory_kw: dict[str, Any] = {
            "momentum": [ml.optim.demon_momentum(t, 0.9, EPOCHS * spe) for t in range(EPOCHS * spe)]
        }
    else:
        scale, kw = _split(METHODS[method])
        theory_method, theory_kw = method, kw
    lrs = [scale * wsd(t) for t in range(EPOCHS * spe)]
    mean = _seed_mean(method, q, A, y, lrs, **kw)
    pred = ml.theory.expected_curve(
        q, theory_method, lrs, batch_size=BATCH, weight=np.zeros((1, 2)), bias=[0.0], **theory_kw
    )
    deviation = np.abs(pred.losses[spe:] / mean[spe:] - 1)
    print(f"{method}: largest deviation {deviation.max():.4f}")
    assert deviation.max() < 0.10, (method, float(deviation.max()))
    # not a vacuous match: the full-batch curve (no noise) misses the seeds by more
    assert np.abs(pred.mean_losses[spe:] / mean[spe:] - 1).max() > deviation.max()


@pytest.mark.parametrize("inner", [m for m in ml.theory.LOOKAHEAD_INNER if m != "sgd"])
def test_lookahead_expected_loss_within_10_percent_of_32_seeds_for_every_inner(
    inner: str, regression: tuple[Any, F64, F64]
) -> None:
    """Lookahead (k = 5) around the other inner optimizers (``sgd`` is in the test above)."""
    q, A, y = regression
    spe = N // BATCH
    wsd = ml.optim.warmup_stable_decay(
        0.1, spe // 4, spe, EPOCHS * spe - spe - spe // 4, decay_shape="cosine"
    )
    scale, ref, theory = _lookahead(inner, k=5)
    lrs = [scale * wsd(t) for t in range(EPOCHS * spe)]
    mean = _seed_mean("lookahead", q, A, y, lrs, **ref)
    pred = ml.theory.expected_curve(
        q, "lookahead", lrs, batch_size=BATCH, weight=np.zeros((1, 2)), bias=[0.0], **theory
    )
    deviation = np.abs(pred.losses[spe:] / mean[spe:] - 1)
    print(f"lookahead({inner}): largest deviation {deviation.max():.4f}")
    assert deviation.max() < 0.10, (inner, float(deviation.max()))
    assert np.abs(pred.mean_losses[spe:] / mean[spe:] - 1).max() > deviation.max()


def test_expected_curve_checks_its_arguments() -> None:
    q = ml.theory.least_squares(ml.data.make_conditioned_regression(20, 1, condition_number=2.0, seed=0))
    with pytest.raises(ValueError, match=r"batch_size must be an integer in \[1, 20\], got 0"):
        ml.theory.expected_curve(q, "sgd", [0.1], batch_size=0, weight=[[0.0]], bias=[0.0])
    with pytest.raises(ValueError, match="sampling must be one of"):
        ml.theory.expected_curve(q, "sgd", [0.1], batch_size=2, weight=[[0.0]], bias=[0.0], sampling="x")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        ml.theory.expected_curve(q, "adam", [0.1], batch_size=2, weight=[[0.0]], bias=[0.0])
    with pytest.raises(ValueError, match="initial_covariance must be symmetric positive semi-definite"):
        ml.theory.expected_curve(
            q, "sgd", [0.1], batch_size=2, weight=[[0.0]], bias=[0.0], initial_covariance=-np.eye(2)
        )
    with pytest.raises(ValueError, match=r"initial_covariance must be finite with shape \(2, 2\)"):
        ml.theory.expected_curve(
            q, "sgd", [0.1], batch_size=2, weight=[[0.0]], bias=[0.0], initial_covariance=np.eye(3)
        )
    with pytest.raises(TypeError, match=r"problem must be a momentumlab\.theory\.LeastSquares"):
        ml.theory.expected_curve("q", "sgd", [0.1], batch_size=2, weight=[[0.0]])  # type: ignore[arg-type]
