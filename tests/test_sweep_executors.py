"""Executors: a spawned process pool and Dask give bit-identical rows; lost workers are retried."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import momentumlab as ml
from momentumlab.sweep._driver import prepare
from tests.sweep_util import TINY, TINY_DATA, AlwaysDieSpec, DieOnceSpec, deadline, same_rows

BASE = dataclasses.replace(TINY, batch_size=20, period=20)
#: Chunks of 3 go through the vectorised engine (train_many) on every executor.
CHUNK = 3
POINTS = ml.sweep.grid(BASE, {"learning_rate": [0.05, 0.3, 500.0], "momentum": [0.0, 0.9]}, seeds=[0, 1])


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ref") / "inproc.sqlite"
    summary = ml.sweep.run_sweep(POINTS, TINY_DATA, path, chunk_size=CHUNK)
    assert summary.n_diverged > 0
    assert summary.n_done > 0
    return path


@pytest.mark.slow
def test_pool_rows_equal_in_process_rows(reference: Path, tmp_path: Path) -> None:
    with deadline(240), ml.sweep.PoolExecutor(2) as ex:
        summary = ml.sweep.run_sweep(
            POINTS, TINY_DATA, tmp_path / "pool.sqlite", executor=ex, chunk_size=CHUNK
        )
    assert summary.n_runs == len(POINTS) == summary.n_done + summary.n_diverged
    with ml.sweep.Store(reference) as a, ml.sweep.Store(tmp_path / "pool.sqlite") as b:
        same_rows(a, b)
        workers = {r.worker for r in b.rows()}
        assert len(workers) >= 1
        assert all(w != ml.sweep._worker.worker_name() for w in workers)


def _dask_rows_equal(reference: Path, tmp_path: Path, processes: bool) -> None:
    distributed = pytest.importorskip("distributed")
    with (
        deadline(240),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=processes,
            # threads talk in-process (inproc://); worker processes on loopback only
            **({"host": "127.0.0.1"} if processes else {}),
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
        ml.sweep.DaskExecutor(client) as ex,
    ):
        summary = ml.sweep.run_sweep(
            POINTS, TINY_DATA, tmp_path / "dask.sqlite", executor=ex, chunk_size=CHUNK
        )
    assert summary.executor == "dask"
    assert summary.n_runs == len(POINTS)
    with ml.sweep.Store(reference) as a, ml.sweep.Store(tmp_path / "dask.sqlite") as b:
        same_rows(a, b)


def test_dask_local_cluster_threads_rows_equal_in_process_rows(reference: Path, tmp_path: Path) -> None:
    _dask_rows_equal(reference, tmp_path, processes=False)


@pytest.mark.slow
def test_dask_local_cluster_processes_rows_equal_in_process_rows(reference: Path, tmp_path: Path) -> None:
    _dask_rows_equal(reference, tmp_path, processes=True)


@pytest.mark.slow
def test_pool_worker_killed_mid_sweep_is_retried(tmp_path: Path) -> None:
    spec = DieOnceSpec(str(tmp_path / "died"))
    points = ml.sweep.grid(TINY, {"learning_rate": [0.05, 0.1, 0.2, 0.3]})
    data = TINY_DATA.build()
    # DieOnceSpec builds the same arrays but carries its own description: key them alike
    with deadline(300), ml.sweep.PoolExecutor(2) as ex:
        tasks = prepare(points, data)[2]
        outs = list(ex.execute([[t] for t in tasks], spec, data))
    assert (tmp_path / "died").exists()  # a worker really was killed
    assert sorted(o.key for o in outs) == sorted(t.key for t in tasks)
    assert all(o.status == "done" for o in outs)
    assert max(o.attempts for o in outs) == 2


@pytest.mark.slow
def test_pool_gives_up_after_max_attempts() -> None:
    data = TINY_DATA.build()
    tasks = prepare([TINY], data)[2]
    with deadline(240), ml.sweep.PoolExecutor(1, max_attempts=2) as ex:
        outs = list(ex.execute([tasks], AlwaysDieSpec(), data))
    assert [(o.status, o.attempts) for o in outs] == [("failed", 2)]
    assert outs[0].error is not None
    assert outs[0].error.startswith("worker lost 2 time(s), giving up")
