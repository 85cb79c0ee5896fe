"""Argument validation helpers: one place builds every error message.

Every message names the parameter, what is allowed and what was given, e.g.
``"momentum must be in [0, 1), got 1.5"``.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterable, Mapping, Sequence
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
    arr = check_array(name, values, ndim=1, finite=False, allow_empty=True)
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


def check_per_step(
    name: str,
    value: Any,
    n: int,
    *,
    per: str = "learning rate",
    low: float | None = None,
    low_open: bool = False,
    high: float | None = None,
    high_open: bool = False,
) -> npt.NDArray[np.float64]:
    """Return ``value``, a number or one number per step, as ``n`` float64 values after checking them.

    A number is checked as by :func:`check_float` and repeated; a sequence must hold exactly
    ``n`` values (one per ``per``), each checked as by :func:`check_step_values`.

    Example:
        >>> from momentumlab._src.checks import check_per_step
        >>> check_per_step("momentum", 0.9, 3).tolist()
        [0.9, 0.9, 0.9]
        >>> check_per_step("momentum", [0.9, 0.5], 3)
        Traceback (most recent call last):
        ...
        ValueError: momentum must be a float or one value per learning rate (3), got 2 values
    """
    bounds: dict[str, Any] = {"low": low, "low_open": low_open, "high": high, "high_open": high_open}
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if not isinstance(value, bool) and isinstance(value, numbers.Real):
        return np.full(n, check_float(name, value, **bounds))
    arr = check_array(name, value, ndim=1, finite=False, allow_empty=True)
    if arr.size != n:
        raise ValueError(f"{name} must be a float or one value per {per} ({n}), got {arr.size} values")
    check_step_values(name, arr, **bounds)
    return arr


__all__ += ["check_per_step"]


def _dims(ndim: int | tuple[int, ...] | None) -> str:
    if ndim is None:
        return ""
    dims = (ndim,) if isinstance(ndim, int) else ndim
    return " or ".join(f"{d}-D" for d in dims) + " "


def _index(idx: tuple[int, ...]) -> str:
    return "" if not idx else "[" + ", ".join(str(i) for i in idx) + "]"


def check_array(
    name: str,
    value: Any,
    *,
    ndim: int | tuple[int, ...] | None = None,
    shape: tuple[int | None, ...] | None = None,
    finite: bool = True,
    low: float | None = None,
    low_open: bool = False,
    high: float | None = None,
    high_open: bool = False,
    allow_empty: bool = False,
    dtype: type = float,
) -> npt.NDArray[Any]:
    """Return ``value`` as a float64 (or, with ``dtype=int``, int64) array after checking it.

    Accepts a NumPy array, a (nested) sequence of real numbers, a scalar when ``ndim``
    allows 0, or an object with ``.asnumpy()`` (an MXNet NDArray, read without importing
    MXNet). Checked in order: the type (``None``, strings, complex, booleans, mappings,
    ragged or non-numeric input raise ``TypeError``), the number of dimensions, the shape
    (``None`` in ``shape`` matches any size), emptiness, finiteness, whole numbers for
    ``dtype=int``, and the bounds (closed unless ``low_open``/``high_open``). A value out of
    range is named by its index: ``"eigenvalues[2] must be > 0.0, got -1.0"``.

    Example:
        >>> from momentumlab._src.checks import check_array
        >>> check_array("weight", [2.0, -3.4], ndim=1).tolist()
        [2.0, -3.4]
        >>> check_array("weight", "abc", ndim=1)
        Traceback (most recent call last):
        ...
        TypeError: weight must be a finite 1-D array of numbers, got 'abc' of type str
        >>> check_array("eigenvalues", [1.0, 0.5, -1.0], ndim=1, low=0.0, low_open=True)
        Traceback (most recent call last):
        ...
        ValueError: eigenvalues[2] must be a finite number > 0.0, got -1.0
    """
    integer = dtype is int
    noun = "integers" if integer else "numbers"
    bounds = "" if low is None and high is None else " " + _float_range(low, high, low_open, high_open)
    fin = "finite " if finite and not integer else ""
    kind = f"{fin}{_dims(ndim)}array of {noun}{bounds}"
    what = f"{name} must be {'an' if kind[0] == 'a' else 'a'} {kind}"
    given = value
    if hasattr(value, "asnumpy") and not isinstance(value, np.ndarray):
        value = value.asnumpy()
    if value is None or isinstance(value, (str, bytes, Mapping, set, frozenset)):
        raise TypeError(f"{what}, got {_show(given)} of type {type(given).__name__}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", np.VisibleDeprecationWarning)
            raw = np.asarray(value)
    except (TypeError, ValueError, np.VisibleDeprecationWarning):
        raise TypeError(f"{what} (a rectangular one), got {_show(given)}") from None
    if raw.dtype.kind == "O":  # mixed input: every entry must be a real number (None is not nan)
        real = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in raw.ravel())
        if not real:
            raise TypeError(f"{what}, got {_show(given)}")
        raw = np.asarray(raw.tolist())
    if raw.dtype.kind not in ("iu" if integer else "iuf") and not (raw.size == 0 and raw.dtype.kind == "f"):
        raise TypeError(f"{what}, got {_show(given)} (dtype {raw.dtype})")
    dims = None if ndim is None else ((ndim,) if isinstance(ndim, int) else ndim)
    if dims is not None and raw.ndim not in dims:
        raise ValueError(f"{what}, got shape {raw.shape}")
    if shape is not None and (
        len(shape) != raw.ndim or any(s not in (None, n) for s, n in zip(shape, raw.shape, strict=False))
    ):
        sizes = ", ".join("any" if s is None else str(s) for s in shape)
        want = f"({sizes},)" if len(shape) == 1 else f"({sizes})"
        raise ValueError(f"{name} must have shape {want}, got shape {raw.shape}")
    if raw.size == 0 and not allow_empty:
        raise ValueError(f"{what} with at least one value, got an empty array of shape {raw.shape}")
    arr = np.asarray(raw, dtype=np.float64)
    ok = np.isfinite(arr) if finite else np.ones(arr.shape, dtype=bool)
    if low is not None:
        ok &= arr > low if low_open else arr >= low
    if high is not None:
        ok &= arr < high if high_open else arr <= high
    if not ok.all():
        idx = tuple(int(i) for i in np.argwhere(~ok)[0])
        at = f"{name}{_index(idx)}"
        if integer:
            raise ValueError(f"{at} must be {_int_range(_ceil(low), _floor(high))}, got {int(raw[idx])}")
        raise ValueError(f"{at} must be a {fin}number{bounds}, got {float(arr[idx])!r}")
    return np.asarray(raw, dtype=np.int64) if integer else arr


def _ceil(bound: float | None) -> int | None:
    return None if bound is None else math.ceil(bound)


def _floor(bound: float | None) -> int | None:
    return None if bound is None else math.floor(bound)


__all__ += ["check_array"]


def check_overflow(what: str, terms: Mapping[str, tuple[Any, Any]], *, dtype: type = np.float32) -> None:
    """Raise ``ValueError`` naming the parameters whose values make ``what`` overflow.

    ``terms`` maps each parameter to ``(the value given, its contribution to what)``, the
    contributions adding up to ``what``. Nothing happens when the sum is finite in ``dtype``
    (float32 for data, what training reads). Otherwise the parameters named are those whose
    own contribution is not finite in ``dtype``; when each is finite and only their sum
    overflows, every parameter with a non-zero contribution is named. Computing the
    contributions may overflow: do it under ``np.errstate(over="ignore", invalid="ignore")``.

    Example:
        >>> import numpy as np
        >>> from momentumlab._src.checks import check_overflow
        >>> eps = np.ones(3)
        >>> check_overflow("labels", {"bias": (4.2, 4.2), "noise": (0.1, 0.1 * eps)})
        >>> check_overflow("labels", {"bias": (4.2, 4.2), "noise": (1e300, 1e300 * eps)})
        Traceback (most recent call last):
        ...
        ValueError: noise=1e+300 makes the labels non-finite (they overflow float32); use smaller values
    """
    with np.errstate(over="ignore", invalid="ignore"):
        wide = [np.asarray(part, dtype=np.float64) for _, part in terms.values()]
        total: npt.NDArray[Any] = sum(wide, start=np.zeros((), dtype=np.float64)).astype(dtype)
        if np.isfinite(total).all():
            return
        parts: dict[str, npt.NDArray[Any]] = {k: w.astype(dtype) for k, w in zip(terms, wide, strict=True)}
        named = [k for k, part in parts.items() if not np.isfinite(part).all()]
        named = named or [k for k, part in parts.items() if np.any(part != 0)] or list(parts)
    given = " and ".join(f"{k}={_short(terms[k][0])}" for k in named)
    verb = "makes" if len(named) == 1 else "make"
    raise ValueError(
        f"{given} {verb} the {what} non-finite (they overflow {np.dtype(dtype).name}); use smaller values"
    )


def _short(value: Any) -> str:
    text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= 60 else text[:57] + "..."


__all__ += ["check_overflow"]
