"""Final loss over two swept fields as a heatmap, with the theory's overlays."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from momentumlab import theory
from momentumlab._src.checks import check_array, check_bool, check_float, check_type
from momentumlab._src.types import Array
from momentumlab.viz._common import DIVERGED_COLOR, axes, masked

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from momentumlab.runner import RunResult

_LR, _MOM = "learning_rate", "momentum"


def config_value(config: Any, field: str) -> float:
    """The number at ``field`` of a config, following dots (``"learning_rate.schedule.factor"``).

    Raises:
        ValueError: if a part of the path does not exist or is ``None``.
        TypeError: if the value is not a real number.

    Example:
        >>> import momentumlab as ml
        >>> from momentumlab.viz._sweep import config_value
        >>> config_value(ml.RunConfig.chapter(), "learning_rate.schedule.factor")
        0.1
    """
    check_type("field", field, str, "a field name such as 'momentum' or 'learning_rate.schedule.factor'")
    value: Any = config
    for part in field.split("."):
        if value is None or not hasattr(value, part):
            valid = sorted(getattr(value, "__dataclass_fields__", {}))
            raise ValueError(
                f"field must name a number in the config, one of {valid} at {part!r}, got {field!r}"
            )
        value = getattr(value, part)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"field {field!r} must hold a real number, got {value!r}")
    return float(value)


def _same_setting(results: Sequence[RunResult], x: str, y: str) -> None:
    """Refuse runs of different problems, or whose configs differ beyond ``x`` and ``y``."""
    problems = sorted({r.problem_name for r in results})
    if len(problems) > 1:
        raise ValueError(
            f"results must come from one problem to share a heatmap, got {len(problems)}: {problems}"
        )
    swept = {x.split(".")[0], y.split(".")[0]}
    first = results[0].config
    for r in results[1:]:
        for f in dataclasses.fields(first):
            if f.name not in swept and getattr(r.config, f.name) != getattr(first, f.name):
                raise ValueError(
                    f"results must differ only in {x!r} and {y!r} to share a heatmap, got runs "
                    f"that also differ in {f.name!r} ({getattr(first, f.name)!r} and "
                    f"{getattr(r.config, f.name)!r}); select one setting first"
                )


def _grid_from_results(
    results: Sequence[RunResult], x: str, y: str, metric: Callable[[RunResult], float]
) -> tuple[Array, Array, Array, Array]:
    keys = [(config_value(r.config, x), config_value(r.config, y)) for r in results]
    _same_setting(results, x, y)
    xs = np.unique([k[0] for k in keys])
    ys = np.unique([k[1] for k in keys])
    Z = np.full((ys.size, xs.size), np.nan)
    ran = np.zeros(Z.shape, dtype=bool)
    for r, (kx, ky) in zip(results, keys, strict=True):
        i, j = int(np.searchsorted(ys, ky)), int(np.searchsorted(xs, kx))
        if ran[i, j]:
            raise ValueError(
                f"results must hold one run per ({x}, {y}) point, got two at ({kx:g}, {ky:g}); "
                "select one seed or reduce the runs first"
            )
        ran[i, j] = True
        value = float(metric(r))
        Z[i, j] = math.nan if r.diverged else value
    return xs, ys, Z, ran


def _edges(v: Array, log: bool) -> Array:
    if v.size == 1:
        return np.array([v[0] / 2, v[0] * 2]) if log else np.array([v[0] - 0.5, v[0] + 0.5])
    w = np.log(v) if log else v
    mid = (w[1:] + w[:-1]) / 2
    e = np.concatenate([[w[0] - (mid[0] - w[0])], mid, [w[-1] + (w[-1] - mid[-1])]])
    out: Array = np.exp(e) if log else e
    return out


def _auto_log(v: Array) -> bool:
    return bool(v.size >= 2 and (v > 0).all() and v.max() / v.min() >= 10.0 * (1 - 1e-9))


def _final_loss(r: RunResult) -> float:
    return r.final_loss


def plot_sweep(
    source: Sequence[RunResult] | Array,
    *,
    x: str = _LR,
    y: str = _MOM,
    x_values: Sequence[float] | Array | None = None,
    y_values: Sequence[float] | Array | None = None,
    metric: Callable[[RunResult], float] | None = None,
    spectrum: tuple[float, float] | None = None,
    boundary: tuple[Array, Array] | None = None,
    optimum: tuple[float, float] | None = None,
    log_x: bool | None = None,
    log_y: bool | None = None,
    vmax: float | None = None,
    colorbar: bool = True,
    ax: Axes | None = None,
) -> Axes:
    r"""Draw the final loss over two swept fields as a heatmap with a logarithmic colour scale.

    Two inputs are accepted:

    * a sequence of :class:`momentumlab.RunResult` with ``x`` and ``y`` naming the swept
      config fields (dots reach into nested ones: ``"learning_rate.decay_steps"``); each cell is
      ``metric(result)`` (default: the final loss), one run per grid point; the runs must
      share their problem and every other config field (nothing is pooled silently);
    * a 2-D array ``Z`` of shape ``(len(y_values), len(x_values))`` with ``x_values`` and
      ``y_values``; ``x`` and ``y`` are then only the axis labels.

    Cells sit at their real coordinates (a log axis when the values are positive and span a
    factor of ten, or as ``log_x``/``log_y`` say). Diverged runs and NaN/inf cells are
    hatched red ("diverged" in the legend); grid points without a run stay empty ("not
    run"). Values ``<= 0`` are shown at the bottom of the colour scale.

    For linear regression under heavy-ball SGD, with ``x="learning_rate"`` and
    ``y="momentum"`` (or swapped), ``spectrum=(lam_min, lam_max)`` of the loss's Hessian draws
    the stability boundary :func:`momentumlab.theory.max_stable_learning_rate` and the optimum
    :func:`momentumlab.theory.optimal_momentum`. Precomputed overlays can be given instead as ``boundary=(xs,
    ys)`` (a curve in plot coordinates) and ``optimum=(x, y)``.

    Args:
        source: the runs, or the matrix ``Z``.
        x: field (or label) on the horizontal axis.
        y: field (or label) on the vertical axis.
        x_values: the column coordinates, with a matrix only.
        y_values: the row coordinates, with a matrix only.
        metric: ``result -> float`` for a cell; ``None`` is ``result.final_loss``.
        spectrum: ``(lam_min, lam_max)`` for the closed-form overlays.
        boundary: a precomputed curve ``(xs, ys)`` to draw as the stability boundary.
        optimum: a precomputed point to mark as the optimum.
        log_x: force a log (``True``) or linear (``False``) x axis; ``None`` decides.
        log_y: the same for the y axis.
        vmax: cap of the colour scale (> 0); larger values get the top colour and the
            colour bar an arrow. ``None`` uses the largest finite value. Capping at the
            starting loss shows at a glance which runs made progress.
        colorbar: add a colour bar beside the Axes.
        ax: the Axes to draw on; ``None`` creates a new figure (not registered with pyplot).

    Returns:
        The Axes drawn on.

    Raises:
        ValueError: for mismatched shapes, two runs on one grid point, runs of different
            problems or differing in another config field, an unknown field,
            ``spectrum`` with axes other than learning rate and momentum, or both
            ``spectrum`` and precomputed overlays.
        TypeError: for inputs of the wrong type.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> Z = np.array([[1e-3, 1e-2, np.nan], [1e-4, 1e-1, np.inf]])
        >>> ax = ml.viz.plot_sweep(Z, x_values=[0.01, 0.1, 1.0], y_values=[0.0, 0.9],
        ...                        spectrum=(0.5, 2.0))
        >>> ax.get_xscale(), ax.get_xlabel(), ax.get_ylabel()
        ('log', 'learning_rate', 'momentum')
        >>> sorted(t.get_text() for t in ax.get_legend().get_texts())
        ['Polyak optimum', 'diverged', 'stability boundary']
    """
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.patheffects import withStroke

    from momentumlab.runner import RunResult

    check_type("x", x, str, "a field name")
    check_type("y", y, str, "a field name")
    overlays_given = boundary is not None or optimum is not None
    if spectrum is not None and overlays_given:
        raise ValueError("spectrum must be None when boundary or optimum are given (choose one source)")
    if spectrum is not None and {x, y} != {_LR, _MOM}:
        raise ValueError(f"spectrum needs x and y to be {_LR!r} and {_MOM!r}, got x={x!r}, y={y!r}")
    if metric is not None and not callable(metric):
        raise TypeError(f"metric must be callable or None, got {metric!r}")
    is_runs = isinstance(source, (list, tuple)) and len(source) > 0 and isinstance(source[0], RunResult)
    if is_runs:
        runs = list(source)
        for i, r in enumerate(runs):
            check_type(f"source[{i}]", r, RunResult, "a RunResult")
        if x_values is not None or y_values is not None:
            raise ValueError(
                "x_values and y_values must be None when source is a list of runs (read from configs)"
            )
        xs, ys, Z, ran = _grid_from_results(runs, x, y, metric or _final_loss)
    else:
        if isinstance(source, (list, tuple)) and len(source) == 0:
            raise ValueError("source must hold at least one run or be a 2-D array, got an empty sequence")
        Z = check_array("source", source, finite=False)
        if Z.ndim != 2:
            raise ValueError(f"source must be a list of RunResults or a 2-D array, got shape {Z.shape}")
        if x_values is None or y_values is None:
            raise ValueError("x_values and y_values must be given with a matrix source, got None")
        xs = check_array("x_values", x_values).reshape(-1)
        ys = check_array("y_values", y_values).reshape(-1)
        if Z.shape != (ys.size, xs.size):
            raise ValueError(
                "source must have shape (len(y_values), len(x_values)) = "
                f"({ys.size}, {xs.size}), got {Z.shape}"
            )
        for name, v in (("x_values", xs), ("y_values", ys)):
            if not np.all(np.isfinite(v)) or (v.size > 1 and not np.all(np.diff(v) > 0)):
                raise ValueError(f"{name} must be finite and strictly increasing, got {v.tolist()}")
        ran = np.ones(Z.shape, dtype=bool)
    lx = _auto_log(xs) if log_x is None else check_bool("log_x", log_x)
    ly = _auto_log(ys) if log_y is None else check_bool("log_y", log_y)
    for name, flag, v in (("log_x", lx, xs), ("log_y", ly, ys)):
        if flag and not (v > 0).all():
            raise ValueError(f"{name} must be False when the values are not all > 0, got values {v.tolist()}")

    ax = axes(ax, figsize=(5.5, 4.2))
    xe, ye = _edges(xs, lx), _edges(ys, ly)
    good = ran & np.isfinite(Z)
    bad = ran & ~np.isfinite(Z)
    pos = Z[good & (Z > 0)]
    vmin = float(pos.min()) if pos.size else 1e-12
    top = float(pos.max()) if pos.size else 1.0
    cap = top if vmax is None else check_float("vmax", vmax, low=0.0, low_open=True)
    vmin = min(vmin, cap / 10.0)
    if cap <= vmin:
        cap = vmin * 10.0
    shown = np.where(good, np.maximum(Z, vmin), np.nan)
    mesh = ax.pcolormesh(
        xe,
        ye,
        masked(shown),
        norm=LogNorm(vmin=vmin, vmax=cap, clip=False),
        cmap="viridis",
    )
    handles: list[Any] = []
    for i, j in zip(*np.nonzero(bad), strict=True):
        ax.add_patch(
            Rectangle(
                (xe[j], ye[i]),
                xe[j + 1] - xe[j],
                ye[i + 1] - ye[i],
                facecolor="mistyrose",
                edgecolor=DIVERGED_COLOR,
                hatch="xx",
                lw=0.5,
            )
        )
    if bad.any():
        handles.append(Patch(facecolor="mistyrose", edgecolor=DIVERGED_COLOR, hatch="xx", label="diverged"))
    if (~ran).any():
        handles.append(Patch(facecolor="white", edgecolor="0.5", label="not run"))
    if lx:
        ax.set_xscale("log")
    if ly:
        ax.set_yscale("log")
    if spectrum is not None:
        mom = np.linspace(0.0, 1.0, 201)
        lr = np.asarray(theory.max_stable_learning_rate(spectrum, mom), dtype=np.float64)
        boundary = (lr, mom) if x == _LR else (mom, lr)
        best = theory.optimal_momentum(spectrum)
        a, b = best.learning_rate, best.momentum
        optimum = (a, b) if x == _LR else (b, a)
    if boundary is not None:
        bx = np.asarray(boundary[0], dtype=np.float64)
        by = np.asarray(boundary[1], dtype=np.float64)
        if bx.shape != by.shape or bx.ndim != 1:
            raise ValueError(
                f"boundary must be two 1-D arrays of one length, got shapes {bx.shape} and {by.shape}"
            )
        (line,) = ax.plot(
            bx,
            by,
            color="white",
            lw=2.0,
            ls="--",
            label="stability boundary",
            path_effects=[withStroke(linewidth=3.5, foreground="black")],
        )
        handles.append(line)
    if optimum is not None:
        (star,) = ax.plot(
            [optimum[0]], [optimum[1]], "*", color="gold", mec="black", ms=15, label="Polyak optimum"
        )
        handles.append(star)
    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylim(ye[0], ye[-1])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if handles:
        ax.legend(handles=handles, fontsize="small", loc="upper right", framealpha=0.9)
    if check_bool("colorbar", colorbar):
        fig = ax.get_figure()
        if fig is not None:
            label = "final loss" if metric is None else getattr(metric, "__name__", "metric")
            fig.colorbar(mesh, ax=ax, label=label, extend="max" if top > cap else "neither")
    return ax
