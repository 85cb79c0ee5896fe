"""Executors: where the chunks of a sweep run. They return outcomes; only the driver writes.

* :class:`InProcessExecutor` runs chunks one after the other in the calling process.
* :class:`PoolExecutor` runs them in a local process pool started with the ``spawn``
  context: MXNet's engine owns threads, and a process forked after it started is not safe
  (spawned workers import MXNet afresh, ~3-4 s each, once per sweep).
* :class:`DaskExecutor` submits them to a ``dask.distributed`` cluster.

Executors pull chunks lazily from the iterable they are given, keeping only a few in flight,
so a driver can claim each chunk just before it is submitted.

A worker process that dies (killed, out of memory, a run that calls ``os._exit``) is charged
only to the run it was running: the chunks that were in flight are split into single runs
and each is run *alone* again; a run whose worker dies while it runs alone is certainly the
culprit and is charged an attempt, and after ``max_attempts`` of those it is recorded as
failed with the reason. Every other run completes. Failures *inside* a run (exceptions)
never reach this level: the worker records them as failed outcomes.
"""

from __future__ import annotations

import abc
import ctypes
import dataclasses
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures import ProcessPoolExecutor as _Pool
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from momentumlab._src.checks import check_float, check_int, check_type
from momentumlab.data import LinearData
from momentumlab.sweep._worker import Outcome, Task, failed, run_chunk

logger = logging.getLogger("momentumlab.sweep")

Chunk = Sequence[Task]

#: Seconds between two checks of a pool worker that its driver is still alive.
PARENT_POLL = 0.5


def _lost(key: str, reason: str, lost: int, attempts: int) -> Outcome:
    text = f"worker lost {lost} time(s), giving up: {reason}"
    return failed(key, text, attempts=attempts)


def _with_attempts(outcomes: list[Outcome], attempts: dict[str, int]) -> list[Outcome]:
    return [
        o if attempts.get(o.key, 1) == o.attempts else dataclasses.replace(o, attempts=attempts[o.key])
        for o in outcomes
    ]


# ------------------------------------------------------------------- inside a pool worker

#: The pool worker's channel to its driver (set once per worker process by the initializer).
_STARTED: Any = None


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(PARENT_POLL)


def _die_with_parent(parent: int) -> None:
    """End this worker process when its driver ends, however it ends (even SIGKILL).

    On Linux the kernel sends SIGKILL when the parent goes (``PR_SET_PDEATHSIG``); everywhere a
    daemon thread checks ``os.getppid()`` every :data:`PARENT_POLL` s (it also covers a worker
    busy in C code that holds the GIL once that returns, and platforms without prctl).
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - exotic libc
            pass
    if os.getppid() != parent:  # the driver died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="momentumlab-parent").start()


def _init_worker(level: int | None, started: Any, parent: int) -> None:
    """Pool initializer: die with the driver, leave Ctrl-C to it, set the log level."""
    global _STARTED
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver handles Ctrl-C and stops the pool
    _STARTED = started
    if level is not None:
        logging.getLogger("momentumlab").setLevel(level)


def _run_reported(ident: int, tasks: Sequence[Task], spec: object) -> list[Outcome]:
    """Tell the driver that submission ``ident`` starts here, then run it."""
    if _STARTED is not None:
        _STARTED.put(ident)
    return run_chunk(tasks, spec)


# ------------------------------------------------------------------------------ executors


class Executor(abc.ABC):
    """Runs chunks of tasks and yields their outcomes as they finish (in any order)."""

    #: A short name shown in reports (``"in-process"``, ``"pool(2)"``, ``"dask"``).
    name: str = "executor"

    @abc.abstractmethod
    def execute(self, chunks: Iterable[Chunk], spec: Any, data: LinearData) -> Iterator[Outcome]:
        """Yield one :class:`Outcome` per task of every chunk.

        Args:
            chunks: groups of tasks run together (one group per worker call), pulled lazily:
                the next chunk is taken only when a worker is about to need it.
            spec: a picklable data spec (``build() -> LinearData``) for remote workers.
            data: the same data already built, for executors that run in this process.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release workers (no-op by default)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcessExecutor(Executor):
    """Run every chunk in the calling process, in order (the default).

    Example:
        >>> import momentumlab as ml
        >>> ml.sweep.InProcessExecutor().name
        'in-process'
    """

    name = "in-process"

    def execute(self, chunks: Iterable[Chunk], spec: Any, data: LinearData) -> Iterator[Outcome]:
        """Run the chunks here, one after the other."""
        for chunk in chunks:
            yield from run_chunk(chunk, data)


