"""The sweep driver: validates every point, skips finished runs, runs the rest, writes rows."""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from momentumlab._src.checks import check_bool, check_float, check_int, check_type
from momentumlab.problems import Problem
from momentumlab.runner import RunConfig, can_train_many
from momentumlab.runner._vectorized import MEMORY_BUDGET, SHARED_FIELDS, batch_capacity
from momentumlab.sweep._data import as_spec
from momentumlab.sweep._executors import Executor, InProcessExecutor
from momentumlab.sweep._keys import run_key
from momentumlab.sweep._space import Point
from momentumlab.sweep._store import Store
from momentumlab.sweep._worker import DIVERGED, DONE, FAILED, Outcome, Task, failed, worker_name

logger = logging.getLogger("momentumlab.sweep")


@dataclass(frozen=True, kw_only=True)
class SweepProgress:
    """What the ``progress`` callback of :func:`run_sweep` receives (at the start and per row).

    Attributes:
        completed: runs stored by this call so far.
        total: runs this call has to do (points not already finished in the store).
        key: the key of the run just stored (``""`` in the first call, before any run).
        status: its status (``""`` in the first call).
        final_loss: its final loss (``nan`` when failed).
    """

    completed: int
    total: int
    key: str
    status: str
    final_loss: float


@dataclass(frozen=True, kw_only=True)
class SweepSummary:
    """What :func:`run_sweep` did.

    Attributes:
        keys: the run key of every point, in the order of the points.
        n_runs: distinct runs among the points (equal configs share a run).
        n_skipped: runs already finished in the store, not run again.
        n_done, n_diverged, n_failed: outcomes of the runs done by this call.
        wall_time: seconds spent in ``run_sweep``.
        executor: the executor's name.
        n_elsewhere: runs another driver sharing the store did while this call ran.
    """

    keys: tuple[str, ...]
    n_runs: int
    n_skipped: int
    n_done: int
    n_diverged: int
    n_failed: int
    wall_time: float
    executor: str
    n_elsewhere: int = 0

    @property
    def n_points(self) -> int:
        """Number of points given."""
        return len(self.keys)

    def _repr_html_(self) -> str:
        """A notebook summary: the counts of this sweep."""
        from momentumlab._src.html import table

        return table(
            "SweepSummary",
            [
                ("points", self.n_points),
                ("distinct runs", self.n_runs),
                ("skipped (already done)", self.n_skipped),
                ("done", self.n_done),
                ("diverged", self.n_diverged),
                ("failed", self.n_failed),
                ("done elsewhere", self.n_elsewhere),
                ("executor", self.executor),
                ("wall_time", f"{self.wall_time:.2f} s"),
            ],
        )


def prepare(points: Sequence[Point | RunConfig], data: Any) -> tuple[Any, Any, list[Task]]:
    """Validate every point against the data and key it, before anything runs.

    Returns:
        ``(spec, built_data, tasks)`` with one task per point, in order.

    Raises:
        ValueError: for a point the data cannot run (named by its index and changes).
        TypeError: for a point that is not a Point/RunConfig or has no canonical form.
    """
    if isinstance(points, (Point, RunConfig)) or not isinstance(points, Sequence):
        raise TypeError(f"points must be a sequence of Point or RunConfig, got {type(points).__name__}")
    spec = as_spec(data)
    built = data if not hasattr(data, "build") else spec.build()
    description = built.description
    n_samples = built.data.n_samples if isinstance(built, Problem) else built.n_samples
    tasks: list[Task] = []
    for i, p in enumerate(points):
        config = p.config if isinstance(p, Point) else p
        check_type(f"points[{i}]", config, RunConfig, "a Point or RunConfig")
        where = f"points[{i}]" + (f" ({dict(p.changes)})" if isinstance(p, Point) and p.changes else "")
        if config.batch_size > n_samples:
            raise ValueError(
                f"{where}: batch_size must be in [1, {n_samples}] (the number of examples), "
                f"got {config.batch_size}"
            )
        try:
            key = run_key(config, description)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{where}: {err}") from err
        tasks.append(Task(key, config))
    return spec, built, tasks


#: Longest claim a driver may hold, in seconds (about 11.6 days; longer waits overflow the
#: heartbeat's timer).
MAX_CLAIM_TTL = 1e6

#: Largest batch the default chunking gives the batched engine (a chunk goes to one worker).
AUTO_BATCH = 256


