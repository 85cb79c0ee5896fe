"""Schedules drawn as step functions of the update index."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from momentumlab._src.checks import check_bool, check_int
from momentumlab._src.types import Schedule
from momentumlab.viz._common import axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_schedule(
    schedule: Schedule,
    n_steps: int,
    *,
    ax: Axes | None = None,
    logy: bool = False,
    label: str | None = None,
    steps_per_epoch: int | None = None,
    **line_kwargs: Any,
) -> Axes:
    """Draw a schedule as a step line over the updates 0 to ``n_steps - 1``.

    Args:
        schedule: a step schedule (step from 0 -> value), e.g. from :mod:`momentumlab.optim`.
        n_steps: number of updates to draw, >= 1.
        ax: the Axes to draw on; ``None`` creates a new figure (not registered with pyplot).
        logy: use a log scale for the values (all drawn values must then be > 0).
        label: legend label of the line.
        steps_per_epoch: draw against epochs (``t / steps_per_epoch``) instead of updates.
        **line_kwargs: passed to ``Axes.step``.

    Returns:
        The Axes drawn on.

    Example:
        >>> import momentumlab as ml
        >>> ax = ml.viz.plot_schedule(ml.optim.step_decay(0.1, 10, 0.5), 40)
        >>> ax.get_xlabel(), len(ax.lines), ax.lines[0].get_ydata()[-1]
        ('update', 1, 0.0125)
    """
    if not callable(schedule):
        raise TypeError(f"schedule must be a schedule (a callable step -> value), got {schedule!r}")
    n = check_int("n_steps", n_steps, low=1)
    log = check_bool("logy", logy)
    t = np.arange(n)
    y = np.array([float(schedule(int(s))) for s in t])
    if log and not (y > 0).all():
        raise ValueError(f"logy needs positive values, got a minimum of {y.min()!r}")
    x = t.astype(float)
    xlabel = "update"
    if steps_per_epoch is not None:
        x = x / check_int("steps_per_epoch", steps_per_epoch, low=1)
        xlabel = "epoch"
    ax = axes(ax)
    ax.step(x, y, where="post", label=label, **line_kwargs)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("value")
    return ax
