"""Reduce-on-plateau against a reference of torch's ReduceLROnPlateau, and in runs."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import momentumlab as ml


def torch_plateau_lrs(
    lr: float,
    metrics: list[float],
    *,
    mode: str,
    factor: float,
    patience: int,
    threshold: float,
    threshold_mode: str,
    cooldown: int,
    min_lr: float,
    eps: float,
) -> list[float]:
    """torch.optim.lr_scheduler.ReduceLROnPlateau.step, one metric at a time (written from its docs)."""
    best = math.inf if mode == "min" else -math.inf
    bad = cool = 0
    out = []
    for a in metrics:
        if mode == "min" and threshold_mode == "rel":
            better = a < best * (1 - threshold)
        elif mode == "min":
            better = a < best - threshold
        elif threshold_mode == "rel":
            better = a > best * (threshold + 1)
        else:
            better = a > best + threshold
        if better:
            best, bad = a, 0
        else:
            bad += 1
        if cool > 0:
            cool -= 1
            bad = 0
        if bad > patience:
            new = max(lr * factor, min_lr)
            if lr - new > eps:
                lr = new
            cool, bad = cooldown, 0
        out.append(lr)
    return out


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(0.0, 10.0), min_size=1, max_size=60),
    st.sampled_from(["min", "max"]),
    st.sampled_from(["rel", "abs"]),
    st.floats(0.05, 0.9),
    st.integers(0, 4),
    st.integers(0, 3),
    st.floats(0.0, 0.2),
    st.sampled_from([0.0, 1e-3, 0.05]),
    st.sampled_from([0.0, 1e-8, 1e-3]),
)
def test_plateau_equals_torch_reduce_lr_on_plateau_for_a_constant_base(
    metrics: list[float],
    mode: str,
    threshold_mode: str,
    factor: float,
    patience: int,
    cooldown: int,
    threshold: float,
    min_lr: float,
    eps: float,
) -> None:
    base = 0.3
    p = ml.optim.ReduceOnPlateau(
        mode=mode,
        factor=factor,
        patience=patience,
        threshold=threshold,
        threshold_mode=threshold_mode,
        cooldown=cooldown,
        min_lr=min_lr,
        eps=eps,
    )
    scales = p.scales(metrics, [base] * len(metrics))
    got = [p.learning_rate(base, s) for s in scales]
    ref = torch_plateau_lrs(
        base,
        metrics,
        mode=mode,
        factor=factor,
        patience=patience,
        threshold=threshold,
        threshold_mode=threshold_mode,
        cooldown=cooldown,
        min_lr=min_lr,
        eps=eps,
    )
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)


def test_plateau_hand_values_and_nan() -> None:
    p = ml.optim.ReduceOnPlateau(factor=0.5, patience=1, cooldown=1)
    # 5 best; 5 bad(1); 5 bad(2) -> reduce, cooldown 1; 5 cooldown; 5 bad(1); 5 bad(2) -> reduce
    assert p.scales([5.0] * 6) == (1.0, 1.0, 0.5, 0.5, 0.5, 0.25)
    assert p.scales([1.0, math.nan, math.nan]) == (1.0, 1.0, 0.5)
    assert ml.optim.ReduceOnPlateau(mode="max", patience=0, factor=0.5).scales([0.1, 0.2, 0.2]) == (
        1.0,
        1.0,
        0.5,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"factor": 1.0}, "factor must be in (0.0, 1.0), got 1.0"),
        ({"patience": -1}, "patience must be an integer >= 0, got -1"),
        ({"mode": "low"}, "mode must be one of ['max', 'min']"),
        ({"threshold_mode": "pct"}, "threshold_mode must be one of ['abs', 'rel']"),
        ({"observe": "batch"}, "observe must be one of ['epoch', 'record']"),
        ({"min_lr": -1.0}, "min_lr must be >= 0.0, got -1.0"),
    ],
)
def test_plateau_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ml.optim.ReduceOnPlateau(**kwargs)  # type: ignore[arg-type]


DATA = ml.data.make_linear_regression(n_samples=100, seed=2)


def test_plateau_per_epoch_in_a_run_on_top_of_a_cosine_schedule() -> None:
    base = ml.optim.cosine_decay(0.1, 120, end_value=0.02)
    plateau = ml.optim.ReduceOnPlateau(factor=0.5, patience=0, threshold=0.9, min_lr=0.03)
    config = ml.RunConfig(
        batch_size=10,
        momentum=0.9,
        period=10,
        init_sigma=1.0,
        max_records_per_epoch=None,
        learning_rate=base,
        epochs=6,
        plateau=plateau,
        seed=1,
    )
    r = ml.train(config, DATA)
    spe = r.steps_per_epoch
    # observation of epoch e: the last loss recorded in it
    obs = [r.losses[np.searchsorted(r.record_steps, (e + 1) * spe, side="right") - 1] for e in range(6)]
    state, expected = plateau.initial_state(), []
    for e in range(6):
        for t in range(e * spe, (e + 1) * spe):
            expected.append(plateau.learning_rate(base(t), state.scale))
        if (e + 1) * spe < r.n_steps:
            state = plateau.update(state, obs[e], base((e + 1) * spe))
    assert state.reductions >= 2  # needing a 90% improvement makes improvements rare: it did reduce
    np.testing.assert_array_equal(r.learning_rates, expected)
    assert r.learning_rates.min() >= 0.02


def test_plateau_per_record_takes_effect_at_the_next_update() -> None:
    plateau = ml.optim.ReduceOnPlateau(factor=0.5, patience=2, threshold=0.9, observe="record")
    config = ml.RunConfig(
        batch_size=10,
        init_sigma=1.0,
        max_records_per_epoch=None,
        learning_rate=0.05,
        momentum=0.5,
        epochs=2,
        period=20,
        plateau=plateau,
    )
    r = ml.train(config, DATA)
    state, lr = plateau.initial_state(), []
    rec = dict(zip(r.record_steps[1:].tolist(), r.losses[1:].tolist(), strict=True))
    for t in range(r.n_steps):
        lr.append(plateau.learning_rate(0.05, state.scale))
        if t + 1 in rec and t + 1 < r.n_steps:
            state = plateau.update(state, rec[t + 1], 0.05)
    assert state.reductions >= 1
    np.testing.assert_array_equal(r.learning_rates, lr)