def _chunks(
    todo: list[Task], size: int | None, data: Any, memory_budget: int = MEMORY_BUDGET
) -> list[list[Task]]:
    """Chunks of tasks for the executor: ``size`` consecutive tasks, or (``None``) the tasks
    grouped by the fields a batch shares, each group cut into batches that
    :func:`momentumlab.can_train_many` accepts, of at most :data:`AUTO_BATCH` runs and
    ``memory_budget`` bytes; runs that cannot be batched go alone."""
    if size is not None:
        return [todo[i : i + size] for i in range(0, len(todo), size)]
    groups: dict[tuple[str, ...], list[Task]] = {}
    for t in todo:
        groups.setdefault(tuple(repr(getattr(t.config, f)) for f in SHARED_FIELDS), []).append(t)
    out: list[list[Task]] = []
    for group in groups.values():
        cap = min(AUTO_BATCH, batch_capacity(group[0].config, data, memory_budget))
        for i in range(0, len(group), cap):
            batch = group[i : i + cap]
            if len(batch) > 1 and can_train_many([t.config for t in batch], data):
                out.append(batch)
            else:
                out.extend([t] for t in batch)
    return out


class _Heartbeat:
    """Renews a driver's claims every ``ttl / 4`` seconds from a thread with its own connection."""

    def __init__(self, path: str, owner: str, ttl: float) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(path, owner, ttl), daemon=True, name="momentumlab-heartbeat"
        )
        self._thread.start()

    def _run(self, path: str, owner: str, ttl: float) -> None:
        store = Store(path)
        try:
            while not self._stop.wait(ttl / 4):
                try:
                    store.renew(owner, ttl)
                except sqlite3.Error as err:  # a busy file: the next beat tries again
                    logger.warning("could not renew the sweep's claims: %s", err)
        finally:
            store.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_sweep(
    points: Sequence[Point | RunConfig],
    data: Any,
    store: Store | str | os.PathLike[str],
    *,
    executor: Executor | None = None,
    chunk_size: int | None = None,
    retry_failed: bool = True,
    progress: Callable[[SweepProgress], None] | None = None,
    claim_ttl: float = 60.0,
    memory_budget: int = MEMORY_BUDGET,
) -> SweepSummary:
    """Run every point not yet finished in ``store`` and store one row per run.

    Every point is validated and keyed first (a bad one raises before anything runs). Runs
    whose key is already stored as ``done`` or ``diverged`` are skipped, so calling this
    again after an interruption finishes the sweep; ``failed`` runs are run again unless
    ``retry_failed=False``. Outcomes are written as they arrive, each row in one
    transaction, by this function only (executors never touch the store). A run that
    diverges or raises is recorded and the sweep goes on.

    Several drivers may share one store (on one machine, or a file system with working
    locks): each claims a chunk's runs in the store just before its executor takes the
    chunk, renews its claims every ``claim_ttl / 4`` seconds while it works and releases
    them at the end, so no run is started by two drivers. Runs claimed by another driver are
    waited for; the claims of a driver that died expire after ``claim_ttl`` seconds and the
    runs are then done here. (With ``retry_failed``, a run that fails again under one
    driver may be retried by another.)

    Args:
        points: :class:`Point` objects (from :func:`grid`, :func:`random_search`) or configs.
        data: a data spec (:class:`LinearRegressionSpec`, :class:`ArraysSpec`) or a
            ``LinearData`` (shipped to workers as arrays).
        store: a :class:`Store` or a path (opened and closed here).
        executor: where to run; ``None`` is :class:`InProcessExecutor`.
        chunk_size: runs sent to a worker together, >= 1 (larger amortises per-call overhead
            and gives the vectorised engine whole batches; a lost worker loses its chunk).
            ``None`` (default): the runs grouped by the fields a batch shares
            (``batch_size``, ``epochs``, ``optimizer``, ...), each group cut into batches of up
            to :data:`AUTO_BATCH` runs that :func:`momentumlab.can_train_many` accepts (every
            problem of the suite with SGD or NAG), which run as one computation of
            :func:`momentumlab.train_many`; every other run alone. Chunks are formed here,
            never by the executor, so every executor gets the same ones.
        retry_failed: run points whose stored status is ``failed`` again.
        progress: called with a :class:`SweepProgress` once before the first run (with
            ``completed=0`` and empty ``key``/``status``) and after every stored row.
        claim_ttl: seconds a claim of this driver outlives its last renewal, in (0, 1e6].
        memory_budget: bytes one batch of the default chunking may hold at once, >= 1
            (default 2 GiB): a batch holds at most as many runs as fit (estimated from the
            problem's parameters, activations, records and updates per run).

    Returns:
        A :class:`SweepSummary`.

    Example:
        >>> import os, tempfile, momentumlab as ml
        >>> base = ml.RunConfig(epochs=1, batch_size=100, period=100)
        >>> points = ml.sweep.grid(base, {"learning_rate": [0.1, 0.5]}, seeds=[0, 1])
        >>> spec = ml.sweep.LinearRegressionSpec(n_samples=200, seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "runs.sqlite")
        >>> ml.sweep.run_sweep(points, spec, path).n_done
        4
        >>> ml.sweep.run_sweep(points, spec, path).n_skipped   # resumable: nothing left to do
        4
    """
    start = time.perf_counter()
    size = None if chunk_size is None else check_int("chunk_size", chunk_size, low=1)
    retry = check_bool("retry_failed", retry_failed)
    ttl = check_float("claim_ttl", claim_ttl, low=0.0, low_open=True, high=MAX_CLAIM_TTL)
    budget = check_int("memory_budget", memory_budget, low=1)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {progress!r}")
    if executor is not None:
        check_type("executor", executor, Executor, "an Executor or None")
    spec, built, tasks = prepare(points, data)
    description = dict(built.description)
    unique: dict[str, Task] = {}
    for t in tasks:
        unique.setdefault(t.key, t)

    own_store = not isinstance(store, Store)
    st = Store(store) if not isinstance(store, Store) else store
    counts = {DONE: 0, DIVERGED: 0, FAILED: 0}
    owner = f"{worker_name()}:{uuid.uuid4().hex[:8]}"
    mine: set[str] = set()  # keys this call claimed
    elsewhere: set[str] = set()  # keys another driver finished meanwhile
    heartbeat: _Heartbeat | None = None
    try:
        statuses = st.statuses()
        finished = {k for k in unique if statuses.get(k) in (DONE, DIVERGED)}
        if not retry:
            finished |= {k for k in unique if statuses.get(k) == FAILED}
        todo = [t for k, t in unique.items() if k not in finished]
        ex = executor if executor is not None else InProcessExecutor()
        waiting = {t.key for t in todo}
        deferred: list[Task] = []  # claimed by another driver when we came to them

        def write(outcome: Outcome) -> None:
            st.put(outcome, config=unique[outcome.key].config, data=description)
            waiting.discard(outcome.key)
            counts[outcome.status] += 1
            if progress is not None:
                progress(
                    SweepProgress(
                        completed=len(todo) - len(waiting),
                        total=len(todo),
                        key=outcome.key,
                        status=outcome.status,
                        final_loss=outcome.final_loss,
                    )
                )

        def stored_elsewhere(keys: set[str]) -> set[str]:
            now = st.statuses()
            return {k for k in keys if k in now and (not retry or now[k] != FAILED)}

        def claimed(chunks: list[list[Task]], defer: bool) -> Iterator[list[Task]]:
            for chunk in chunks:
                got = set(st.claim([t.key for t in chunk], owner, ttl, retry_failed=retry))
                mine.update(got)
                rest = {t.key for t in chunk} - got
                if rest:
                    done_there = stored_elsewhere(rest)
                    elsewhere.update(done_there)
                    waiting.difference_update(done_there)
                    if defer:
                        deferred.extend(t for t in chunk if t.key in rest - done_there)
                ours = [t for t in chunk if t.key in got]
                if ours:
                    yield ours

        def run(chunks: list[list[Task]], defer: bool) -> None:
            outcomes = ex.execute(claimed(chunks, defer), spec, built)
            try:
                for outcome in outcomes:
                    if outcome.key in waiting:
                        write(outcome)
            finally:  # stop the executor's workers now, not when the generator is collected
                close = getattr(outcomes, "close", None)
                if close is not None:
                    close()

        if progress is not None:
            progress(SweepProgress(completed=0, total=len(todo), key="", status="", final_loss=math.nan))
        if todo:
            heartbeat = _Heartbeat(st.path, owner, ttl)
            run(_chunks(todo, size, built, budget), defer=True)
            poll = min(1.0, ttl / 10)
            while deferred:  # runs another driver holds: wait until stored or its claim expires
                keys = {t.key for t in deferred}
                done_there = stored_elsewhere(keys)
                elsewhere.update(done_there)
                waiting.difference_update(done_there)
                left = [t for t in deferred if t.key in keys - done_there]
                deferred.clear()
                claimable = set(st.claim([t.key for t in left], owner, ttl, retry_failed=retry))
                deferred.extend(t for t in left if t.key not in claimable)
                if claimable:  # ours now; run() claims them again chunk by chunk (extends them)
                    run(_chunks([t for t in left if t.key in claimable], size, built, budget), defer=True)
                elif deferred:
                    time.sleep(poll)
        for key in sorted(waiting & mine):  # an executor that lost a run without saying why
            write(failed(key, f"executor {ex.name} returned no outcome for this run"))
    finally:
        try:
            if heartbeat is not None:
                heartbeat.stop()
            if mine:
                st.release(sorted(mine), owner)
        finally:
            if own_store:
                st.close()
    return SweepSummary(
        keys=tuple(t.key for t in tasks),
        n_runs=len(unique),
        n_skipped=len(finished),
        n_done=counts[DONE],
        n_diverged=counts[DIVERGED],
        n_failed=counts[FAILED],
        wall_time=time.perf_counter() - start,
        executor=(executor.name if executor is not None else InProcessExecutor.name),
        n_elsewhere=len(elsewhere),
    )
