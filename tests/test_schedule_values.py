"""Schedules are values: equality, hashing, plain data, TOML, pickling, validation.

The values themselves are checked against torch/optax references in ``test_schedules.py``;
here the laws of a value: ``schedule_from_dict(s.to_dict()) == s`` with the same value at
every step, through TOML text and pickling too, for generated schedules of every kind
(nested joins, warmups and epoch wrappers included).
"""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
import time
import tomllib
from collections.abc import Callable
from typing import Any

import mxnet as mx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import momentumlab as ml
from momentumlab._src.checks import check_step_values
from momentumlab.optim import Schedule, schedule_from_dict

o = ml.optim

STEPS = [*range(0, 130), 150.5, 999, 10**6, 2.25, 7 / 3]

# --------------------------------------------------------------------------- generated schedules

values_ = st.floats(-5.0, 5.0, allow_nan=False, allow_subnormal=False)
positive = st.floats(0.01, 5.0)
lengths = st.integers(1, 40)
begins = st.integers(0, 10)


@st.composite
def increasing(draw: st.DrawFn, low: int = 0, min_size: int = 0) -> list[int]:
    return sorted(set(draw(st.lists(st.integers(low, 150), min_size=min_size, max_size=5))))


@st.composite
def piecewise_scales(draw: st.DrawFn) -> Schedule:
    bs = draw(increasing())
    return o.piecewise_scales(draw(values_), {b: draw(st.floats(0.0, 3.0)) for b in bs})


@st.composite
def piecewise_constant(draw: st.DrawFn) -> Schedule:
    bs = draw(increasing())
    return o.piecewise_constant(bs, [draw(values_) for _ in range(len(bs) + 1)])


def _leaves() -> st.SearchStrategy[Schedule]:
    return st.one_of(
        st.builds(o.constant_schedule, values_),
        st.builds(
            o.polynomial_schedule, values_, values_, st.floats(0.1, 4.0), lengths, transition_begin=begins
        ),
        st.builds(o.linear_schedule, values_, values_, lengths, transition_begin=begins),
        st.builds(
            o.exponential_decay,
            values_,
            st.floats(0.05, 2.0),
            transition_steps=lengths,
            transition_begin=begins,
            staircase=st.booleans(),
            end_value=st.none() | values_,
        ),
        st.builds(o.step_decay, values_, lengths, st.floats(0.05, 1.5)),
        piecewise_scales(),
        st.builds(o.multistep_decay, values_, increasing(), st.floats(0.0, 1.5)),
        piecewise_constant(),
        st.builds(
            o.cosine_decay,
            values_,
            lengths,
            end_value=values_,
            exponent=st.floats(0.2, 3.0),
            periodic=st.booleans(),
        ),
        st.builds(o.cosine_warm_restarts, values_, lengths, period_mult=st.integers(1, 3), end_value=values_),
        st.builds(
            lambda *a, **k: o.one_cycle(*a, **k).learning_rate,
            positive,
            st.integers(2, 100),
            pct_start=st.floats(0.05, 0.95),
            anneal_strategy=st.sampled_from(["cos", "linear"]),
            three_phase=st.booleans(),
        ),
        st.builds(
            o.OneCycleMomentum,
            st.integers(2, 100),
            base_momentum=st.floats(0.0, 0.5),
            max_momentum=st.floats(0.5, 0.99),
            three_phase=st.booleans(),
        ),
        st.builds(
            o.warmup_stable_decay,
            values_,
            st.integers(0, 20),
            st.integers(0, 20),
            lengths,
            decay_shape=st.sampled_from(sorted(o.WSD_SHAPES)),
            init_value=values_,
            end_value=values_,
        ),
        st.builds(
            o.EpochDecay, init_value=values_, factor=st.floats(0.01, 1.0), after_epoch=st.integers(0, 5)
        ),
    )


@st.composite
def _joined(draw: st.DrawFn, children: st.SearchStrategy[Schedule]) -> Schedule:
    parts = draw(st.lists(children, min_size=1, max_size=3))
    gaps = draw(st.lists(st.integers(1, 40), min_size=len(parts) - 1, max_size=len(parts) - 1))
    return o.join_schedules(parts, [sum(gaps[: i + 1]) for i in range(len(gaps))], shift=draw(st.booleans()))


