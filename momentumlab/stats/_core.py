"""Statistics over seeds, tuning trials and problems: NumPy only, every draw from an explicit seed.

Layer 5 (beside ``viz``): reads results and store summaries, never the store's SQL.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from momentumlab._src.checks import (
    as_generator,
    check_array,
    check_choice,
    check_float,
    check_int,
    check_type,
)
from momentumlab._src.types import Array, Seed
from momentumlab.runner import RunResult
from momentumlab.sweep import Choice, IntUniform, Summary, Uniform, check_field

_LOG = logging.getLogger("momentumlab.stats")

_STATISTICS: dict[str, Callable[..., Any]] = {"median": np.nanmedian, "mean": np.nanmean}


def _stat(statistic: str) -> Callable[..., Any]:
    return _STATISTICS[check_choice("statistic", statistic, _STATISTICS)]


def _confidence(confidence: float) -> tuple[float, float]:
    c = check_float("confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True)
    return (1.0 - c) / 2.0, (1.0 + c) / 2.0


def _numbers_1d(name: str, values: Any) -> Array:
    """A non-empty 1-D array of numbers; NaN/inf allowed (missing runs, never reached)."""
    return check_array(name, values, ndim=1, finite=False)


@dataclass(frozen=True)
class Interval:
    """A statistic with a two-sided confidence interval.

    Attributes:
        estimate: the statistic of the data.
        low, high: the interval's ends.
        n: how many values it came from.
    """

    estimate: float
    low: float
    high: float
    n: int


def bootstrap_ci(
    values: Sequence[float] | Array,
    *,
    statistic: str = "median",
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: Seed,
) -> Interval:
    r"""Percentile bootstrap interval of the median (or mean) of ``values``.

    ``n_resamples`` samples of size ``n`` are drawn with replacement as one index matrix
    ``rng.integers(0, n, size=(n_resamples, n))``; the interval holds the
    :math:`(1-c)/2` and :math:`(1+c)/2` quantiles (linear interpolation) of the resampled
    statistics. Non-finite values (diverged runs) are dropped first.

    Args:
        values: the numbers, e.g. one final loss per seed.
        statistic: ``"median"`` or ``"mean"``.
        confidence: coverage ``c`` in (0, 1).
        n_resamples: bootstrap samples, >= 1.
        seed: an int, a ``Generator`` (used as is) or ``None``; the global RNG is never used.

    Returns:
        An :class:`Interval`.

    Raises:
        ValueError: for no finite value, or a bad ``confidence``/``n_resamples``/``statistic``.

    Example:
        >>> import momentumlab as ml
        >>> ci = ml.stats.bootstrap_ci([1.0, 2.0, 3.0, 4.0, 100.0], seed=0)
        >>> ci.estimate, ci.low <= 3.0 <= ci.high, ci.n
        (3.0, True, 5)
    """
    f = _stat(statistic)
    q = _confidence(confidence)
    b = check_int("n_resamples", n_resamples, low=1)
    rng = as_generator(seed)
    x = _numbers_1d("values", values)
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise ValueError("values must hold at least one finite number, got none")
    idx = rng.integers(0, x.size, size=(b, x.size))
    boot = f(x[idx], axis=1)
    low, high = np.quantile(boot, q)
    return Interval(float(f(x)), float(low), float(high), int(x.size))


# ------------------------------------------------------------------------------ curves over seeds


@dataclass(frozen=True)
class CurveBand:
    """A loss (or metric) curve aggregated over seeds.

    Attributes:
        steps: the record steps shared by the runs.
        center: the median (or mean) at each step.
        low, high: the band's ends at each step.
        counts: how many runs had a finite value at each step (a diverged run stops counting).
        band: ``"quantile"`` or ``"bootstrap"``.
    """

    steps: Array
    center: Array
    low: Array
    high: Array
    counts: Array
    band: str


def _rows(rows: Any) -> list[Summary]:
    """The store rows as a list, each checked to be a ``Summary`` (or ``Row``)."""
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise TypeError(f"rows must be an iterable of store Summary or Row, got {rows!r}")
    out = list(rows)
    for i, s in enumerate(out):
        check_type(f"rows[{i}]", s, Summary, "a store Summary or Row")
    return out


def _aligned(results: Sequence[RunResult], on: str) -> tuple[Array, Array]:
    """The longest run's record steps and an ``(n_runs, n_steps)`` matrix, NaN where a run has none."""
    given: Any = results
    if isinstance(given, (str, bytes)) or not isinstance(given, Sequence):
        raise TypeError(f"results must be a sequence of RunResult, got {results!r}")
    if not results:
        raise ValueError("results must hold at least one RunResult, got none")
    for i, r in enumerate(results):
        check_type(f"results[{i}]", r, RunResult, "a RunResult")
    longest = max(results, key=lambda r: len(r.record_steps))
    steps = np.asarray(longest.record_steps)
    out = np.full((len(results), steps.size), np.nan)
    for i, r in enumerate(results):
        v = np.asarray(r.losses if on == "loss" else r.metrics, dtype=float)
        s = np.asarray(r.record_steps)[: v.size]
        if not np.array_equal(s, steps[: s.size]):
            raise ValueError(
                f"results[{i}] record_steps must be a prefix of the longest run's (runs differing only "
                f"by seed), got {s[:5].tolist()}... against {steps[:5].tolist()}..."
            )
        out[i, : v.size] = np.where(np.isfinite(v), v, np.nan)
    return steps, out


