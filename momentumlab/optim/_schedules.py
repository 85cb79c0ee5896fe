"""Learning-rate and momentum schedules: small pure functions of the update step.

Every factory returns ``def schedule(step) -> float`` with ``step`` counting updates from 0
(the first update uses ``schedule(0)``). General schedules carry the math
(:func:`polynomial_schedule`, :func:`exponential_decay`, :func:`cosine_decay`,
:func:`piecewise_scales`, :func:`join_schedules`); special ones delegate to them
(:func:`linear_schedule` is a polynomial of power 1, :func:`step_decay` is a staircase
exponential decay, :func:`multistep_decay` is :func:`piecewise_scales` with one factor).
The returned functions keep no state, so calling them twice, or out of order, gives the
same value. They also accept a fractional step (used by :class:`PerEpoch` with
``fractional=True``).

Example:
    >>> import momentumlab as ml
    >>> s = ml.optim.warmup(ml.optim.cosine_decay(1.0, 4), 2)
    >>> [round(s(t), 3) for t in range(7)]
    [0.0, 0.5, 1.0, 0.854, 0.5, 0.146, 0.0]
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from momentumlab._src.checks import check_bool, check_choice, check_float, check_int, check_type
from momentumlab._src.types import Schedule

if TYPE_CHECKING:  # the bridge imports MXNet; schedules must not
    from momentumlab.optim._bridge import ScheduleLR

# --------------------------------------------------------------------------- checks


def _check_schedule(name: str, schedule: Any) -> Schedule:
    if not callable(schedule):
        raise TypeError(f"{name} must be a schedule (a callable step -> value), got {schedule!r}")
    return cast(Schedule, schedule)


def _value(name: str, value: Any) -> float:
    return check_float(name, value)


def _steps(name: str, value: Any, low: int = 1) -> int:
    return check_int(name, value, low=low)


# --------------------------------------------------------------------------- general


def constant_schedule(value: float) -> Schedule:
    """A schedule that returns ``value`` at every step.

    Equals torch's ``LambdaLR(lambda t: 1)`` with base ``value`` and optax's
    ``constant_schedule(value)``. A run with it is bit-identical to a run with the float.

    Args:
        value: any finite number.

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.constant_schedule(0.1)
        >>> s(0), s(1000)
        (0.1, 0.1)
    """
    v = _value("value", value)

    def schedule(step: float) -> float:
        return v

    return schedule


def polynomial_schedule(
    init_value: float,
    end_value: float,
    power: float,
    transition_steps: int,
    *,
    transition_begin: int = 0,
) -> Schedule:
    """Polynomial interpolation from ``init_value`` to ``end_value``, then constant.

    .. math::
        c = \\min(\\max(t - t_0, 0), T),\\qquad
        v(t) = (v_0 - v_T)\\,(1 - c/T)^p + v_T

    This is optax's ``polynomial_schedule`` exactly (same argument names and counting: the
    value is ``init_value`` up to step ``transition_begin`` and reaches ``end_value`` at
    step ``transition_begin + transition_steps``). torch's ``PolynomialLR(total_iters=T,
    power=p)`` with base ``b`` is ``polynomial_schedule(b, 0.0, p, T)``.

    Args:
        init_value: value at the start.
        end_value: value from step ``transition_begin + transition_steps`` on.
        power: exponent ``p > 0``.
        transition_steps: length ``T`` of the transition, >= 1.
        transition_begin: steps ``t_0 >= 0`` to hold ``init_value`` first.

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.polynomial_schedule(1.0, 0.0, 2.0, 4)
        >>> [s(t) for t in range(6)]
        [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]
    """
    v0 = _value("init_value", init_value)
    v1 = _value("end_value", end_value)
    p = check_float("power", power, low=0.0, low_open=True)
    T = _steps("transition_steps", transition_steps)
    t0 = _steps("transition_begin", transition_begin, low=0)

    def schedule(step: float) -> float:
        c = min(max(step - t0, 0), T)
        frac = 1 - c / T
        return (v0 - v1) * float(frac**p) + v1

    return schedule


def linear_schedule(
    init_value: float, end_value: float, transition_steps: int, *, transition_begin: int = 0
) -> Schedule:
    """Linear interpolation from ``init_value`` to ``end_value`` over ``transition_steps``.

    :func:`polynomial_schedule` with ``power=1`` (optax's ``linear_schedule``). torch's
    ``LinearLR(start_factor=a, end_factor=b, total_iters=T)`` with base ``lr`` is
    ``linear_schedule(lr*a, lr*b, T)`` (values agree to rounding, ~1e-16 relative).

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.linear_schedule(0.0, 1.0, 4)
        >>> [s(t) for t in range(6)]
        [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    return polynomial_schedule(
        init_value, end_value, 1.0, transition_steps, transition_begin=transition_begin
    )


def exponential_decay(
    init_value: float,
    decay_rate: float,
    *,
    transition_steps: int = 1,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: float | None = None,
) -> Schedule:
    """``init_value * decay_rate ** p`` with ``p = (t - t_0) / transition_steps``.

    .. math::
        v(t) = v_0\\,r^{(t - t_0)/k}\\ (t > t_0),\\qquad v(t) = v_0\\ (t \\le t_0)

    with ``p`` floored when ``staircase``, and clipped at ``end_value`` (a floor when
    ``decay_rate < 1``, a ceiling when it is > 1). This is optax's ``exponential_decay``
    (``transition_steps`` is optax's name for the decay period ``k``; ``staircase=True``
    decays in jumps every ``k`` steps). torch's ``ExponentialLR(gamma)`` with base ``b`` is
    ``exponential_decay(b, gamma)`` and ``StepLR(step_size, gamma)`` is
    ``exponential_decay(b, gamma, transition_steps=step_size, staircase=True)`` (see
    :func:`step_decay`). Powers are computed with ``**`` as torch's closed forms do; the
    chapter's repeated multiplication is :class:`EpochDecay` / :func:`piecewise_scales`.

    Args:
        init_value: value before the decay.
        decay_rate: ``r > 0``.
        transition_steps: decay period ``k >= 1``.
        transition_begin: steps ``t_0 >= 0`` to hold ``init_value`` first.
        staircase: floor the exponent (decay in jumps).
        end_value: bound the value, or ``None``.

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.exponential_decay(1.0, 0.5, transition_steps=2, staircase=True)
        >>> [s(t) for t in range(6)]
        [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """
    v0 = _value("init_value", init_value)
    r = check_float("decay_rate", decay_rate, low=0.0, low_open=True)
    k = _steps("transition_steps", transition_steps)
    t0 = _steps("transition_begin", transition_begin, low=0)
    stair = check_bool("staircase", staircase)
    end = None if end_value is None else _value("end_value", end_value)

    def schedule(step: float) -> float:
        d = step - t0
        if d <= 0:
            value = v0
        else:
            p = d / k
            if stair:
                p = math.floor(p)
            value = v0 * r**p
        if end is not None:
            value = max(value, end) if r < 1 else min(value, end)
        return value

    return schedule


def step_decay(init_value: float, step_size: int, factor: float) -> Schedule:
    """Multiply by ``factor`` every ``step_size`` steps: ``v0 * factor ** (t // step_size)``.

    torch's ``StepLR(step_size, gamma=factor)`` (the decay takes effect at step
    ``step_size``, counting from 0). Delegates to :func:`exponential_decay` with
    ``staircase=True``. MXNet's ``FactorScheduler`` gives the same values (its ``num_update``
    from 1 and its strict ``>`` cancel); use :func:`from_mxnet` for its exact bits.

    Args:
        init_value: value of the first ``step_size`` steps.
        step_size: steps between decays, >= 1.
        factor: multiplier > 0.

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.step_decay(1.0, 3, 0.1)
        >>> [s(t) for t in (0, 2, 3, 5, 6)]
        [1.0, 1.0, 0.1, 0.1, 0.010000000000000002]
    """
    return exponential_decay(
        init_value,
        check_float("factor", factor, low=0.0, low_open=True),
        transition_steps=_steps("step_size", step_size),
        staircase=True,
    )


def _boundaries(name: str, values: Sequence[int]) -> list[int]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence of integers, got {values!r}")
    out = [check_int(f"{name}[{i}]", b, low=0) for i, b in enumerate(values)]
    for i in range(1, len(out)):
        if out[i] <= out[i - 1]:
            raise ValueError(f"{name} must be strictly increasing, got {list(out)}")
    return out


def piecewise_scales(init_value: float, boundaries_and_scales: Mapping[int, float]) -> Schedule:
    """``init_value`` multiplied by the scale of every boundary ``b <= t``, in order.

    optax's ``piecewise_constant_schedule``: a scale takes effect *at* its boundary (step
    ``b`` already uses it). The product is formed by repeated multiplication in boundary
    order, the way a loop doing ``lr *= scale`` would (and as MXNet's
    ``MultiFactorScheduler`` does), so the values are bit-identical to such loops.

    Args:
        init_value: value before the first boundary.
        boundaries_and_scales: step ``b >= 0`` -> scale ``>= 0``.

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.piecewise_scales(1.0, {2: 0.5, 4: 0.1})
        >>> [s(t) for t in range(6)]
        [1.0, 1.0, 0.5, 0.5, 0.05, 0.05]
    """
    v0 = _value("init_value", init_value)
    check_type("boundaries_and_scales", boundaries_and_scales, Mapping, "a mapping step -> scale")
    items = sorted(boundaries_and_scales.items())
    bounds = _boundaries("boundaries_and_scales keys", [b for b, _ in items])
    scales = [check_float(f"boundaries_and_scales[{b}]", s, low=0.0) for b, s in items]
    # values[i] is the value after i boundaries, each formed by one more multiplication
    values = [v0]
    for s in scales:
        values.append(values[-1] * s)

    def schedule(step: float) -> float:
        return values[bisect.bisect_right(bounds, step)]

    return schedule


def multistep_decay(init_value: float, milestones: Sequence[int], factor: float) -> Schedule:
    """Multiply by ``factor`` at each milestone: torch's ``MultiStepLR(milestones, gamma)``.

    Step ``m`` (from 0) is the first to use the reduced value, as in torch (its closed form
    ``b * gamma ** bisect_right(milestones, t)``) and optax's
    ``piecewise_constant_schedule``. Delegates to :func:`piecewise_scales`, so the values
    are formed by repeated multiplication (torch's ``**`` differs by at most an ulp or two).
    MXNet's ``MultiFactorScheduler(step=milestones)`` gives bit-identical values.

    Args:
        init_value: value before the first milestone.
        milestones: strictly increasing steps >= 0.
        factor: multiplier >= 0.

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.multistep_decay(0.2, [2, 3], 0.1)
        >>> [s(t) for t in range(4)]
        [0.2, 0.2, 0.020000000000000004, 0.0020000000000000005]
    """
    ms = _boundaries("milestones", milestones)
    f = check_float("factor", factor, low=0.0)
    return piecewise_scales(init_value, {m: f for m in ms})


def piecewise_constant(boundaries: Sequence[int], values: Sequence[float]) -> Schedule:
    """``values[i]`` on ``[boundaries[i-1], boundaries[i])``: keras' ``PiecewiseConstantDecay``.

    Here the value changes *at* the boundary (step ``boundaries[0]`` uses ``values[1]``);
    keras changes after it (``step > boundary``): pass ``boundaries`` plus one for that.

    Args:
        boundaries: strictly increasing steps >= 0.
        values: one more value than boundaries.

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.piecewise_constant([2, 4], [1.0, 0.5, 0.1])
        >>> [s(t) for t in range(6)]
        [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    """
    bounds = _boundaries("boundaries", boundaries)
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"values must be a sequence of numbers, got {values!r}")
    vals = [_value(f"values[{i}]", v) for i, v in enumerate(values)]
    if len(vals) != len(bounds) + 1:
        raise ValueError(f"values must have len(boundaries) + 1 = {len(bounds) + 1} entries, got {len(vals)}")

    def schedule(step: float) -> float:
        return vals[bisect.bisect_right(bounds, step)]

    return schedule


def cosine_decay(
    init_value: float,
    decay_steps: int,
    *,
    end_value: float = 0.0,
    exponent: float = 1.0,
    periodic: bool = False,
) -> Schedule:
    """Cosine annealing from ``init_value`` to the floor ``end_value`` over ``decay_steps``.

    .. math::
        v(t) = v_T + (v_0 - v_T)\\,\\Big(\\tfrac{1 + \\cos(\\pi\\,\\min(t, T)/T)}{2}\\Big)^{e}

    torch's ``CosineAnnealingLR(T_max=T, eta_min=end_value)`` (closed form, ``e = 1``) and
    optax's ``cosine_decay_schedule(init_value, decay_steps, alpha=end_value/init_value,
    exponent)``. Conventions: optax holds the floor after ``T`` (the default here); torch
    keeps following the cosine, which rises again to ``init_value`` at ``2T``: pass
    ``periodic=True`` for that. optax states the floor as a fraction ``alpha`` of the initial
    value; here it is the absolute ``end_value`` (torch's ``eta_min``).

    Args:
        init_value: value at step 0.
        decay_steps: ``T >= 1``.
        end_value: floor reached at ``T``.
        exponent: ``e > 0`` (optax's ``exponent``).
        periodic: continue the cosine past ``T`` as torch does.

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.cosine_decay(1.0, 2, end_value=0.2)
        >>> [round(s(t), 12) for t in range(5)]
        [1.0, 0.6, 0.2, 0.2, 0.2]
        >>> p = ml.optim.cosine_decay(1.0, 2, periodic=True)
        >>> [round(p(t), 12) for t in range(5)]
        [1.0, 0.5, 0.0, 0.5, 1.0]
    """
    v0 = _value("init_value", init_value)
    T = _steps("decay_steps", decay_steps)
    v1 = _value("end_value", end_value)
    e = check_float("exponent", exponent, low=0.0, low_open=True)
    per = check_bool("periodic", periodic)

    def schedule(step: float) -> float:
        c = step if per else min(step, T)
        cosine = (1 + math.cos(math.pi * c / T)) / 2
        return v1 + (v0 - v1) * float(cosine**e)

    return schedule


def cosine_warm_restarts(
    init_value: float, period: int, *, period_mult: int = 1, end_value: float = 0.0
) -> Schedule:
    """Cosine annealing restarted every period (SGDR), periods growing by ``period_mult``.

    torch's ``CosineAnnealingWarmRestarts(T_0=period, T_mult=period_mult, eta_min=end_value)``:
    with ``T_i = T_0 T_mult^i`` and ``t_cur`` the steps since the last restart,
    ``v = v_T + (v_0 - v_T)(1 + cos(pi t_cur / T_i))/2``. The restart index is found with
    integer arithmetic (torch uses a float ``log``, which agrees except possibly at restarts
    of very long runs). A fractional step (torch's ``scheduler.step(epoch + i/iters)``) is
    accepted.

    Args:
        init_value: value at each restart.
        period: ``T_0 >= 1``, steps of the first period.
        period_mult: ``T_mult >= 1`` (an integer, as torch requires).
        end_value: floor ``eta_min``.

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.cosine_warm_restarts(1.0, 2, period_mult=2)
        >>> [round(s(t), 12) for t in range(8)]
        [1.0, 0.5, 1.0, 0.853553390593, 0.5, 0.146446609407, 1.0, 0.961939766256]
    """
    v0 = _value("init_value", init_value)
    T0 = _steps("period", period)
    mult = _steps("period_mult", period_mult)
    v1 = _value("end_value", end_value)

    def schedule(step: float) -> float:
        start, length = 0, T0
        if mult == 1:
            start = int(step // T0) * T0
        else:
            while step >= start + length:
                start += length
                length *= mult
        t_cur = step - start
        return v1 + (v0 - v1) * (1 + math.cos(math.pi * t_cur / length)) / 2

    return schedule


# --------------------------------------------------------------------------- composition


def join_schedules(
    schedules: Sequence[Schedule], boundaries: Sequence[int], *, shift: bool = True
) -> Schedule:
    """Use ``schedules[i]`` on ``[boundaries[i-1], boundaries[i])``.

    optax's ``join_schedules``: each later schedule is *restarted* at its boundary, i.e. step
    ``t`` in part ``i`` uses ``schedules[i](t - boundaries[i-1])`` (torch's ``SequentialLR``
    restarts its schedulers the same way). ``shift=False`` passes the absolute step instead.

    Args:
        schedules: ``n >= 1`` schedules.
        boundaries: ``n - 1`` strictly increasing steps >= 1.
        shift: restart each later schedule at its boundary.

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.join_schedules(
        ...     [ml.optim.constant_schedule(1.0), ml.optim.linear_schedule(1.0, 0.0, 2)], [2])
        >>> [s(t) for t in range(5)]
        [1.0, 1.0, 1.0, 0.5, 0.0]
    """
    if not isinstance(schedules, (list, tuple)) or not schedules:
        raise ValueError(f"schedules must be a non-empty list of schedules, got {schedules!r}")
    parts = [
        cast(Callable[[float], float], _check_schedule(f"schedules[{i}]", s)) for i, s in enumerate(schedules)
    ]
    bounds = _boundaries("boundaries", boundaries)
    if len(bounds) != len(parts) - 1:
        raise ValueError(
            f"boundaries must have len(schedules) - 1 = {len(parts) - 1} entries, got {len(bounds)}"
        )
    if bounds and bounds[0] < 1:
        raise ValueError(f"boundaries must be >= 1, got {bounds}")
    sh = check_bool("shift", shift)
    starts = [0, *bounds]

    def schedule(step: float) -> float:
        i = bisect.bisect_right(bounds, step)
        return float(parts[i](step - starts[i] if sh else step))

    return schedule


def warmup(
    schedule: Schedule,
    warmup_steps: int,
    *,
    start_value: float = 0.0,
    mode: str = "linear",
    shift: bool = True,
) -> Schedule:
    """Put a warmup of ``warmup_steps`` steps in front of ``schedule``.

    During the warmup (``t < W``) the value is ``start_value + (target - start_value) t/W``
    (``mode="linear"``) or ``start_value`` (``mode="constant"``), where ``target =
    schedule(0)``; so step 0 uses ``start_value`` and step ``W`` uses ``schedule(0)``, the
    base value. After it, ``schedule`` starts from its own step 0 (``shift=True``, as optax's
    ``warmup_*`` schedules and torch's ``SequentialLR([LinearLR, ...])`` do) or continues at
    the absolute step (``shift=False``: ``schedule(t)``, as MXNet's ``FactorScheduler``
    does). torch's ``LinearLR(start_factor=a, total_iters=W)`` before a base ``b`` is
    ``start_value=a*b``; ``ConstantLR(factor=a, total_iters=W)`` is ``mode="constant"``.

    Args:
        schedule: the schedule after the warmup.
        warmup_steps: ``W >= 0`` (0 returns the values of ``schedule``).
        start_value: value at step 0.
        mode: ``"linear"`` or ``"constant"``.
        shift: restart ``schedule`` at step ``W``.

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.warmup(ml.optim.constant_schedule(1.0), 4, start_value=0.2)
        >>> [round(s(t), 12) for t in range(6)]
        [0.2, 0.4, 0.6, 0.8, 1.0, 1.0]
    """
    inner = _check_schedule("schedule", schedule)
    W = _steps("warmup_steps", warmup_steps, low=0)
    v0 = _value("start_value", start_value)
    m = check_choice("mode", mode, ("linear", "constant"))
    sh = check_bool("shift", shift)
    if W == 0:
        return inner
    target = float(inner(0))
    if m == "constant":
        return join_schedules([constant_schedule(v0), inner], [W], shift=sh)

    def ramp(step: float) -> float:
        # written as start + increase (not optax's (v0 - v1) * frac + v1) so step 0 is exactly v0
        return v0 + (target - v0) * step / W

    return join_schedules([ramp, inner], [W], shift=sh)


class OneCycle(NamedTuple):
    """The two schedules of a one-cycle policy: learning rate and the inverse momentum."""

    learning_rate: Schedule
    momentum: Schedule


def _anneal_cos(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _anneal_linear(start: float, end: float, pct: float) -> float:
    return (end - start) * pct + start


def _phased(
    phases: list[tuple[float, float, float]], anneal: Callable[[float, float, float], float]
) -> Schedule:
    last = len(phases) - 1

    def schedule(step: float) -> float:
        start_step = 0.0
        for i, (end_step, v_start, v_end) in enumerate(phases):
            if step <= end_step or i == last:
                t = min(step, end_step) if i == last else step
                span = end_step - start_step
                pct = (t - start_step) / span if span else 1.0
                return anneal(v_start, v_end, pct)
            start_step = end_step
        raise AssertionError("unreachable")  # pragma: no cover

    return schedule


def one_cycle(
    max_value: float,
    total_steps: int,
    *,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
) -> OneCycle:
    """The one-cycle policy: learning rate up then down, momentum down then up.

    torch's ``OneCycleLR(max_lr=max_value, total_steps, pct_start, anneal_strategy,
    div_factor, final_div_factor, three_phase, cycle_momentum=True, base_momentum,
    max_momentum)``: the learning rate goes from ``max_value/div_factor`` to ``max_value``
    by step ``pct_start*total_steps - 1`` and then to ``max_value/div_factor/final_div_factor``
    at step ``total_steps - 1``; the momentum runs the inverse path between
    ``max_momentum`` and ``base_momentum``. ``three_phase`` comes back to the initial rate at
    step ``2*pct_start*total_steps - 2`` before the final anneal (momentum back to the max,
    then held). Anneal: ``"cos"`` (``end + (start-end)(1+cos(pi pct))/2``) or ``"linear"``.
    Step ``t`` is the update index from 0, i.e. torch's ``last_epoch`` after ``t`` calls of
    ``scheduler.step()``. Past ``total_steps - 1`` the final values are held (torch raises).
    optax's ``cosine_onecycle_schedule`` puts the peak at ``int(pct_start*T)`` instead.

    Args:
        max_value: peak learning rate > 0.
        total_steps: cycle length >= 2.
        pct_start: fraction of the cycle spent rising, in (0, 1).
        anneal_strategy: ``"cos"`` or ``"linear"``.
        div_factor: initial rate is ``max_value / div_factor`` (> 0).
        final_div_factor: final rate is ``initial / final_div_factor`` (> 0).
        three_phase: use the three-phase variant.
        base_momentum: lowest momentum, in [0, 1).
        max_momentum: highest momentum, in [base_momentum, 1).

    Returns:
        An :class:`OneCycle` of (learning_rate, momentum) schedules.

    Example:
        >>> import momentumlab as ml
        >>> cyc = ml.optim.one_cycle(1.0, 10, anneal_strategy="linear", div_factor=10.0)
        >>> [round(cyc.learning_rate(t), 4) for t in (0, 2, 9)], cyc.momentum(2)
        ([0.1, 1.0, 0.0], 0.85)
    """
    top = check_float("max_value", max_value, low=0.0, low_open=True)
    T = _steps("total_steps", total_steps, low=2)
    pct = check_float("pct_start", pct_start, low=0.0, high=1.0, low_open=True, high_open=True)
    how = check_choice("anneal_strategy", anneal_strategy, ("cos", "linear"))
    div = check_float("div_factor", div_factor, low=0.0, low_open=True)
    fdiv = check_float("final_div_factor", final_div_factor, low=0.0, low_open=True)
    three = check_bool("three_phase", three_phase)
    m_lo = check_float("base_momentum", base_momentum, low=0.0, high=1.0, high_open=True)
    m_hi = check_float("max_momentum", max_momentum, low=m_lo, high=1.0, high_open=True)
    initial = top / div
    low = initial / fdiv
    e1 = float(pct * T) - 1
    if three:
        e2 = float(2 * pct * T) - 2
        lr_phases = [(e1, initial, top), (e2, top, initial), (float(T - 1), initial, low)]
        mom_phases = [(e1, m_hi, m_lo), (e2, m_lo, m_hi), (float(T - 1), m_hi, m_hi)]
    else:
        lr_phases = [(e1, initial, top), (float(T - 1), top, low)]
        mom_phases = [(e1, m_hi, m_lo), (float(T - 1), m_lo, m_hi)]
    anneal = _anneal_cos if how == "cos" else _anneal_linear
    return OneCycle(_phased(lr_phases, anneal), _phased(mom_phases, anneal))


# --------------------------------------------------------------------------- epochs


@dataclass(frozen=True)
class PerEpoch:
    """A schedule stated in epochs, bound to steps when the run knows ``steps_per_epoch``.

    ``PerEpoch(s)`` means: every update of epoch ``e`` (from 0) uses ``s(e)``; with
    ``fractional=True`` update ``t`` uses ``s(t / steps_per_epoch)`` (torch's
    ``scheduler.step(epoch + i / iters)`` idiom, for smooth per-step curves stated in
    epochs). Pass it as ``RunConfig(learning_rate=...)`` or ``RunConfig(momentum=...)``; the
    runner calls :meth:`bind` with its ``steps_per_epoch``.

    Attributes:
        schedule: epoch -> value.
        fractional: evaluate at fractional epochs.

    Example:
        >>> import momentumlab as ml
        >>> e = ml.optim.PerEpoch(ml.optim.multistep_decay(1.0, [1], 0.5))
        >>> s = e.bind(steps_per_epoch=2)
        >>> [s(t) for t in range(4)]
        [1.0, 1.0, 0.5, 0.5]
        >>> f = ml.optim.PerEpoch(ml.optim.linear_schedule(1.0, 0.0, 1), fractional=True)
        >>> [f.bind(4)(t) for t in range(5)]
        [1.0, 0.75, 0.5, 0.25, 0.0]
    """

    schedule: Schedule
    fractional: bool = False

    def __post_init__(self) -> None:
        _check_schedule("schedule", self.schedule)
        check_bool("fractional", self.fractional)

    def bind(self, steps_per_epoch: int) -> Schedule:
        """The per-step schedule for runs with ``steps_per_epoch`` updates per epoch."""
        spe = check_int("steps_per_epoch", steps_per_epoch, low=1)
        inner = cast(Callable[[float], float], self.schedule)
        if self.fractional:

            def fractional(step: float) -> float:
                return float(inner(step / spe))

            return fractional

        def per_epoch(step: float) -> float:
            return float(inner(int(step // spe)))

        return per_epoch


def bind_schedule(value: float | Schedule | PerEpoch, steps_per_epoch: int) -> float | Schedule:
    """Resolve a :class:`PerEpoch` to a step schedule; floats and step schedules pass through.

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.bind_schedule(0.1, 5)
        0.1
        >>> ml.optim.bind_schedule(ml.optim.PerEpoch(lambda e: 0.1 * e), 5)(12)
        0.2
    """
    if isinstance(value, PerEpoch):
        return value.bind(steps_per_epoch)
    return value


@dataclass(frozen=True, kw_only=True)
class EpochDecay:
    """Multiply the learning rate by ``factor`` at the start of every epoch after ``after_epoch``.

    This is the chapter's decay: with ``factor=0.1, after_epoch=2`` epochs 1 and 2 use the
    base rate, epoch 3 uses ``base*0.1``, epoch 4 ``base*0.01``, ... Epochs count from 1.
    The product is formed by repeated multiplication, exactly as the chapter's
    ``trainer.set_learning_rate(trainer.learning_rate * 0.1)`` does, so the float64 values
    (and hence the runs) are bit-identical to it. The same decay as a step schedule is
    ``multistep_decay(base, [after_epoch*spe, (after_epoch+1)*spe, ...], factor)``.

    Args:
        factor: multiplier in (0, 1].
        after_epoch: last epoch that still uses the base rate, >= 0.

    Example:
        >>> import momentumlab as ml
        >>> d = ml.optim.EpochDecay(factor=0.5, after_epoch=1)
        >>> [d.learning_rate(1.0, e) for e in (1, 2, 3)]
        [1.0, 0.5, 0.25]
        >>> s = d.as_schedule(1.0, steps_per_epoch=2)
        >>> [s(t) for t in range(6)]
        [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """

    init_value: float = 1.0
    factor: float = 0.1
    after_epoch: int = 2

    def __post_init__(self) -> None:
        check_float("init_value", self.init_value)
        check_float("factor", self.factor, low=0.0, high=1.0, low_open=True)
        check_int("after_epoch", self.after_epoch, low=0)

    def __call__(self, epoch: float) -> float:
        """The value during ``epoch`` counted from 0 (as :class:`PerEpoch` passes it)."""
        return self.learning_rate(self.init_value, int(epoch) + 1)

    def learning_rate(self, base: float, epoch: int) -> float:
        """The learning rate used during ``epoch`` (1-based) for a base rate ``base``."""
        e = check_int("epoch", epoch, low=1)
        lr = float(base)
        for _ in range(max(0, e - self.after_epoch)):
            lr *= self.factor
        return lr

    def as_schedule(self, base: float, *, steps_per_epoch: int) -> Schedule:
        """A per-step :data:`~momentumlab.Schedule` (step counted from 0)."""
        spe = check_int("steps_per_epoch", steps_per_epoch, low=1)
        b = check_float("base", base, low=0.0, low_open=True)

        def schedule(step: float) -> float:
            return self.learning_rate(b, int(step // spe) + 1)

        return schedule

    def as_lr_scheduler(self, base: float, *, steps_per_epoch: int) -> ScheduleLR:
        """An ``mx.lr_scheduler.LRScheduler`` for ``gluon.Trainer(..., lr_scheduler=...)``."""
        from momentumlab.optim._bridge import as_lr_scheduler

        return as_lr_scheduler(self.as_schedule(base, steps_per_epoch=steps_per_epoch))