def _nested(children: st.SearchStrategy[Schedule]) -> st.SearchStrategy[Schedule]:
    return st.one_of(
        _joined(children),
        st.builds(
            o.warmup,
            children,
            st.integers(0, 30),
            start_value=values_,
            mode=st.sampled_from(["linear", "constant"]),
            shift=st.booleans(),
        ),
        st.builds(o.BoundPerEpoch, children, st.integers(1, 9), fractional=st.booleans()),
    )


step_schedules = st.recursive(_leaves(), _nested, max_leaves=6)
#: every storable kind: step schedules and epoch-stated ones (a PerEpoch holds a step schedule)
schedules = st.one_of(step_schedules, st.builds(o.PerEpoch, step_schedules, fractional=st.booleans()))


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def assert_same_values(a: Schedule, b: Schedule) -> None:
    for t in STEPS:
        x, y = a(t), b(t)
        assert same(x, y), (t, x, y)
        assert type(x) is float


def kinds_in(d: Any) -> set[str]:
    if isinstance(d, dict):
        own = {d["kind"]} if isinstance(d.get("kind"), str) else set()
        return own.union(*(kinds_in(v) for v in d.values()))
    if isinstance(d, list):
        return set().union(*(kinds_in(v) for v in d))
    return set()


# --------------------------------------------------------------------------- a tiny TOML writer


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)  # '0.1', '1e-05', '1e+16': all TOML floats (values are finite)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise AssertionError(f"not TOML-safe: {v!r} of type {type(v).__name__}")


def assert_plain(d: Any) -> None:
    """Only what TOML holds: str keys, no None, str/int/float/bool/list/dict leaves."""
    if isinstance(d, dict):
        assert all(isinstance(k, str) for k in d), d
        for v in d.values():
            assert v is not None
            assert_plain(v)
    elif isinstance(d, list):
        for v in d:
            assert_plain(v)
    else:
        assert isinstance(d, (str, int, float, bool)), d


# --------------------------------------------------------------------------- the laws


@settings(max_examples=250, deadline=None)
@given(schedules)
def test_to_dict_and_back_gives_an_equal_value_with_the_same_values(s: Schedule) -> None:
    d = s.to_dict()
    assert_plain(d)
    assert d["kind"] == s.kind
    assert d["kind"] in o.SCHEDULE_KINDS
    back = schedule_from_dict(d)
    assert back == s
    assert hash(back) == hash(s)
    assert type(back) is type(s)
    assert back.to_dict() == d
    assert_same_values(back, s)


@settings(max_examples=150, deadline=None)
@given(schedules)
def test_toml_text_round_trip(s: Schedule) -> None:
    d = s.to_dict()
    parsed = tomllib.loads(f"learning_rate = {toml_value(d)}\n")["learning_rate"]
    assert parsed == d
    # ints stay ints and floats stay floats through the text
    assert json.dumps(parsed, sort_keys=True) == json.dumps(d, sort_keys=True)
    back = schedule_from_dict(parsed)
    assert back == s
    assert_same_values(back, s)


@settings(max_examples=100, deadline=None)
@given(schedules)
def test_pickle_round_trip(s: Schedule) -> None:
    s(3)  # fill any cached helper first: it must not change what is pickled into something else
    back = pickle.loads(pickle.dumps(s))
    assert back == s
    assert hash(back) == hash(s)
    assert_same_values(back, s)


@settings(max_examples=100, deadline=None)
@given(schedules)
def test_repr_names_the_class_and_every_parameter_and_rebuilds(s: Schedule) -> None:
    text = repr(s)
    assert text.startswith(type(s).__name__ + "(")
    for f in dataclasses.fields(s):  # type: ignore[arg-type]
        assert f"{f.name}=" in text
    assert "<function" not in text
    assert "object at 0x" not in text
    assert eval(text, {}, dict(vars(o))) == s


@settings(max_examples=100, deadline=None)
@given(schedules, schedules)
def test_equality_is_the_equality_of_the_parameters(a: Schedule, b: Schedule) -> None:
    assert (a == b) == (a.to_dict() == b.to_dict())
    if a == b:
        assert hash(a) == hash(b)


@settings(max_examples=60, deadline=None)
@given(schedules)
def test_values_are_pure(s: Schedule) -> None:
    forward = [s(t) for t in range(60)]
    backward = [s(t) for t in reversed(range(60))][::-1]
    assert all(same(x, y) for x, y in zip(forward, backward, strict=True))


