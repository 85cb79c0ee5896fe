"""Executors: where the chunks of a sweep run. They return outcomes; only the driver writes.

* :class:`InProcessExecutor` runs chunks one after the other in the calling process.
* :class:`PoolExecutor` runs them in a local process pool started with the ``spawn``
  context: MXNet's engine owns threads, and a process forked after it started is not safe
  (spawned workers import MXNet afresh, ~3-4 s each, once per sweep).
* :class:`DaskExecutor` submits them to a ``dask.distributed`` cluster.

A worker process that dies (killed, out of memory) loses only the chunks it was running:
they are submitted again, up to ``max_attempts`` times, after which their runs are recorded
as failed with the reason. Failures *inside* a run never reach this level: the worker
records them as failed outcomes.
"""

from __future__ import annotations

import abc
import logging
import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures import ProcessPoolExecutor as _Pool
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from momentumlab._src.checks import check_int, check_type
from momentumlab.data import LinearData
from momentumlab.sweep._worker import Outcome, Task, failed, run_chunk

logger = logging.getLogger("momentumlab.sweep")

Chunk = Sequence[Task]


def _lost(chunk: Chunk, reason: str, attempts: int) -> list[Outcome]:
    text = f"worker lost {attempts} time(s), giving up: {reason}"
    return [failed(t.key, text, attempts=attempts) for t in chunk]


def _with_attempts(outcomes: list[Outcome], attempts: int) -> list[Outcome]:
    if attempts == 1:
        return outcomes
    import dataclasses

    return [dataclasses.replace(o, attempts=attempts) for o in outcomes]


def _set_log_level(level: int | None) -> None:
    """Pool initializer: the worker process belongs to the executor, so it sets its level."""
    if level is not None:
        logging.getLogger("momentumlab").setLevel(level)


class Executor(abc.ABC):
    """Runs chunks of tasks and yields their outcomes as they finish (in any order)."""

    #: A short name shown in reports (``"in-process"``, ``"pool(2)"``, ``"dask"``).
    name: str = "executor"

    @abc.abstractmethod
    def execute(self, chunks: Sequence[Chunk], spec: Any, data: LinearData) -> Iterator[Outcome]:
        """Yield one :class:`Outcome` per task of every chunk.

        Args:
            chunks: groups of tasks run together (one group per worker call).
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

    def execute(self, chunks: Sequence[Chunk], spec: Any, data: LinearData) -> Iterator[Outcome]:
        """Run the chunks here, one after the other."""
        for chunk in chunks:
            yield from run_chunk(chunk, data)


class PoolExecutor(Executor):
    """Run chunks in ``workers`` local processes (``spawn`` start method).

    Args:
        workers: number of processes, >= 1.
        max_attempts: times a chunk is tried when its worker process dies, >= 1.
        log_level: if given, the level of the ``"momentumlab"`` logger in the worker
            processes (e.g. ``logging.ERROR`` to silence divergence warnings there).

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

    def execute(self, chunks: Sequence[Chunk], spec: Any, data: LinearData) -> Iterator[Outcome]:
        """Run the chunks in spawned worker processes, restarting the pool if one dies."""
        pending: dict[int, Chunk] = dict(enumerate(chunks))
        attempts = dict.fromkeys(pending, 1)
        ctx = multiprocessing.get_context("spawn")
        while pending:
            pool = _Pool(
                max_workers=min(self.workers, len(pending)),
                mp_context=ctx,
                initializer=_set_log_level,
                initargs=(self.log_level,),
            )
            futures: dict[Future[list[Outcome]], int] = {}
            try:
                for i, chunk in pending.items():
                    futures[pool.submit(run_chunk, chunk, spec)] = i
                broken: str | None = None
                todo = set(futures)
                while todo and broken is None:
                    done, todo = wait(todo, return_when=FIRST_COMPLETED)
                    for fut in done:
                        i = futures[fut]
                        try:
                            outs = fut.result()
                        except BrokenProcessPool as err:
                            broken = str(err) or "a worker process died"
                            continue
                        del pending[i]
                        yield from _with_attempts(outs, attempts[i])
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            if broken is not None:
                logger.warning("process pool broke (%s); resubmitting %d chunk(s)", broken, len(pending))
                for i in list(pending):
                    attempts[i] += 1
                    if attempts[i] > self.max_attempts:
                        yield from _lost(pending.pop(i), broken, self.max_attempts)