def seed_band(
    results: Sequence[RunResult],
    *,
    on: str = "loss",
    band: str = "quantile",
    statistic: str = "median",
    confidence: float = 0.8,
    n_resamples: int = 1000,
    seed: Seed = 0,
) -> CurveBand:
    """Aggregate the curves of runs that differ only by seed, aligned on their record steps.

    ``band="quantile"`` spans the ``(1-c)/2`` and ``(1+c)/2`` quantiles of the runs at each
    step (where the runs lie); ``band="bootstrap"`` is the percentile bootstrap interval of
    the statistic at each step (how sure the centre is), resampling whole runs. Non-finite
    values and steps after a run stopped are left out of that step.

    Args:
        results: the runs (record steps of each a prefix of the longest run's).
        on: ``"loss"`` or ``"metric"``.
        band: ``"quantile"`` or ``"bootstrap"``.
        statistic: the centre, ``"median"`` or ``"mean"``.
        confidence: coverage in (0, 1).
        n_resamples: bootstrap samples, >= 1.
        seed: seed of the bootstrap draws (explicit; never the global RNG).

    Returns:
        A :class:`CurveBand`.

    Raises:
        ValueError: for no runs, misaligned record steps or a bad option (named).

    Example:
        >>> import momentumlab as ml
        >>> data = ml.data.make_linear_regression(n_samples=100, seed=0)
        >>> runs = [ml.train(ml.RunConfig(epochs=2, batch_size=10, period=50, seed=s,
        ...                               learning_rate=0.1), data) for s in range(3)]
        >>> b = ml.stats.seed_band(runs)
        >>> b.steps.tolist() == runs[0].record_steps.tolist(), b.counts.max()
        (True, 3)
        >>> bool((b.low <= b.center).all() and (b.center <= b.high).all())
        True
    """
    check_choice("on", on, ("loss", "metric"))
    check_choice("band", band, ("quantile", "bootstrap"))
    rng = as_generator(seed)
    f = _stat(statistic)
    q = _confidence(confidence)
    b = check_int("n_resamples", n_resamples, low=1)
    steps, m = _aligned(results, on)
    counts = np.isfinite(m).sum(axis=0)
    keep = counts > 0
    steps, m, counts = steps[keep], m[:, keep], counts[keep]
    if steps.size == 0:
        raise ValueError(f"results must hold at least one finite {on} value, got none")
    center = f(m, axis=0)
    if band == "quantile":
        low, high = np.nanquantile(m, q, axis=0)
    else:
        idx = rng.integers(0, m.shape[0], size=(b, m.shape[0]))
        with warnings.catch_warnings():  # a resample of only stopped runs is all-NaN at a step
            warnings.simplefilter("ignore", RuntimeWarning)
            boot = f(m[idx], axis=1)  # (b, n_steps)
        low, high = np.nanquantile(boot, q, axis=0)
    return CurveBand(steps, np.asarray(center), np.asarray(low), np.asarray(high), counts, band)


