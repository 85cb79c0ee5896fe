"""Argument validation helpers: one place builds every error message.

Every message names the parameter, what is allowed and what was given, e.g.
``"momentum must be in [0, 1), got 1.5"``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from momentumlab._src.types import Seed


def _show(value: Any) -> str:
    return repr(value)


def check_type(name: str, value: Any, types: type | tuple[type, ...], allowed: str) -> None:
    """Raise ``TypeError`` unless ``value`` is an instance of ``types``."""
    if not isinstance(value, types):
        raise TypeError(f"{name} must be {allowed}, got {_show(value)} of type {type(value).__name__}")


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an ``int`` after checking ``low <= value <= high``.

    ``bool`` is rejected; NumPy integers are accepted.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_show(value)} of type {type(value).__name__}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{name} must be {_int_range(low, high)}, got {v}")
    return v


def _int_range(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"an integer in [{low}, {high}]"
    if low is not None:
        return f"an integer >= {low}"
    if high is not None:
        return f"an integer <= {high}"
    return "an integer"


def check_float(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` inside the given interval.

    Bounds are closed unless ``low_open``/``high_open``; ``None`` means unbounded.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_show(value)} of type {type(value).__name__}")
    v = float(value)
    allowed = _float_range(low, high, low_open, high_open)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number {allowed}, got {v}")
    too_low = low is not None and (v <= low if low_open else v < low)
    too_high = high is not None and (v >= high if high_open else v > high)
    if too_low or too_high:
        raise ValueError(f"{name} must be {allowed}, got {v!r}")
    return v


def _float_range(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is None:
        return f"> {low}" if low_open else f">= {low}"
    if high is not None and low is None:
        return f"< {high}" if high_open else f"<= {high}"
    if low is not None and high is not None:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        return f"in {left}{low}, {high}{right}"
    return "(any finite value)"


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``; the message lists the valid ones."""
    options = sorted(choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {options}, got {_show(value)}")
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a ``bool``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {_show(value)} of type {type(value).__name__}")
    return bool(value)


def as_generator(seed: Seed | Any, name: str = "seed") -> np.random.Generator:
    """Turn ``seed`` into a NumPy ``Generator`` once (never touching a global RNG)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be an int >= 0, a numpy.random.Generator or None, got {_show(seed)}")
    if int(seed) < 0:
        raise ValueError(f"{name} must be an int >= 0, a numpy.random.Generator or None, got {seed}")
    return np.random.default_rng(int(seed))


__all__ = [
    "as_generator",
    "check_bool",
    "check_choice",
    "check_float",
    "check_int",
    "check_type",
]


def check_step_values(
    name: str,
    values: Sequence[float] | npt.NDArray[Any],
    *,
    low: float | None = None,
    low_open: bool = False,
    high: float | None = None,
    high_open: bool = False,
) -> None:
    """Raise ``ValueError`` naming the first step whose value is not finite or out of range.

    For the values a schedule gives at every step (learning rates, momenta), checked
    once they are evaluated: ``"learning_rate must be a finite number >= 0.0 at every
    step, got -0.1 at step 12"``. Bounds as in :func:`check_float`.

    Example:
        >>> from momentumlab._src.checks import check_step_values
        >>> check_step_values("momentum", [0.0, 0.5, 0.9], low=0.0, high=1.0, high_open=True)
        >>> check_step_values("learning_rate", [0.1, 0.1, -0.1], low=0.0)
        Traceback (most recent call last):
        ...
        ValueError: learning_rate must be a finite number >= 0.0 at every step, got -0.1 at step 2
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of numbers (one per step), got {_show(values)}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one number per step (1-D), got shape {arr.shape}")
    ok = np.isfinite(arr)
    if low is not None:
        ok &= arr > low if low_open else arr >= low
    if high is not None:
        ok &= arr < high if high_open else arr <= high
    if not ok.all():
        step = int(np.argmin(ok))
        allowed = "" if low is None and high is None else " " + _float_range(low, high, low_open, high_open)
        raise ValueError(
            f"{name} must be a finite number{allowed} at every step, got {float(arr[step])!r} at step {step}"
        )


__all__ += ["check_step_values"]
