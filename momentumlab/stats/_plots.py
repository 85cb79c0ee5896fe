"""Figures of the statistics: curves with bands, profiles, tuning curves, isolation plots.

pyplot is never imported: each function draws on the given Axes or on a new unregistered Figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from momentumlab._src.checks import check_bool, check_type
from momentumlab.stats._core import CurveBand, Isolation, Profile, TuningCurve
from momentumlab.viz._common import axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_band(
    band: CurveBand, *, label: str | None = None, log_y: bool = True, ax: Axes | None = None
) -> Axes:
    """Draw a seed-aggregated curve (its centre as a line, its band shaded) against update steps.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> b = ml.stats.CurveBand(np.arange(3), np.ones(3), np.ones(3) / 2, np.ones(3) * 2,
        ...                        np.full(3, 5), "quantile")
        >>> ax = ml.stats.plot_band(b, label="sgd")
        >>> len(ax.lines), len(ax.collections), ax.get_yscale()
        (1, 1, 'log')
    """
    check_type("band", band, CurveBand, "a CurveBand")
    log = check_bool("log_y", log_y)
    ax = axes(ax)
    (line,) = ax.plot(band.steps, band.center, label=label)
    ax.fill_between(band.steps, band.low, band.high, color=line.get_color(), alpha=0.25, linewidth=0)
    if log and np.nanmin(band.low) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("update step")
    ax.set_ylabel("loss")
    if label is not None:
        ax.legend()
    return ax


def plot_profile(profile: Profile, *, ax: Axes | None = None) -> Axes:
    """Draw performance profiles as step curves, the area under each in the legend.

    Example:
        >>> import momentumlab as ml
        >>> p = ml.stats.performance_profile({"a": {"x": 1, "y": 2}, "b": {"x": 2, "y": 1}})
        >>> ax = ml.stats.plot_profile(p)
        >>> [t.get_text() for t in ax.get_legend().get_texts()]
        ['a (area 0.83)', 'b (area 0.83)']
    """
    check_type("profile", profile, Profile, "a Profile")
    ax = axes(ax)
    for name, frac, area in zip(profile.names, profile.fractions, profile.area, strict=True):
        ax.step(profile.taus, frac, where="post", label=f"{name} (area {area:.2f})")
    ax.set_xlim(1.0, profile.tau_max)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("ratio to the best cost  $\\tau$")
    ax.set_ylabel("fraction of problems")
    ax.legend()
    return ax


def plot_tuning_curve(curve: TuningCurve, *, label: str | None = None, ax: Axes | None = None) -> Axes:
    """Draw a best-of-k tuning curve with its band.

    Example:
        >>> import momentumlab as ml
        >>> ax = ml.stats.plot_tuning_curve(ml.stats.tuning_curve([3.0, 1.0, 2.0], seed=0), label="nag")
        >>> ax.get_xlabel()
        'trials k'
    """
    check_type("curve", curve, TuningCurve, "a TuningCurve")
    ax = axes(ax)
    (line,) = ax.plot(curve.k, curve.center, marker="o", markersize=3, label=label)
    ax.fill_between(curve.k, curve.low, curve.high, color=line.get_color(), alpha=0.25, linewidth=0)
    if np.all(np.isfinite(curve.low)) and np.nanmin(curve.low) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("trials k")
    ax.set_ylabel("best final loss of k trials")
    if label is not None:
        ax.legend()
    return ax


def plot_isolation(iso: Isolation, *, label: str | None = None, ax: Axes | None = None) -> Axes:
    """Draw the best value over nuisance parameters against the scientific parameter.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> iso = ml.stats.Isolation("momentum", (0.0, 0.9), np.array([1.0, 0.1]), ("a", "b"))
        >>> ml.stats.plot_isolation(iso).get_xlabel()
        'momentum'
    """
    check_type("iso", iso, Isolation, "an Isolation")
    ax = axes(ax)
    numeric = all(isinstance(v, (int, float)) for v in iso.values)
    xs = list(iso.values) if numeric else list(range(len(iso.values)))
    ax.plot(xs, iso.best, marker="o", label=label)
    if not numeric:
        ax.set_xticks(xs, [str(v) for v in iso.values])
    if np.all(iso.best[np.isfinite(iso.best)] > 0):
        ax.set_yscale("log")
    ax.set_xlabel(iso.field)
    ax.set_ylabel("best over other parameters")
    if label is not None:
        ax.legend()
    return ax
