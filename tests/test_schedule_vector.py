"""Schedules evaluated for many steps at once equal the scalar loop bit for bit."""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import momentumlab.optim as o
from momentumlab.optim import Schedule
from tests.test_schedule_values import schedules


def scalar_loop(s: Schedule, steps: list[float]) -> npt.NDArray[np.float64]:
    return np.array([float(s(t)) for t in steps], dtype=np.float64)


def nodes(s: Schedule) -> list[Schedule]:
    """``s`` and every schedule nested in it."""
    out, stack = [], [s]
    while stack:
        x = stack.pop()
        out.append(x)
        for name in ("schedule", "schedules"):
            v = getattr(x, name, None)
            if isinstance(v, Schedule):
                stack.append(v)
            elif isinstance(v, tuple):
                stack.extend(c for c in v if isinstance(c, Schedule))
    return out


def same_bits(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> bool:
    """Equal including the sign of zero and NaN payload positions (array_equal with NaN equal)."""
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


@settings(max_examples=300, deadline=None)
@given(schedules, st.integers(0, 400))
def test_values_equal_the_scalar_loop(s: Schedule, n: int) -> None:
    for x in nodes(s):  # the drawn schedule and every schedule nested in it
        got = x.per_step(n)
        want = scalar_loop(x, list(range(n)))
        assert np.array_equal(got, want, equal_nan=True), (x, got, want)
        assert same_bits(got, want)


@settings(max_examples=200, deadline=None)
@given(schedules, st.lists(st.floats(0.0, 500.0, allow_subnormal=False), min_size=0, max_size=60))
def test_at_fractional_steps_equals_the_scalar_loop(s: Schedule, steps: list[float]) -> None:
    for x in nodes(s):
        assert same_bits(x.at(np.array(steps, dtype=np.float64)), scalar_loop(x, steps)), x


@functools.cache
def generated_kinds() -> frozenset[str]:
    """Every kind the strategy reaches, nested ones included (drawn once for the module)."""
    seen: set[str] = set()

    @settings(max_examples=500, deadline=None, database=None)
    @given(schedules)
    def collect(s: Schedule) -> None:
        seen.update(x.kind for x in nodes(s))

    collect()
    return frozenset(seen)


@pytest.mark.parametrize("kind", sorted(o.SCHEDULE_KINDS))
def test_every_kind_is_generated(kind: str) -> None:
    """The strategy reaches every registered kind (so the laws above cover them all)."""
    assert kind in generated_kinds()


def test_custom_schedule_is_called_at_every_step_in_order() -> None:
    calls: list[int] = []

    def fn(t: int) -> float:
        calls.append(t)
        return 0.1 / (1 + t)

    got = o.custom_schedule(fn).per_step(5)
    assert calls == [0, 1, 2, 3, 4]
    assert got.tolist() == [0.1 / (1 + t) for t in range(5)]


def test_epoch_schedules_call_the_scalar_once_per_epoch() -> None:
    calls: list[int] = []

    def fn(e: int) -> float:
        calls.append(e)
        return 0.5**e

    got = o.PerEpoch(fn).bind(4).per_step(12)
    assert sorted(calls) == [0, 1, 2]
    assert got.tolist() == [1.0] * 4 + [0.5] * 4 + [0.25] * 4


def test_chapter_decay_values() -> None:
    s = o.PerEpoch(o.EpochDecay(init_value=0.2, factor=0.1, after_epoch=2)).bind(10)
    got = s.per_step(30)
    assert got[:20].tolist() == [0.2] * 20
    assert got[20:].tolist() == [0.2 * 0.1] * 10


def test_values_and_at_reject_bad_input() -> None:
    s = o.constant_schedule(0.1)
    with pytest.raises(ValueError, match=r"n_steps must be .*>= 0.*got -1"):
        s.per_step(-1)
    with pytest.raises(TypeError, match="n_steps"):
        s.per_step(2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="steps must be a 1-D sequence of real numbers"):
        s.at([[0, 1]])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="steps must be a 1-D sequence of real numbers"):
        s.at(["a"])  # type: ignore[list-item]
    assert s.per_step(0).shape == (0,)
    assert s.per_step(3).dtype == np.float64