class DaskExecutor(Executor):
    """Run chunks on a ``dask.distributed`` cluster (``pip install 'momentumlab[dask]'``).

    Give a ``Client`` you own (it is left open) or a scheduler ``address`` (a client is made
    and closed with the executor). Workers need momentumlab importable. A chunk whose
    worker dies is rescheduled by Dask; if Dask gives up on it (``KilledWorker``) it is
    submitted again, up to ``max_attempts`` times. Workers with one thread each are the
    efficient choice (MXNet runs on the GIL-holding Python side for these small models).

    Args:
        client: a ``dask.distributed.Client``, or ``None`` with ``address``.
        address: a scheduler address such as ``"tcp://127.0.0.1:8786"``.
        max_attempts: submissions of a chunk whose worker is lost, >= 1.
        timeout: seconds to wait for the scheduler when connecting.

    Raises:
        ValueError: unless exactly one of ``client`` and ``address`` is given.
        ImportError: if ``distributed`` is missing.

    Example:
        >>> import momentumlab as ml
        >>> ml.sweep.DaskExecutor()
        Traceback (most recent call last):
        ...
        ValueError: DaskExecutor needs exactly one of client and address, got neither
    """

    name = "dask"

    def __init__(
        self,
        client: Any = None,
        *,
        address: str | None = None,
        max_attempts: int = 3,
        timeout: float = 30.0,
    ) -> None:
        if (client is None) == (address is None):
            got = "neither" if client is None else "both"
            raise ValueError(f"DaskExecutor needs exactly one of client and address, got {got}")
        self.max_attempts = check_int("max_attempts", max_attempts, low=1)
        try:
            import distributed
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError("DaskExecutor needs dask.distributed: pip install 'momentumlab[dask]'") from err
        if client is not None:
            check_type("client", client, distributed.Client, "a dask.distributed.Client")
            self._client = client
            self._owned = False
        else:
            check_type("address", address, str, "a scheduler address str")
            self._client = distributed.Client(  # type: ignore[no-untyped-call]
                address, timeout=timeout, set_as_default=False
            )
            self._owned = True

    @property
    def client(self) -> Any:
        """The ``dask.distributed.Client`` in use."""
        return self._client

    def execute(self, chunks: Sequence[Chunk], spec: Any, data: LinearData) -> Iterator[Outcome]:
        """Submit the chunks to the cluster; resubmit those whose worker was lost."""
        from distributed import as_completed

        client = self._client
        futures: dict[Any, int] = {}
        attempts: dict[int, int] = {}
        for i, chunk in enumerate(chunks):
            futures[client.submit(run_chunk, list(chunk), spec, pure=False)] = i
            attempts[i] = 1
        queue = as_completed(list(futures), loop=client.loop)  # type: ignore[no-untyped-call]
        try:
            for fut in queue:
                i = futures.pop(fut)
                try:
                    outs = fut.result()
                except Exception as err:  # KilledWorker, lost connection, ...
                    reason = f"{type(err).__name__}: {err}"
                    if attempts[i] >= self.max_attempts:
                        yield from _lost(chunks[i], reason, attempts[i])
                        continue
                    attempts[i] += 1
                    logger.warning("dask chunk %d lost (%s); resubmitting", i, reason)
                    new = client.submit(run_chunk, list(chunks[i]), spec, pure=False)
                    futures[new] = i
                    queue.add(new)  # type: ignore[no-untyped-call]
                    continue
                yield from _with_attempts(outs, attempts[i])
        finally:
            for fut in futures:
                fut.cancel()

    def close(self) -> None:
        """Close the client if this executor made it."""
        if self._owned:
            self._client.close()
