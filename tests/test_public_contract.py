"""Public-API contract: every public callable rejects bad simple arguments by name.

Like scikit-learn's ``test_public_functions``: walk ``momentumlab.__all__`` and each
subpackage's ``__all__``, and for every parameter with a simple annotation (int, float,
bool, str, Sequence, arrays, RunConfig, Schedule) call the callable with a bad value while
the other arguments keep valid defaults or an example from ``EXAMPLES``. Outcomes:

* ``ValueError``/``TypeError`` whose message names the parameter: good;
* any other exception, or a ValueError/TypeError that does not name it: a gap;
* returns: "accepted"; a gap only when the value is clearly invalid (wrong type, NaN/inf);
* runs longer than 2 s (``signal.alarm``): a gap ("hang").

Gaps not yet fixed are listed in ``KNOWN_GAPS`` ("callable.param" -> reason); the test fails
for any new gap and for any listed gap that is gone (so the list stays honest).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import importlib
import inspect
import os
import shutil
import signal
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import momentumlab as ml

SUBPACKAGES = ("data", "models", "optim", "problems", "runner", "sweep", "theory", "viz", "stats")
TIMEOUT_S = 2


def _public_callables() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    modules = [("momentumlab", ml)] + [
        (f"momentumlab.{s}", importlib.import_module(f"momentumlab.{s}")) for s in SUBPACKAGES
    ]
    for modname, module in modules:
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not callable(obj):
                continue
            key = f"{modname.split('.')[-1]}.{name}" if modname != "momentumlab" else name
            if any(obj is seen for seen in found.values()):
                continue  # re-exported (ml.train is ml.runner.train)
            found[key] = obj
    return found


def _sched() -> Any:
    return ml.optim.constant_schedule(0.1)


def _lin() -> Any:
    return ml.data.make_linear_regression(20, seed=0)


@functools.cache
def _result() -> ml.RunResult:
    """One tiny run (NumPy engine, milliseconds), shared by every probe that needs a result."""
    return ml.train(ml.RunConfig(epochs=2, batch_size=10, period=1), _lin(), engine="numpy")


@functools.cache
def _store_path() -> str:
    """A small store of 4 runs (two momenta, two seeds), made once in a temporary directory."""
    folder = tempfile.mkdtemp(prefix="contract-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = os.path.join(folder, "runs.sqlite")
    points = ml.sweep.grid(ml.RunConfig(epochs=1, batch_size=20), {"momentum": [0.0, 0.9]}, seeds=[0, 1])
    ml.sweep.run_sweep(points, ml.sweep.LinearRegressionSpec(n_samples=40), path)
    return path


@functools.cache
def _summaries() -> tuple[Any, ...]:
    with ml.sweep.Store(_store_path()) as store:
        return tuple(store.summaries())


def _net() -> Any:
    import mxnet as mx

    return ml.models.LinearRegressor(2, initializer=mx.init.One())


def _trainer() -> Any:
    return ml.optim.make_trainer(_net().collect_params(), learning_rate=0.1, momentum=0.9)


def _band() -> Any:
    return ml.stats.CurveBand(
        np.arange(3), np.ones(3), np.ones(3) / 2, np.ones(3) * 2, np.full(3, 5), "quantile"
    )


def _surface() -> Any:
    return ml.viz.QuadraticSurface(np.diag([1.0, 10.0]), np.zeros(2))


def _mx_scheduler() -> Any:
    import mxnet as mx

    return mx.lr_scheduler.FactorScheduler(step=2, factor=0.5, base_lr=1.0)


def _l2loss() -> Any:
    import mxnet as mx

    return mx.gluon.loss.L2Loss()


# Valid values for required parameters (tiny, fast).
EXAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "data.ArrayData": lambda: {"features": np.zeros((4, 2), np.float32), "labels": np.zeros(4, np.float32)},
    "data.LinearData": lambda: {
        "features": np.zeros((4, 2), np.float32),
        "labels": np.zeros((4, 1), np.float32),
    },
    "data.classification_arrays": lambda: {"features": np.zeros((4, 2)), "labels": np.array([0, 1, 0, 1])},
    "data.from_arrays": lambda: {"features": np.zeros((4, 2)), "labels": np.zeros(4)},
    "data.make_conditioned_regression": lambda: {"condition_number": 10.0, "n_samples": 20, "seed": 0},
    "data.make_linear_regression": lambda: {"n_samples": 50, "seed": 0},
    "data.make_logistic": lambda: {"n_samples": 50, "seed": 0},
    "models.MLP": lambda: {"n_features": 2},
    "models.LinearRegressor": lambda: {"n_features": 2},
    "optim.BoundPerEpoch": lambda: {"schedule": _sched(), "steps_per_epoch": 5},
    "optim.ConstantSchedule": lambda: {"value": 0.1},
    "optim.constant_schedule": lambda: {"value": 0.1},
    "optim.CosineDecay": lambda: {"init_value": 0.1, "decay_steps": 10},
    "optim.cosine_decay": lambda: {"init_value": 0.1, "decay_steps": 10},
    "optim.CosineWarmRestarts": lambda: {"init_value": 0.1, "period": 10},
    "optim.cosine_warm_restarts": lambda: {"init_value": 0.1, "period": 10},
    "optim.ExponentialDecay": lambda: {"init_value": 0.1, "decay_rate": 0.5},
    "optim.exponential_decay": lambda: {"init_value": 0.1, "decay_rate": 0.5},
    "optim.LinearSchedule": lambda: {"init_value": 0.1, "end_value": 0.0, "transition_steps": 10},
    "optim.linear_schedule": lambda: {"init_value": 0.1, "end_value": 0.0, "transition_steps": 10},
    "optim.PolynomialSchedule": lambda: {
        "init_value": 0.1,
        "end_value": 0.0,
        "power": 2.0,
        "transition_steps": 10,
    },
    "optim.polynomial_schedule": lambda: {
        "init_value": 0.1,
        "end_value": 0.0,
        "power": 2.0,
        "transition_steps": 10,
    },
    "optim.MultistepDecay": lambda: {"init_value": 0.1, "milestones": (5, 10), "factor": 0.5},
    "optim.multistep_decay": lambda: {"init_value": 0.1, "milestones": (5, 10), "factor": 0.5},
    "optim.StepDecay": lambda: {"init_value": 0.1, "step_size": 5, "factor": 0.5},
    "optim.step_decay": lambda: {"init_value": 0.1, "step_size": 5, "factor": 0.5},
    "optim.OneCycleLearningRate": lambda: {"max_value": 0.1, "total_steps": 20},
    "optim.one_cycle": lambda: {"max_value": 0.1, "total_steps": 20},
    "optim.OneCycleMomentum": lambda: {"total_steps": 20},
    "optim.PiecewiseConstant": lambda: {"boundaries": (5,), "values": (0.1, 0.01)},
    "optim.piecewise_constant": lambda: {"boundaries": (5,), "values": (0.1, 0.01)},
    "optim.PerEpoch": lambda: {"schedule": _sched()},
    "optim.Warmup": lambda: {"schedule": _sched(), "warmup_steps": 5},
    "optim.warmup": lambda: {"schedule": _sched(), "warmup_steps": 5},
    "optim.WarmupStableDecay": lambda: {
        "peak_value": 0.1,
        "warmup_steps": 2,
        "stable_steps": 2,
        "decay_steps": 2,
    },
    "optim.warmup_stable_decay": lambda: {
        "peak_value": 0.1,
        "warmup_steps": 2,
        "stable_steps": 2,
        "decay_steps": 2,
    },
    "optim.JoinSchedules": lambda: {"schedules": (_sched(), _sched()), "boundaries": (5,)},
    "optim.join_schedules": lambda: {"schedules": (_sched(), _sched()), "boundaries": (5,)},
    "optim.as_lr_scheduler": lambda: {"schedule": _sched()},
    "optim.ScheduleLR": lambda: {"schedule": _sched()},
    "optim.bind_schedule": lambda: {"value": 0.1, "steps_per_epoch": 5},
    "optim.check_momentum": lambda: {"momentum": 0.9, "optimizer": "sgd"},
    "optim.check_optimizer": lambda: {"name": "sgd"},
    "optim.check_hyperparameters": lambda: {"optimizer": "sgd", "hyperparameters": {}},
    "optim.optimizer_hyperparameters": lambda: {"optimizer": "sgd"},
    "optim.demon_momentum": lambda: {"step": 3, "momentum": 0.9, "total_steps": 10},
    "optim.mxnet_to_torch_momentum": lambda: {"momentum": 0.9, "learning_rates": [0.1, 0.1]},
    "optim.torch_to_mxnet_momentum": lambda: {"momentum": 0.9, "learning_rates": [0.1, 0.1]},
    "optim.mxnet_velocity_to_torch_buffer": lambda: {"velocity": np.ones(2), "learning_rate": 0.1},
    "optim.torch_buffer_to_mxnet_velocity": lambda: {"buffer": np.ones(2), "learning_rate": 0.1},
    "optim.ScheduledMomentumSGD": lambda: {"momentum_schedule": ml.optim.constant_schedule(0.9)},
    "optim.ScheduledMomentumNAG": lambda: {"momentum_schedule": ml.optim.constant_schedule(0.9)},
    "problems.make": lambda: {"name": "bowl"},
    "batch_orders": lambda: {"config": ml.RunConfig(epochs=1), "n_samples": 10},
    "can_train_many": lambda: {"configs": [ml.RunConfig(epochs=1)], "problem_or_data": _lin()},
    "sweep.IntUniform": lambda: {"low": 1, "high": 5},
    "sweep.Uniform": lambda: {"low": 0.1, "high": 1.0},
    "sweep.PoolExecutor": lambda: {"workers": 1},
    "sweep.check_field": lambda: {"name": "learning_rate"},
    "sweep.field_value": lambda: {"config": ml.RunConfig(), "name": "learning_rate"},
    "sweep.grid": lambda: {"base": ml.RunConfig(), "axes": {"learning_rate": [0.1, 0.2]}},
    "sweep.random_search": lambda: {
        "base": ml.RunConfig(),
        "space": {"learning_rate": ml.sweep.Uniform(low=0.01, high=0.1)},
        "n_points": 2,
        "seed": 0,
    },
    "sweep.quasi_random_search": lambda: {
        "base": ml.RunConfig(),
        "space": {"learning_rate": ml.sweep.Uniform(low=0.01, high=0.1)},
        "n_points": 2,
        "seed": 0,
    },
    "sweep.apply_changes": lambda: {"base": ml.RunConfig(), "changes": {"learning_rate": 0.2}},
    "sweep.Task": lambda: {"key": "k", "config": ml.RunConfig()},
    "sweep.Point": lambda: {"config": ml.RunConfig()},
    "sweep.ProblemSpec": lambda: {"name": "bowl"},
    "theory.best_learning_rate": lambda: {"spectrum": np.array([1.0, 10.0])},
    "theory.optimal_gd": lambda: {"spectrum": np.array([1.0, 10.0])},
    "theory.optimal_momentum": lambda: {"spectrum": np.array([1.0, 10.0])},
    "theory.family_rate": lambda: {
        "spectrum": np.array([1.0, 10.0]),
        "optimizer": "sgd",
        "learning_rate": 0.1,
    },
    "theory.step_matrices": lambda: {
        "optimizer": "sgd",
        "eigenvalues": np.array([1.0, 10.0]),
        "learning_rate": 0.1,
    },
    "theory.hessian": lambda: {"features": np.eye(3)},
    "theory.least_squares": lambda: {"data": _lin()},
    "theory.stationary_loss": lambda: {
        "problem": ml.theory.least_squares(_lin()),
        "learning_rate": 0.1,
        "batch_size": 4,
    },
    "theory.predict_curve": lambda: {
        "problem": ml.theory.least_squares(_lin()),
        "optimizer": "sgd",
        "learning_rates": [0.1] * 5,
        "weight": np.zeros(2),
        "bias": np.zeros(1),
    },
    "theory.expected_curve": lambda: {
        "problem": ml.theory.least_squares(_lin()),
        "optimizer": "sgd",
        "learning_rates": [0.1] * 5,
        "batch_size": 4,
        "weight": np.zeros(2),
        "bias": np.zeros(1),
    },
    "predict": lambda: {"config": ml.RunConfig(batch_size=4, epochs=1), "problem": _lin()},
    "viz.plot_phase": lambda: {"problem": [0.5, 1.0], "learning_rates": [0.1, 0.2], "momenta": [0.0, 0.5]},
    "viz.linear_regression_surface": lambda: {"data": _lin()},
    "viz.plot_schedule": lambda: {"schedule": _sched(), "n_steps": 10},
    "stats.bootstrap_ci": lambda: {"values": [1.0, 2.0, 3.0], "seed": 0, "n_resamples": 50},
    "stats.tuning_curve": lambda: {"values": [1.0, 2.0, 3.0], "n_resamples": 50},
    "optim.PiecewiseScales": lambda: {"init_value": 0.1, "boundaries_and_scales": ((5, 0.5),)},
    "optim.piecewise_scales": lambda: {"init_value": 0.1, "boundaries_and_scales": {5: 0.5}},
    "problems.linear_problem": lambda: {"data": _lin()},
    "sweep.ArraysSpec": lambda: {
        "features": np.zeros((4, 2), np.float32),
        "labels": np.zeros((4, 1), np.float32),
    },
    "theory.steps_to_tolerance": lambda: {
        "history": [0, 1, 2],
        "losses": [3.0, 2.0, 1.0],
        "optimal_loss": 0.0,
        "tolerance": 0.5,
    },
    "theory.fit_rate": lambda: {
        "history": np.arange(20),
        "losses": [2.0**-k for k in range(20)],
        "optimal_loss": 0.0,
    },
    "stats.reached": lambda: {"costs": [3.0, 2.0, 1.0], "m": 2},
    "stats.performance_profile": lambda: {"costs": {"a": {"p": 1.0}, "b": {"p": 2.0}}, "n_taus": 10},
    # runs, results and stores
    "train": lambda: {"config": ml.RunConfig(epochs=1, batch_size=10), "problem": _lin(), "engine": "numpy"},
    "train_many": lambda: {"configs": [ml.RunConfig(epochs=1, batch_size=10)], "problem_or_data": _lin()},
    "RunResult": lambda: {f.name: getattr(_result(), f.name) for f in dataclasses.fields(_result())},
    "sweep.Store": lambda: {"path": _store_path(), "read_only": True},
    "sweep.run_sweep": lambda: {
        "points": [ml.RunConfig(epochs=1, batch_size=20)],
        "data": ml.sweep.LinearRegressionSpec(n_samples=40),
        "store": _store_path(),
    },
    # Gluon nets and trainers (a 2-weight linear net, milliseconds)
    "models.get_linear_params": lambda: {"net": _net()},
    "models.get_params": lambda: {"net": _net()},
    "models.init_glorot": lambda: {"net": _net(), "seed": 0},
    "models.init_he": lambda: {"net": _net(), "seed": 0},
    "models.init_normal": lambda: {"net": _net(), "seed": 0},
    "models.set_params": lambda: {"net": _net(), "values": {}},
    "optim.make_trainer": lambda: {"params": _net().collect_params()},
    "optim.evaluation_point": lambda: {"trainer": _trainer()},
    "optim.from_mxnet": lambda: {"scheduler": _mx_scheduler()},
    # statistics and pictures of results and stores
    "stats.seed_band": lambda: {"results": [_result(), _result()], "n_resamples": 20},
    "stats.steps_to_target": lambda: {"result": _result(), "target": 1.0},
    "stats.time_to_target": lambda: {"result": _result(), "target": 1.0},
    "stats.summary_table": lambda: {"rows": _summaries(), "by": ["momentum"], "n_resamples": 20},
    "stats.seed_heatmap": lambda: {"rows": _summaries(), "x": "momentum", "y": "seed"},
    "stats.isolation": lambda: {"rows": _summaries(), "scientific": "momentum"},
    "stats.plot_band": lambda: {"band": _band()},
    "stats.plot_isolation": lambda: {
        "iso": ml.stats.Isolation("momentum", (0.0, 0.9), np.array([1.0, 0.1]), ("a", "b"))
    },
    "stats.plot_profile": lambda: {
        "profile": ml.stats.performance_profile({"a": {"x": 1.0}, "b": {"x": 2.0}})
    },
    "stats.plot_tuning_curve": lambda: {"curve": ml.stats.tuning_curve([3.0, 1.0, 2.0], n_resamples=20)},
    "viz.plot_loss": lambda: {"result": _result()},
    "viz.plot_losses": lambda: {"results": [_result()]},
    "viz.plot_rate": lambda: {
        "result_or_steps": np.arange(5),
        "rate": 0.9,
        "optimal_loss": 1.0,
        "losses": 1.0 + 0.81 ** np.arange(5),
    },
    "viz.plot_sweep": lambda: {"source": np.ones((2, 2)), "x_values": [0.1, 0.2], "y_values": [0.0, 0.9]},
    "viz.plot_trajectory": lambda: {
        "runs": [np.array([[1.0, 1.0], [0.5, 0.2], [0.0, 0.0]])],
        "surface": _surface(),
    },
    "viz.QuadraticSurface": lambda: {"hessian": np.diag([1.0, 10.0]), "center": np.zeros(2)},
    # closed forms of theory (array-broadcasting)
    "theory.critical_learning_rates": lambda: {"eigenvalue": 4.0, "momentum": 0.25},
    "theory.is_stable": lambda: {"spectrum": [1.0, 10.0], "learning_rate": 0.1, "momentum": 0.9},
    "theory.max_stable_learning_rate": lambda: {"spectrum": [1.0, 10.0], "momentum": 0.5},
    "theory.mode_rate": lambda: {"eigenvalue": 1.0, "learning_rate": 0.5, "momentum": 0.0},
    "theory.rate": lambda: {"spectrum": [1.0, 10.0], "learning_rate": 0.1, "momentum": 0.9},
    # mappings and callables
    "optim.CustomSchedule": lambda: {"fn": abs},
    "optim.custom_schedule": lambda: {"fn": abs},
    "optim.OneCycle": lambda: dict(ml.optim.one_cycle(0.1, 20)._asdict()),
    "optim.reference_run": lambda: {
        "name": "sgd",
        "gradient": lambda w: w,
        "w0": np.ones(2),
        "learning_rates": [0.1, 0.1],
    },
    "optim.reference_update": lambda: {
        "name": "sgd",
        "weight": np.ones(2),
        "grad": np.ones(2),
        "state": None,
        "learning_rate": 0.1,
        "step": 1,
    },
    "optim.schedule_from_dict": lambda: {"d": {"kind": "constant_schedule", "value": 0.1}},
    "problems.Problem": lambda: {
        "name": "mine",
        "data": _lin(),
        "make_net": lambda: ml.models.LinearRegressor(2),
        "make_loss": _l2loss,
    },
    "stats.CompareSpec": lambda: {
        "optimizers": {"sgd": {"momentum": 0.0}},
        "problems": ("bowl",),
        "epochs": 1,
    },
    "stats.edge_of_space": lambda: {
        "config": ml.RunConfig(momentum=0.5),
        "space": {"momentum": ml.sweep.Uniform(low=0.0, high=0.99)},
    },
    "sweep.Choice": lambda: {"values": (10, 20)},
    "sweep.SweepSpec": lambda: {
        "base": ml.RunConfig(),
        "data": ml.sweep.LinearRegressionSpec(n_samples=20),
        "points": (ml.sweep.Point(ml.RunConfig()),),
    },
    "sweep.as_spec": lambda: {"data": _lin()},
    "sweep.config_from_mapping": lambda: {"values": {"momentum": 0.5}},
    "sweep.data_spec_from_mapping": lambda: {"values": {"n_samples": 20, "seed": 3}},
    "sweep.run_key": lambda: {"config": ml.RunConfig(), "description": {"data": "x"}},
}

# Callables not probed, and why (the test fails if a public callable is neither probed nor listed).
# Result records are built by the library from its own computations; users read them and never
# build them from their input, so they are typed but not validated (RunResult, the record a
# store writes back, is the exception: it checks its types and lengths, and is probed).
UNPROBED: dict[str, str] = {
    "EpochInfo": "result record built by train for its callback",
    "optim.PlateauState": "result record built by ReduceOnPlateau.update",
    "optim.ReferenceRun": "result record built by optim.reference_run",
    "stats.CurveBand": "result record built by stats.seed_band (plot_band takes it: probed)",
    "stats.Interval": "result record built by stats.bootstrap_ci",
    "stats.Isolation": "result record built by stats.isolation (plot_isolation takes it: probed)",
    "stats.Profile": "result record built by stats.performance_profile (plot_profile takes it: probed)",
    "stats.TableRow": "result record built by stats.summary_table",
    "stats.TuningCurve": "result record built by stats.tuning_curve (plot_tuning_curve takes it: probed)",
    "sweep.Outcome": "result record built by the sweep workers",
    "sweep.Row": "result record built by Store.get from a stored row",
    "sweep.Summary": "result record built by Store.summaries from a stored row",
    "sweep.SweepProgress": "result record built by run_sweep for its progress callback",
    "sweep.SweepSummary": "result record built by run_sweep",
    "theory.LeastSquares": "result record built by theory.least_squares",
    "theory.PredictedCurve": "result record built by theory.predict_curve",
    "theory.ExpectedCurve": "result record built by theory.expected_curve",
    "Prediction": "result record built by momentumlab.predict",
    "theory.RateFit": "result record built by theory.fit_rate",
    "theory.StationaryLoss": "result record built by theory.stationary_loss",
    "theory.Tuning": "result record built by theory.best_learning_rate, optimal_gd and optimal_momentum",
    "viz.plot_modes": "needs a RunResult with a parameter history and its Prediction (test_viz_family.py)",
    "viz.measured_rates": "needs RunResults or a Store (test_viz_family.py)",
    "viz.explorer": "trains a grid of runs (seconds a call); its arguments are tested in test_explorer.py",
    "viz.Surface": "a type alias (Callable[[x, y], z]), not a function to call",
    "stats.run_compare": "runs a comparison sweep on the problem suite (seconds to minutes a call)",
    "stats.write_report": "runs a comparison sweep and writes its figures (seconds to minutes a call)",
    "sweep.DaskExecutor": "starts a Dask cluster (seconds to start, 60 s client teardown)",
    "sweep.StoreError": "an OSError subclass the store raises (no signature of its own to probe)",
    "Schedule": "an abstract base class (subclasses are probed)",
    "sweep.Executor": "an abstract base class (InProcessExecutor and PoolExecutor are probed)",
    "sweep.DataSpec": "a typing Protocol, not a class to instantiate (the specs are probed)",
}

# Gaps found and not fixed yet: "callable.param" -> reason.
# Both live in runner/_vectorized.py, which the batched branch rewrites: fix them there.
KNOWN_GAPS: dict[str, str] = {
}

# Callables for which NaN and inf are values, not errors, and why (accepted there, not a gap).
NONFINITE_IS_VALUE = {
    "RunResult": "a record of what ran: a diverged run has NaN/inf losses, weights and final loss",
}

# Parameters whose messages name what the user wrote rather than the Python parameter, and why.
NAMED_AS = {
    "sweep.config_from_mapping.values": ("config", "the [config] table of a sweep file"),
    "sweep.data_spec_from_mapping.values": ("data", "the [data] table of a sweep file"),
}

# Parameters not probed although simply annotated (they take any value by design).
FREE_PARAMS = {"name", "label", "description", "key", "worker", "error", "metric_name"}


@dataclass(frozen=True)
class Bad:
    value: Any
    clear: bool  # clearly invalid: accepting it is a gap
    what: str


NAN, INF = float("nan"), float("inf")


# Parameters annotated ``Any`` (array-broadcasting closed forms, duck-typed inputs) and what to probe them as.
PARAM_KINDS: dict[str, str] = {
    "theory.rate.spectrum": "array",
    "theory.rate.learning_rate": "float",
    "theory.rate.momentum": "float",
    "theory.mode_rate.eigenvalue": "float",
    "theory.mode_rate.learning_rate": "float",
    "theory.mode_rate.momentum": "float",
    "theory.is_stable.spectrum": "array",
    "theory.is_stable.learning_rate": "float",
    "theory.is_stable.momentum": "float",
    "theory.max_stable_learning_rate.spectrum": "array",
    "theory.max_stable_learning_rate.momentum": "float",
    "theory.critical_learning_rates.eigenvalue": "float",
    "theory.critical_learning_rates.momentum": "float",
    "theory.best_learning_rate.spectrum": "array",
    "theory.optimal_gd.spectrum": "array",
    "theory.optimal_momentum.spectrum": "array",
    "viz.plot_rate.result_or_steps": "array",
    "viz.plot_rate.losses": "array",
    "stats.edge_of_space.config": "config",
    "sweep.as_spec.data": "object",
    "sweep.run_sweep.data": "object",
}

# Annotations of library objects, nets and records: probed with values of another type.
OBJECT_ANNOTATIONS = {
    "ArrayData",
    "CompareSpec",
    "CurveBand",
    "DataSpec",
    "Interval",
    "Isolation",
    "Iterable[Summary]",
    "LeastSquares",
    "OneCycleLearningRate",
    "OneCycleMomentum",
    "Problem|LinearData",
    "Profile",
    "QuadraticSurface|Surface",
    "RunResult",
    "RunResult|Sequence[RunResult]",
    "RunResult|Sequence[RunResult|Array]",
    "Sequence[Point|RunConfig]",
    "Sequence[RunConfig]",
    "Sequence[RunResult]",
    "TuningCurve",
    "mx.gluon.Block",
    "mx.gluon.ParameterDict",
    "mx.gluon.Trainer",
    "mx.lr_scheduler.LRScheduler",
}


def _kind(annotation: Any, where: str = "") -> str | None:
    if where in PARAM_KINDS:
        return PARAM_KINDS[where]
    a = str(annotation).replace(" ", "").replace("'", "")
    bare = a.replace("|None", "")
    table = {
        "int": "int",
        "float": "float",
        "bool": "bool",
        "str": "str",
        "Sequence[float]": "seq_float",
        "Sequence[int]": "seq_int",
        "Sequence[float]|Array": "seq_float",
        "Sequence[float]|npt.ArrayLike": "seq_float",
        "Array": "array",
        "npt.ArrayLike": "array",
        "F64": "array",
        "RunConfig": "config",
        "Schedule": "schedule",
        "Seed": "seed",
    }
    if bare in table:
        return table[bare]
    if bare.startswith(("Mapping[", "dict[")):
        return "mapping"
    if bare.startswith("Callable[") or bare in ("StepFunction", "StepFunction|Schedule", "Initializer"):
        return "callable"
    if bare in OBJECT_ANNOTATIONS:
        return "object"
    return None


def _bad_values(kind: str, optional: bool) -> list[Bad]:
    out: list[Bad] = []
    if not optional:
        out.append(Bad(None, kind not in {"seed"}, "None"))
    if kind == "float":
        out += [
            Bad(NAN, True, "nan"),
            Bad(INF, True, "inf"),
            Bad(-1.0, False, "negative"),
            Bad(0.0, False, "zero"),
            Bad(1e300, False, "huge"),
            Bad("x", True, "str"),
        ]
    elif kind == "int":
        out += [
            Bad(-1, False, "negative"),
            Bad(0, False, "zero"),
            Bad(1.5, True, "float"),
            Bad("x", True, "str"),
        ]
    elif kind == "seed":
        out += [Bad(-1, True, "negative"), Bad("x", True, "str"), Bad(1.5, True, "float")]
    elif kind == "bool":
        out += [Bad("yes", True, "str")]
    elif kind == "str":
        out += [Bad(123, True, "int"), Bad("no-such-name", False, "unknown")]
    elif kind in ("seq_float", "seq_int"):
        out += [Bad([], False, "empty"), Bad("abc", True, "str"), Bad(5j, True, "complex")]
        out.append(Bad([NAN], True, "nan") if kind == "seq_float" else Bad([1.5], True, "float"))
    elif kind == "array":
        out += [
            Bad(np.array([]), False, "empty"),
            Bad(np.array([NAN, 1.0]), True, "nan"),
            Bad("abc", True, "str"),
            Bad(np.zeros((2, 3, 4)), False, "shape"),
        ]
    elif kind in ("config", "schedule", "object"):
        out += [Bad("abc", True, "str"), Bad(3j, True, "complex")]
    elif kind == "mapping":
        out += [Bad("abc", True, "str"), Bad(3j, True, "complex"), Bad({"no-such-name": 1}, False, "unknown")]
    elif kind == "callable":
        out += [Bad("abc", True, "str"), Bad(3, True, "int")]
    return out


class _AlarmError(Exception):
    pass


@contextlib.contextmanager
def _alarm(seconds: int) -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        raise _AlarmError

    old = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@dataclass(frozen=True)
class Record:
    callable: str
    param: str
    what: str
    outcome: str  # good, unnamed, other:<Type>, accepted, accepted-invalid, hang
    detail: str = ""


def _call(
    fn: Callable[..., Any], kwargs: dict[str, Any], param: str, bad: Bad, key: str = ""
) -> tuple[str, str]:
    try:
        with _alarm(TIMEOUT_S), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(**kwargs)
    except _AlarmError:
        return "hang", ""
    except (ValueError, TypeError) as exc:
        # A relation between two arguments ("high must be > low") may name the other one.
        names = (param, *NAMED_AS.get(f"{key}.{param}", ())[:1])
        named = any(n in str(exc) for n in names) or any(f"{other} must" in str(exc) for other in _params(fn))
        return ("good", "") if named else ("unnamed", f"{type(exc).__name__}: {exc}"[:150])
    except Exception as exc:  # classify every exception type
        return f"other:{type(exc).__name__}", str(exc)[:150]
    finally:
        if "matplotlib.pyplot" in sys.modules:  # plotting probes: free their figures
            sys.modules["matplotlib.pyplot"].close("all")
    return ("accepted-invalid" if bad.clear else "accepted"), ""


def _params(fn: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(fn).parameters)


def _valid_kwargs(key: str, fn: Callable[..., Any]) -> dict[str, Any] | None:
    example = EXAMPLES[key]() if key in EXAMPLES else {}
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is p.empty and p.name not in example:
            return None
    return example


def probe(key: str, fn: Callable[..., Any]) -> list[Record]:
    """Call ``fn`` with one bad value at a time; return one record per call."""
    base = _valid_kwargs(key, fn)
    assert base is not None, key
    with _alarm(60), warnings.catch_warnings():  # the example must be valid; warms up imports (pyplot)
        warnings.simplefilter("ignore")
        fn(**base)
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
    records = []
    for p in inspect.signature(fn).parameters.values():
        kind = _kind(p.annotation, f"{key}.{p.name}")
        if kind is None or p.name in FREE_PARAMS:
            continue
        optional = "None" in str(p.annotation) or p.default is None
        for bad in _bad_values(kind, optional):
            if key in NONFINITE_IS_VALUE and bad.what in ("nan", "inf"):
                bad = dataclasses.replace(bad, clear=False)
            kwargs = dict(_valid_kwargs(key, fn) or {})
            kwargs[p.name] = bad.value
            outcome, detail = _call(fn, kwargs, p.name, bad, key)
            records.append(Record(key, p.name, bad.what, outcome, detail))
    return records


def gaps_of(records: list[Record]) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in records:
        if r.outcome in ("good", "accepted"):
            continue
        out.setdefault(f"{r.callable}.{r.param}", f"{r.what}: {r.outcome} {r.detail}".strip())
    return out


CALLABLES = _public_callables()
PROBED = sorted(k for k, f in CALLABLES.items() if k not in UNPROBED and _valid_kwargs(k, f) is not None)


def test_every_public_callable_is_probed_or_listed() -> None:
    assert len(CALLABLES) > 100
    missing = sorted(set(CALLABLES) - set(PROBED) - set(UNPROBED))
    assert missing == [], f"add an EXAMPLES entry or an UNPROBED reason for: {missing}"
    stale = sorted(k for k in UNPROBED if k not in CALLABLES or k in EXAMPLES)
    assert stale == []


@pytest.mark.parametrize("key", PROBED)
def test_public_callable_rejects_bad_arguments_by_name(key: str) -> None:
    records = probe(key, CALLABLES[key])
    found = gaps_of(records)
    known = {
        k: v for k, v in KNOWN_GAPS.items() if k.startswith(f"{key}.") and k[len(key) + 1 :].isidentifier()
    }
    new = sorted(set(found) - set(known))
    gone = sorted(set(known) - set(found))
    assert new == [], "new contract gaps:\n" + "\n".join(f"{k}: {found[k]}" for k in new)
    assert gone == [], f"fixed gaps still listed in KNOWN_GAPS: {gone}"


def _array_params() -> list[tuple[str, str]]:
    out = []
    for key in PROBED:
        for p in inspect.signature(CALLABLES[key]).parameters.values():
            if _kind(p.annotation, f"{key}.{p.name}") in ("array", "seq_float") and p.name not in FREE_PARAMS:
                out.append((key, p.name))
    return out


ARRAY_PARAMS = _array_params()

# Array parameters that hold any dtype by design, and why.
ANY_DTYPE = {
    "RunResult.weight": "a record: the store keeps any array it is given (bool too, test_sweep_store)",
    "RunResult.bias": "a record: the store keeps any array it is given (bool too, test_sweep_store)",
}


def _valid_numbers(key: str, param: str) -> list[Any]:
    """The valid value of ``param`` as a flat list of floats (``[1.0, 2.0]`` when it has none)."""
    value = (EXAMPLES[key]() if key in EXAMPLES else {}).get(param)
    if value is None:
        default = inspect.signature(CALLABLES[key]).parameters[param].default
        value = None if default is inspect.Parameter.empty else default
    try:
        flat = np.asarray(value, dtype=np.float64).ravel().tolist()
    except (TypeError, ValueError):
        flat = []
    return flat or [1.0, 2.0]


@st.composite
def _non_numeric(draw: st.DrawFn, numbers: list[Any], spoilers: list[str]) -> Any:
    """``numbers`` spoiled (by one of ``spoilers``) so that it is no longer an array of real numbers."""
    i = draw(st.integers(0, len(numbers) - 1))
    spoil = draw(st.sampled_from(spoilers))
    out = list(numbers)
    if spoil == "text":
        return draw(st.text(min_size=1, max_size=4))
    if spoil == "text-entry":
        out[i] = draw(st.text(max_size=3))
    elif spoil == "complex-entry":
        out[i] = complex(out[i], draw(st.floats(1e-3, 1e3)))
    elif spoil == "none-entry":
        out[i] = None
    elif spoil == "ragged":
        return [out, [*out, 1.0]]
    else:
        return np.ones(len(out), dtype=bool)
    return out


@pytest.mark.parametrize(("key", "param"), ARRAY_PARAMS, ids=[f"{k}.{p}" for k, p in ARRAY_PARAMS])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_array_parameters_reject_non_numeric_content_by_name(
    key: str, param: str, data: st.DataObject
) -> None:
    """A law: an array or sequence parameter given anything but real numbers is refused by name."""
    if f"{key}.{param}" in KNOWN_GAPS:
        return
    spoilers = ["text", "text-entry", "complex-entry", "none-entry", "ragged", "bool-array"]
    if f"{key}.{param}" in ANY_DTYPE:
        spoilers.remove("bool-array")
    bad = data.draw(_non_numeric(_valid_numbers(key, param), spoilers), label=param)
    kwargs = dict(EXAMPLES[key]() if key in EXAMPLES else {})
    kwargs[param] = bad
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises((ValueError, TypeError)) as info:
            CALLABLES[key](**kwargs)
    others = _params(CALLABLES[key])
    assert param in str(info.value) or any(f"{o} must" in str(info.value) for o in others), str(info.value)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=st.one_of(
        st.just(NAN),
        st.just(INF),
        st.just(-INF),
        st.text(max_size=3),
        st.none(),
        st.complex_numbers(min_magnitude=1e-3),
    ),
    make=st.sampled_from([ml.optim.constant_schedule, ml.optim.cosine_decay, ml.optim.step_decay]),
)
def test_schedule_init_value_rejects_hypothesis_bad_values(value: Any, make: Callable[..., Any]) -> None:
    """A law: a schedule's value is a finite real number; hypothesis-drawn bad values are rejected."""
    args = {ml.optim.constant_schedule: (), ml.optim.cosine_decay: (10,), ml.optim.step_decay: (5, 0.5)}[make]
    with pytest.raises((ValueError, TypeError), match="value"):
        make(value, *args)