# ------------------------------------------------------------------------------ tables and heatmaps


def _without_seed(s: Summary) -> str:
    return json.dumps({k: v for k, v in s.config_json.items() if k != "seed"}, sort_keys=True, default=str)


def _row_value(s: Summary, value: str) -> float:
    check_choice("value", value, ("final_loss", "metric", "wall_time", "n_steps"))
    v = float(getattr(s, value))
    return v if s.status == "done" or value != "final_loss" else (math.inf if s.status == "diverged" else v)


@dataclass(frozen=True)
class TableRow:
    """One line of :func:`summary_table`: the group's field values and its interval."""

    group: tuple[tuple[str, Any], ...]
    interval: Interval
    n_diverged: int


def summary_table(
    rows: Iterable[Summary],
    by: Sequence[str],
    *,
    value: str = "final_loss",
    statistic: str = "median",
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: Seed = 0,
) -> list[TableRow]:
    """Group runs by config fields (pooling everything else, e.g. seeds) and give each group a CI.

    Diverged runs count as ``inf`` loss: they are left out of the interval and counted in
    ``n_diverged``; failed runs are skipped. Groups come in first-seen order.

    Args:
        rows: store summaries or rows (``store.summaries()``: no history is read).
        by: field paths naming a group (see :func:`momentumlab.sweep.check_field`).
        value: ``"final_loss"``, ``"metric"``, ``"wall_time"`` or ``"n_steps"``.
        statistic, confidence, n_resamples, seed: as in :func:`bootstrap_ci` (one
            generator made from ``seed`` serves all groups in order).

    Returns:
        One :class:`TableRow` per group with at least one finite value.

    Example:
        >>> import momentumlab as ml, tempfile, os
        >>> pts = ml.sweep.grid(ml.RunConfig(epochs=1, batch_size=20, learning_rate=0.1),
        ...                     {"momentum": [0.0, 0.9]}, seeds=[0, 1, 2])
        >>> path = os.path.join(tempfile.mkdtemp(), "r.sqlite")
        >>> _ = ml.sweep.run_sweep(pts, ml.sweep.LinearRegressionSpec(n_samples=100), path)
        >>> with ml.sweep.Store(path) as store:
        ...     table = ml.stats.summary_table(store.summaries(), ["momentum"])
        >>> [(dict(t.group)["momentum"], t.interval.n) for t in table]
        [(0.0, 3), (0.9, 3)]
    """
    rng = as_generator(seed)
    groups: dict[tuple[tuple[str, Any], ...], list[float]] = {}
    for s in _rows(rows):
        if s.status == "failed":
            continue
        key = tuple((f, _hashable(s.value(f))) for f in by)
        groups.setdefault(key, []).append(_row_value(s, value))
    out = []
    for key, vals in sorted(groups.items(), key=lambda kv: _order(kv[0])):
        x = np.asarray(vals, dtype=float)
        finite = x[np.isfinite(x)]
        if finite.size == 0:
            continue
        ci = bootstrap_ci(
            finite, statistic=statistic, confidence=confidence, n_resamples=n_resamples, seed=rng
        )
        out.append(TableRow(key, ci, int(x.size - finite.size)))
    return out