def test_every_kind_is_generated_and_registered() -> None:
    seen: set[str] = set()

    @settings(max_examples=400, deadline=None, derandomize=True)
    @given(schedules)
    def collect(s: Schedule) -> None:
        seen.update(kinds_in(s.to_dict()))

    collect()
    assert seen == set(o.SCHEDULE_KINDS)
    for kind, cls in o.SCHEDULE_KINDS.items():
        assert cls.kind == kind
        assert issubclass(cls, Schedule)
        params: Any = getattr(cls, "__dataclass_params__", None)  # set by @dataclass
        assert params is not None
        assert params.frozen


# --------------------------------------------------------------------------- the factories


@pytest.mark.parametrize(
    ("factory_value", "class_value"),
    [
        (o.constant_schedule(0.2), o.ConstantSchedule(0.2)),
        (o.polynomial_schedule(1.0, 0.0, 2.0, 4), o.PolynomialSchedule(1.0, 0.0, 2.0, 4)),
        (o.linear_schedule(1, 0, 4), o.LinearSchedule(1.0, 0.0, 4)),
        (o.exponential_decay(1.0, 0.5), o.ExponentialDecay(1.0, 0.5)),
        (o.step_decay(1.0, 3, 0.1), o.StepDecay(1.0, 3, 0.1)),
        (o.piecewise_scales(1.0, {4: 0.1, 2: 0.5}), o.PiecewiseScales(1.0, ((2, 0.5), (4, 0.1)))),
        (o.multistep_decay(0.2, [2, 3], 0.1), o.MultistepDecay(0.2, (2, 3), 0.1)),
        (o.piecewise_constant([2], [1.0, 0.5]), o.PiecewiseConstant((2,), (1.0, 0.5))),
        (o.cosine_decay(0.2, 100), o.CosineDecay(0.2, 100)),
        (o.cosine_warm_restarts(0.2, 10), o.CosineWarmRestarts(0.2, 10)),
        (o.warmup(o.cosine_decay(0.2, 9), 3), o.Warmup(o.CosineDecay(0.2, 9), 3)),
        (o.warmup_stable_decay(0.2, 3, 4, 5), o.WarmupStableDecay(0.2, 3, 4, 5)),
        (o.one_cycle(1.0, 10).learning_rate, o.OneCycleLearningRate(1.0, 10)),
        (o.one_cycle(1.0, 10).momentum, o.OneCycleMomentum(10)),
        (o.PerEpoch(o.constant_schedule(1.0)).bind(3), o.BoundPerEpoch(o.ConstantSchedule(1.0), 3)),
        (
            o.join_schedules([o.constant_schedule(1.0), o.cosine_decay(1.0, 5)], [2]),
            o.JoinSchedules((o.ConstantSchedule(1.0), o.CosineDecay(1.0, 5)), (2,)),
        ),
    ],
)
def test_factories_return_the_values(factory_value: Schedule, class_value: Schedule) -> None:
    assert factory_value == class_value
    assert hash(factory_value) == hash(class_value)
    assert {factory_value: 1}[class_value] == 1  # usable as a key


def test_ints_are_normalised_so_equal_parameters_give_equal_values_and_data() -> None:
    a, b = o.cosine_decay(1, 10, end_value=0), o.cosine_decay(1.0, 10, end_value=0.0)
    assert a == b
    assert a.to_dict() == b.to_dict()
    assert type(a.init_value) is float
    assert type(a.decay_steps) is int
    numpy_args: list[Any] = [np.float32(0.5), [np.int64(3)], 0.5]
    assert type(o.multistep_decay(*numpy_args).milestones[0]) is int