GAP_KINDS = ("unnamed", "other", "accepted-invalid", "hang")


def outcome_counts(records: list[Record]) -> dict[str, Any]:
    """The walk's counts by outcome: calls, named rejections, accepted values and gaps by kind.

    ``other`` gaps are split by exception type (``other:AttributeError``); ``gap_params`` counts
    the distinct ``callable.param`` with at least one gap (the KNOWN_GAPS keys).
    """
    by: dict[str, int] = {}
    for r in records:
        by[r.outcome] = by.get(r.outcome, 0) + 1
    gaps = {k: v for k, v in sorted(by.items()) if k.split(":")[0] in GAP_KINDS}
    return {
        "calls": len(records),
        "callables": len({r.callable for r in records}),
        "named_rejections": by.get("good", 0),
        "accepted_valid": by.get("accepted", 0),
        "gaps": gaps,
        "gap_calls": sum(gaps.values()),
        "gap_params": len(gaps_of(records)),
    }


def test_outcome_counts_add_up_and_split_gaps_by_kind() -> None:
    records = [
        Record("a", "x", "nan", "good"),
        Record("a", "x", "str", "unnamed", "TypeError: ..."),
        Record("a", "y", "None", "other:AttributeError", "..."),
        Record("b", "z", "huge", "accepted"),
        Record("b", "z", "None", "accepted-invalid"),
    ]
    counts = outcome_counts(records)
    assert counts["calls"] == 5
    assert counts["callables"] == 2
    assert counts["named_rejections"] == 1
    assert counts["accepted_valid"] == 1
    assert counts["gaps"] == {"accepted-invalid": 1, "other:AttributeError": 1, "unnamed": 1}
    assert counts["gap_calls"] == 3
    assert counts["gap_params"] == 3  # a.x, a.y, b.z
    assert counts["named_rejections"] + counts["accepted_valid"] + counts["gap_calls"] == counts["calls"]


def main() -> None:  # pragma: no cover - `python tests/test_public_contract.py` prints the counts
    """Walk every probed callable and print the counts by outcome, then every gap and the unprobed."""
    all_records: list[Record] = []
    for key in PROBED:
        all_records += probe(key, CALLABLES[key])
    c = outcome_counts(all_records)
    print(
        f"calls {c['calls']} over {c['callables']} callables ({len(PROBED)} probed of {len(CALLABLES)} "
        f"public, {len(UNPROBED)} listed unprobed); named rejections {c['named_rejections']}; "
        f"accepted valid {c['accepted_valid']}; gap calls {c['gap_calls']} in {c['gap_params']} "
        f"parameters {c['gaps']}"
    )
    for k, v in sorted(gaps_of(all_records).items()):
        print(f"    {k!r}: {v!r},")
    print("unprobed:", sorted(set(CALLABLES) - set(PROBED)))


if __name__ == "__main__":
    main()
