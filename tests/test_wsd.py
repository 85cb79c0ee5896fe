"""Warmup-stable-decay schedules: their shapes, their equal forms, storage and sweeps."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import momentumlab as ml

o = ml.optim


@settings(max_examples=150, deadline=None)
@given(
    st.floats(0.01, 2.0),
    st.integers(0, 20),
    st.integers(0, 20),
    st.integers(1, 30),
    st.floats(0.0, 0.5),
    st.floats(0.0, 0.5),
)
def test_linear_and_cosine_wsd_equal_their_composed_forms(
    peak: float, W: int, S: int, D: int, v0: float, vT: float
) -> None:
    decays = {
        "linear": o.linear_schedule(peak, vT, D),
        "cosine": o.cosine_decay(peak, D, end_value=vT),
    }
    for shape, decay in decays.items():
        wsd = o.warmup_stable_decay(peak, W, S, D, decay_shape=shape, init_value=v0, end_value=vT)
        stable_then_decay = o.join_schedules([o.constant_schedule(peak), decay], [S]) if S else decay
        joined = o.warmup(stable_then_decay, W, start_value=v0)
        for t in range(W + S + D + 5):
            assert math.isclose(wsd(t), joined(t), rel_tol=1e-12, abs_tol=1e-12), (shape, t)


@settings(max_examples=150, deadline=None)
@given(
    st.floats(0.01, 2.0),
    st.integers(0, 20),
    st.integers(0, 20),
    st.integers(1, 30),
    st.sampled_from(sorted(o.WSD_SHAPES)),
)
def test_wsd_phases(peak: float, W: int, S: int, D: int, shape: str) -> None:
    s = o.warmup_stable_decay(peak, W, S, D, decay_shape=shape, end_value=0.0)
    values = np.array([s(t) for t in range(W + S + D + 3)])
    assert values[0] == (0.0 if W else peak)
    np.testing.assert_array_equal(values[W : W + S + 1], peak)  # stable, and the decay starts at the peak
    assert np.all(np.diff(values[: W + 1]) >= 0)
    assert np.all(np.diff(values[W + S :]) <= 1e-15)  # the decay never rises
    np.testing.assert_array_equal(values[W + S + D :], 0.0)


def test_1_sqrt_shape_values() -> None:
    s = o.warmup_stable_decay(1.0, 0, 0, 4, decay_shape="1-sqrt", end_value=0.2)
    np.testing.assert_allclose(
        [s(t) for t in range(6)],
        [1.0, 0.6, 0.8 * (1 - math.sqrt(0.5)) + 0.2, 0.8 * (1 - math.sqrt(0.75)) + 0.2, 0.2, 0.2],
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"decay_shape": "sqrt"},
            ValueError,
            "decay_shape must be one of ['1-sqrt', 'cosine', 'linear'], got 'sqrt'",
        ),
        ({"decay_steps": 0}, ValueError, "decay_steps must be an integer >= 1, got 0"),
        ({"warmup_steps": -1}, ValueError, "warmup_steps must be an integer >= 0, got -1"),
        ({"stable_steps": 1.5}, TypeError, "stable_steps must be an integer, got 1.5"),
        ({"peak_value": math.inf}, ValueError, "peak_value must be a finite number"),
    ],
)
def test_wsd_checks_its_parameters(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    params: dict[str, Any] = {
        "peak_value": 0.1,
        "warmup_steps": 2,
        "stable_steps": 3,
        "decay_steps": 4,
        **kwargs,
    }
    with pytest.raises(error, match=re.escape(message)):
        o.warmup_stable_decay(**params)


def test_wsd_is_stored_and_swept_like_the_others() -> None:
    s = o.warmup_stable_decay(0.2, 5, 10, 15, decay_shape="1-sqrt", end_value=0.002)
    d = s.to_dict()
    assert d == {
        "kind": "warmup_stable_decay",
        "peak_value": 0.2,
        "warmup_steps": 5,
        "stable_steps": 10,
        "decay_steps": 15,
        "decay_shape": "1-sqrt",
        "init_value": 0.0,
        "end_value": 0.002,
    }
    assert o.schedule_from_dict(d) == s
    base = ml.RunConfig(learning_rate=s, epochs=1, batch_size=4)
    assert ml.RunConfig.from_dict(base.to_dict()) == base
    changed = ml.sweep.apply_changes(
        base, {"learning_rate.decay_shape": "cosine", "learning_rate.peak_value": 0.1}
    )
    assert changed.learning_rate == o.warmup_stable_decay(
        0.1, 5, 10, 15, decay_shape="cosine", end_value=0.002
    )
    points = ml.sweep.grid(base, {"learning_rate.decay_shape": sorted(o.WSD_SHAPES)})
    shapes = [ml.sweep.field_value(p.config, "learning_rate.decay_shape") for p in points]
    assert shapes == ["1-sqrt", "cosine", "linear"]
    result = ml.train(base, ml.data.make_linear_regression(n_samples=120, seed=0))
    np.testing.assert_allclose(result.learning_rates, [s(t) for t in range(30)])
