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
from dataclasses import dataclass

from momentumlab._src.checks import check_type
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
    """One run to do: its key and config.

    Example:
        >>> import momentumlab as ml
        >>> ml.sweep.Task("k", ml.RunConfig(epochs=1)).config.epochs
        1
    """

    key: str
    config: RunConfig

    def __post_init__(self) -> None:
        check_type("key", self.key, str, "a str (the run key)")
        check_type("config", self.config, RunConfig, "a RunConfig")


@dataclass(frozen=True, kw_only=True, eq=False)
class Outcome:
    """What a worker sends back for one task: the run's :class:`~momentumlab.RunResult`, or
    the error that stopped it.

    Attributes:
        key: the run key.
        status: ``"done"``, ``"diverged"`` or ``"failed"``.
        error: the error text of a failed run, else ``None``.
        result: the run itself, ``None`` for a failed run.
        worker: ``host:pid`` of the process that ran it.
        started_at, finished_at: Unix times on the worker.
        attempts: how many times the run was started (more than 1 after a lost worker).
    """

    key: str
    status: str
    error: str | None = None
    result: RunResult | None = None
    worker: str = ""
    started_at: float = math.nan
    finished_at: float = math.nan
    attempts: int = 1

    @property
    def final_loss(self) -> float:
        """The result's final loss, ``nan`` for a failed run."""
        return math.nan if self.result is None else float(self.result.final_loss)


def worker_name() -> str:
    """``host:pid`` of the current process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def from_result(key: str, result: RunResult, started_at: float) -> Outcome:
    """The :class:`Outcome` of a run that produced ``result``."""
    return Outcome(
        key=key,
        status=DIVERGED if result.diverged else DONE,
        result=result,
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
    :func:`momentumlab.can_train_many` accepts (SGD or NAG on any problem of the suite) runs
    as one batch through :func:`momentumlab.train_many` (``row.result.engine ==
    "numpy-batched"``); anything else runs point by point through :func:`momentumlab.train`.
    The driver sizes the chunks to its memory budget.
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