def _order(key: tuple[tuple[str, Any], ...]) -> tuple[tuple[int, Any], ...]:
    return tuple((0, v) if isinstance(v, (int, float)) else (1, str(v)) for _, v in key)


def _hashable(v: Any) -> Any:
    try:
        hash(v)
        return v
    except TypeError:
        return json.dumps(v, sort_keys=True, default=str)


def seed_heatmap(
    rows: Iterable[Summary],
    x: str,
    y: str,
    *,
    value: str = "final_loss",
    agg: str = "median",
) -> tuple[Array, Array, Array]:
    """The matrix of a heatmap whose cells pool runs (seeds) sharing ``x`` and ``y``.

    Diverged runs are ``inf``; a cell's value is the median (``agg="median"``), mean, min or
    max of its runs; a cell with no run is NaN. Draw it with
    ``ml.viz.plot_sweep(Z, x=x, y=y, x_values=xs, y_values=ys)``.

    Returns:
        ``(xs, ys, Z)`` with ``Z.shape == (len(ys), len(xs))``, coordinates sorted.

    Example:
        >>> import momentumlab as ml, tempfile, os
        >>> pts = ml.sweep.grid(ml.RunConfig(epochs=1, batch_size=20),
        ...                     {"learning_rate": [0.01, 0.1], "momentum": [0.0, 0.9]}, seeds=[0, 1])
        >>> path = os.path.join(tempfile.mkdtemp(), "r.sqlite")
        >>> _ = ml.sweep.run_sweep(pts, ml.sweep.LinearRegressionSpec(n_samples=100), path)
        >>> with ml.sweep.Store(path) as store:
        ...     xs, ys, Z = ml.stats.seed_heatmap(store.summaries(), "learning_rate", "momentum")
        >>> xs.tolist(), ys.tolist(), Z.shape
        ([0.01, 0.1], [0.0, 0.9], (2, 2))
    """
    aggs: dict[str, Callable[..., Any]] = {"median": np.median, "mean": np.mean, "min": np.min, "max": np.max}
    f = aggs[check_choice("agg", agg, aggs)]
    check_field(x, what="x")
    check_field(y, what="y")
    cells: dict[tuple[float, float], list[float]] = {}
    for s in _rows(rows):
        if s.status == "failed":
            continue
        cells.setdefault((float(s.value(x)), float(s.value(y))), []).append(_row_value(s, value))
    if not cells:
        raise ValueError("rows must hold at least one done or diverged run, got none")
    xs = np.array(sorted({k[0] for k in cells}))
    ys = np.array(sorted({k[1] for k in cells}))
    z = np.full((ys.size, xs.size), np.nan)
    for (cx, cy), vals in cells.items():
        with np.errstate(invalid="ignore"):
            z[np.searchsorted(ys, cy), np.searchsorted(xs, cx)] = f(np.asarray(vals))
    return xs, ys, z


# ------------------------------------------------------------------------------ scores


def steps_to_target(result: RunResult, target: float, *, on: str = "loss", direction: str = "below") -> float:
    """Updates done at the first record whose loss (or metric) reaches ``target``; ``inf`` if none.

    Only recorded positions are seen, so the answer is exact up to the record period.

    Args:
        result: one run.
        target: the level to reach.
        on: ``"loss"`` or ``"metric"``.
        direction: ``"below"`` (``value <= target``, losses) or ``"above"`` (accuracies).

    Example:
        >>> import momentumlab as ml
        >>> r = ml.train(ml.RunConfig(epochs=2, batch_size=10, period=10, learning_rate=0.1),
        ...              ml.data.make_linear_regression(n_samples=100, seed=0))
        >>> 0 < ml.stats.steps_to_target(r, 5.0) <= 20, ml.stats.steps_to_target(r, -1.0)
        (True, inf)
    """
    check_type("result", result, RunResult, "a RunResult")
    t = check_float("target", target)
    check_choice("on", on, ("loss", "metric"))
    check_choice("direction", direction, ("below", "above"))
    v = np.asarray(result.losses if on == "loss" else result.metrics, dtype=float)
    steps = np.asarray(result.record_steps)[: v.size]
    with np.errstate(invalid="ignore"):
        hit = (v <= t) if direction == "below" else (v >= t)
    hit &= np.isfinite(v)
    return float(steps[np.argmax(hit)]) if hit.any() else math.inf


