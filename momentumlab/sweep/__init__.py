"""Sweeps that survive: grid, random and quasi-random search, run keys, a resumable SQLite store, and
in-process, process-pool and Dask executors.

Example:
    >>> import os, tempfile, momentumlab as ml
    >>> base = ml.RunConfig(epochs=1, batch_size=50, period=50)
    >>> points = ml.sweep.grid(base, {"learning_rate": [0.05, 0.2], "momentum": [0.0, 0.9]})
    >>> path = os.path.join(tempfile.mkdtemp(), "runs.sqlite")
    >>> summary = ml.sweep.run_sweep(points, ml.sweep.LinearRegressionSpec(n_samples=200), path)
    >>> with ml.sweep.Store(path) as store:
    ...     len(store), store.best(1)[0].value("momentum")
    (4, 0.9)
"""

from momentumlab.sweep._data import ArraysSpec as ArraysSpec
from momentumlab.sweep._data import DataSpec as DataSpec
from momentumlab.sweep._data import LinearRegressionSpec as LinearRegressionSpec
from momentumlab.sweep._data import ProblemSpec as ProblemSpec
from momentumlab.sweep._data import as_spec as as_spec
from momentumlab.sweep._data import data_spec_from_mapping as data_spec_from_mapping
from momentumlab.sweep._driver import SweepProgress as SweepProgress
from momentumlab.sweep._driver import SweepSummary as SweepSummary
from momentumlab.sweep._driver import run_sweep as run_sweep
from momentumlab.sweep._executors import DaskExecutor as DaskExecutor
from momentumlab.sweep._executors import Executor as Executor
from momentumlab.sweep._executors import InProcessExecutor as InProcessExecutor
from momentumlab.sweep._executors import PoolExecutor as PoolExecutor
from momentumlab.sweep._keys import run_key as run_key
from momentumlab.sweep._space import Choice as Choice
from momentumlab.sweep._space import IntUniform as IntUniform
from momentumlab.sweep._space import Point as Point
from momentumlab.sweep._space import Uniform as Uniform
from momentumlab.sweep._space import apply_changes as apply_changes
from momentumlab.sweep._space import check_field as check_field
from momentumlab.sweep._space import field_value as field_value
from momentumlab.sweep._space import grid as grid
from momentumlab.sweep._space import quasi_random_search as quasi_random_search
from momentumlab.sweep._space import random_search as random_search
from momentumlab.sweep._spec import SweepSpec as SweepSpec
from momentumlab.sweep._spec import config_from_mapping as config_from_mapping
from momentumlab.sweep._store import Row as Row
from momentumlab.sweep._store import Store as Store
from momentumlab.sweep._store import StoreError as StoreError
from momentumlab.sweep._store import Summary as Summary
from momentumlab.sweep._worker import Outcome as Outcome
from momentumlab.sweep._worker import Task as Task

__all__ = [
    "ArraysSpec",
    "Choice",
    "DaskExecutor",
    "DataSpec",
    "Executor",
    "InProcessExecutor",
    "IntUniform",
    "LinearRegressionSpec",
    "Outcome",
    "Point",
    "PoolExecutor",
    "ProblemSpec",
    "Row",
    "Store",
    "StoreError",
    "Summary",
    "SweepProgress",
    "SweepSpec",
    "SweepSummary",
    "Task",
    "Uniform",
    "apply_changes",
    "as_spec",
    "check_field",
    "config_from_mapping",
    "data_spec_from_mapping",
    "field_value",
    "grid",
    "quasi_random_search",
    "random_search",
    "run_key",
    "run_sweep",
]
