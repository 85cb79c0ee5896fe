"""What runs inside a worker: a chunk of tasks on data rebuilt from its spec.

Everything here is picklable by reference (top-level functions and frozen dataclasses), so
the same code runs in-process, in a spawned process pool and on Dask workers.
"""

from __future__ import annotations

import math
import os
import socket
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from momentumlab._src.types import Array
from momentumlab.data import LinearData
from momentumlab.problems import Problem
from momentumlab.runner import RunConfig, RunResult, can_train_many, train, train_many

#: Statuses of a stored run.
DONE = "done"
DIVERGED = "diverged"
FAILED = "failed"
STATUSES = (DONE, DIVERGED, FAILED)


@dataclass(frozen=True)
class Task:
    """One run to do: its key and config."""

    key: str
    config: RunConfig


def _empty() -> Array:
    return np.zeros(0, dtype=np.float64)


@dataclass(frozen=True, kw_only=True, eq=False)
class Outcome:
    """What a worker sends back for one task: a run's history, or the error that stopped it."""

    key: str
    status: str
    error: str | None = None
    final_loss: float = math.nan
    losses: Array = field(default_factory=_empty)
    record_steps: Array = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    record_epochs: Array = field(default_factory=_empty)
    learning_rates: Array = field(default_factory=_empty)
    momenta: Array = field(default_factory=_empty)
    params: dict[str, Array] = field(default_factory=dict)
    n_steps: int = 0
    steps_per_epoch: int = 0
    epochs_completed: int = 0
    message: str = ""
    path: str = ""
    wall_time: float = math.nan
    started_at: float = math.nan
    finished_at: float = math.nan
    worker: str = ""
    attempts: int = 1


def worker_name() -> str:
    """``host:pid`` of the current process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def from_result(key: str, result: RunResult, started_at: float) -> Outcome:
    """An :class:`Outcome` holding everything a store keeps of ``result``."""
    return Outcome(
        key=key,
        status=DIVERGED if result.diverged else DONE,
        final_loss=result.final_loss,
        losses=np.asarray(result.losses, dtype=np.float64),
        record_steps=np.asarray(result.record_steps, dtype=np.int64),
        record_epochs=np.asarray(result.record_epochs, dtype=np.float64),
        learning_rates=np.asarray(result.learning_rates, dtype=np.float64),
        momenta=np.asarray(result.momenta, dtype=np.float64),
        params={k: np.asarray(v) for k, v in result.params.items()},
        n_steps=result.n_steps,
        steps_per_epoch=result.steps_per_epoch,
        epochs_completed=result.epochs_completed,
        message=result.message,
        path=result.path,
        wall_time=result.wall_time,
        started_at=started_at,
        finished_at=time.time(),
        worker=worker_name(),
    )


def failed(key: str, error: str, *, started_at: float = math.nan, attempts: int = 1) -> Outcome:
    """A failed :class:`Outcome` with its error text."""
    return Outcome(
        key=key,
        status=FAILED,
        error=error,
        message=error.splitlines()[0] if error else "",
        started_at=started_at,
        finished_at=time.time(),
        worker=worker_name(),
        attempts=attempts,
    )


def _error_text(err: BaseException) -> str:
    tb = "".join(traceback.format_exception(type(err), err, err.__traceback__, limit=-8))
    return f"{type(err).__name__}: {err}\n\n{tb}"


def _train_each(tasks: Sequence[Task], data: LinearData | Problem) -> list[Outcome]:
    out: list[Outcome] = []
    for task in tasks:
        started = time.time()
        try:
            result = train(task.config, data)
        except Exception as err:  # a failing run is recorded, the sweep goes on
            out.append(failed(task.key, _error_text(err), started_at=started))
        else:
            out.append(from_result(task.key, result, started))
    return out


def _train_batch(tasks: Sequence[Task], data: LinearData | Problem) -> list[Outcome] | None:
    """The whole chunk through the vectorised engine, or ``None`` when it does not apply."""
    configs = [t.config for t in tasks]
    if len(configs) < 2 or not can_train_many(configs, data):
        return None
    started = time.time()
    try:
        results = train_many(configs, data)
    except Exception:  # run point by point: each failure is then recorded with its own message
        return None
    return [from_result(t.key, r, started) for t, r in zip(tasks, results, strict=True)]


def run_chunk(tasks: Sequence[Task], data: object) -> list[Outcome]:
    """Run ``tasks`` on ``data`` (a ``LinearData`` or a spec with ``build()``); never raises
    for a failing run.

    This is the one place that chooses the engine: a chunk of two or more runs that
    :func:`momentumlab.can_train_many` accepts runs as one batch through
    :func:`momentumlab.train_many` (``row.path == "vectorized"``); anything else runs point
    by point through :func:`momentumlab.train`.
    """
    started = time.time()
    if isinstance(data, (LinearData, Problem)):
        built: LinearData | Problem = data
    else:
        try:
            built = data.build()  # type: ignore[attr-defined]
        except Exception as err:
            text = "data could not be built: " + _error_text(err)
            return [failed(t.key, text, started_at=started) for t in tasks]
    batch = _train_batch(tasks, built)
    return batch if batch is not None else _train_each(tasks, built)
