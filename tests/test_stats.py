"""ml.stats: bootstrap intervals, seed bands, scores, profiles, tuning curves against hand computations."""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import momentumlab as ml

from .sweep_util import TINY


def fake(losses: list[float], *, steps: list[int] | None = None, seed: int = 0, wall_time: float = 1.0,
         metrics: list[float] | None = None) -> ml.RunResult:  # fmt: skip
    """A RunResult with the given loss records (no training)."""
    n = len(losses)
    s = list(range(0, 10 * n, 10)) if steps is None else steps
    return ml.RunResult(
        config=dataclasses.replace(TINY, seed=seed),
        losses=np.asarray(losses, dtype=float),
        record_steps=np.asarray(s, dtype=np.int64),
        learning_rates=np.full(max(s[-1], 1), 0.1),
        momenta=np.full(max(s[-1], 1), 0.9),
        params={},
        weight=None,
        bias=None,
        wall_time=wall_time,
        diverged=False,
        n_steps=s[-1],
        steps_per_epoch=max(s[-1], 1),
        epochs_completed=1,
        final_loss=float(losses[-1]),
        metrics=np.asarray(metrics if metrics is not None else [], dtype=float),
    )


# ------------------------------------------------------------------------------ bootstrap


def test_bootstrap_of_two_values_matches_the_hand_computed_distribution() -> None:
    # Resampling [0, 10] twice: the median (= mean) is 0 w.p. 1/4, 5 w.p. 1/2, 10 w.p. 1/4.
    # Quantiles 0.025/0.975 are therefore 0 and 10; quantiles 0.3/0.7 are both 5.
    wide = ml.stats.bootstrap_ci([0.0, 10.0], confidence=0.95, n_resamples=20000, seed=1)
    assert (wide.estimate, wide.low, wide.high, wide.n) == (5.0, 0.0, 10.0, 2)
    narrow = ml.stats.bootstrap_ci([0.0, 10.0], confidence=0.4, n_resamples=20000, seed=1)
    assert (narrow.low, narrow.high) == (5.0, 5.0)
    mean = ml.stats.bootstrap_ci([0.0, 10.0], statistic="mean", confidence=0.4, n_resamples=20000, seed=1)
    assert (mean.low, mean.high) == (5.0, 5.0)


def test_bootstrap_equals_the_documented_index_matrix_computation() -> None:
    x = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0])
    ci = ml.stats.bootstrap_ci(x, confidence=0.9, n_resamples=7, seed=np.random.default_rng(3))
    idx = np.random.default_rng(3).integers(0, 6, size=(7, 6))
    meds = sorted(float(np.median(x[row])) for row in idx)
    # linear-interpolated quantiles of 7 sorted values at 0.05 and 0.95: positions 0.3 and 5.7
    assert ci.low == pytest.approx(meds[0] + 0.3 * (meds[1] - meds[0]))
    assert ci.high == pytest.approx(meds[5] + 0.7 * (meds[6] - meds[5]))
    assert ci.estimate == 3.5


def test_bootstrap_never_touches_the_global_rng_and_repeats_with_its_seed() -> None:
    state = np.random.get_state()[1].copy()  # type: ignore[index]
    a = ml.stats.bootstrap_ci([1.0, 2.0, 7.0, 3.0], seed=5)
    b = ml.stats.bootstrap_ci([1.0, 2.0, 7.0, 3.0], seed=5)
    assert a == b
    assert np.array_equal(np.random.get_state()[1], state)  # type: ignore[index]


