"""Predicted rates against real full-batch runs through ``ml.train``.

Full batch (``batch_size = period = n_samples``, no schedule, no shuffle) records the loss
after every update. Problems are small (200 samples, 2 features, noise-free labels) so the
excess loss can fall ~13 decades before float32 takes over.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import momentumlab as ml

N = 200


def full_batch(tuning: ml.theory.Tuning, steps: int) -> ml.RunConfig:
    return ml.RunConfig(init_sigma=1.0, max_records_per_epoch=None,
        batch_size=N,
        period=N,
        shuffle=False,
        learning_rate=tuning.learning_rate,
        momentum=tuning.momentum,
        epochs=steps,
    )


def problem(kappa: float) -> tuple[ml.data.LinearData, ml.theory.LeastSquares]:
    data = ml.data.make_conditioned_regression(N, 2, condition_number=kappa, noise=0.0, seed=0)
    return data, ml.theory.least_squares(data)


def steps_for(rate: float, decades: float = 16.0) -> int:
    """Enough updates for the excess loss to fall ``decades`` at ``rate`` (plus a transient)."""
    return int(decades * math.log(10) / (-2 * math.log(rate))) + 10


def check_kappa(kappa: float) -> None:
    data, q = problem(kappa)
    assert q.condition_number == pytest.approx(kappa, rel=1e-6)
    gd, hb = ml.theory.optimal_gd(q), ml.theory.optimal_momentum(q)
    r_gd = ml.train(full_batch(gd, steps_for(gd.rate, 11.0)), data)  # GD has no transient to pay
    r_hb = ml.train(full_batch(hb, steps_for(hb.rate, 25.0)), data)
    fit_gd = ml.theory.fit_rate(r_gd, optimal_loss=q.optimal_loss)
    # Polyak's point critically damps both extreme directions: excess ~ t² ρ^{2t}
    fit_hb = ml.theory.fit_rate(r_hb, optimal_loss=q.optimal_loss, power=2)
    assert fit_gd.rate == pytest.approx(gd.rate, rel=0.05)
    assert fit_hb.rate == pytest.approx(hb.rate, rel=0.05)
    # much tighter in fact: the decay per step (-log rate) agrees to 2%
    assert math.log(fit_gd.rate) == pytest.approx(math.log(gd.rate), rel=0.02)
    assert math.log(fit_hb.rate) == pytest.approx(math.log(hb.rate), rel=0.02)
    tol = 1e-8
    n_gd = ml.theory.steps_to_tolerance(r_gd, optimal_loss=q.optimal_loss, tolerance=tol)
    n_hb = ml.theory.steps_to_tolerance(r_hb, optimal_loss=q.optimal_loss, tolerance=tol)
    assert n_gd is not None
    assert n_hb is not None
    ratio = n_gd / n_hb
    # Asymptotically the ratio of -log rates, which tends to sqrt(κ). At a finite tolerance
    # momentum pays for its overshoot and the t² Jordan factor (measured: 0.6-0.9 sqrt(κ)).
    assert 0.5 * math.sqrt(kappa) < ratio < 1.3 * math.sqrt(kappa)


def test_rates_and_speedup_kappa_10() -> None:
    check_kappa(10.0)


@pytest.mark.slow
@pytest.mark.parametrize("kappa", [100.0, 1000.0])
def test_rates_and_speedup_large_kappa(kappa: float) -> None:
    check_kappa(kappa)


def test_momentum_rate_kappa_100() -> None:
    data, q = problem(100.0)
    hb = ml.theory.optimal_momentum(q)
    r = ml.train(full_batch(hb, steps_for(hb.rate)), data)
    fit = ml.theory.fit_rate(r, optimal_loss=q.optimal_loss, power=2)
    assert fit.rate == pytest.approx(hb.rate, rel=0.01)


def test_chapter_momentum_under_damped_rate_is_sqrt_beta() -> None:
    """β=0.9 with a step inside the under-damped band: every direction decays at √β."""
    data, q = problem(10.0)
    lo, _ = ml.theory.critical_learning_rates(q.lambda_min, 0.9)
    _, hi = ml.theory.critical_learning_rates(q.lambda_max, 0.9)
    assert lo < hi
    tuning = ml.theory.Tuning(0.5 * (lo + hi), 0.9, ml.theory.rate(q, 0.5 * (lo + hi), 0.9))
    assert tuning.rate == pytest.approx(math.sqrt(0.9))
    r = ml.train(full_batch(tuning, steps_for(tuning.rate, 14.0)), data)
    fit = ml.theory.fit_rate(r, optimal_loss=q.optimal_loss)
    assert fit.rate == pytest.approx(tuning.rate, rel=0.01)


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_a_run_outside_the_stability_region_is_flagged_diverged(momentum: float) -> None:
    data, q = problem(10.0)
    edge = ml.theory.max_stable_learning_rate(q, momentum)
    lr = 1.5 * edge
    assert not ml.theory.is_stable(q, lr, momentum)
    assert ml.theory.rate(q, lr, momentum) > 1.0
    r = ml.train(full_batch(ml.theory.Tuning(lr, momentum, math.nan), 2000), data)
    assert r.diverged
    assert r.n_steps < 2000
    # just inside the edge the same run converges
    inside = ml.train(full_batch(ml.theory.Tuning(0.9 * edge, momentum, math.nan), 200), data)
    assert not inside.diverged
    assert inside.final_loss < 1e-3 * inside.losses[0]
    assert np.isfinite(inside.losses).all()
