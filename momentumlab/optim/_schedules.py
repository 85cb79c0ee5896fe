"""Learning-rate and momentum schedules: small frozen values, pure functions of the step.

Every schedule is a frozen dataclass deriving from :class:`Schedule`: its fields are exactly
its parameters, calling it gives the value at a step (``schedule(step) -> float`` with
``step`` counting updates from 0; the first update uses ``schedule(0)``), and it turns into
plain data and back (:meth:`Schedule.to_dict`, :func:`schedule_from_dict`), so it can be
compared, hashed, pickled, stored, keyed, swept and written in TOML. The factories
(:func:`cosine_decay`, ...) return these values. General schedules carry the math
(:func:`polynomial_schedule`, :func:`exponential_decay`, :func:`cosine_decay`,
:func:`piecewise_scales`, :func:`join_schedules`); special ones delegate to them
(:func:`linear_schedule` is a polynomial of power 1, :func:`step_decay` is a staircase
exponential decay, :func:`multistep_decay` is :func:`piecewise_scales` with one factor).
A value keeps no state, so calling it twice, or out of order, gives the same value. It also
accepts a fractional step (used by :class:`PerEpoch` with ``fractional=True``).
:meth:`Schedule.per_step` (and :meth:`Schedule.at`) give the values of many steps at once, equal
bit for bit to calling the value at each step: NumPy computes them where it rounds exactly as
the scalar code does, and the scalar code runs once per distinct input where it might not
(``math.cos`` and ``**`` against NumPy's ``cos`` and ``power``).

Example:
    >>> import momentumlab as ml
    >>> s = ml.optim.warmup(ml.optim.cosine_decay(1.0, 4), 2)
    >>> [round(s(t), 3) for t in range(7)]
    [0.0, 0.5, 1.0, 0.854, 0.5, 0.146, 0.0]
    >>> s.to_dict()["kind"], ml.optim.schedule_from_dict(s.to_dict()) == s
    ('warmup', True)
"""

from __future__ import annotations

import abc
import bisect
import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np

from momentumlab._src.checks import check_bool, check_choice, check_float, check_int, check_type
from momentumlab._src.types import Array

if TYPE_CHECKING:
    from momentumlab.optim._bridge import ScheduleLR

# Any function of the step (a plain callable; custom_schedule makes it a value).
StepFunction = Callable[[Any], float]

# --------------------------------------------------------------------------- the base