def test_bootstrap_drops_diverged_values() -> None:
    ci = ml.stats.bootstrap_ci([1.0, math.inf, 3.0, math.nan], seed=0)
    assert (ci.n, ci.estimate) == (2, 2.0)


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=20), st.sampled_from(["median", "mean"]))
@settings(max_examples=40, deadline=None)
def test_bootstrap_interval_lies_within_the_data(values: list[float], statistic: str) -> None:
    ci = ml.stats.bootstrap_ci(values, statistic=statistic, n_resamples=200, seed=0)
    lo, hi = min(values), max(values)
    assert lo - 1e-6 <= ci.low <= ci.high <= hi + 1e-6


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"confidence": 1.5}, ValueError, "confidence must be in (0.0, 1.0), got 1.5"),
        ({"n_resamples": 0}, ValueError, "n_resamples must be an integer >= 1, got 0"),
        ({"statistic": "max"}, ValueError, "statistic must be one of"),
    ],
)
def test_bootstrap_rejects_bad_options(kwargs: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        ml.stats.bootstrap_ci([1.0, 2.0], seed=0, **kwargs)


def test_bootstrap_rejects_no_finite_value() -> None:
    with pytest.raises(ValueError, match="values must hold at least one finite number"):
        ml.stats.bootstrap_ci([math.nan], seed=0)
    with pytest.raises(ValueError, match="values must hold at least one finite number"):
        ml.stats.tuning_curve([math.nan, math.inf], seed=0)


# ------------------------------------------------------------------------------ bands


def test_quantile_band_is_the_per_step_median_and_quantiles() -> None:
    runs = [fake([4.0, 2.0, 1.0], seed=0), fake([6.0, 3.0, 2.0], seed=1), fake([5.0, 1.0, 0.5], seed=2)]
    b = ml.stats.seed_band(runs, confidence=0.5)
    m = np.array([r.losses for r in runs])
    assert b.steps.tolist() == [0, 10, 20]
    np.testing.assert_allclose(b.center, np.median(m, axis=0))
    np.testing.assert_allclose(b.low, np.quantile(m, 0.25, axis=0))
    np.testing.assert_allclose(b.high, np.quantile(m, 0.75, axis=0))
    assert b.counts.tolist() == [3, 3, 3]


def test_a_run_that_stopped_counts_only_where_it_has_records() -> None:
    runs = [fake([4.0, 2.0, 1.0]), fake([6.0, 3.0, 2.0]), fake([5.0, math.inf], steps=[0, 10])]
    b = ml.stats.seed_band(runs, band="bootstrap", n_resamples=300, seed=0)
    assert b.counts.tolist() == [3, 2, 2]
    assert b.center.tolist() == [5.0, 2.5, 1.5]
    assert np.all(b.low <= b.center)
    assert np.all(b.center <= b.high)


def test_misaligned_runs_are_rejected_naming_the_run() -> None:
    with pytest.raises(ValueError, match=r"results\[1\] record_steps must be a prefix"):
        ml.stats.seed_band([fake([1.0, 2.0]), fake([1.0, 2.0], steps=[0, 7])])


# ------------------------------------------------------------------------------ scores


def test_steps_and_time_to_target_and_reached() -> None:
    r = fake([4.0, 2.0, 1.0, 0.5], wall_time=3.0, metrics=[0.1, 0.5, 0.8, 0.9])
    assert ml.stats.steps_to_target(r, 1.0) == 20.0
    assert ml.stats.steps_to_target(r, 0.1) == math.inf
    assert ml.stats.steps_to_target(r, 0.8, on="metric", direction="above") == 20.0
    assert ml.stats.time_to_target(r, 1.0) == pytest.approx(3.0 * 20 / 30)
    assert ml.stats.time_to_target(r, 0.1) == math.inf
    assert ml.stats.reached([30.0, 10.0, math.inf], 1) == 10.0
    assert ml.stats.reached([30.0, 10.0, math.inf], 3) == math.inf
    with pytest.raises(ValueError, match=r"m must be an integer in \[1, 3\], got 4"):
        ml.stats.reached([1.0, 2.0, 3.0], 4)


def test_performance_profile_matches_a_hand_made_table() -> None:
    costs = {
        "A": {"p1": 10.0, "p2": 20.0, "p3": math.inf, "p4": 5.0},
        "B": {"p1": 20.0, "p2": 10.0, "p3": 30.0, "p4": 5.0},
        "C": {"p1": 40.0, "p2": 10.0, "p3": 60.0, "p4": math.inf},
    }
    p = ml.stats.performance_profile(costs, tau_max=4.0, n_taus=7)  # taus 1, 1.5, ..., 4
    assert p.ratios.tolist() == [[1.0, 2.0, math.inf, 1.0], [2.0, 1.0, 1.0, 1.0], [4.0, 1.0, 2.0, math.inf]]
    assert p.taus.tolist() == [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]
    assert p.fractions[0].tolist() == [0.5, 0.5, 0.75, 0.75, 0.75, 0.75, 0.75]
    assert p.fractions[1].tolist() == [0.75, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert p.fractions[2].tolist() == [0.25, 0.25, 0.5, 0.5, 0.5, 0.5, 0.75]
    # area: mean over problems of (4 - r)+ / 3
    assert p.area.tolist() == pytest.approx(
        [(3 + 2 + 0 + 3) / 12, (2 + 3 + 3 + 3) / 12, (0 + 3 + 2 + 0) / 12]
    )


def test_performance_profile_rejects_mismatched_problems() -> None:
    with pytest.raises(ValueError, match=r"costs\['b'\] must name the problems \['x', 'y'\], got \['x'\]"):
        ml.stats.performance_profile({"a": {"x": 1.0, "y": 2.0}, "b": {"x": 1.0}})
    with pytest.raises(ValueError, match="tau_max must be"):
        ml.stats.performance_profile({"a": {"x": 1.0}}, tau_max=1.0)


# ------------------------------------------------------------------------------ tuning


def test_tuning_curve_starts_at_the_median_trial_and_falls_to_the_best() -> None:
    values = [5.0, 3.0, 1.0, 4.0, 2.0]
    c = ml.stats.tuning_curve(values, k_max=30, n_resamples=4000, seed=0)
    assert c.k.tolist() == list(range(1, 31))
    assert c.center[0] == 3.0  # best of one trial: the median trial
    assert c.center[-1] == 1.0
    assert c.low[-1] == 1.0
    assert np.all(np.diff(c.center) <= 0)
    assert ml.stats.tuning_curve([2.0, math.inf], seed=0).center[-1] == 2.0


def test_edge_of_space_names_the_field_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    space: dict[str, Any] = {
        "learning_rate": ml.sweep.Uniform(low=1e-3, high=1.0, log=True),
        "momentum": ml.sweep.Uniform(low=0.0, high=0.99),
        "batch_size": [1, 10, 100],
    }
    with caplog.at_level(logging.WARNING, logger="momentumlab.stats"):
        inner = ml.stats.edge_of_space(ml.RunConfig(learning_rate=0.03, momentum=0.5, batch_size=10), space)
        assert inner == []
        assert not caplog.records
        edge = ml.stats.edge_of_space(
            ml.RunConfig(learning_rate=1.1e-3, momentum=0.98, batch_size=100), space
        )
    assert edge == ["learning_rate", "momentum", "batch_size"]
    assert "edge of the search space" in caplog.records[0].getMessage()


# ------------------------------------------------------------------------------ over a store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ml.sweep.Store]:
    path = tmp_path_factory.mktemp("stats") / "s.sqlite"
    base = ml.RunConfig(epochs=1, batch_size=20, period=20, init_sigma=1.0)
    pts = ml.sweep.grid(base, {"learning_rate": [0.01, 0.1], "momentum": [0.0, 0.9]}, seeds=[0, 1, 2])
    ml.sweep.run_sweep(pts, ml.sweep.LinearRegressionSpec(n_samples=100), path)
    with ml.sweep.Store(path, read_only=True) as s:
        yield s


def test_summary_table_pools_seeds_per_group(store: ml.sweep.Store) -> None:
    rows = store.summaries()
    table = ml.stats.summary_table(rows, ["learning_rate", "momentum"], seed=0)
    assert [dict(t.group) for t in table] == [
        {"learning_rate": lr, "momentum": m} for lr in (0.01, 0.1) for m in (0.0, 0.9)
    ]
    for t in table:
        g = dict(t.group)
        finals = [r.final_loss for r in rows if r.value("learning_rate") == g["learning_rate"]
                  and r.value("momentum") == g["momentum"]]  # fmt: skip
        assert t.interval.n == 3
        assert t.n_diverged == 0
        assert t.interval.estimate == pytest.approx(float(np.median(finals)))
        assert min(finals) <= t.interval.low <= t.interval.high <= max(finals)


def test_seed_heatmap_cells_are_seed_medians(store: ml.sweep.Store) -> None:
    rows = store.summaries()
    xs, ys, z = ml.stats.seed_heatmap(rows, "learning_rate", "momentum")
    assert xs.tolist() == [0.01, 0.1]
    assert ys.tolist() == [0.0, 0.9]
    for i, m in enumerate(ys):
        for j, lr in enumerate(xs):
            cell = [r.final_loss for r in rows if r.value("learning_rate") == lr and r.value("momentum") == m]
            assert len(cell) == 3
            assert z[i, j] == pytest.approx(float(np.median(cell)))
    ax = ml.viz.plot_sweep(z, x="learning_rate", y="momentum", x_values=xs, y_values=ys)
    assert ax.get_xlabel() == "learning_rate"


def test_isolation_takes_the_best_learning_rate_per_momentum(store: ml.sweep.Store) -> None:
    rows = store.summaries()
    iso = ml.stats.isolation(rows, "momentum")
    assert iso.values == (0.0, 0.9)
    for v, best in zip(iso.values, iso.best, strict=True):
        meds = [float(np.median([r.final_loss for r in rows if r.value("momentum") == v
                                 and r.value("learning_rate") == lr])) for lr in (0.01, 0.1)]  # fmt: skip
        assert best == pytest.approx(min(meds))
    assert ml.stats.plot_isolation(iso).get_xlabel() == "momentum"


def test_seed_band_of_stored_runs_and_its_plot(store: ml.sweep.Store) -> None:
    rows = [r for r in store.rows() if r.value("learning_rate") == 0.1 and r.value("momentum") == 0.9]
    band = ml.stats.seed_band([r.to_result() for r in rows])
    assert band.counts.tolist() == [3] * band.steps.size
    ax = ml.stats.plot_band(band, label="hb")
    assert np.array_equal(ax.lines[0].get_ydata(), band.center)


def test_store_to_parquet_has_one_row_per_record(store: ml.sweep.Store, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    n = store.to_parquet(tmp_path / "runs.parquet")
    table = pq.read_table(tmp_path / "runs.parquet").to_pydict()
    results = {r.key: r.to_result() for r in store.rows()}
    assert n == sum(len(r.losses) for r in results.values()) == len(table["loss"])
    for key, res in results.items():
        mine = [i for i, k in enumerate(table["key"]) if k == key]
        assert [table["loss"][i] for i in mine] == pytest.approx(res.losses.tolist())
        assert [table["step"][i] for i in mine] == res.record_steps.tolist()
        assert {table["momentum"][i] for i in mine} == {res.config.momentum}


@given(
    st.lists(
        st.lists(st.one_of(st.floats(1.0, 1e4), st.just(math.inf)), min_size=3, max_size=3),
        min_size=1,
        max_size=6,
    )
)
@settings(max_examples=50, deadline=None)
def test_profile_laws(table: list[list[float]]) -> None:
    costs = {f"c{j}": {f"p{i}": row[j] for i, row in enumerate(table)} for j in range(3)}
    p = ml.stats.performance_profile(costs, tau_max=3.0)
    assert np.all(np.diff(p.fractions, axis=1) >= 0)  # a profile never falls
    assert np.all((p.area >= 0) & (p.area <= 1))
    solved = [i for i, row in enumerate(table) if min(row) < math.inf]
    assert np.all((p.ratios[:, solved] == 1.0).any(axis=0))  # someone is best on each solved problem
    assert p.fractions[:, 0].sum() >= len(solved) / len(table) - 1e-12
