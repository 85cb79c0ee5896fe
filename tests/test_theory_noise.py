"""The stationary loss floor of mini-batch SGD with momentum: exact model and real runs."""

from __future__ import annotations

import numpy as np
import pytest

import momentumlab as ml


def simulate_with_replacement(
    q: ml.theory.LeastSquares, lr: float, mom: float, batch: int, steps: int, chains: int, seed: int
) -> float:
    """NumPy heavy ball (MXNet's v/w form), batches drawn with replacement; mean tail excess."""
    rng = np.random.default_rng(seed)
    A, r = q.design, q.residuals[:, 0]
    p = A.shape[1]
    e = np.zeros((chains, p))
    v = np.zeros((chains, p))
    acc, count = 0.0, 0
    for t in range(steps):
        idx = rng.integers(0, q.n_samples, size=(chains, batch))
        a = A[idx]  # (chains, B, p)
        resid = np.einsum("cbp,cp->cb", a, e) + r[idx]
        g = np.einsum("cb,cbp->cp", resid, a) / batch
        v = mom * v - lr * g
        e = e + v
        if t >= steps // 3:
            acc += 0.5 * float(np.einsum("cp,pq,cq->", e, q.hessian, e)) / chains
            count += 1
    return acc / count


@pytest.mark.parametrize(("lr", "mom", "batch"), [(0.3, 0.0, 2), (0.05, 0.9, 4), (0.2, 0.6, 1)])
def test_exact_model_matches_numpy_simulation_with_replacement(lr: float, mom: float, batch: int) -> None:
    data = ml.data.make_conditioned_regression(60, 2, condition_number=10.0, noise=0.5, seed=2)
    q = ml.theory.least_squares(data)
    pred = ml.theory.stationary_loss(
        q, learning_rate=lr, momentum=mom, batch_size=batch, sampling="with-replacement"
    )
    additive = ml.theory.stationary_loss(
        q, learning_rate=lr, momentum=mom, batch_size=batch, sampling="with-replacement", multiplicative=False
    )
    measured = simulate_with_replacement(q, lr, mom, batch, steps=1500, chains=400, seed=3)
    assert measured == pytest.approx(pred.excess, rel=0.05)
    # the multiplicative noise is a real, measurable part of the floor here
    assert pred.excess > 1.1 * additive.excess


def test_small_steps_approach_the_closed_form() -> None:
    data = ml.data.make_conditioned_regression(200, 3, condition_number=20.0, noise=0.2, seed=4)
    q = ml.theory.least_squares(data)
    lr, mom, B = 1e-4, 0.9, 8
    S = (q.design * q.residuals**2).T @ q.design / q.n_samples
    c_b = (q.n_samples - B) / (q.n_samples - 1)
    expected = lr * c_b * np.trace(S) / (4 * B * (1 - mom))
    got = ml.theory.stationary_loss(q, learning_rate=lr, momentum=mom, batch_size=B).excess
    assert got == pytest.approx(expected, rel=2e-3)


def test_unstable_settings_are_flagged() -> None:
    data = ml.data.make_conditioned_regression(100, 2, condition_number=10.0, noise=0.1, seed=0)
    q = ml.theory.least_squares(data)
    edge = ml.theory.max_stable_learning_rate(q, 0.5)
    out = ml.theory.stationary_loss(q, learning_rate=1.1 * edge, momentum=0.5, batch_size=10)
    assert not out.stable
    assert out.loss == np.inf
    # batch size 1 just inside the GD edge: the second moments blow up first
    mse = ml.theory.stationary_loss(q, learning_rate=0.95 * edge, momentum=0.5, batch_size=1)
    assert not mse.stable
    assert mse.noise_gain >= 1.0


def test_stationary_loss_rejects_bad_arguments() -> None:
    q = ml.theory.least_squares(ml.data.make_conditioned_regression(20, 1, condition_number=2.0, seed=0))
    with pytest.raises(ValueError, match=r"batch_size must be an integer in \[1, 20\], got 21"):
        ml.theory.stationary_loss(q, learning_rate=0.1, batch_size=21)
    with pytest.raises(ValueError, match="sampling must be one of"):
        ml.theory.stationary_loss(q, learning_rate=0.1, batch_size=2, sampling="poisson")
    with pytest.raises(TypeError, match=r"problem must be a momentumlab.theory.LeastSquares"):
        ml.theory.stationary_loss("q", learning_rate=0.1, batch_size=2)  # type: ignore[arg-type]


def tail_mean(result: ml.RunResult) -> float:
    return float(np.mean(result.losses[len(result.losses) // 3 :]))


def test_floor_of_a_real_run_matches_the_prediction() -> None:
    data = ml.data.make_conditioned_regression(300, 2, condition_number=10.0, noise=0.1, seed=0)
    q = ml.theory.least_squares(data)
    lr, mom, B = 0.1, 0.5, 5  # 60 updates per epoch: the model ignores within-epoch correlations
    pred = ml.theory.stationary_loss(q, learning_rate=lr, momentum=mom, batch_size=B)
    config = ml.RunConfig(
        init_sigma=1.0,
        max_records_per_epoch=None,
        batch_size=B,
        period=B,
        learning_rate=lr,
        momentum=mom,
        epochs=15,
        seed=1,
    )
    measured = tail_mean(ml.train(config, data))
    assert measured == pytest.approx(pred.loss, rel=0.01)
    assert measured - q.optimal_loss == pytest.approx(pred.excess, rel=0.25)


@pytest.mark.slow
@pytest.mark.parametrize(("lr", "mom"), [(0.2, 0.9), (0.2, 0.0), (0.02, 0.9)])
def test_floor_of_the_chapter_runs_at_constant_lr(lr: float, mom: float) -> None:
    data = ml.data.make_linear_regression(seed=0)
    q = ml.theory.least_squares(data)
    pred = ml.theory.stationary_loss(q, learning_rate=lr, momentum=mom, batch_size=10)
    config = ml.RunConfig(
        batch_size=10,
        period=10,
        init_sigma=1.0,
        max_records_per_epoch=None,
        learning_rate=lr,
        momentum=mom,
        epochs=30,
        seed=1,
    )
    measured = tail_mean(ml.train(config, data))
    assert measured == pytest.approx(pred.loss, rel=0.02)
    assert measured - q.optimal_loss == pytest.approx(pred.excess, rel=0.3)