def time_to_target(result: RunResult, target: float, *, on: str = "loss", direction: str = "below") -> float:
    """Seconds of training until ``target`` is reached: ``wall_time * steps / n_steps``; ``inf`` if never.

    A run times only its whole training, so time is spread evenly over its updates.

    Example:
        >>> import momentumlab as ml
        >>> r = ml.train(ml.RunConfig(epochs=1, batch_size=10, period=10, learning_rate=0.1),
        ...              ml.data.make_linear_regression(n_samples=100, seed=0))
        >>> 0.0 < ml.stats.time_to_target(r, 5.0) <= r.wall_time
        True
    """
    s = steps_to_target(result, target, on=on, direction=direction)
    if not math.isfinite(s):
        return math.inf
    return result.wall_time * s / max(result.n_steps, 1)


def reached(costs: Sequence[float] | Array, m: int) -> float:
    """The cost by which at least ``m`` of the seeds reached the target: the m-th smallest; ``inf`` if fewer.

    Args:
        costs: one steps- or time-to-target per seed (``inf`` for never).
        m: how many seeds must reach it, in [1, len(costs)].

    Example:
        >>> import math, momentumlab as ml
        >>> ml.stats.reached([30.0, 10.0, math.inf], 2), ml.stats.reached([30.0, math.inf, math.inf], 2)
        (30.0, inf)
    """
    x = np.sort(_numbers_1d("costs", costs))
    k = check_int("m", m, low=1, high=x.size)
    return float(x[k - 1])


@dataclass(frozen=True)
class Profile:
    """Performance profiles (Dolan and Moré) of several configurations over a set of problems.

    Attributes:
        names: the configurations, in the order given.
        problems: the problems.
        ratios: ``(n_configs, n_problems)`` cost over the problem's best cost (``inf`` unsolved).
        taus: where the profiles are sampled.
        fractions: ``(n_configs, len(taus))`` share of problems with ratio ``<= tau``.
        area: per configuration, the area under its profile over ``[1, tau_max]`` divided by
            ``tau_max - 1`` (1 = best on every problem).
        tau_max: the right end of the profile.
    """

    names: tuple[str, ...]
    problems: tuple[str, ...]
    ratios: Array
    taus: Array
    fractions: Array
    area: Array
    tau_max: float


