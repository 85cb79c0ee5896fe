"""Measuring a run: the linear rate of its excess loss, and steps to a tolerance."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from momentumlab._src.checks import check_array, check_float, check_int
from momentumlab._src.types import Array

_MAX_THEIL_SEN_POINTS = 400
_STILL_FALLING = 0.5  # a tail falling at least half as fast as the whole curve is no floor


def _history(history: Any, losses: Any, name: str = "history") -> tuple[Array, Array]:
    """``(steps, losses)`` from a RunResult-like object or two arrays (duck-typed)."""
    if losses is None:
        if not (hasattr(history, "record_steps") and hasattr(history, "losses")):
            raise TypeError(
                f"{name} must be a RunResult (anything with .record_steps and .losses) when losses "
                f"is None, got {type(history).__name__}"
            )
        steps, values = history.record_steps, history.losses
    else:
        steps, values = history, losses
    x = check_array(name, steps).ravel()
    y = check_array("losses", values, finite=False).ravel()
    if x.shape != y.shape:
        raise ValueError(f"steps and losses must have the same length, got {x.size} and {y.size}")
    if x.size < 2:
        raise ValueError(f"losses must hold at least 2 records, got {x.size}")
    if np.any(np.diff(x) <= 0):
        raise ValueError("steps must be strictly increasing")
    return x, y


@dataclass(frozen=True, kw_only=True)
class RateFit:
    """A measured linear rate, comparable with :func:`momentumlab.theory.rate`.

    Attributes:
        rate: per-step rate of the parameter error, ``sqrt(loss_rate)``.
        loss_rate: fitted per-step factor of the excess loss.
        intercept: fitted ``log(excess)`` at step 0.
        start_step: first step of the fitting window.
        stop_step: last step of the fitting window.
        n_points: records in the window.
        floor: the estimated floor of ``|excess|`` (float32 resolution or noise) at the end.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> steps = np.arange(50)
        >>> fit = ml.theory.fit_rate(steps, 0.81 ** steps, optimal_loss=0.0)
        >>> round(fit.rate, 6), round(fit.loss_rate, 6)
        (0.9, 0.81)
    """

    rate: float
    loss_rate: float
    intercept: float
    start_step: int
    stop_step: int
    n_points: int
    floor: float

    def excess(self, steps: Any) -> Array:
        """The fitted excess loss ``exp(intercept) * loss_rate**steps`` at ``steps``."""
        s = np.asarray(steps, dtype=np.float64)
        out: Array = np.exp(self.intercept + s * math.log(self.loss_rate))
        return out


def _theil_sen(x: Array, y: Array) -> tuple[float, float]:
    if x.size > _MAX_THEIL_SEN_POINTS:
        idx = np.unique(np.linspace(0, x.size - 1, _MAX_THEIL_SEN_POINTS).round().astype(np.int64))
        xs, ys = x[idx], y[idx]
    else:
        xs, ys = x, y
    i, j = np.triu_indices(xs.size, k=1)
    slope = float(np.median((ys[j] - ys[i]) / (xs[j] - xs[i])))
    intercept = float(np.median(y - slope * x))
    return slope, intercept


def _floor(x: Array, excess: Array) -> float:
    """Median ``|excess|`` over the last tenth, or 0 if that tail still falls (no floor yet)."""
    k = max(4, excess.size // 10)
    tail = np.abs(excess[-k:])
    if not np.all(np.isfinite(tail)):
        return math.inf
    level = float(np.median(tail))
    before = np.abs(excess[:-k])
    if np.all(tail > 0) and before.size and level < float(np.min(before)):
        tail_slope, _ = _theil_sen(x[-k:], np.log(tail))
        overall = (math.log(level) - math.log(float(excess[0]))) / (x[-k:].mean() - x[0])
        if overall < 0 and tail_slope < _STILL_FALLING * overall:
            return 0.0
    return level


def fit_rate(
    history: Any,
    losses: Any = None,
    *,
    optimal_loss: float,
    start: float = 1e-2,
    stop: float = 0.0,
    floor_factor: float = 100.0,
    min_points: int = 5,
    power: float = 0.0,
) -> RateFit:
    r"""Fit the linear rate of the excess loss :math:`L_t - L^*` of a run.

    Method:

    1. ``excess = losses - optimal_loss``; ``e0`` is its first value.
    2. The **floor** is the median of ``|excess|`` over the last tenth of the records: where
       float32 rounding of the loss (or the noise of mini-batches) takes over, the excess stops
       falling and jitters around this level (it may even go negative, or, with momentum, be
       pumped back up by rounding errors). If that tail lies below every earlier record and
       still falls at least half as fast (in log) as the curve did on average from the start,
       the run has not reached a floor and the floor is taken as 0.
    3. The **window** starts at the first record with ``excess <= start * e0`` (skipping the
       transient in which fast directions die out) and ends just before the first record with
       ``excess < max(stop * e0, floor_factor * floor)``, so nothing near the floor, and
       nothing after the curve first reaches it, is used.
    4. On the window, ``log(excess) - power * log(step)`` is regressed on the step by the
       Theil–Sen estimator (the median of all pairwise slopes, on at most 400 evenly spread
       records): robust to the ripples of under-damped momentum and to stray records.

    The excess loss is quadratic in the parameter error, so ``loss_rate = exp(slope)`` and
    ``rate = sqrt(loss_rate)`` is the number to compare with :func:`rate`.

    ``power`` models a polynomial factor, ``excess ≈ C · step**power · loss_rate**step``. Use
    ``power=2`` at a critical-damping point such as Polyak's optimum
    (:func:`optimal_momentum`): there the 2×2 iteration is a Jordan block, the error decays
    like :math:`t\rho^t` and the excess like :math:`t^2\rho^{2t}`; with ``power=0`` the
    fitted rate is then biased upwards by about ``exp(1/t)`` at step ``t``, which matters
    when float32 leaves only a few dozen steps before the floor (small κ). If the run is
    cut while it was slowing down but before it was flat, the window ends ``floor_factor``
    times above the last values (conservative).

    Args:
        history: a :class:`momentumlab.RunResult` (anything with ``record_steps`` and
            ``losses``), or the array of steps when ``losses`` is given.
        losses: recorded losses, when ``history`` is an array of steps.
        optimal_loss: ``L*`` (e.g. ``least_squares(data).optimal_loss``).
        start: window start as a fraction of the initial excess, in (0, 1].
        stop: lower bound of the window as a fraction of the initial excess, in [0, start).
        floor_factor: how far above the floor the window must stay, >= 1.
        min_points: fewest records the window may hold, >= 2.
        power: exponent of the polynomial factor (see above), >= 0.

    Returns:
        A :class:`RateFit`.

    Raises:
        ValueError: if the initial excess is not positive and finite, or the window holds
            fewer than ``min_points`` records (run longer, or record more often).
        TypeError: if ``history`` has no history and ``losses`` is None.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> steps = np.arange(200)
        >>> noisy = 0.5 + 3 * 0.9 ** steps + 1e-9 * np.cos(steps)  # a floor at ~1e-9
        >>> round(ml.theory.fit_rate(steps, noisy, optimal_loss=0.5).loss_rate, 4)
        0.9
    """
    x, y = _history(history, losses)
    l_star = check_float("optimal_loss", optimal_loss)
    hi = check_float("start", start, low=0.0, high=1.0, low_open=True)
    lo = check_float("stop", stop, low=0.0, high=hi, high_open=True)
    factor = check_float("floor_factor", floor_factor, low=1.0)
    need = check_int("min_points", min_points, low=2)
    k = check_float("power", power, low=0.0)
    excess = y - l_star
    e0 = float(excess[0])
    if not (math.isfinite(e0) and e0 > 0):
        raise ValueError(
            f"the initial excess loss (losses[0] - optimal_loss) must be finite and > 0, got {e0!r}"
        )
    floor = _floor(x, excess)
    bound = max(lo * e0, factor * floor)
    below_start = np.flatnonzero(excess <= hi * e0)
    if below_start.size == 0:
        raise ValueError(
            f"losses must fall to optimal_loss + start * initial excess ({hi * e0:.3e} above "
            f"optimal_loss={l_star!r}) to fit a rate; run longer or check optimal_loss"
        )
    i0 = int(below_start[0])
    bad = np.flatnonzero(~(excess[i0:] >= bound))  # also catches NaN
    i1 = i0 + int(bad[0]) if bad.size else excess.size
    n = i1 - i0
    if n < need:
        raise ValueError(
            f"the fitting window must hold at least min_points={need} records, got {n} "
            f"(excess from {hi * e0:.3e} down to {bound:.3e}, floor {floor:.3e}); "
            "run longer or record more often"
        )
    xs = x[i0:i1]
    ys = np.log(excess[i0:i1])
    if k:
        if xs[0] <= 0:
            xs, ys = xs[1:], ys[1:]
        ys = ys - k * np.log(xs)
    slope, intercept = _theil_sen(xs, ys)
    loss_rate = math.exp(slope)
    return RateFit(
        rate=math.sqrt(loss_rate),
        loss_rate=loss_rate,
        intercept=intercept,
        start_step=int(x[i0]),
        stop_step=int(x[i1 - 1]),
        n_points=n,
        floor=floor,
    )


def steps_to_tolerance(
    history: Any, losses: Any = None, *, optimal_loss: float, tolerance: float
) -> int | None:
    """The first recorded step from which the excess loss stays at or below ``tolerance * initial``.

    "Stays" matters for momentum, whose excess can dip under a level and come back.

    Args:
        history: a :class:`momentumlab.RunResult` or an array of steps (then give ``losses``).
        losses: recorded losses, when ``history`` is an array of steps.
        optimal_loss: ``L*``.
        tolerance: relative tolerance in (0, 1).

    Returns:
        The step, or ``None`` if the last record is still above the tolerance.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> steps = np.arange(30)
        >>> ml.theory.steps_to_tolerance(steps, 0.5 ** steps, optimal_loss=0.0, tolerance=1e-3)
        10
    """
    x, y = _history(history, losses)
    l_star = check_float("optimal_loss", optimal_loss)
    tol = check_float("tolerance", tolerance, low=0.0, high=1.0, low_open=True, high_open=True)
    excess = y - l_star
    e0 = float(excess[0])
    if not (math.isfinite(e0) and e0 > 0):
        raise ValueError(
            f"the initial excess loss (losses[0] - optimal_loss) must be finite and > 0, got {e0!r}"
        )
    above = np.flatnonzero(~(excess <= tol * e0))
    if above.size and above[-1] == excess.size - 1:
        return None
    return int(x[above[-1] + 1]) if above.size else int(x[0])


__all__ = ["RateFit", "fit_rate", "steps_to_tolerance"]