class _Pooled:
    """A spawned process pool with its start channel; stopped hard when the sweep is aborted."""

    def __init__(self, workers: int, level: int | None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.started = ctx.SimpleQueue()
        self.pool = _Pool(
            max_workers=workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(level, self.started, os.getpid()),
        )

    def drain(self) -> list[int]:
        """Submissions reported started since the last call."""
        out: list[int] = []
        while not self.started.empty():
            out.append(int(self.started.get()))
        return out

    def stop(self, *, abort: bool) -> None:
        if abort:  # Ctrl-C or an error in the driver: do not wait for running chunks
            for proc in list((getattr(self.pool, "_processes", None) or {}).values()):
                if proc.is_alive():
                    proc.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.started.close()


class PoolExecutor(Executor):
    """Run chunks in ``workers`` local processes (``spawn`` start method).

    Worker processes end with their driver, even when it is killed (``SIGKILL``); Ctrl-C is
    left to the driver, which stops them. When a worker process dies, the chunks in flight
    are split and their runs are run again one at a time, so a run that kills its worker is
    found and recorded as failed after ``max_attempts`` lost workers while every other run
    completes (its ``attempts`` counts the times it was started).

    Args:
        workers: number of processes, >= 1.
        max_attempts: times a run may lose its worker while running alone before it is
            recorded as failed, >= 1.
        log_level: if given, the level of the ``"momentumlab"`` logger in the worker
            processes (e.g. ``logging.ERROR`` to silence divergence warnings there).

    Raises:
        RuntimeError: from :meth:`execute`, when workers die ``max_attempts`` times in a row
            before starting any run (they cannot start at all).

    Example:
        >>> import momentumlab as ml
        >>> ml.sweep.PoolExecutor(2).name
        'pool(2)'
    """

    def __init__(self, workers: int, *, max_attempts: int = 3, log_level: int | None = None) -> None:
        self.workers = check_int("workers", workers, low=1)
        self.log_level = None if log_level is None else check_int("log_level", log_level, low=0)
        self.max_attempts = check_int("max_attempts", max_attempts, low=1)
        self.name = f"pool({self.workers})"

    def execute(self, chunks: Iterable[Chunk], spec: Any, data: LinearData) -> Iterator[Outcome]:
        """Run the chunks in spawned worker processes, isolating a run that kills its worker."""
        source = iter(chunks)
        exhausted = False
        pending: dict[int, list[Task]] = {}  # pulled, not finished, to run in the pool
        suspects: list[Task] = []  # runs in flight when a worker died: run alone next
        started: dict[str, int] = {}  # key -> times started
        lost: dict[str, int] = {}  # key -> times its worker died while it ran alone
        ident = 0
        futile = 0  # pool breaks in a row with no run started
        while suspects or pending or not exhausted:
            pooled = _Pooled(self.workers, self.log_level)
            submitted: dict[int, list[Task]] = {}
            running: set[int] = set()
            broken: str | None = None
            abort = True

            def note_started() -> None:
                for j in pooled.drain():  # noqa: B023 - called only while this pool is current
                    running.add(j)  # noqa: B023
                    for t in submitted.get(j, ()):  # noqa: B023
                        started[t.key] = started.get(t.key, 0) + 1

            try:
                if suspects:  # one at a time: a break then names its run
                    while suspects and broken is None:
                        task = suspects[0]
                        ident += 1
                        submitted[ident] = [task]
                        fut = pooled.pool.submit(_run_reported, ident, [task], spec)
                        try:
                            outs = fut.result()
                        except BrokenProcessPool as err:
                            broken = str(err) or "a worker process died"
                            continue
                        finally:
                            note_started()
                        suspects.pop(0)
                        running.discard(ident)
                        futile = 0
                        yield from _with_attempts(outs, started)
                if broken is None:  # then the rest, in parallel
                    futures: dict[Future[list[Outcome]], int] = {}
                    while broken is None:
                        while not exhausted and len(futures) < 2 * self.workers:
                            try:
                                chunk = list(next(source))
                            except StopIteration:
                                exhausted = True
                                break
                            if chunk:
                                ident += 1
                                pending[ident] = chunk
                        for i, chunk in pending.items():
                            if i not in submitted:
                                submitted[i] = chunk
                                futures[pooled.pool.submit(_run_reported, i, chunk, spec)] = i
                        if not futures:
                            break
                        done, _ = wait(futures, return_when=FIRST_COMPLETED)
                        note_started()
                        for fut in done:
                            i = futures.pop(fut)
                            try:
                                outs = fut.result()
                            except BrokenProcessPool as err:
                                broken = str(err) or "a worker process died"
                                continue
                            running.discard(i)
                            del pending[i]
                            futile = 0
                            yield from _with_attempts(outs, started)
                abort = False
            finally:
                note_started()  # reports of runs in flight when the pool broke
                pooled.stop(abort=abort)
            if broken is None:
                continue
            in_flight = [i for i in sorted(running) if i in submitted]
            runs = [t for i in in_flight for t in submitted[i]]
            for i in in_flight:
                pending.pop(i, None)
            logger.warning(
                "a pool worker died (%s) with %d run(s) in flight; running them alone", broken, len(runs)
            )
            if not runs:
                futile += 1
                if futile >= self.max_attempts:
                    raise RuntimeError(
                        f"pool worker processes died {futile} time(s) in a row before starting any "
                        f"run (max_attempts={self.max_attempts}): {broken}"
                    )
                continue
            if len(runs) == 1:  # it ran alone: it is the culprit
                key = runs[0].key
                lost[key] = lost.get(key, 0) + 1
                if suspects and suspects[0].key == key:
                    suspects.pop(0)
                if lost[key] >= self.max_attempts:
                    yield _lost(key, broken, lost[key], started.get(key, 1))
                    continue
                suspects.insert(0, runs[0])
            else:
                known = {t.key for t in suspects}
                suspects.extend(t for t in runs if t.key not in known)


class DaskExecutor(Executor):
    """Run chunks on a ``dask.distributed`` cluster (``pip install -e ".[dask]"`` in the checkout).

    Give a ``Client`` you own (it is left open) or a scheduler ``address`` (a client is made
    and closed with the executor). Workers need momentumlab importable. A chunk whose
    worker dies is rescheduled by Dask; if Dask gives up on it (``KilledWorker``), a chunk
    of several runs is split into single runs (not charged), and a single run is charged an
    attempt and submitted again, up to ``max_attempts``, then recorded as failed. Workers
    with one thread each are the efficient choice (MXNet runs on the GIL-holding Python side
    for these small models); with the scheduler's ``worker-saturation`` at 1.0 a dying
    worker holds only the run it was running, so Dask blames no other.

    Args:
        client: a ``dask.distributed.Client``, or ``None`` with ``address``.
        address: a scheduler address such as ``"tcp://127.0.0.1:8786"``.
        max_attempts: submissions of a single run whose worker is lost, >= 1.
        timeout: seconds to wait for the scheduler when connecting, > 0.
        worker_timeout: seconds the cluster may have no worker at all while runs wait, > 0;
            then :meth:`execute` raises ``TimeoutError`` instead of waiting forever.

    Raises:
        ValueError: unless exactly one of ``client`` and ``address`` is given; for a bad
            ``max_attempts``, ``timeout`` or ``worker_timeout``.
        ImportError: if ``distributed`` is missing.

    Example:
        >>> import momentumlab as ml
        >>> ml.sweep.DaskExecutor()
        Traceback (most recent call last):
        ...
        ValueError: DaskExecutor needs exactly one of client and address, got neither
    """

    name = "dask"

    #: Seconds between two looks at the cluster while no chunk finishes.
    poll: float = 0.5

    def __init__(
        self,
        client: Any = None,
        *,
        address: str | None = None,
        max_attempts: int = 3,
        timeout: float = 30.0,
        worker_timeout: float = 60.0,
    ) -> None:
        if (client is None) == (address is None):
            got = "neither" if client is None else "both"
            raise ValueError(f"DaskExecutor needs exactly one of client and address, got {got}")
        self.max_attempts = check_int("max_attempts", max_attempts, low=1)
        connect = check_float("timeout", timeout, low=0.0, low_open=True)
        self.worker_timeout = check_float("worker_timeout", worker_timeout, low=0.0, low_open=True)
        try:
            import distributed
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError(
                "DaskExecutor needs dask.distributed: pip install -e '.[dask]' in the momentumlab checkout"
            ) from err
        if client is not None:
            check_type("client", client, distributed.Client, "a dask.distributed.Client")
            self._client = client
            self._owned = False
        else:
            check_type("address", address, str, "a scheduler address str")
            self._client = distributed.Client(  # type: ignore[no-untyped-call]
                address, timeout=connect, set_as_default=False
            )
            self._owned = True

    @property
    def client(self) -> Any:
        """The ``dask.distributed.Client`` in use."""
        return self._client

    def _threads(self) -> int:
        return int(sum(self._client.nthreads().values()))

    def execute(self, chunks: Iterable[Chunk], spec: Any, data: LinearData) -> Iterator[Outcome]:
        """Submit the chunks to the cluster; split or resubmit those whose worker was lost.

        Raises:
            TimeoutError: when the cluster has had no worker for ``worker_timeout`` seconds
                while runs wait.
        """
        client = self._client
        source = iter(chunks)
        exhausted = False
        futures: dict[Any, list[Task]] = {}
        retry: list[list[Task]] = []
        submitted: dict[str, int] = {}
        lost: dict[str, int] = {}
        alone_since: float | None = None  # when the cluster was last seen without workers
        window = 2 * max(self._threads(), 1)
        finished = threading.Event()

        def submit(chunk: list[Task]) -> None:
            for t in chunk:
                submitted[t.key] = submitted.get(t.key, 0) + 1
            fut = client.submit(run_chunk, chunk, spec, pure=False)
            fut.add_done_callback(lambda _: finished.set())
            futures[fut] = chunk

        try:
            while True:
                while retry:
                    submit(retry.pop())
                while not exhausted and len(futures) < window:
                    try:
                        chunk = list(next(source))
                    except StopIteration:
                        exhausted = True
                    else:
                        if chunk:
                            submit(chunk)
                if not futures:
                    return
                finished.clear()
                done = [f for f in futures if f.done()]
                if not done:
                    if not finished.wait(self.poll):
                        threads = self._threads()
                        if threads:
                            alone_since = None
                            window = 2 * threads
                        elif alone_since is None:
                            alone_since = time.monotonic()
                        elif time.monotonic() - alone_since > self.worker_timeout:
                            waiting = sum(len(c) for c in futures.values())
                            raise TimeoutError(
                                f"the Dask cluster has had no workers for more than worker_timeout="
                                f"{self.worker_timeout:g} s; {waiting} run(s) in flight were not done"
                            )
                    continue
                alone_since = None
                for fut in done:
                    chunk = futures.pop(fut)
                    try:
                        outs = fut.result()
                    except Exception as err:  # KilledWorker, lost connection, ...
                        reason = f"{type(err).__name__}: {err}"
                        if len(chunk) > 1:
                            logger.warning(
                                "dask chunk of %d runs lost (%s); running them one by one", len(chunk), reason
                            )
                            retry.extend([t] for t in chunk)
                            continue
                        key = chunk[0].key
                        lost[key] = lost.get(key, 0) + 1
                        if lost[key] >= self.max_attempts:
                            yield _lost(key, reason, lost[key], submitted[key])
                            continue
                        logger.warning("dask run %s lost (%s); resubmitting", key[:12], reason)
                        retry.append(chunk)
                        continue
                    yield from _with_attempts(outs, submitted)
        finally:
            for fut in futures:
                fut.cancel()

    def close(self) -> None:
        """Close the client if this executor made it."""
        if self._owned:
            self._client.close()