def performance_profile(
    costs: Mapping[str, Mapping[str, float]], *, tau_max: float = 4.0, n_taus: int = 200
) -> Profile:
    r"""Performance profiles: for each configuration :math:`s`, the fraction of problems
    :math:`p` with :math:`r_{p,s} = t_{p,s} / \min_{s'} t_{p,s'} \le \tau`.

    The area is exact (a profile is a step function):
    :math:`\frac{1}{|P|}\sum_p \max(0, \tau_{max} - r_{p,s}) / (\tau_{max} - 1)`. A problem no
    configuration solves (all costs ``inf``) counts as unsolved for all.

    Args:
        costs: configuration -> problem -> cost (steps or seconds to target, ``inf`` for never);
            every configuration must name the same problems.
        tau_max: right end, > 1.
        n_taus: sample points of the returned curves, >= 2.

    Example:
        >>> import math, momentumlab as ml
        >>> p = ml.stats.performance_profile({"a": {"x": 10, "y": 40}, "b": {"x": 20, "y": 20}})
        >>> p.ratios.tolist(), p.area.tolist()
        ([[1.0, 2.0], [2.0, 1.0]], [0.8333333333333334, 0.8333333333333334])
    """
    check_type("costs", costs, Mapping, "a mapping config -> problem -> cost")
    if not costs:
        raise ValueError("costs must name at least one configuration, got {}")
    names = tuple(costs)
    for n in names:
        check_type(f"costs[{n!r}]", costs[n], Mapping, "a mapping problem -> cost")
    problems = tuple(costs[names[0]])
    if not problems:
        raise ValueError("costs must name at least one problem, got none")
    for n in names:
        if set(costs[n]) != set(problems):
            raise ValueError(
                f"costs[{n!r}] must name the problems {sorted(problems)}, got {sorted(costs[n])}"
            )
    tmax = check_float("tau_max", tau_max, low=1.0, low_open=True)
    nt = check_int("n_taus", n_taus, low=2)
    t = np.array([[float(costs[n][p]) for p in problems] for n in names])
    if np.isnan(t).any() or (t <= 0).any():
        raise ValueError("costs must be > 0 (or inf for never), got a NaN or a value <= 0")
    best = t.min(axis=0)
    with np.errstate(invalid="ignore"):
        ratios = np.where(np.isfinite(best), t / best, np.inf)
    taus = np.linspace(1.0, tmax, nt)
    fractions = (ratios[:, :, None] <= taus[None, None, :]).mean(axis=1)
    area = np.clip(tmax - ratios, 0.0, None).mean(axis=1) / (tmax - 1.0)
    return Profile(names, problems, ratios, taus, fractions, area, tmax)


# ------------------------------------------------------------------------------ tuning


@dataclass(frozen=True)
class TuningCurve:
    """Best-of-k: the best value found by ``k`` trials of a budget, for ``k`` from 1 to ``n``.

    Attributes:
        k: trial counts.
        center, low, high: the median and band of the best of ``k`` resampled trials.
    """

    k: Array
    center: Array
    low: Array
    high: Array


def tuning_curve(
    values: Sequence[float] | Array,
    *,
    k_max: int | None = None,
    confidence: float = 0.8,
    n_resamples: int = 1000,
    seed: Seed = 0,
) -> TuningCurve:
    """Best-of-k tuning curve by bootstrap (lower is better; ``inf``/NaN trials are never best).

    For each ``k``, ``n_resamples`` draws of ``k`` trials with replacement; the best of each
    draw; their median and the ``(1-c)/2``, ``(1+c)/2`` quantiles.

    Example:
        >>> import momentumlab as ml
        >>> c = ml.stats.tuning_curve([5.0, 3.0, 1.0, 4.0], seed=0)
        >>> c.k.tolist(), float(c.center[-1]) <= float(c.center[0])
        ([1, 2, 3, 4], True)
    """
    x = _numbers_1d("values", values)
    if not np.isfinite(x).any():
        raise ValueError("values must hold at least one finite number (a trial that ended), got none")
    x = np.where(np.isfinite(x), x, np.inf)
    kmax = x.size if k_max is None else check_int("k_max", k_max, low=1)
    q = _confidence(confidence)
    b = check_int("n_resamples", n_resamples, low=1)
    rng = as_generator(seed)
    ks = np.arange(1, kmax + 1)
    center, low, high = (np.empty(kmax) for _ in range(3))
    for i, k in enumerate(ks):
        best = x[rng.integers(0, x.size, size=(b, k))].min(axis=1)
        center[i] = np.median(best)
        low[i], high[i] = np.quantile(best, q, method="inverted_cdf")
    return TuningCurve(ks, center, low, high)


@dataclass(frozen=True)
class Isolation:
    """Best value over nuisance parameters at each value of one scientific parameter.

    Attributes:
        field: the scientific parameter.
        values: its distinct values, sorted.
        best: per value, the best (lowest) seed-median over every other setting.
        best_keys: per value, the key of one run of the best setting.
    """

    field: str
    values: tuple[Any, ...]
    best: Array
    best_keys: tuple[str, ...]


