"""The validation helpers of ``momentumlab._src.checks`` that build array and overflow messages."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis.extra import numpy as hnp

from momentumlab._src.checks import check_array, check_overflow


@pytest.mark.parametrize(
    ("value", "kwargs", "exc", "message"),
    [
        (
            None,
            {"ndim": 1},
            TypeError,
            r"^w must be a finite 1-D array of numbers, got None of type NoneType$",
        ),
        ("abc", {}, TypeError, r"^w must be a finite array of numbers, got 'abc' of type str$"),
        ({"a": 1.0}, {}, TypeError, r"got \{'a': 1.0\} of type dict"),
        (
            [1.0, 5j],
            {},
            TypeError,
            r"w must be a finite array of numbers, got \[1.0, 5j\] \(dtype complex128\)",
        ),
        ([True, False], {}, TypeError, r"\(dtype bool\)"),
        ([[1.0], [1.0, 2.0]], {}, TypeError, r"w must be a finite array of numbers \(a rectangular one\)"),
        ([1.0, None], {}, TypeError, r"got \[1.0, None\]"),
        (
            [[1.0]],
            {"ndim": (0, 1)},
            ValueError,
            r"w must be a finite 0-D or 1-D array of numbers, got shape \(1, 1\)",
        ),
        ([1.0, 2.0], {"shape": (3,)}, ValueError, r"^w must have shape \(3,\), got shape \(2,\)$"),
        (
            [[1.0, 2.0]],
            {"shape": (None, 3)},
            ValueError,
            r"^w must have shape \(any, 3\), got shape \(1, 2\)$",
        ),
        ([], {}, ValueError, r"w must be a finite array of numbers with at least one value, got an empty"),
        ([1.0, math.nan], {}, ValueError, r"^w\[1\] must be a finite number, got nan$"),
        ([[1.0, 2.0], [3.0, -math.inf]], {}, ValueError, r"^w\[1, 1\] must be a finite number, got -inf$"),
        (
            [1.0, 0.0],
            {"low": 0.0, "low_open": True},
            ValueError,
            r"^w\[1\] must be a finite number > 0.0, got 0.0$",
        ),
        (
            [0.5, 1.0],
            {"low": 0.0, "high": 1.0, "high_open": True},
            ValueError,
            r"^w\[1\] .* in \[0.0, 1.0\), got 1.0",
        ),
        ([2, 0], {"dtype": int, "low": 1}, ValueError, r"^w\[1\] must be an integer >= 1, got 0$"),
        (
            [2, 1.5],
            {"dtype": int},
            TypeError,
            r"^w must be an array of integers, got \[2, 1.5\] \(dtype float64\)$",
        ),
        ([True], {"dtype": int, "ndim": 1}, TypeError, r"^w must be a 1-D array of integers, got \[True\]"),
    ],
)
def test_check_array_names_the_parameter_the_rule_and_the_value(
    value: Any, kwargs: dict[str, Any], exc: type[Exception], message: str
) -> None:
    with pytest.raises(exc, match=message):
        check_array("w", value, **kwargs)


def test_check_array_returns_float64_or_int64_and_reads_asnumpy() -> None:
    class FakeNDArray:
        def asnumpy(self) -> np.ndarray[Any, Any]:
            return np.array([1.0, 2.0], dtype=np.float32)

    out = check_array("w", FakeNDArray(), ndim=1)
    assert out.dtype == np.float64
    assert out.tolist() == [1.0, 2.0]
    ints = check_array("hidden", (3, 4), ndim=1, dtype=int, low=1)
    assert ints.dtype == np.int64
    assert ints.tolist() == [3, 4]
    assert check_array("b", 4.2, ndim=(0, 1)).shape == ()
    assert check_array("e", [], allow_empty=True).shape == (0,)
    assert check_array("hidden", (), dtype=int, allow_empty=True).dtype == np.int64
    assert math.isnan(check_array("v", [math.nan], finite=False)[0])


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=4)))
def test_check_array_accepts_exactly_the_finite_arrays_inside_the_bounds(arr: np.ndarray[Any, Any]) -> None:
    """A law: the helper returns the values unchanged iff they are all finite and >= 0."""
    ok = bool(np.all(np.isfinite(arr)) and np.all(arr >= 0))
    if ok:
        np.testing.assert_array_equal(check_array("x", arr, low=0.0), arr)
    else:
        with pytest.raises(ValueError, match=r"^x\[[0-9, ]+\] must be a finite number >= 0.0, got "):
            check_array("x", arr, low=0.0)


def test_check_overflow_names_the_parameter_whose_term_overflows() -> None:
    eps = np.ones(3)
    check_overflow("labels", {"bias": (4.2, 4.2), "noise": (0.1, 0.1 * eps)})  # finite: nothing
    with pytest.raises(
        ValueError, match=r"^noise=1e\+300 makes the labels non-finite \(they overflow float32\)"
    ):
        check_overflow("labels", {"bias": (4.2, 4.2), "noise": (1e300, 1e300 * eps)})
    # each term fits in float32, their sum does not: every contributing parameter is named
    with pytest.raises(ValueError, match=r"^bias=3e\+38 and noise=3e\+38 make the labels non-finite"):
        check_overflow("labels", {"bias": (3e38, 3e38), "noise": (3e38, 3e38 * eps), "weight": (0.0, 0.0)})
    with pytest.raises(ValueError, match=r"^weight=\[1e\+300, 1.0\] makes the loss non-finite .* float64"):
        check_overflow("loss", {"weight": (np.array([1e300, 1.0]), np.array([math.inf]))}, dtype=np.float64)
