"""Every engine runs the same plan: the same status and parameters on generated configurations.

Configurations are drawn by a seeded generator (learning rates from 0.01 to well past the
stability edge, momentum 0..0.99 or a schedule, batch sizes, 1-3 epochs, weight decay,
seeds, learning rate schedules) on small linear data. For every one, the Gluon engine and the
NumPy engine of ``train`` and the batched NumPy engine of ``train_many`` must give the same
status (done / diverged in the same epoch) and, for runs that did not diverge, parameters
within 1e-5 relative to each parameter array's scale (``max |a - b| <= 1e-5 max(1, max |b|)``):
near the stability edge a run grows, and the last-bit differences of the matrix products grow
with it along the largest direction, so a small component can differ by more than 1e-5 of
itself while the array agrees to 1e-6 of its norm.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any

import numpy as np
import pytest

import momentumlab as ml
from momentumlab.runner._divergence import LOSS_LIMIT, divergence_reason, divergence_reasons
from momentumlab.runner._vectorized import SHARED_FIELDS

N_SAMPLES = 40
DATA = ml.data.make_linear_regression(n_samples=N_SAMPLES, seed=21)
TOL = 1e-5


def _learning_rate(rng: np.random.Generator) -> Any:
    base = float(np.exp(rng.uniform(np.log(0.01), np.log(20.0))))  # the edge is near 2-4 here
    kind = int(rng.integers(0, 5))
    if kind == 0:
        return ml.optim.PerEpoch(
            ml.optim.EpochDecay(init_value=base, factor=float(rng.uniform(0.1, 1.0)), after_epoch=1)
        )
    if kind == 1:
        return ml.optim.cosine_decay(base, int(rng.integers(5, 60)), end_value=base * 0.1)
    if kind == 2:
        return ml.optim.multistep_decay(base, [int(rng.integers(1, 40))], 0.5)
    return base


def _momentum(rng: np.random.Generator) -> Any:
    kind = int(rng.integers(0, 6))
    if kind == 0:
        return None
    if kind == 1:
        return 0.0
    if kind == 2:
        return ml.optim.linear_schedule(0.0, float(rng.uniform(0.5, 0.99)), int(rng.integers(1, 50)))
    return float(rng.choice([0.5, 0.9, 0.99, float(rng.uniform(0.0, 0.99))]))


def generate(count: int, seed: int) -> list[ml.RunConfig]:
    """``count`` configurations from a seeded generator."""
    rng = np.random.default_rng(seed)
    configs = []
    for _ in range(count):
        batch_size = int(rng.choice([1, 2, 3, 7, 10, 16, 40]))
        configs.append(
            ml.RunConfig(
                batch_size=batch_size,
                learning_rate=_learning_rate(rng),
                momentum=_momentum(rng),
                epochs=int(rng.integers(1, 4)),
                period=None if rng.random() < 0.5 else batch_size * int(rng.integers(1, 3)),
                weight_decay=float(rng.choice([0.0, 0.0, 0.01, 0.3])),
                seed=int(rng.integers(0, 4)),
                shuffle=bool(rng.random() < 0.8),
                init_sigma=float(rng.choice([0.01, 1.0, 3.0])),
                max_records_per_epoch=None if rng.random() < 0.5 else int(rng.integers(1, 5)),
            )
        )
    return configs


def _same_run(a: ml.RunResult, b: ml.RunResult, what: str) -> None:
    status = (a.diverged, a.epochs_completed, a.n_steps)
    assert status == (b.diverged, b.epochs_completed, b.n_steps), (what, a.config, a.message, b.message)
    np.testing.assert_array_equal(a.record_steps, b.record_steps)
    np.testing.assert_array_equal(a.learning_rates, b.learning_rates)
    np.testing.assert_array_equal(a.momenta, b.momenta)
    if not a.diverged:
        for name, value in a.params.items():
            other = b.params[name]
            scale = max(1.0, float(np.abs(other).max()))
            assert float(np.abs(value - other).max()) <= TOL * scale, (what, a.config, value, other)


def _check(configs: list[ml.RunConfig]) -> dict[str, int]:
    numpy_runs = [ml.train(c, DATA, engine="numpy") for c in configs]
    for config, alone in zip(configs, numpy_runs, strict=True):
        gluon = ml.train(config, DATA, engine="gluon")
        assert (gluon.engine, alone.engine) == ("gluon", "numpy")
        _same_run(gluon, alone, "gluon vs numpy")
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, c in enumerate(configs):
        groups[tuple(repr(getattr(c, f)) for f in SHARED_FIELDS)].append(i)
    for idx in groups.values():
        batch = ml.train_many([configs[i] for i in idx], DATA)
        for i, result in zip(idx, batch, strict=True):
            assert result.engine == "numpy-batched"
            _same_run(result, numpy_runs[i], "batched vs numpy")
    counts = {
        "diverged": sum(r.diverged for r in numpy_runs),
        "done": sum(not r.diverged for r in numpy_runs),
    }
    return counts


def test_engines_agree_on_60_generated_configurations() -> None:
    counts = _check(generate(60, seed=0))
    # the generator reaches both sides of the stability edge
    assert counts["diverged"] >= 3
    assert counts["done"] >= 20


@pytest.mark.slow
def test_engines_agree_on_300_generated_configurations() -> None:
    counts = _check(generate(300, seed=1))
    assert counts["diverged"] >= 15
    assert counts["done"] >= 100


def test_divergence_rule_parts() -> None:
    assert divergence_reason([1.0, 2.0], True) == ""
    assert divergence_reason([1.0, float("nan")], True) == "non-finite loss"
    assert divergence_reason([1.0, float("inf")], False) == "non-finite loss"
    assert divergence_reason([LOSS_LIMIT * 2], True) == "loss above 1e+30"
    assert divergence_reason([LOSS_LIMIT], True) == ""
    assert divergence_reason([1.0], False) == "non-finite parameters"
    assert divergence_reasons(np.zeros((3, 2)), np.array([True, False, True])) == [
        "",
        "non-finite parameters",
        "",
    ]


def test_a_loss_past_the_limit_but_finite_in_float32_is_diverged_on_every_engine() -> None:
    # the disagreement this rule removes: a loss between 1e30 and float32's largest value was
    # "diverged" on the float32 Gluon engine and "done" on the float64 NumPy records
    base = ml.RunConfig(batch_size=2, epochs=1, init_sigma=1.0, shuffle=False)
    found = None
    for lr in np.linspace(2.0, 8.0, 200):
        config = dataclasses.replace(base, learning_rate=float(lr))
        r = ml.train(config, DATA, engine="numpy")
        if LOSS_LIMIT < r.losses.max() < float(np.finfo(np.float32).max):
            found = config
            break
    assert found is not None
    results = [ml.train(found, DATA, engine=e) for e in ("numpy", "gluon")] + ml.train_many([found], DATA)
    assert [r.diverged for r in results] == [True, True, True]
    assert all("loss above 1e+30" in r.message for r in results[::2])
