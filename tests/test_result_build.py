"""Building results cheaply keeps RunResult's one rule: the fast path accepts what the checks accept."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

import momentumlab as ml
from momentumlab.runner._plan import Plan
from momentumlab.runner._result import RunResult, build_result

PROBLEM = ml.problems.make("bowl")
CONFIG = ml.RunConfig(**PROBLEM.settings)


def built(**overrides: Any) -> RunResult:
    plan = Plan.of(CONFIG, PROBLEM.data.n_samples, {"xy": np.zeros(2, dtype=np.float32)})
    n = plan.n_steps
    kw: dict[str, Any] = dict(
        engine="numpy-batched",
        problem=PROBLEM,
        losses=np.linspace(1.0, 0.1, 4),
        record_steps=np.array([0, 1, 2, n]),
        learning_rates=plan.learning_rates[:n],
        momenta=np.full(n, 0.5),
        params={"xy": np.ones(2, dtype=np.float32)},
        final_loss=0.1,
        n_steps=n,
        epochs_completed=CONFIG.epochs,
        message="",
        wall_time=0.25,
    )
    kw.update(overrides)
    return build_result(plan, **kw)


def test_a_read_only_plan_array_is_kept_and_a_writable_one_copied() -> None:
    plan = Plan.of(CONFIG, PROBLEM.data.n_samples, {})
    moms = np.full(plan.n_steps, 0.5)
    r = build_result(
        plan, engine="numpy", problem=PROBLEM, losses=[1.0], record_steps=[0],
        learning_rates=plan.learning_rates, momenta=moms, params={}, final_loss=1.0,
        n_steps=plan.n_steps, epochs_completed=1, message="", wall_time=0.0,
    )  # fmt: skip
    assert np.shares_memory(r.learning_rates, plan.learning_rates)
    assert not np.shares_memory(r.momenta, moms)
    moms[0] = 0.9
    assert r.momenta[0] == 0.5
    for name in ("losses", "record_steps", "learning_rates", "momenta", "metrics"):
        assert not getattr(r, name).flags.writeable, name
    writable_view = np.zeros(plan.n_steps + 2)[1:-1]
    writable_view.setflags(write=False)  # read-only, but its base is not: copied
    r2 = built(learning_rates=writable_view)
    assert not np.shares_memory(r2.learning_rates, writable_view)


def test_built_result_round_trips_its_fields() -> None:
    r = built()
    assert r.engine == "numpy-batched"
    assert r.message.startswith("finished")
    assert r.problem_name == PROBLEM.name
    assert r.losses.tolist() == np.linspace(1.0, 0.1, 4).tolist()
    again = RunResult(**{f.name: getattr(r, f.name) for f in dataclasses.fields(r)})
    assert again == r


@pytest.mark.parametrize(
    ("field", "value", "error", "message"),
    [
        ("losses", [1.0, 2.0], TypeError, "losses must be a 1-D numpy.ndarray of numbers, got"),
        ("losses", np.zeros((2, 2)), ValueError, r"losses must be a 1-D numpy.ndarray, got shape \(2, 2\)"),
        (
            "momenta",
            np.array(["a"] * 80),
            TypeError,
            "momenta must be a 1-D numpy.ndarray of numbers, got dtype",
        ),
        ("wall_time", "1", TypeError, "wall_time must be a real number, got '1'"),
        ("n_steps", True, TypeError, "n_steps must be an integer"),
        ("n_steps", -1, ValueError, "n_steps must be"),
        ("epochs_completed", 2.0, TypeError, "epochs_completed must be an integer"),
        ("message", 3, TypeError, "message must be a str"),
        ("metric_name", 3, TypeError, "metric_name must be a str or None"),
        ("params", [], TypeError, "params must be a dict"),
        ("config", {}, TypeError, "config must be a RunConfig"),
        (
            "record_steps",
            np.arange(3),
            ValueError,
            r"record_steps must have len\(losses\) = 4 entries, got 3",
        ),
        (
            "metrics",
            np.zeros(2),
            ValueError,
            r"metrics must have len\(losses\) \(or 0 without a metric\) = 4",
        ),
        ("learning_rates", np.zeros(3), ValueError, "learning_rates must have n_steps = 80 entries, got 3"),
    ],
)
def test_bad_fields_still_raise_the_checks_messages(
    field: str, value: object, error: type, message: str
) -> None:
    r = built()
    kw = {f.name: getattr(r, f.name) for f in dataclasses.fields(r)}
    kw[field] = value
    with pytest.raises(error, match=message):
        RunResult(**kw)


def test_subclassed_and_numpy_scalars_take_the_full_checks() -> None:
    r = built()
    kw = {f.name: getattr(r, f.name) for f in dataclasses.fields(r)}
    kw.update(wall_time=np.float64(0.5), n_steps=np.int64(r.n_steps))
    again = RunResult(**kw)  # accepted by the full checks, as before
    assert again.wall_time == 0.5
    assert again.n_steps == r.n_steps