def isolation(rows: Iterable[Summary], scientific: str, *, value: str = "final_loss") -> Isolation:
    """For each value of ``scientific``, the best over the nuisance parameters (seeds pooled by median).

    Example:
        >>> import momentumlab as ml, tempfile, os
        >>> pts = ml.sweep.grid(ml.RunConfig(epochs=1, batch_size=20),
        ...                     {"learning_rate": [0.01, 0.1], "momentum": [0.0, 0.9]})
        >>> path = os.path.join(tempfile.mkdtemp(), "r.sqlite")
        >>> _ = ml.sweep.run_sweep(pts, ml.sweep.LinearRegressionSpec(n_samples=100), path)
        >>> with ml.sweep.Store(path) as store:
        ...     iso = ml.stats.isolation(store.summaries(), "momentum")
        >>> iso.values, iso.best.shape
        ((0.0, 0.9), (2,))
    """
    check_field(scientific, what="scientific")
    settings: dict[str, tuple[Any, list[float], str]] = {}
    for s in _rows(rows):
        if s.status == "failed":
            continue
        k = _without_seed(s)
        entry = settings.setdefault(k, (_hashable(s.value(scientific)), [], s.key))
        entry[1].append(_row_value(s, value))
    if not settings:
        raise ValueError("rows must hold at least one done or diverged run, got none")
    best: dict[Any, tuple[float, str]] = {}
    for v, vals, key in settings.values():
        med = float(np.median(vals))
        if v not in best or med < best[v][0]:
            best[v] = (med, key)
    order = sorted(best, key=lambda v: (isinstance(v, str), v))
    return Isolation(scientific, tuple(order), np.array([best[v][0] for v in order]),
                     tuple(best[v][1] for v in order))  # fmt: skip


def edge_of_space(
    config: Any,
    space: Mapping[str, Any],
    *,
    tolerance: float = 0.05,
) -> list[str]:
    """Fields whose value in ``config`` (e.g. the best point) lies within ``tolerance`` of a range's end.

    Positions are measured on the range's own scale (log for ``log=True``); a
    :class:`~momentumlab.sweep.Choice` or a plain list counts when the value is its first or
    last entry and it holds at least three. A non-empty answer is also logged as a warning
    on the ``momentumlab.stats`` logger: widen the space there before trusting the best point.

    Example:
        >>> import momentumlab as ml
        >>> space = {"learning_rate": ml.sweep.Uniform(low=1e-3, high=1.0, log=True),
        ...          "momentum": ml.sweep.Uniform(low=0.0, high=0.99)}
        >>> cfg = ml.RunConfig(learning_rate=0.98, momentum=0.5)
        >>> ml.stats.edge_of_space(cfg, space)
        ['learning_rate']
    """
    from momentumlab.sweep import field_value

    tol = check_float("tolerance", tolerance, low=0.0, high=0.5)
    if not isinstance(space, Mapping):
        raise TypeError(f"space must be a mapping of field -> distribution or values, got {space!r}")
    edges = []
    for name, dist in space.items():
        v = field_value(config, check_field(name, what="space key"))
        if v is None:
            raise ValueError(f"config must hold a value at {name!r} to place it in the space, got None")
        if isinstance(dist, (Uniform, IntUniform)):
            lo, hi, x = float(dist.low), float(dist.high), float(v)
            if dist.log:
                lo, hi, x = math.log(lo), math.log(hi), math.log(x)
            pos = (x - lo) / (hi - lo) if hi > lo else 0.5
            if pos <= tol or pos >= 1.0 - tol:
                edges.append(name)
        else:
            vals = list(dist.values if isinstance(dist, Choice) else dist)
            if len(vals) >= 3 and v in (vals[0], vals[-1]):
                edges.append(name)
    if edges:
        _LOG.warning("best point lies on the edge of the search space in %s; widen the space", edges)
    return edges