class Schedule(abc.ABC):
    """A schedule value: a pure function of the step that is also plain data.

    Every concrete schedule is a ``@dataclass(frozen=True)`` subclass whose fields are its
    parameters. It compares equal and hashes by those parameters, prints them
    (``repr``), pickles, and :meth:`to_dict` gives the plain data ``{"kind": ..., **params}``
    that :func:`schedule_from_dict` turns back into an equal value (the same form a TOML
    file uses). Calling it gives the value at a step (from 0; fractional steps are accepted).

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.cosine_decay(0.2, 100)
        >>> isinstance(s, ml.optim.Schedule), s == ml.optim.cosine_decay(0.2, 100)
        (True, True)
        >>> s.to_dict()  # doctest: +NORMALIZE_WHITESPACE
        {'kind': 'cosine_decay', 'init_value': 0.2, 'decay_steps': 100, 'end_value': 0.0,
         'exponent': 1.0, 'periodic': False}
    """

    #: The name of the schedule in :meth:`to_dict` and :func:`schedule_from_dict`.
    kind: ClassVar[str]
    #: Fields holding one schedule (rebuilt from nested mappings by :func:`schedule_from_dict`).
    _schedule_fields: ClassVar[tuple[str, ...]] = ()
    #: Fields holding a sequence of schedules.
    _schedule_list_fields: ClassVar[tuple[str, ...]] = ()

    @abc.abstractmethod
    def __call__(self, step: float) -> float:
        """The value at ``step`` (from 0)."""

    def per_step(self, n_steps: int) -> Array:
        """The values of steps ``0 .. n_steps - 1`` as a new float64 array.

        Equal bit for bit to ``[float(self(t)) for t in range(n_steps)]`` (see :meth:`at`).

        Args:
            n_steps: how many steps, >= 0.

        Example:
            >>> import momentumlab as ml
            >>> ml.optim.step_decay(1.0, 2, 0.5).per_step(5).tolist()
            [1.0, 1.0, 0.5, 0.5, 0.25]
        """
        n = check_int("n_steps", n_steps, low=0)
        return self._at(np.arange(n, dtype=np.int64))

    def at(self, steps: Sequence[float] | Array) -> Array:
        """The values at ``steps`` (a 1-D sequence of integer or fractional steps), float64.

        Equal bit for bit to ``[float(self(t)) for t in steps]``: the kinds whose formula
        NumPy evaluates with the same roundings compute it on the whole array (constant,
        polynomial and linear, staircase and piecewise decays, joins, warmups, epoch
        binding); the rest (cosines, non-integer powers, one-cycle) call the scalar value
        once per distinct input, which also makes an epoch schedule one call per epoch. A
        :class:`CustomSchedule` is called at every step, in order.

        Args:
            steps: the steps, a 1-D sequence of real numbers.

        Raises:
            TypeError: for steps that are not a 1-D sequence of real numbers.

        Example:
            >>> import momentumlab as ml
            >>> ml.optim.linear_schedule(1.0, 0.0, 4).at([0, 2, 2.5, 9]).tolist()
            [1.0, 0.5, 0.375, 0.0]
        """
        arr = np.asarray(steps)
        if arr.ndim != 1 or arr.dtype.kind not in "iuf":
            raise TypeError(
                f"steps must be a 1-D sequence of real numbers, got {steps!r} "
                f"(shape {arr.shape}, dtype {arr.dtype})"
            )
        return self._at(arr.astype(np.int64 if arr.dtype.kind in "iu" else np.float64, copy=False))

    def _at(self, steps: Array) -> Array:
        """The values at a 1-D int64 or float64 array of steps (overridden by vector forms)."""
        return _per_distinct(self, steps)

    def to_dict(self) -> dict[str, Any]:
        """Plain, TOML-safe data ``{"kind": ..., **parameters}`` (the inverse of :func:`schedule_from_dict`).

        ``None`` parameters are left out, tuples become lists, nested schedules nested
        dicts and mapping keys strings; ints stay ints and floats stay floats.

        Example:
            >>> import momentumlab as ml
            >>> ml.optim.multistep_decay(0.2, [2, 3], 0.1).to_dict()
            {'kind': 'multistep_decay', 'init_value': 0.2, 'milestones': [2, 3], 'factor': 0.1}
        """
        out: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = self._field_to_data(f.name, value)
        return out

    def _field_to_data(self, name: str, value: Any) -> Any:
        return _to_data(value)

    @classmethod
    def _params_from_data(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Rebuild nested schedules of parsed data (overridden for other conversions)."""
        out = dict(params)
        for name in cls._schedule_fields:
            if name in out:
                out[name] = _nested_from_data(name, out[name])
        for name in cls._schedule_list_fields:
            value = out.get(name)
            if isinstance(value, (list, tuple)):
                out[name] = [_nested_from_data(f"{name}[{i}]", v) for i, v in enumerate(value)]
        return out

    def _set(self, name: str, value: Any) -> None:
        """Store a checked, normalised field (the dataclass is frozen)."""
        object.__setattr__(self, name, value)


def _to_data(value: Any) -> Any:
    if isinstance(value, Schedule):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [_to_data(v) for v in value]
    return value


def _per_distinct(fn: Callable[[Any], float], x: Array) -> Array:
    """``float(fn(v))`` for every entry of ``x``, called once per distinct value (a pure ``fn``)."""
    if x.size == 0:
        return np.zeros(0, dtype=np.float64)
    distinct, where = np.unique(x, return_inverse=True)
    out: Array = np.array([float(fn(v)) for v in distinct.tolist()], dtype=np.float64)[where]
    return out


def _child_at(schedule: Any, steps: Array) -> Array:
    """The values of a nested schedule (a :class:`Schedule` after the checks) at ``steps``."""
    if isinstance(schedule, Schedule):
        return schedule._at(steps)
    return np.array([float(schedule(v)) for v in steps.tolist()], dtype=np.float64)


def _nested_from_data(name: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        try:
            return schedule_from_dict(value)
        except (TypeError, ValueError) as e:
            raise type(e)(f"{name}: {e}") from e
    return value


# --------------------------------------------------------------------------- checks


def _as_schedule(name: str, value: Any) -> Schedule:
    """A step schedule value: a :class:`Schedule` as is, any other callable wrapped."""
    if isinstance(value, PerEpoch):
        raise TypeError(
            f"{name} must be a schedule of the step, got a PerEpoch schedule (stated in epochs), "
            f"{value!r}; bind it to steps first with .bind(steps_per_epoch)"
        )
    if isinstance(value, Schedule):
        return value
    if not callable(value):
        raise TypeError(f"{name} must be a schedule (a callable step -> value), got {value!r}")
    return CustomSchedule(value)


def _value(name: str, value: Any) -> float:
    return check_float(name, value)


def _steps(name: str, value: Any, low: int = 1) -> int:
    return check_int(name, value, low=low)


def _span(names: str, a: float, b: float) -> None:
    """``a - b`` must be finite (the interpolating schedules scale it)."""
    if not math.isfinite(a - b):
        raise ValueError(f"{names} must differ by a finite amount, got {a!r} and {b!r}")


def _boundaries(name: str, values: Any, low: int = 0) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence of integers, got {values!r}")
    out = tuple(check_int(f"{name}[{i}]", b, low=low) for i, b in enumerate(values))
    for i in range(1, len(out)):
        if out[i] <= out[i - 1]:
            raise ValueError(f"{name} must be strictly increasing, got {list(out)}")
    return out


# --------------------------------------------------------------------------- general


@dataclass(frozen=True)
class ConstantSchedule(Schedule):
    """The value of :func:`constant_schedule`: ``value`` at every step.

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.ConstantSchedule(0.1)(7)
        0.1
    """

    kind: ClassVar[str] = "constant_schedule"
    value: float

    def __post_init__(self) -> None:
        self._set("value", _value("value", self.value))

    def __call__(self, step: float) -> float:
        return self.value

    def _at(self, steps: Array) -> Array:
        return np.full(len(steps), self.value, dtype=np.float64)


def constant_schedule(value: float) -> ConstantSchedule:
    """A schedule that returns ``value`` at every step.

    Equals torch's ``LambdaLR(lambda t: 1)`` with base ``value`` and optax's
    ``constant_schedule(value)``. A run with it is bit-identical to a run with the float.

    Args:
        value: any finite number.

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.constant_schedule(0.1)
        >>> s(0), s(1000), s
        (0.1, 0.1, ConstantSchedule(value=0.1))
    """
    return ConstantSchedule(value)


@dataclass(frozen=True)
class PolynomialSchedule(Schedule):
    """The value of :func:`polynomial_schedule` (see it for the math).

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.PolynomialSchedule(1.0, 0.0, 2.0, 4)(1)
        0.5625
    """

    kind: ClassVar[str] = "polynomial_schedule"
    init_value: float
    end_value: float
    power: float
    transition_steps: int
    _: KW_ONLY
    transition_begin: int = 0

    def __post_init__(self) -> None:
        self._set("init_value", _value("init_value", self.init_value))
        self._set("end_value", _value("end_value", self.end_value))
        self._set("power", check_float("power", self.power, low=0.0, low_open=True))
        self._set("transition_steps", _steps("transition_steps", self.transition_steps))
        self._set("transition_begin", _steps("transition_begin", self.transition_begin, low=0))
        _span("init_value and end_value", self.init_value, self.end_value)

    def __call__(self, step: float) -> float:
        T = self.transition_steps
        c = min(max(step - self.transition_begin, 0), T)
        frac = 1 - c / T
        return (self.init_value - self.end_value) * float(frac**self.power) + self.end_value

    def _at(self, steps: Array) -> Array:
        T = self.transition_steps
        frac = 1 - np.minimum(np.maximum(steps - self.transition_begin, 0), T) / T
        p = self.power
        # x ** 1.0 is x; any other power goes through ``**`` (NumPy's power may round differently)
        powered = frac if p == 1.0 else _per_distinct(lambda f: f**p, frac)
        return (self.init_value - self.end_value) * powered + self.end_value


def polynomial_schedule(
    init_value: float,
    end_value: float,
    power: float,
    transition_steps: int,
    *,
    transition_begin: int = 0,
) -> PolynomialSchedule:
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
    return PolynomialSchedule(
        init_value, end_value, power, transition_steps, transition_begin=transition_begin
    )


@dataclass(frozen=True)
class LinearSchedule(Schedule):
    """The value of :func:`linear_schedule`: a :class:`PolynomialSchedule` of power 1.

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.LinearSchedule(0.0, 1.0, 4)(1)
        0.25
    """

    kind: ClassVar[str] = "linear_schedule"
    init_value: float
    end_value: float
    transition_steps: int
    _: KW_ONLY
    transition_begin: int = 0

    def __post_init__(self) -> None:
        general = self._general  # checks every parameter
        self._set("init_value", general.init_value)
        self._set("end_value", general.end_value)
        self._set("transition_steps", general.transition_steps)
        self._set("transition_begin", general.transition_begin)

    @cached_property
    def _general(self) -> PolynomialSchedule:
        v0, v1, T, t0 = self.init_value, self.end_value, self.transition_steps, self.transition_begin
        return PolynomialSchedule(v0, v1, 1.0, T, transition_begin=t0)

    def __call__(self, step: float) -> float:
        return self._general(step)

    def _at(self, steps: Array) -> Array:
        return self._general._at(steps)


def linear_schedule(
    init_value: float, end_value: float, transition_steps: int, *, transition_begin: int = 0
) -> LinearSchedule:
    """Linear interpolation from ``init_value`` to ``end_value`` over ``transition_steps``.

    :func:`polynomial_schedule` with ``power=1`` (optax's ``linear_schedule``). torch's
    ``LinearLR(start_factor=a, end_factor=b, total_iters=T)`` with base ``lr`` is
    ``linear_schedule(lr*a, lr*b, T)`` (values agree to rounding, ~1e-16 relative).

    Args:
        init_value: value at the start.
        end_value: value from step ``transition_begin + transition_steps`` on.
        transition_steps: length of the transition, >= 1.
        transition_begin: steps >= 0 to hold ``init_value`` first.

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.linear_schedule(0.0, 1.0, 4)
        >>> [s(t) for t in range(6)]
        [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    return LinearSchedule(init_value, end_value, transition_steps, transition_begin=transition_begin)


@dataclass(frozen=True)
class ExponentialDecay(Schedule):
    """The value of :func:`exponential_decay` (see it for the math).

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.ExponentialDecay(2.0, 0.5)(3)
        0.25
    """

    kind: ClassVar[str] = "exponential_decay"
    init_value: float
    decay_rate: float
    _: KW_ONLY
    transition_steps: int = 1
    transition_begin: int = 0
    staircase: bool = False
    end_value: float | None = None

    def __post_init__(self) -> None:
        self._set("init_value", _value("init_value", self.init_value))
        self._set("decay_rate", check_float("decay_rate", self.decay_rate, low=0.0, low_open=True))
        self._set("transition_steps", _steps("transition_steps", self.transition_steps))
        self._set("transition_begin", _steps("transition_begin", self.transition_begin, low=0))
        self._set("staircase", check_bool("staircase", self.staircase))
        if self.end_value is not None:
            self._set("end_value", _value("end_value", self.end_value))

    def __call__(self, step: float) -> float:
        d = step - self.transition_begin
        r = self.decay_rate
        if d <= 0:
            value = self.init_value
        else:
            p = d / self.transition_steps
            if self.staircase:
                p = math.floor(p)
            value = self._decayed(p)
        end = self.end_value
        if end is not None:
            value = max(value, end) if r < 1 else min(value, end)
        return value

    def _decayed(self, p: float) -> float:
        """``init_value * decay_rate ** p`` (infinite, not an ``OverflowError``, past the float range)."""
        try:
            return float(self.init_value * self.decay_rate**p)
        except OverflowError:  # a rate > 1 past the float range: the value is unbounded
            return math.copysign(math.inf, self.init_value) if self.init_value else 0.0

    def _at(self, steps: Array) -> Array:
        d = steps - self.transition_begin
        out = np.full(len(steps), self.init_value, dtype=np.float64)
        later = d > 0
        p = d[later] / self.transition_steps
        # a staircase has one exponent per period: ``**`` runs once for each
        out[later] = _per_distinct(self._decayed, np.floor(p) if self.staircase else p)
        end = self.end_value
        if end is None:
            return out
        # max(value, end) is end only when end > value (and min(value, end) when end < value)
        return np.where(end > out if self.decay_rate < 1 else end < out, end, out)


def exponential_decay(
    init_value: float,
    decay_rate: float,
    *,
    transition_steps: int = 1,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: float | None = None,
) -> ExponentialDecay:
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

    A ``decay_rate > 1`` (torch allows a ``gamma > 1``) makes the value grow without bound
    unless ``end_value`` caps it: it stays finite for every step only with an
    ``end_value``. Without one, steps past the float range give ``inf`` (never an
    ``OverflowError``), which :func:`~momentumlab._src.checks.check_step_values` reports
    with its step when a run evaluates its learning rates.

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
        >>> ml.optim.exponential_decay(0.1, 2.5, end_value=1.0)(10**6)
        1.0
    """
    return ExponentialDecay(
        init_value,
        decay_rate,
        transition_steps=transition_steps,
        transition_begin=transition_begin,
        staircase=staircase,
        end_value=end_value,
    )


@dataclass(frozen=True)
class StepDecay(Schedule):
    """The value of :func:`step_decay`: a staircase :class:`ExponentialDecay`.

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.StepDecay(1.0, 3, 0.5)(3)
        0.5
    """

    kind: ClassVar[str] = "step_decay"
    init_value: float
    step_size: int
    factor: float

    def __post_init__(self) -> None:
        self._set("init_value", _value("init_value", self.init_value))
        self._set("factor", check_float("factor", self.factor, low=0.0, low_open=True))
        self._set("step_size", _steps("step_size", self.step_size))

    @cached_property
    def _general(self) -> ExponentialDecay:
        return ExponentialDecay(self.init_value, self.factor, transition_steps=self.step_size, staircase=True)

    def __call__(self, step: float) -> float:
        return self._general(step)

    def _at(self, steps: Array) -> Array:
        return self._general._at(steps)


def step_decay(init_value: float, step_size: int, factor: float) -> StepDecay:
    """Multiply by ``factor`` every ``step_size`` steps: ``v0 * factor ** (t // step_size)``.

    torch's ``StepLR(step_size, gamma=factor)`` (the decay takes effect at step
    ``step_size``, counting from 0). Delegates to :func:`exponential_decay` with
    ``staircase=True`` (so a ``factor > 1`` grows without bound, see there). MXNet's
    ``FactorScheduler`` gives the same values (its ``num_update`` from 1 and its strict
    ``>`` cancel); use :func:`from_mxnet` for its exact bits.

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
    return StepDecay(init_value, step_size, factor)


def _scale_pairs(value: Any) -> tuple[tuple[int, float], ...]:
    name = "boundaries_and_scales"
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, (list, tuple)) and all(
        isinstance(p, (list, tuple)) and len(p) == 2 for p in value
    ):
        items = [(b, s) for b, s in value]
    else:
        raise TypeError(
            f"{name} must be a mapping step -> scale, got {value!r} of type {type(value).__name__}"
        )
    steps = [check_int(f"{name} key {b!r}", b, low=0) for b, _ in items]
    pairs = sorted(zip(steps, (s for _, s in items), strict=True))
    bounds = _boundaries(f"{name} keys", [b for b, _ in pairs])
    scales = [check_float(f"{name}[{b}]", s, low=0.0) for b, s in pairs]
    return tuple(zip(bounds, scales, strict=True))


@dataclass(frozen=True)
class PiecewiseScales(Schedule):
    """The value of :func:`piecewise_scales`.

    ``boundaries_and_scales`` is kept as sorted ``(step, scale)`` pairs (a mapping given to
    the constructor is turned into them); :meth:`to_dict` writes it as a mapping with
    string keys, as TOML needs.

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.PiecewiseScales(1.0, {4: 0.1, 2: 0.5})
        PiecewiseScales(init_value=1.0, boundaries_and_scales=((2, 0.5), (4, 0.1)))
    """

    kind: ClassVar[str] = "piecewise_scales"
    init_value: float
    boundaries_and_scales: tuple[tuple[int, float], ...]

    def __post_init__(self) -> None:
        self._set("init_value", _value("init_value", self.init_value))
        self._set("boundaries_and_scales", _scale_pairs(self.boundaries_and_scales))
        values = self._values
        for (b, _), v in zip(self.boundaries_and_scales, values[1:], strict=True):
            if not math.isfinite(v):
                raise ValueError(
                    f"boundaries_and_scales must keep the value finite, got {v!r} from step {b} on"
                )

    @cached_property
    def _bounds(self) -> list[int]:
        return [b for b, _ in self.boundaries_and_scales]

    @cached_property
    def _values(self) -> list[float]:
        # values[i] is the value after i boundaries, each formed by one more multiplication
        values = [self.init_value]
        for _, s in self.boundaries_and_scales:
            values.append(values[-1] * s)
        return values

    def __call__(self, step: float) -> float:
        return self._values[bisect.bisect_right(self._bounds, step)]

    def _at(self, steps: Array) -> Array:
        i = np.searchsorted(np.array(self._bounds, dtype=np.int64), steps, side="right")
        out: Array = np.array(self._values, dtype=np.float64)[i]
        return out

    def _field_to_data(self, name: str, value: Any) -> Any:
        if name == "boundaries_and_scales":
            return {str(b): s for b, s in value}
        return super()._field_to_data(name, value)

    @classmethod
    def _params_from_data(cls, params: dict[str, Any]) -> dict[str, Any]:
        out = dict(params)
        value = out.get("boundaries_and_scales")
        if isinstance(value, Mapping):
            out["boundaries_and_scales"] = {_int_key("boundaries_and_scales", k): s for k, s in value.items()}
        return out


def _int_key(name: str, key: Any) -> Any:
    """A TOML key (a string) naming an integer step, as the int."""
    if isinstance(key, str):
        text = key.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        raise ValueError(f"{name} keys must be integer steps, got {key!r}")
    return key


def piecewise_scales(init_value: float, boundaries_and_scales: Mapping[int, float]) -> PiecewiseScales:
    """``init_value`` multiplied by the scale of every boundary ``b <= t``, in order.

    optax's ``piecewise_constant_schedule``: a scale takes effect *at* its boundary (step
    ``b`` already uses it). The product is formed by repeated multiplication in boundary
    order, the way a loop doing ``lr *= scale`` would (and as MXNet's
    ``MultiFactorScheduler`` does), so the values are bit-identical to such loops.

    Args:
        init_value: value before the first boundary.
        boundaries_and_scales: step ``b >= 0`` -> scale ``>= 0`` (every product finite).

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.piecewise_scales(1.0, {2: 0.5, 4: 0.1})
        >>> [s(t) for t in range(6)]
        [1.0, 1.0, 0.5, 0.5, 0.05, 0.05]
        >>> s.to_dict()
        {'kind': 'piecewise_scales', 'init_value': 1.0, 'boundaries_and_scales': {'2': 0.5, '4': 0.1}}
    """
    check_type("boundaries_and_scales", boundaries_and_scales, Mapping, "a mapping step -> scale")
    return PiecewiseScales(init_value, boundaries_and_scales)  # type: ignore[arg-type]


@dataclass(frozen=True)
class MultistepDecay(Schedule):
    """The value of :func:`multistep_decay`: :class:`PiecewiseScales` with one factor.

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.MultistepDecay(1.0, [2], 0.5)
        MultistepDecay(init_value=1.0, milestones=(2,), factor=0.5)
    """

    kind: ClassVar[str] = "multistep_decay"
    init_value: float
    milestones: tuple[int, ...]
    factor: float

    def __post_init__(self) -> None:
        self._set("init_value", _value("init_value", self.init_value))
        self._set("milestones", _boundaries("milestones", self.milestones))
        self._set("factor", check_float("factor", self.factor, low=0.0))
        try:
            self._general  # noqa: B018  (checks that every value stays finite)
        except ValueError as e:
            why = str(e).partition(", got ")[2]
            raise ValueError(
                f"init_value and factor must keep the value finite at every milestone, got {why}"
            ) from None

    @cached_property
    def _general(self) -> PiecewiseScales:
        return PiecewiseScales(self.init_value, {m: self.factor for m in self.milestones})  # type: ignore[arg-type]

    def __call__(self, step: float) -> float:
        return self._general(step)

    def _at(self, steps: Array) -> Array:
        return self._general._at(steps)


def multistep_decay(init_value: float, milestones: Sequence[int], factor: float) -> MultistepDecay:
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
    return MultistepDecay(init_value, milestones, factor)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PiecewiseConstant(Schedule):
    """The value of :func:`piecewise_constant`.

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.PiecewiseConstant([2], [1.0, 0.5])(2)
        0.5
    """

    kind: ClassVar[str] = "piecewise_constant"
    boundaries: tuple[int, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        self._set("boundaries", _boundaries("boundaries", self.boundaries))
        values: Any = self.values
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise TypeError(f"values must be a sequence of numbers, got {values!r}")
        self._set("values", tuple(_value(f"values[{i}]", v) for i, v in enumerate(values)))
        n = len(self.boundaries) + 1
        if len(self.values) != n:
            raise ValueError(f"values must have len(boundaries) + 1 = {n} entries, got {len(self.values)}")

    @cached_property
    def _bounds(self) -> list[int]:
        return list(self.boundaries)

    def __call__(self, step: float) -> float:
        return self.values[bisect.bisect_right(self._bounds, step)]

    def _at(self, steps: Array) -> Array:
        i = np.searchsorted(np.array(self._bounds, dtype=np.int64), steps, side="right")
        out: Array = np.array(self.values, dtype=np.float64)[i]
        return out


def piecewise_constant(boundaries: Sequence[int], values: Sequence[float]) -> PiecewiseConstant:
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
    return PiecewiseConstant(boundaries, values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class CosineDecay(Schedule):
    """The value of :func:`cosine_decay` (see it for the math).

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.CosineDecay(1.0, 2)(1)
        0.5
    """

    kind: ClassVar[str] = "cosine_decay"
    init_value: float
    decay_steps: int
    _: KW_ONLY
    end_value: float = 0.0
    exponent: float = 1.0
    periodic: bool = False

    def __post_init__(self) -> None:
        self._set("init_value", _value("init_value", self.init_value))
        self._set("decay_steps", _steps("decay_steps", self.decay_steps))
        self._set("end_value", _value("end_value", self.end_value))
        self._set("exponent", check_float("exponent", self.exponent, low=0.0, low_open=True))
        self._set("periodic", check_bool("periodic", self.periodic))
        _span("init_value and end_value", self.init_value, self.end_value)

    def __call__(self, step: float) -> float:
        return self._of_clipped(step if self.periodic else min(step, self.decay_steps))

    def _of_clipped(self, c: float) -> float:
        cosine = (1 + math.cos(math.pi * c / self.decay_steps)) / 2
        v1 = self.end_value
        return v1 + (self.init_value - v1) * float(cosine**self.exponent)

    def _at(self, steps: Array) -> Array:
        # math.cos per distinct clipped step: the floor after ``decay_steps`` is one call
        return _per_distinct(
            self._of_clipped, steps if self.periodic else np.minimum(steps, self.decay_steps)
        )


def cosine_decay(
    init_value: float,
    decay_steps: int,
    *,
    end_value: float = 0.0,
    exponent: float = 1.0,
    periodic: bool = False,
) -> CosineDecay:
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
    return CosineDecay(init_value, decay_steps, end_value=end_value, exponent=exponent, periodic=periodic)


@dataclass(frozen=True)
class CosineWarmRestarts(Schedule):
    """The value of :func:`cosine_warm_restarts` (see it for the math).

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.CosineWarmRestarts(1.0, 2)(2)
        1.0
    """

    kind: ClassVar[str] = "cosine_warm_restarts"
    init_value: float
    period: int
    _: KW_ONLY
    period_mult: int = 1
    end_value: float = 0.0

    def __post_init__(self) -> None:
        self._set("init_value", _value("init_value", self.init_value))
        self._set("period", _steps("period", self.period))
        self._set("period_mult", _steps("period_mult", self.period_mult))
        self._set("end_value", _value("end_value", self.end_value))
        _span("init_value and end_value", self.init_value, self.end_value)

    def __call__(self, step: float) -> float:
        T0, mult = self.period, self.period_mult
        start, length = 0, T0
        if mult == 1:
            start = int(step // T0) * T0
        else:  # the periods grow geometrically: log_mult(step) iterations
            while step >= start + length:
                start += length
                length *= mult
        t_cur = step - start
        v1 = self.end_value
        return v1 + (self.init_value - v1) * (1 + math.cos(math.pi * t_cur / length)) / 2


def cosine_warm_restarts(
    init_value: float, period: int, *, period_mult: int = 1, end_value: float = 0.0
) -> CosineWarmRestarts:
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
    return CosineWarmRestarts(init_value, period, period_mult=period_mult, end_value=end_value)


# --------------------------------------------------------------------------- composition


@dataclass(frozen=True)
class JoinSchedules(Schedule):
    """The value of :func:`join_schedules` (``schedules`` kept as a tuple of values).

    Example:
        >>> import momentumlab as ml
        >>> c = ml.optim.constant_schedule
        >>> ml.optim.JoinSchedules([c(1.0), c(0.5)], [3])(3)
        0.5
    """

    kind: ClassVar[str] = "join_schedules"
    _schedule_list_fields: ClassVar[tuple[str, ...]] = ("schedules",)
    schedules: tuple[Schedule | StepFunction, ...]
    boundaries: tuple[int, ...]
    _: KW_ONLY
    shift: bool = True

    def __post_init__(self) -> None:
        schedules = self.schedules
        if not isinstance(schedules, (list, tuple)) or not schedules:
            raise ValueError(f"schedules must be a non-empty list of schedules, got {schedules!r}")
        self._set("schedules", tuple(_as_schedule(f"schedules[{i}]", s) for i, s in enumerate(schedules)))
        bounds = _boundaries("boundaries", self.boundaries)
        n = len(self.schedules) - 1
        if len(bounds) != n:
            raise ValueError(f"boundaries must have len(schedules) - 1 = {n} entries, got {len(bounds)}")
        if bounds and bounds[0] < 1:
            raise ValueError(f"boundaries must be >= 1, got {list(bounds)}")
        self._set("boundaries", bounds)
        self._set("shift", check_bool("shift", self.shift))

    @cached_property
    def _bounds(self) -> list[int]:
        return list(self.boundaries)

    @cached_property
    def _starts(self) -> list[int]:
        return [0, *self.boundaries]

    def __call__(self, step: float) -> float:
        i = bisect.bisect_right(self._bounds, step)
        return float(self.schedules[i](step - self._starts[i] if self.shift else step))

    def _at(self, steps: Array) -> Array:
        part = np.searchsorted(np.array(self._bounds, dtype=np.int64), steps, side="right")
        out = np.empty(len(steps), dtype=np.float64)
        for i, schedule in enumerate(self.schedules):
            here = part == i
            if here.any():
                x = steps[here]
                out[here] = _child_at(schedule, x - self._starts[i] if self.shift else x)
        return out


def join_schedules(
    schedules: Sequence[Schedule | StepFunction], boundaries: Sequence[int], *, shift: bool = True
) -> JoinSchedules:
    """Use ``schedules[i]`` on ``[boundaries[i-1], boundaries[i])``.

    optax's ``join_schedules``: each later schedule is *restarted* at its boundary, i.e. step
    ``t`` in part ``i`` uses ``schedules[i](t - boundaries[i-1])`` (torch's ``SequentialLR``
    restarts its schedulers the same way). ``shift=False`` passes the absolute step instead.

    Args:
        schedules: ``n >= 1`` step schedules (a plain callable is wrapped with
            :func:`custom_schedule`; a :class:`PerEpoch` must be bound first).
        boundaries: ``n - 1`` strictly increasing steps >= 1.
        shift: restart each later schedule at its boundary.

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.join_schedules(
        ...     [ml.optim.constant_schedule(1.0), ml.optim.linear_schedule(1.0, 0.0, 2)], [2])
        >>> [s(t) for t in range(5)]
        [1.0, 1.0, 1.0, 0.5, 0.0]
    """
    return JoinSchedules(tuple(schedules), boundaries, shift=shift)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Warmup(Schedule):
    """The value of :func:`warmup` (see it for the math).

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.Warmup(ml.optim.constant_schedule(1.0), 4)(1)
        0.25
    """

    kind: ClassVar[str] = "warmup"
    _schedule_fields: ClassVar[tuple[str, ...]] = ("schedule",)
    schedule: Schedule | StepFunction
    warmup_steps: int
    _: KW_ONLY
    start_value: float = 0.0
    mode: str = "linear"
    shift: bool = True

    def __post_init__(self) -> None:
        self._set("schedule", _as_schedule("schedule", self.schedule))
        self._set("warmup_steps", _steps("warmup_steps", self.warmup_steps, low=0))
        self._set("start_value", _value("start_value", self.start_value))
        self._set("mode", check_choice("mode", self.mode, ("linear", "constant")))
        self._set("shift", check_bool("shift", self.shift))

    @cached_property
    def _target(self) -> float:
        return float(self.schedule(0))

    def __call__(self, step: float) -> float:
        W = self.warmup_steps
        if step < W:
            v0 = self.start_value
            if self.mode == "constant":
                return v0
            # written as start + increase (not optax's (v0 - v1) * frac + v1) so step 0 is exactly v0
            return v0 + (self._target - v0) * step / W
        return float(self.schedule(step - W if self.shift else step))

    def _at(self, steps: Array) -> Array:
        W, v0 = self.warmup_steps, self.start_value
        out = np.empty(len(steps), dtype=np.float64)
        warm = steps < W
        if warm.any():
            out[warm] = v0 if self.mode == "constant" else v0 + (self._target - v0) * steps[warm] / W
        after = ~warm
        if after.any():
            x = steps[after]
            out[after] = _child_at(self.schedule, x - W if self.shift else x)
        return out


def warmup(
    schedule: Schedule | StepFunction,
    warmup_steps: int,
    *,
    start_value: float = 0.0,
    mode: str = "linear",
    shift: bool = True,
) -> Warmup:
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
        schedule: the step schedule after the warmup (a plain callable is wrapped with
            :func:`custom_schedule`).
        warmup_steps: ``W >= 0`` (0 gives the values of ``schedule``).
        start_value: value at step 0.
        mode: ``"linear"`` or ``"constant"``.
        shift: restart ``schedule`` at step ``W``.

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.warmup(ml.optim.constant_schedule(1.0), 4, start_value=0.2)
        >>> [round(s(t), 12) for t in range(6)]
        [0.2, 0.4, 0.6, 0.8, 1.0, 1.0]
    """
    return Warmup(schedule, warmup_steps, start_value=start_value, mode=mode, shift=shift)


# --------------------------------------------------------------------------- warmup, stable, decay

#: The decay shapes of :func:`warmup_stable_decay`: ``p`` in [0, 1] -> fraction of the peak left.
WSD_SHAPES: Mapping[str, Callable[[float], float]] = MappingProxyType(
    {
        "linear": lambda p: 1.0 - p,
        "cosine": lambda p: (1.0 + math.cos(math.pi * p)) / 2.0,
        "1-sqrt": lambda p: 1.0 - math.sqrt(p),
    }
)


@dataclass(frozen=True)
class WarmupStableDecay(Schedule):
    """The value of :func:`warmup_stable_decay` (see it for the math).

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.WarmupStableDecay(1.0, 2, 2, 4, decay_shape="1-sqrt")(5)
        0.5
    """

    kind: ClassVar[str] = "warmup_stable_decay"
    peak_value: float
    warmup_steps: int
    stable_steps: int
    decay_steps: int
    _: KW_ONLY
    decay_shape: str = "linear"
    init_value: float = 0.0
    end_value: float = 0.0

    def __post_init__(self) -> None:
        self._set("peak_value", _value("peak_value", self.peak_value))
        self._set("warmup_steps", _steps("warmup_steps", self.warmup_steps, low=0))
        self._set("stable_steps", _steps("stable_steps", self.stable_steps, low=0))
        self._set("decay_steps", _steps("decay_steps", self.decay_steps))
        self._set("decay_shape", check_choice("decay_shape", self.decay_shape, WSD_SHAPES))
        self._set("init_value", _value("init_value", self.init_value))
        self._set("end_value", _value("end_value", self.end_value))
        _span("init_value and peak_value", self.init_value, self.peak_value)
        _span("peak_value and end_value", self.peak_value, self.end_value)

    def __call__(self, step: float) -> float:
        W, S, D = self.warmup_steps, self.stable_steps, self.decay_steps
        peak = self.peak_value
        if step < W:
            return self.init_value + (peak - self.init_value) * step / W
        if step < W + S:
            return peak
        p = min(max(step - W - S, 0) / D, 1.0)
        return self.end_value + (peak - self.end_value) * WSD_SHAPES[self.decay_shape](p)

    def _at(self, steps: Array) -> Array:
        W, S, D = self.warmup_steps, self.stable_steps, self.decay_steps
        peak, v0, v1 = self.peak_value, self.init_value, self.end_value
        out = np.full(len(steps), peak, dtype=np.float64)
        warm = steps < W
        out[warm] = v0 + (peak - v0) * steps[warm] / W
        decay = steps >= W + S
        p = np.minimum(np.maximum(steps[decay] - W - S, 0) / D, 1.0)
        shape = self.decay_shape
        if shape == "linear":
            left = 1.0 - p
        elif shape == "1-sqrt":
            left = 1.0 - np.sqrt(p)  # sqrt is correctly rounded in both
        else:
            left = _per_distinct(WSD_SHAPES[shape], p)
        out[decay] = v1 + (peak - v1) * left
        return out


def warmup_stable_decay(
    peak_value: float,
    warmup_steps: int,
    stable_steps: int,
    decay_steps: int,
    *,
    decay_shape: str = "linear",
    init_value: float = 0.0,
    end_value: float = 0.0,
) -> WarmupStableDecay:
    """Warmup-stable-decay (WSD): a linear warmup, a constant stretch, then a decay.

    .. math::
        v(t) = \\begin{cases}
        v_0 + (v_p - v_0)\\,t/W & t < W \\\\
        v_p & W \\le t < W + S \\\\
        v_T + (v_p - v_T)\\,f\\big(\\min((t - W - S)/D, 1)\\big) & t \\ge W + S
        \\end{cases}

    with the decay shape ``f(p)`` ``1 - p`` (``"linear"``), ``(1 + cos(pi p))/2``
    (``"cosine"``) or ``1 - sqrt(p)`` (``"1-sqrt"``, Hägele et al. 2024). The value is
    ``init_value`` at step 0, ``peak_value`` from step ``W`` to ``W + S`` and ``end_value``
    from step ``W + S + D`` on. The linear shape equals
    ``warmup(join_schedules([constant_schedule(v_p), linear_schedule(v_p, v_T, D)], [S]), W,
    start_value=v_0)`` (for ``S >= 1``; the decay alone for ``S = 0``) and the cosine one the
    same with ``cosine_decay(v_p, D,
    end_value=v_T)`` (tested); ``"1-sqrt"`` has no other form here.

    Args:
        peak_value: ``v_p``, the value of the stable stretch.
        warmup_steps: ``W >= 0``.
        stable_steps: ``S >= 0``.
        decay_steps: ``D >= 1``.
        decay_shape: ``"linear"``, ``"cosine"`` or ``"1-sqrt"``.
        init_value: ``v_0``, the value at step 0 (when ``W > 0``).
        end_value: ``v_T``, the value after the decay.

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.warmup_stable_decay(1.0, 2, 2, 4, decay_shape="cosine")
        >>> [round(s(t), 3) for t in range(10)]
        [0.0, 0.5, 1.0, 1.0, 1.0, 0.854, 0.5, 0.146, 0.0, 0.0]
    """
    return WarmupStableDecay(
        peak_value,
        warmup_steps,
        stable_steps,
        decay_steps,
        decay_shape=decay_shape,
        init_value=init_value,
        end_value=end_value,
    )


# --------------------------------------------------------------------------- one cycle


def _anneal_cos(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _anneal_linear(start: float, end: float, pct: float) -> float:
    return (end - start) * pct + start


def _phased(
    step: float, phases: list[tuple[float, float, float]], anneal: Callable[[float, float, float], float]
) -> float:
    """The value of a path through ``(end_step, v_start, v_end)`` phases, held after the last."""
    last = len(phases) - 1
    start_step = 0.0
    for i, (end_step, v_start, v_end) in enumerate(phases):
        if step <= end_step or i == last:
            t = min(step, end_step) if i == last else step
            span = end_step - start_step
            pct = (t - start_step) / span if span else 1.0
            return anneal(v_start, v_end, pct)
        start_step = end_step
    raise AssertionError("unreachable")  # pragma: no cover


def _cycle_ends(total_steps: int, pct_start: float) -> tuple[float, float]:
    return float(pct_start * total_steps) - 1, float(2 * pct_start * total_steps) - 2


@dataclass(frozen=True)
class OneCycleLearningRate(Schedule):
    """The learning rate of :func:`one_cycle` (fields: its learning-rate arguments).

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.one_cycle(1.0, 10).learning_rate == ml.optim.OneCycleLearningRate(1.0, 10)
        True
    """

    kind: ClassVar[str] = "one_cycle_learning_rate"
    max_value: float
    total_steps: int
    _: KW_ONLY
    pct_start: float = 0.3
    anneal_strategy: str = "cos"
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    three_phase: bool = False

    def __post_init__(self) -> None:
        self._set("max_value", check_float("max_value", self.max_value, low=0.0, low_open=True))
        self._set("total_steps", _steps("total_steps", self.total_steps, low=2))
        pct = check_float("pct_start", self.pct_start, low=0.0, high=1.0, low_open=True, high_open=True)
        self._set("pct_start", pct)
        self._set("anneal_strategy", check_choice("anneal_strategy", self.anneal_strategy, ("cos", "linear")))
        self._set("div_factor", check_float("div_factor", self.div_factor, low=0.0, low_open=True))
        fdiv = check_float("final_div_factor", self.final_div_factor, low=0.0, low_open=True)
        self._set("final_div_factor", fdiv)
        self._set("three_phase", check_bool("three_phase", self.three_phase))

    @cached_property
    def _phases(self) -> list[tuple[float, float, float]]:
        top, T = self.max_value, self.total_steps
        initial = top / self.div_factor
        low = initial / self.final_div_factor
        e1, e2 = _cycle_ends(T, self.pct_start)
        if self.three_phase:
            return [(e1, initial, top), (e2, top, initial), (float(T - 1), initial, low)]
        return [(e1, initial, top), (float(T - 1), top, low)]

    def __call__(self, step: float) -> float:
        anneal = _anneal_cos if self.anneal_strategy == "cos" else _anneal_linear
        return _phased(step, self._phases, anneal)


@dataclass(frozen=True)
class OneCycleMomentum(Schedule):
    """The momentum of :func:`one_cycle` (fields: its momentum arguments).

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.OneCycleMomentum(10, anneal_strategy="linear")(2)
        0.85
    """

    kind: ClassVar[str] = "one_cycle_momentum"
    total_steps: int
    _: KW_ONLY
    pct_start: float = 0.3
    anneal_strategy: str = "cos"
    three_phase: bool = False
    base_momentum: float = 0.85
    max_momentum: float = 0.95

    def __post_init__(self) -> None:
        self._set("total_steps", _steps("total_steps", self.total_steps, low=2))
        pct = check_float("pct_start", self.pct_start, low=0.0, high=1.0, low_open=True, high_open=True)
        self._set("pct_start", pct)
        self._set("anneal_strategy", check_choice("anneal_strategy", self.anneal_strategy, ("cos", "linear")))
        self._set("three_phase", check_bool("three_phase", self.three_phase))
        m_lo = check_float("base_momentum", self.base_momentum, low=0.0, high=1.0, high_open=True)
        self._set("base_momentum", m_lo)
        m_hi = check_float("max_momentum", self.max_momentum, low=m_lo, high=1.0, high_open=True)
        self._set("max_momentum", m_hi)

    @cached_property
    def _phases(self) -> list[tuple[float, float, float]]:
        T, m_lo, m_hi = self.total_steps, self.base_momentum, self.max_momentum
        e1, e2 = _cycle_ends(T, self.pct_start)
        if self.three_phase:
            return [(e1, m_hi, m_lo), (e2, m_lo, m_hi), (float(T - 1), m_hi, m_hi)]
        return [(e1, m_hi, m_lo), (float(T - 1), m_lo, m_hi)]

    def __call__(self, step: float) -> float:
        anneal = _anneal_cos if self.anneal_strategy == "cos" else _anneal_linear
        return _phased(step, self._phases, anneal)


class OneCycle(NamedTuple):
    """The two schedules of a one-cycle policy: learning rate and the inverse momentum.

    Attributes:
        learning_rate: a :class:`OneCycleLearningRate`.
        momentum: a :class:`OneCycleMomentum`.
    """

    learning_rate: OneCycleLearningRate
    momentum: OneCycleMomentum


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
        An :class:`OneCycle` of (learning_rate, momentum) schedule values.

    Example:
        >>> import momentumlab as ml
        >>> cyc = ml.optim.one_cycle(1.0, 10, anneal_strategy="linear", div_factor=10.0)
        >>> [round(cyc.learning_rate(t), 4) for t in (0, 2, 9)], cyc.momentum(2)
        ([0.1, 1.0, 0.0], 0.85)
    """
    lr = OneCycleLearningRate(
        max_value,
        total_steps,
        pct_start=pct_start,
        anneal_strategy=anneal_strategy,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        three_phase=three_phase,
    )
    momentum = OneCycleMomentum(
        total_steps,
        pct_start=pct_start,
        anneal_strategy=anneal_strategy,
        three_phase=three_phase,
        base_momentum=base_momentum,
        max_momentum=max_momentum,
    )
    return OneCycle(lr, momentum)


# --------------------------------------------------------------------------- epochs


@dataclass(frozen=True)
class PerEpoch(Schedule):
    """A schedule stated in epochs, bound to steps when the run knows ``steps_per_epoch``.

    ``PerEpoch(s)`` means: every update of epoch ``e`` (from 0) uses ``s(e)``; with
    ``fractional=True`` update ``t`` uses ``s(t / steps_per_epoch)`` (torch's
    ``scheduler.step(epoch + i / iters)`` idiom, for smooth per-step curves stated in
    epochs). Pass it as ``RunConfig(learning_rate=...)`` or ``RunConfig(momentum=...)``; the
    runner calls :meth:`bind` with its ``steps_per_epoch``, which gives a step schedule
    (:class:`BoundPerEpoch`). Calling a ``PerEpoch`` itself gives the value during an epoch
    (from 0, floored unless ``fractional``); where a step schedule is expected
    (:func:`join_schedules`, :func:`warmup`, the MXNet bridge, the momentum optimizers) it is
    refused until bound.

    Attributes:
        schedule: epoch -> value (a plain callable is wrapped with :func:`custom_schedule`).
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

    kind: ClassVar[str] = "per_epoch"
    _schedule_fields: ClassVar[tuple[str, ...]] = ("schedule",)
    schedule: Schedule | StepFunction
    fractional: bool = False

    def __post_init__(self) -> None:
        self._set("schedule", _as_schedule("schedule", self.schedule))
        self._set("fractional", check_bool("fractional", self.fractional))

    def __call__(self, step: float) -> float:
        """The value during epoch ``step`` (from 0; floored unless ``fractional``)."""
        return float(self.schedule(step if self.fractional else int(step // 1)))

    def _at(self, steps: Array) -> Array:
        return _child_at(self.schedule, steps if self.fractional else (steps // 1).astype(np.int64))

    def bind(self, steps_per_epoch: int) -> BoundPerEpoch:
        """The per-step schedule for runs with ``steps_per_epoch`` updates per epoch."""
        return BoundPerEpoch(self.schedule, steps_per_epoch, fractional=self.fractional)


@dataclass(frozen=True)
class BoundPerEpoch(Schedule):
    """A :class:`PerEpoch` schedule bound to ``steps_per_epoch``: a step schedule.

    Update ``t`` uses ``schedule(t // steps_per_epoch)``, or ``schedule(t /
    steps_per_epoch)`` when ``fractional``.

    Example:
        >>> import momentumlab as ml
        >>> s = ml.optim.BoundPerEpoch(ml.optim.piecewise_constant([1], [1.0, 0.5]), 3)
        >>> [s(t) for t in range(5)], s == ml.optim.PerEpoch(s.schedule).bind(3)
        ([1.0, 1.0, 1.0, 0.5, 0.5], True)
    """

    kind: ClassVar[str] = "bound_per_epoch"
    _schedule_fields: ClassVar[tuple[str, ...]] = ("schedule",)
    schedule: Schedule | StepFunction
    steps_per_epoch: int
    _: KW_ONLY
    fractional: bool = False

    def __post_init__(self) -> None:
        self._set("schedule", _as_schedule("schedule", self.schedule))
        self._set("steps_per_epoch", check_int("steps_per_epoch", self.steps_per_epoch, low=1))
        self._set("fractional", check_bool("fractional", self.fractional))

    def __call__(self, step: float) -> float:
        spe = self.steps_per_epoch
        if self.fractional:
            return float(self.schedule(step / spe))
        return float(self.schedule(int(step // spe)))

    def _at(self, steps: Array) -> Array:
        spe = self.steps_per_epoch
        if self.fractional:
            return _child_at(self.schedule, steps / spe)
        epochs = (steps // spe).astype(np.int64)
        if isinstance(self.schedule, CustomSchedule):  # one call per epoch, then repeated
            return _per_distinct(self.schedule, epochs)
        return _child_at(self.schedule, epochs)


def bind_schedule(
    value: float | Schedule | StepFunction, steps_per_epoch: int
) -> float | Schedule | StepFunction:
    """Resolve a :class:`PerEpoch` to a step schedule; floats and step schedules pass through.

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.bind_schedule(0.1, 5)
        0.1
        >>> ml.optim.bind_schedule(ml.optim.PerEpoch(lambda e: 0.1 * e), 5)(12)
        0.2
    """
    check_int("steps_per_epoch", steps_per_epoch, low=1)
    if isinstance(value, PerEpoch):
        return value.bind(steps_per_epoch)
    return value


#: Decays applied by exact repeated multiplication before :meth:`EpochDecay.learning_rate`
#: applies the rest as one power (only reachable with a factor above ~0.999).
_EXACT_DECAYS = 10**6


@dataclass(frozen=True, kw_only=True)
class EpochDecay(Schedule):
    """Multiply the learning rate by ``factor`` at the start of every epoch after ``after_epoch``.

    This is the chapter's decay: with ``factor=0.1, after_epoch=2`` epochs 1 and 2 use the
    base rate, epoch 3 uses ``base*0.1``, epoch 4 ``base*0.01``, ... Epochs count from 1 in
    :meth:`learning_rate`; calling the value gives ``init_value``'s rate during an epoch
    counted from 0 (as :class:`PerEpoch` passes it), so ``PerEpoch(EpochDecay(...))`` states
    the chapter's decay as a schedule. The product is formed by repeated multiplication,
    exactly as the chapter's ``trainer.set_learning_rate(trainer.learning_rate * 0.1)``
    does, so the float64 values (and hence the runs) are bit-identical to it. The loop
    stops as soon as the value no longer changes (it reached 0.0, or ``factor == 1``), so
    any epoch is answered in bounded time: at most a million multiplications, after which
    (only possible with ``factor`` above ~0.999) the remaining decays are one power. The same
    decay as a step schedule is ``multistep_decay(base, [after_epoch*spe, (after_epoch+1)*spe,
    ...], factor)``.

    Args:
        init_value: the base value of a called ``EpochDecay``, any finite number.
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
        >>> d.learning_rate(0.2, 10**12)
        0.0
    """

    kind: ClassVar[str] = "epoch_decay"
    init_value: float = 1.0
    factor: float = 0.1
    after_epoch: int = 2

    def __post_init__(self) -> None:
        self._set("init_value", check_float("init_value", self.init_value))
        self._set("factor", check_float("factor", self.factor, low=0.0, high=1.0, low_open=True))
        self._set("after_epoch", check_int("after_epoch", self.after_epoch, low=0))

    def __call__(self, step: float) -> float:
        """The value during epoch ``step`` counted from 0 (as :class:`PerEpoch` passes it)."""
        return self.learning_rate(self.init_value, int(step) + 1)

    def _at(self, steps: Array) -> Array:
        return _per_distinct(self, np.trunc(steps).astype(np.int64))

    def learning_rate(self, base: float, epoch: int) -> float:
        """The learning rate used during ``epoch`` (1-based) for a base rate ``base``."""
        e = check_int("epoch", epoch, low=1)
        lr = float(base)
        f = self.factor
        n = max(0, e - self.after_epoch)
        for _ in range(min(n, _EXACT_DECAYS)):
            nxt = lr * f
            if nxt == lr:  # 0.0, factor 1 or a fixed point: every later product is the same
                return lr
            lr = nxt
        if n > _EXACT_DECAYS:
            lr *= f ** (n - _EXACT_DECAYS)
        return lr

    def as_schedule(self, base: float, *, steps_per_epoch: int) -> BoundPerEpoch:
        """A per-step schedule value (step counted from 0) for the base rate ``base``."""
        spe = check_int("steps_per_epoch", steps_per_epoch, low=1)
        b = check_float("base", base, low=0.0, low_open=True)
        return PerEpoch(dataclasses.replace(self, init_value=b)).bind(spe)

    def as_lr_scheduler(self, base: float, *, steps_per_epoch: int) -> ScheduleLR:
        """An ``mx.lr_scheduler.LRScheduler`` for ``gluon.Trainer(..., lr_scheduler=...)``."""
        from momentumlab.optim._bridge import as_lr_scheduler  # MXNet only when asked for

        return as_lr_scheduler(self.as_schedule(base, steps_per_epoch=steps_per_epoch))


# --------------------------------------------------------------------------- your own


@dataclass(frozen=True, eq=False)
class CustomSchedule(Schedule):
    """Any function of the step as a schedule value (see :func:`custom_schedule`).

    It compares equal only to a ``CustomSchedule`` of the very same function object and
    cannot be stored: :meth:`to_dict` raises ``ValueError``.

    Attributes:
        fn: the function ``step -> value``.

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.CustomSchedule(abs)(-2)
        2.0
    """

    kind: ClassVar[str] = "custom_schedule"
    fn: StepFunction

    def __post_init__(self) -> None:
        if isinstance(self.fn, Schedule) or not callable(self.fn):
            raise TypeError(f"fn must be a callable step -> value (not a Schedule), got {self.fn!r}")

    def __call__(self, step: float) -> float:
        return float(self.fn(step))

    def _at(self, steps: Array) -> Array:
        return np.array([float(self.fn(v)) for v in steps.tolist()], dtype=np.float64)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CustomSchedule) and other.fn is self.fn

    def __hash__(self) -> int:
        return hash((CustomSchedule, id(self.fn)))

    def to_dict(self) -> dict[str, Any]:
        """Always raises ``ValueError``: a custom schedule has no plain-data form."""
        name = getattr(self.fn, "__qualname__", None) or type(self.fn).__name__
        raise ValueError(
            f"a custom schedule cannot be stored (it wraps the function {name}, which has no "
            f"plain-data form); use a built-in schedule, one of {sorted(SCHEDULE_KINDS)}"
        )


def custom_schedule(fn: StepFunction | Schedule) -> Schedule:
    """Your own function of the step as a :class:`Schedule` value.

    It can be called, composed (:func:`join_schedules`, :func:`warmup`, :class:`PerEpoch`) and
    used in runs, and is equal to another only when it wraps the same function object; it
    cannot be stored, keyed or written in TOML (:meth:`Schedule.to_dict` raises
    ``ValueError``). A :class:`Schedule` is returned unchanged.

    Args:
        fn: a callable ``step -> value`` (from 0; fractional steps may be passed).

    Raises:
        TypeError: if ``fn`` is not callable.

    Example:
        >>> import momentumlab as ml
        >>> def inverse(t):
        ...     return 0.1 / (1 + t)
        >>> s = ml.optim.custom_schedule(inverse)
        >>> s(1), s == ml.optim.custom_schedule(inverse)
        (0.05, True)
    """
    return _as_schedule("fn", fn)


# --------------------------------------------------------------------------- plain data

#: Every storable schedule, by the ``kind`` :meth:`Schedule.to_dict` writes (the one registry).
SCHEDULE_KINDS: Mapping[str, type[Schedule]] = MappingProxyType(
    {
        cls.kind: cls
        for cls in (
            ConstantSchedule,
            PolynomialSchedule,
            LinearSchedule,
            ExponentialDecay,
            StepDecay,
            PiecewiseScales,
            MultistepDecay,
            PiecewiseConstant,
            CosineDecay,
            CosineWarmRestarts,
            JoinSchedules,
            Warmup,
            WarmupStableDecay,
            OneCycleLearningRate,
            OneCycleMomentum,
            PerEpoch,
            BoundPerEpoch,
            EpochDecay,
        )
    }
)


def schedule_from_dict(d: Mapping[str, Any]) -> Schedule:
    """The schedule value ``d`` describes: the inverse of :meth:`Schedule.to_dict`.

    ``d`` is ``{"kind": <name>, **parameters}`` with the parameters of the factory of that
    name (parameters with a default may be left out). This is also the form a TOML file
    uses, so what ``tomllib`` parses is accepted: lists for tuples, string keys for steps,
    ints where floats are expected, nested tables for nested schedules.

    Args:
        d: the mapping.

    Raises:
        ValueError: for an unknown ``kind`` or an unknown or missing parameter (the message
            lists the valid ones), or a parameter out of range.
        TypeError: for a parameter of the wrong type.

    Example:
        >>> import tomllib
        >>> import momentumlab as ml
        >>> d = tomllib.loads('lr = {kind = "cosine_decay", init_value = 1, decay_steps = 4}')["lr"]
        >>> s = ml.optim.schedule_from_dict(d)
        >>> s, s(2)
        (CosineDecay(init_value=1.0, decay_steps=4, end_value=0.0, exponent=1.0, periodic=False), 0.5)
    """
    if not isinstance(d, Mapping):
        raise TypeError(
            f"a schedule must be given as a mapping {{'kind': ..., **parameters}}, got {d!r} "
            f"of type {type(d).__name__}"
        )
    kinds = sorted(SCHEDULE_KINDS)
    if "kind" not in d:
        raise ValueError(f"a schedule mapping needs a 'kind', one of {kinds}; got keys {sorted(map(str, d))}")
    kind = d["kind"]
    if not isinstance(kind, str) or kind not in SCHEDULE_KINDS:
        raise ValueError(f"kind must be one of {kinds}, got {kind!r}")
    cls = SCHEDULE_KINDS[kind]
    return _build(kind, cls, {k: v for k, v in d.items() if k != "kind"})


def _build(kind: str, cls: type[Schedule], params: dict[Any, Any]) -> Schedule:
    fields = [f for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
    names = [f.name for f in fields]
    unknown = [k for k in params if k not in names]
    if unknown:
        raise ValueError(f"{kind} has no parameter {unknown[0]!r}; its parameters are {names}")
    no_default = dataclasses.MISSING
    missing = [f.name for f in fields if f.default is no_default and f.default_factory is no_default]
    missing = [n for n in missing if n not in params]
    if missing:
        raise ValueError(f"{kind} needs the parameter {missing[0]!r}; its parameters are {names}")
    try:
        return cls(**cls._params_from_data(params))
    except (TypeError, ValueError) as e:
        raise type(e)(f"{kind}: {e}") from e
