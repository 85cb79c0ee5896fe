"""Theory over practice: a predicted linear rate drawn over a run's excess loss."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from momentumlab._src.checks import check_float
from momentumlab.viz._common import axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes




def plot_rate(
    result_or_steps: Any,
    rate: float,
    *,
    optimal_loss: float,
    losses: Any = None,
    ax: Axes | None = None,
    label: str | None = None,
    anchor: int | None = None,
    power: float = 0.0,
    color: Any = None,
    **line_kwargs: Any,
) -> Axes:
    r"""Draw a run's excess loss ``loss - optimal_loss`` on a log axis with a predicted rate line.

    The excess loss of the parameter-error rate ``rate`` falls by ``rate**2`` per step, so the
    dashed line is :math:`E_a \,(t/t_a)^{p}\, \rho^{2(t - t_a)}`, pinned to the measured
    excess at the anchor step :math:`t_a` (``p = power``, 2 at a critical-damping point such as
    Polyak's optimum, see :func:`momentumlab.theory.fit_rate`). Records at or below zero
    excess (the float32 floor) are left out. The x-axis is in updates (steps).

    Args:
        result_or_steps: a :class:`momentumlab.RunResult`, or an array of steps (then give
            ``losses``).
        rate: predicted per-step rate of the parameter error, in (0, inf), e.g.
            ``ml.theory.rate(problem, lr, momentum)``.
        optimal_loss: ``L*`` (e.g. ``ml.theory.least_squares(data).optimal_loss``).
        losses: the recorded losses when ``result_or_steps`` is an array of steps.
        ax: the Axes to draw on; ``None`` creates a figure (not registered with pyplot).
        label: legend label of the measured curve (the prediction gets ``"predicted ρ=..."``).
        anchor: step to pin the line to; ``None`` uses the first record whose excess is at most
            1% of the initial one (past the transient).
        power: polynomial factor of the prediction (0 or 2), >= 0.
        color: colour of both lines (``None``: next in the cycle).
        **line_kwargs: passed to ``Axes.semilogy`` for the measured curve.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: if ``result_or_steps`` has no history and ``losses`` is None.
        ValueError: for a non-positive rate or no positive excess to draw.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> steps = np.arange(40)
        >>> ax = ml.viz.plot_rate(steps, 0.9, optimal_loss=1.0, losses=1.0 + 0.81**steps)
        >>> ax.get_yscale(), len(ax.lines), ax.get_xlabel()
        ('log', 2, 'step')
    """
    from momentumlab.theory._fit import _history

    x, y = _history(result_or_steps, losses, name="result_or_steps")
    rho = check_float("rate", rate, low=0.0, low_open=True)
    l_star = check_float("optimal_loss", optimal_loss)
    k = check_float("power", power, low=0.0)
    excess = y - l_star
    ok = np.isfinite(excess) & (excess > 0)
    if not ok.any():
        raise ValueError("losses must hold at least one record above optimal_loss, got none")
    ax = axes(ax)
    (line,) = ax.semilogy(x[ok], excess[ok], label=label, color=color, **line_kwargs)
    if anchor is None:
        e0 = excess[0] if ok[0] else excess[ok][0]
        past = np.flatnonzero(ok & (excess <= 1e-2 * e0))
        ia = int(past[0]) if past.size else int(np.flatnonzero(ok)[0])
    else:
        hits = np.flatnonzero((x == anchor) & ok)
        if hits.size == 0:
            raise ValueError(f"anchor must be a recorded step with a positive excess, got {anchor!r}")
        ia = int(hits[0])
    ta, ea = float(x[ia]), float(excess[ia])
    t = np.linspace(float(x[0]), float(x[-1]), 200)
    log_pred = math.log(ea) + 2.0 * (t - ta) * math.log(rho)
    if k:
        t_safe = np.maximum(t, 1.0)
        log_pred = log_pred + k * (np.log(t_safe) - math.log(max(ta, 1.0)))
    lo = float(excess[ok].min())
    pred = np.exp(log_pred)
    keep = pred >= lo * 1e-2
    ax.semilogy(t[keep], pred[keep], "--", color=line.get_color(), alpha=0.8, label=f"predicted ρ={rho:.4g}")  # noqa: RUF001
    ax.set_xlabel("step")
    ax.set_ylabel("loss - optimal loss")
    return ax


__all__ = ["plot_rate"]