def test_replace_gives_a_new_checked_value_as_sweeps_do() -> None:
    s = o.cosine_decay(0.2, 100)
    assert dataclasses.replace(s, init_value=0.5) == o.cosine_decay(0.5, 100)
    assert dataclasses.replace(o.piecewise_scales(1.0, {2: 0.5}), init_value=2.0)(3) == 1.0
    with pytest.raises(ValueError, match="decay_steps must be an integer >= 1, got 0"):
        dataclasses.replace(s, decay_steps=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.init_value = 0.3  # type: ignore[misc]


def test_one_cycle_pair_holds_two_values() -> None:
    cyc = o.one_cycle(0.3, 40, three_phase=True)
    lr, mom = cyc
    assert isinstance(lr, o.OneCycleLearningRate)
    assert isinstance(mom, o.OneCycleMomentum)
    assert pickle.loads(pickle.dumps(cyc)) == cyc
    assert schedule_from_dict(mom.to_dict()) == mom
    assert mom.to_dict() == {
        "kind": "one_cycle_momentum",
        "total_steps": 40,
        "pct_start": 0.3,
        "anneal_strategy": "cos",
        "three_phase": True,
        "base_momentum": 0.85,
        "max_momentum": 0.95,
    }


def test_nested_data_reads_as_written() -> None:
    s = o.warmup(o.join_schedules([o.constant_schedule(1.0), o.exponential_decay(1.0, 0.5)], [3]), 2)
    assert s.to_dict() == {
        "kind": "warmup",
        "schedule": {
            "kind": "join_schedules",
            "schedules": [
                {"kind": "constant_schedule", "value": 1.0},
                {
                    "kind": "exponential_decay",
                    "init_value": 1.0,
                    "decay_rate": 0.5,
                    "transition_steps": 1,
                    "transition_begin": 0,
                    "staircase": False,
                },  # end_value=None is left out
            ],
            "boundaries": [3],
            "shift": True,
        },
        "warmup_steps": 2,
        "start_value": 0.0,
        "mode": "linear",
        "shift": True,
    }


# --------------------------------------------------------------------------- TOML by hand

TOML_CASES = [
    (
        """
        [learning_rate]
        kind = "warmup"
        warmup_steps = 30
        [learning_rate.schedule]
        kind = "cosine_decay"
        init_value = 0.2
        decay_steps = 270
        end_value = 0.002
        """,
        o.warmup(o.cosine_decay(0.2, 270, end_value=0.002), 30),
    ),
    (
        'learning_rate = {kind = "piecewise_scales", init_value = 1, '
        'boundaries_and_scales = {4 = 0.1, "2" = 0.5}}',
        o.piecewise_scales(1.0, {2: 0.5, 4: 0.1}),
    ),
    (
        'learning_rate = {kind = "multistep_decay", init_value = 0.2, milestones = [2, 3], factor = 0.1}',
        o.multistep_decay(0.2, [2, 3], 0.1),
    ),
    (
        """
        [learning_rate]
        kind = "join_schedules"
        boundaries = [5]
        [[learning_rate.schedules]]
        kind = "linear_schedule"
        init_value = 0
        end_value = 1
        transition_steps = 5
        [[learning_rate.schedules]]
        kind = "step_decay"
        init_value = 1
        step_size = 10
        factor = 0.5
        """,
        o.join_schedules([o.linear_schedule(0.0, 1.0, 5), o.step_decay(1.0, 10, 0.5)], [5]),
    ),
    (
        """
        [learning_rate]
        kind = "per_epoch"
        schedule = {kind = "epoch_decay", init_value = 0.2, factor = 0.1, after_epoch = 2}
        """,
        o.PerEpoch(o.EpochDecay(init_value=0.2, factor=0.1, after_epoch=2)),
    ),
    (
        'learning_rate = {kind = "exponential_decay", init_value = 0.1, decay_rate = 2, end_value = 1}',
        o.exponential_decay(0.1, 2.0, end_value=1.0),
    ),
]


@pytest.mark.parametrize(("text", "expected"), TOML_CASES)
def test_hand_written_toml_gives_the_schedule(text: str, expected: Schedule) -> None:
    d = tomllib.loads("\n".join(line.strip() for line in text.splitlines()))["learning_rate"]
    s = schedule_from_dict(d)
    assert s == expected
    assert_same_values(s, expected)


def test_the_chapter_decay_as_a_per_epoch_value_equals_epoch_decay() -> None:
    d = tomllib.loads(TOML_CASES[4][0].replace("        ", ""))["learning_rate"]
    bound = schedule_from_dict(d).bind(7)  # type: ignore[attr-defined]
    chapter = o.EpochDecay(factor=0.1, after_epoch=2)
    assert [bound(t) for t in range(70)] == [chapter.learning_rate(0.2, t // 7 + 1) for t in range(70)]


# --------------------------------------------------------------------------- bad data


@pytest.mark.parametrize(
    ("data", "exc", "message"),
    [
        ({"kind": "cosine"}, ValueError, "kind must be one of ['bound_per_epoch', 'constant_schedule',"),
        ({"init_value": 0.2}, ValueError, "a schedule mapping needs a 'kind', one of ['bound_per_epoch',"),
        ({"kind": "custom_schedule", "fn": "abs"}, ValueError, "kind must be one of"),
        (
            {"kind": "cosine_decay", "init_value": 0.2, "decay_steps": 9, "alpha": 0.1},
            ValueError,
            "cosine_decay has no parameter 'alpha'; its parameters are "
            "['init_value', 'decay_steps', 'end_value', 'exponent', 'periodic']",
        ),
        (
            {"kind": "cosine_decay", "init_value": 0.2},
            ValueError,
            "cosine_decay needs the parameter 'decay_steps'; its parameters are ['init_value', 'decay_steps'",
        ),
        (
            {"kind": "cosine_decay", "init_value": "0.2", "decay_steps": 9},
            TypeError,
            "cosine_decay: init_value must be a real number, got '0.2' of type str",
        ),
        (
            {"kind": "cosine_decay", "init_value": 0.2, "decay_steps": 9.0},
            TypeError,
            "cosine_decay: decay_steps must be an integer, got 9.0 of type float",
        ),
        (
            {"kind": "cosine_decay", "init_value": 0.2, "decay_steps": 0},
            ValueError,
            "cosine_decay: decay_steps must be an integer >= 1, got 0",
        ),
        (
            {"kind": "cosine_decay", "init_value": 0.2, "decay_steps": 9, "periodic": 1},
            TypeError,
            "cosine_decay: periodic must be a bool, got 1",
        ),
        (
            {"kind": "warmup", "warmup_steps": 2, "schedule": {"kind": "cosine_decay", "init_value": 1.0}},
            ValueError,
            "warmup: schedule: cosine_decay needs the parameter 'decay_steps'",
        ),
        (
            {
                "kind": "join_schedules",
                "boundaries": [2],
                "schedules": [{"kind": "constant_schedule", "value": 1.0}, {"kind": "nope"}],
            },
            ValueError,
            "join_schedules: schedules[1]: kind must be one of",
        ),
        (
            {"kind": "piecewise_scales", "init_value": 1.0, "boundaries_and_scales": {"2.5": 0.1}},
            ValueError,
            "piecewise_scales: boundaries_and_scales keys must be integer steps, got '2.5'",
        ),
        (
            {"kind": "piecewise_scales", "init_value": 1.0, "boundaries_and_scales": [0.1]},
            TypeError,
            "piecewise_scales: boundaries_and_scales must be a mapping step -> scale",
        ),
        (
            {"kind": "multistep_decay", "init_value": 1.0, "milestones": [3, 2], "factor": 0.1},
            ValueError,
            "multistep_decay: milestones must be strictly increasing, got [3, 2]",
        ),
        (
            {"kind": "warmup", "warmup_steps": 2, "schedule": 0.1},
            TypeError,
            "warmup: schedule must be a schedule",
        ),
        ([("kind", "constant_schedule")], TypeError, "a schedule must be given as a mapping"),
    ],
)
def test_bad_data_names_what_is_wrong(data: Any, exc: type[Exception], message: str) -> None:
    with pytest.raises(exc) as info:
        schedule_from_dict(data)
    assert message in str(info.value)


# --------------------------------------------------------------------------- validation

FLOAT_FIELDS: list[tuple[Schedule, str]] = [
    (s, f.name)
    for s in [
        o.constant_schedule(1.0),
        o.polynomial_schedule(1.0, 0.0, 2.0, 4),
        o.linear_schedule(1.0, 0.0, 4),
        o.exponential_decay(1.0, 0.5, end_value=0.1),
        o.step_decay(1.0, 3, 0.5),
        o.multistep_decay(1.0, [2], 0.5),
        o.cosine_decay(1.0, 4),
        o.cosine_warm_restarts(1.0, 4),
        o.warmup(o.constant_schedule(1.0), 3),
        o.one_cycle(1.0, 10).learning_rate,
        o.one_cycle(1.0, 10).momentum,
        o.EpochDecay(),
    ]
    for f in dataclasses.fields(s)  # type: ignore[arg-type]
    if isinstance(getattr(s, f.name), float)
]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(("schedule", "name"), FLOAT_FIELDS, ids=[f"{s.kind}.{n}" for s, n in FLOAT_FIELDS])
def test_non_finite_parameters_are_rejected_by_name(schedule: Schedule, name: str, bad: float) -> None:
    with pytest.raises(ValueError, match=f"^{name} must be a finite number"):
        dataclasses.replace(schedule, **{name: bad})  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (
            lambda: o.piecewise_scales(1e300, {2: 1e10}),
            ValueError,
            "boundaries_and_scales must keep the value finite",
        ),
        (
            lambda: o.multistep_decay(1e300, [1, 2], 1e10),
            ValueError,
            "init_value and factor must keep the value finite at every milestone, got inf from step 1 on",
        ),
        (
            lambda: o.polynomial_schedule(1e308, -1e308, 1.0, 4),
            ValueError,
            "init_value and end_value must differ by",
        ),
        (
            lambda: o.cosine_decay(-1e308, 4, end_value=1e308),
            ValueError,
            "init_value and end_value must differ by",
        ),
        (
            lambda: o.piecewise_scales(1.0, {"2": 0.5}),  # type: ignore[dict-item]
            TypeError,
            "boundaries_and_scales key '2' must be an integer",
        ),
        (
            lambda: o.piecewise_scales(1.0, {2: 0.5, -1: 0.5}),
            ValueError,
            "key -1 must be an integer >= 0, got -1",
        ),
        (
            lambda: o.piecewise_constant([2, 2], [1.0, 1.0, 1.0]),
            ValueError,
            "boundaries must be strictly increasing",
        ),
        (lambda: o.PerEpoch(o.constant_schedule(1.0), fractional=1), TypeError, "fractional must be a bool"),  # type: ignore[arg-type]
        (
            lambda: o.BoundPerEpoch(o.constant_schedule(1.0), 0),
            ValueError,
            "steps_per_epoch must be an integer >= 1",
        ),
        (
            lambda: o.custom_schedule(0.1),  # type: ignore[arg-type]
            TypeError,
            "fn must be a schedule (a callable step -> value), got 0.1",
        ),
        (
            lambda: o.CustomSchedule(o.constant_schedule(1.0)),
            TypeError,
            "fn must be a callable step -> value (not a",
        ),
        (
            lambda: o.join_schedules([o.constant_schedule(1.0), o.PerEpoch(o.constant_schedule(0.5))], [2]),
            TypeError,
            "schedules[1] must be a schedule of the step, got a PerEpoch schedule",
        ),
        (lambda: o.warmup(o.PerEpoch(o.constant_schedule(0.5)), 2), TypeError, "bind it to steps first"),
        (lambda: o.PerEpoch(o.PerEpoch(o.constant_schedule(0.5))), TypeError, "got a PerEpoch schedule"),
        (
            lambda: o.ScheduleLR(o.PerEpoch(o.constant_schedule(0.5))),
            TypeError,
            "bind it first with bind_schedule",
        ),
        (
            lambda: o.ScheduledMomentumSGD(o.PerEpoch(o.constant_schedule(0.5))),
            TypeError,
            "momentum_schedule must be a step schedule, got a PerEpoch schedule",
        ),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(
    call: Callable[[], object], exc: type, message: str
) -> None:
    with pytest.raises(exc) as info:
        call()
    assert message in str(info.value)


def test_growing_exponential_is_inf_past_the_float_range_unless_capped() -> None:
    s = o.exponential_decay(0.1, 2.5)
    assert s(10) == 0.1 * 2.5**10
    assert s(10**6) == math.inf  # no OverflowError
    assert o.exponential_decay(-0.1, 2.5)(10**6) == -math.inf
    assert o.exponential_decay(0.0, 2.5)(10**6) == 0.0
    assert o.exponential_decay(0.1, 2.5, end_value=3.0)(10**6) == 3.0
    assert o.step_decay(0.1, 3, 1.5)(10**6) == math.inf
    with pytest.raises(
        ValueError, match=r"learning_rate must be a finite number > 0.0 at every step, got inf"
    ):
        check_step_values("learning_rate", [s(t) for t in range(0, 10**6, 1000)], low=0.0, low_open=True)


# --------------------------------------------------------------------------- EpochDecay


@settings(max_examples=60, deadline=None)
@given(st.floats(1e-3, 1.0), st.integers(0, 4), st.floats(-10.0, 10.0), st.integers(1, 2500))
def test_epoch_decay_is_repeated_multiplication(factor: float, after: int, base: float, epoch: int) -> None:
    lr = base
    for _ in range(max(0, epoch - after)):
        lr *= factor
    got = o.EpochDecay(factor=factor, after_epoch=after).learning_rate(base, epoch)
    assert got == lr
    assert math.copysign(1.0, got) == math.copysign(1.0, lr)


@pytest.mark.parametrize("factor", [0.1, 0.5, 0.999, 1.0, 1 - 2**-53, 0.999999999])
def test_epoch_decay_answers_any_epoch_in_bounded_time(factor: float) -> None:
    d = o.EpochDecay(factor=factor)
    start = time.perf_counter()
    value = d.learning_rate(0.2, 10**12)
    assert time.perf_counter() - start < 2.0
    assert math.isfinite(value)
    assert 0.0 <= value <= 0.2
    if factor <= 0.999:  # the repeated product settles (at 0.0, or a subnormal fixed point) long before
        lr = 0.2
        while lr * factor != lr:
            lr *= factor
        assert value == lr
        assert value == 0.0 or factor > 0.5
    if factor == 1.0:
        assert value == 0.2
    assert d(10**12 - 1) == d.learning_rate(1.0, 10**12)


def test_epoch_decay_keeps_its_runner_methods_and_is_a_value() -> None:
    d = o.EpochDecay(factor=0.5, after_epoch=1)
    s = d.as_schedule(1.0, steps_per_epoch=2)
    assert isinstance(s, Schedule)
    assert schedule_from_dict(s.to_dict()) == s
    assert [s(t) for t in range(6)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    sched = d.as_lr_scheduler(1.0, steps_per_epoch=2)
    assert [sched(k) for k in range(1, 7)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert d.to_dict() == {"kind": "epoch_decay", "init_value": 1.0, "factor": 0.5, "after_epoch": 1}


# --------------------------------------------------------------------------- custom schedules


def _inverse(t: float) -> float:
    return 0.1 / (1 + t)


def test_custom_schedule_is_equal_by_function_identity_and_cannot_be_stored() -> None:
    s = o.custom_schedule(_inverse)
    assert s == o.custom_schedule(_inverse)
    assert hash(s) == hash(o.custom_schedule(_inverse))
    assert s != o.custom_schedule(lambda t: 0.1 / (1 + t))
    assert s(1) == 0.05
    assert o.custom_schedule(s) is s
    assert pickle.loads(pickle.dumps(s)) == s  # a module-level function pickles by reference
    with pytest.raises(
        ValueError, match=r"a custom schedule cannot be stored .*_inverse.*use a built-in schedule"
    ):
        s.to_dict()
    joined = o.join_schedules([o.constant_schedule(1.0), _inverse], [2])
    assert joined.schedules[1] == s
    assert joined(3) == _inverse(1)
    with pytest.raises(ValueError, match="a custom schedule cannot be stored"):
        joined.to_dict()
    assert o.PerEpoch(lambda e: 0.1 * e).bind(5)(12) == 0.2


# --------------------------------------------------------------------------- users of the values


def test_momentum_optimizer_and_mxnet_bridge_take_values() -> None:
    mom = schedule_from_dict(
        {"kind": "linear_schedule", "init_value": 0, "end_value": 0.9, "transition_steps": 9}
    )
    opt = o.ScheduledMomentumSGD(mom, learning_rate=0.1)
    w, g = mx.nd.ones((2,)), mx.nd.ones((2,))
    state = opt.create_state(0, w)
    for _ in range(3):
        opt.update(0, w, g, state)
    assert opt.momentum == mom(2) == pytest.approx(0.2)
    sched = o.as_lr_scheduler(o.step_decay(1.0, 2, 0.5))
    assert [sched(k) for k in range(5)] == [1.0, 1.0, 1.0, 0.5, 0.5]
    assert o.from_mxnet(sched) == o.step_decay(1.0, 2, 0.5)


# --------------------------------------------------------------------------- ReduceOnPlateau

plateaus = st.builds(
    o.ReduceOnPlateau,
    mode=st.sampled_from(["min", "max"]),
    factor=st.floats(0.01, 0.99),
    patience=st.integers(0, 20),
    threshold=st.floats(0.0, 0.5),
    threshold_mode=st.sampled_from(["rel", "abs"]),
    cooldown=st.integers(0, 5),
    min_lr=st.floats(0.0, 1.0) | st.just(0),
    eps=st.floats(0.0, 1e-3),
    observe=st.sampled_from(["epoch", "record"]),
)


@settings(max_examples=80, deadline=None)
@given(plateaus)
def test_plateau_round_trips_through_dict_toml_and_pickle(p: o.ReduceOnPlateau) -> None:
    d = p.to_dict()
    assert_plain(d)
    assert type(d["min_lr"]) is float
    assert type(d["patience"]) is int
    assert o.ReduceOnPlateau.from_dict(d) == p
    parsed = tomllib.loads(f"plateau = {toml_value(d)}\n")["plateau"]
    assert o.ReduceOnPlateau.from_dict(parsed) == p
    assert hash(o.ReduceOnPlateau.from_dict(parsed)) == hash(p)
    assert pickle.loads(pickle.dumps(p)) == p


def test_plateau_from_partial_toml_and_bad_data() -> None:
    p = o.ReduceOnPlateau.from_dict(tomllib.loads("factor = 0.5\npatience = 2\nmin_lr = 0"))
    assert p == o.ReduceOnPlateau(factor=0.5, patience=2)
    assert type(p.min_lr) is float
    with pytest.raises(
        ValueError, match=r"ReduceOnPlateau has no field 'factr'; its fields are \['mode', 'factor'"
    ):
        o.ReduceOnPlateau.from_dict({"factr": 0.5})
    with pytest.raises(ValueError, match=r"factor must be in \(0.0, 1.0\), got 1.5"):
        o.ReduceOnPlateau.from_dict({"factor": 1.5})
    with pytest.raises(TypeError, match=r"patience must be an integer, got 2\.0"):
        o.ReduceOnPlateau.from_dict({"patience": 2.0})
    with pytest.raises(TypeError, match="must be given as a mapping"):
        o.ReduceOnPlateau.from_dict([("factor", 0.5)])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- check_step_values


@pytest.mark.parametrize(
    ("values", "kwargs", "message"),
    [
        (
            [0.1] * 12 + [-0.1, -0.2],
            {"low": 0.0},
            "learning_rate must be a finite number >= 0.0 at every step, got -0.1 at step 12",
        ),
        ([0.1, math.nan], {}, "learning_rate must be a finite number at every step, got nan at step 1"),
        (np.array([0.0, 0.5, math.inf]), {"low": 0.0}, "got inf at step 2"),
        (
            [0.5, 0.9, 1.0],
            {"low": 0.0, "high": 1.0, "high_open": True},
            "learning_rate must be a finite number in [0.0, 1.0) at every step, got 1.0 at step 2",
        ),
        ([0.0], {"low": 0.0, "low_open": True}, "learning_rate must be a finite number > 0.0 at every step"),
        (
            [2.0],
            {"high": 1.0},
            "learning_rate must be a finite number <= 1.0 at every step, got 2.0 at step 0",
        ),
    ],
)
def test_check_step_values_names_the_first_bad_step(
    values: Any, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match="at every step") as info:
        check_step_values("learning_rate", values, **kwargs)
    assert message in str(info.value)


def test_check_step_values_accepts_good_values_and_rejects_other_input() -> None:
    check_step_values("momentum", np.linspace(0.0, 0.99, 50), low=0.0, high=1.0, high_open=True)
    check_step_values("learning_rate", [1e-300, 5.0], low=0.0, low_open=True)
    with pytest.raises(TypeError, match=r"learning_rate must be a 1-D array of numbers, got \['fast'\]"):
        check_step_values("learning_rate", ["fast"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"must be a 1-D array of numbers, got shape \(2, 2\)"):
        check_step_values("learning_rate", np.zeros((2, 2)))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=30))
def test_check_step_values_passes_exactly_when_every_value_is_finite_and_in_range(
    values: list[float],
) -> None:
    good = [math.isfinite(v) and v >= 0.0 for v in values]
    if all(good):
        check_step_values("lr", values, low=0.0)
    else:
        first = good.index(False)
        with pytest.raises(ValueError, match=f"at step {first}$"):
            check_step_values("lr", values, low=0.0)
