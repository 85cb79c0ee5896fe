"""Fault tests with real processes: the driver SIGKILLed and resumed, a Dask worker killed,
a run that kills its worker, a cluster without workers, workers outliving their driver,
Ctrl-C in the CLI."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import shlex
import signal
import subprocess
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

import momentumlab as ml
from momentumlab.sweep._driver import prepare
from tests.sweep_util import (
    PY,
    TINY,
    TINY_DATA,
    PoisonRate,
    deadline,
    env,
    free_port,
    kill,
    row_count,
    same_rows,
    start_cli,
    wait_for,
    write_spec,
)

#: 40 short runs (20 updates each on 200 examples).
SPEC_40 = """
seeds = [0, 1]
[config]
epochs = 1
batch_size = 10
period = 10
[data]
n_samples = 200
[grid]
learning_rate = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
momentum = [0.0, 0.9]
"""


def _check_store(path: Path, n_max: int) -> int:
    """Open a store left by a killed driver: sound, and every row complete. Returns its size."""
    with ml.sweep.Store(path) as store:
        assert store.check() == ["ok"]
        rows = store.rows()  # parses every blob: a half-written row would fail here
        assert len(rows) <= n_max
        for r in rows:
            assert r.status in ("done", "diverged")
            assert r.to_result().losses.size == r.to_result().record_steps.size > 0
            assert r.to_result().params
        return len(rows)


def _spec(path: Path) -> ml.sweep.SweepSpec:
    return ml.sweep.SweepSpec.from_mapping(tomllib.loads(path.read_text()))


def test_driver_sigkilled_mid_sweep_resumes_to_one_row_per_point(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path / "spec.toml", SPEC_40)
    store = tmp_path / "runs.sqlite"
    proc = start_cli("sweep", str(spec_path), "--store", str(store), "--no-progress", "--chunk-size", "1")
    try:
        wait_for(lambda: row_count(store) >= 5, 120, "5 rows", proc)
    finally:
        kill(proc)
    assert proc.returncode == -9
    kept = _check_store(store, 40)
    assert 5 <= kept < 40
    spec = _spec(spec_path)
    summary = ml.sweep.run_sweep(spec.points, spec.data, store, chunk_size=1)
    assert summary.n_skipped == kept
    assert summary.n_done + summary.n_diverged == 40 - kept
    assert _check_store(store, 40) == 40


@pytest.mark.slow
def test_driver_sigkilled_at_several_points_then_resumed_by_the_cli(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path / "spec.toml", SPEC_40)
    store = tmp_path / "runs.sqlite"
    args = ("sweep", str(spec_path), "--store", str(store), "--no-progress", "--chunk-size", "1")
    # 1: during start-up (before the store may exist)
    proc = start_cli(*args)
    time.sleep(0.5)
    kill(proc)
    assert _check_store(store, 40) == 0 if store.exists() else True
    # 2: right after the first row; 3: after half; 4+: at random moments until finished
    rng = random.Random(0)
    targets = [1, 20]
    kills = 1
    while row_count(store) < 40:
        target = targets.pop(0) if targets else row_count(store) + 1
        proc = start_cli(*args)
        try:
            wait_for(lambda: row_count(store) >= target or proc.poll() is not None, 120, "rows")  # noqa: B023
            if proc.poll() is None and not targets:
                time.sleep(rng.uniform(0.0, 0.3))
        finally:
            kills += proc.poll() is None
            kill(proc)
        _check_store(store, 40)
    assert kills >= 3
    done = subprocess.run(
        [PY, "-m", "momentumlab.cli", *args],
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "40 already in the store, 0 done" in done.stdout
    ref = tmp_path / "ref.sqlite"
    spec = _spec(spec_path)
    ml.sweep.run_sweep(spec.points, spec.data, ref, chunk_size=1)
    with ml.sweep.Store(store) as a, ml.sweep.Store(ref) as b:
        same_rows(a, b)


def _start(cmd: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(cmd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)


@pytest.mark.slow
def test_dask_worker_killed_mid_sweep_every_row_arrives(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    spec_path = write_spec(
        tmp_path / "spec.toml",
        # 2000 updates a run (~0.3 s): the sweep is still going when the worker dies
        SPEC_40.replace("n_samples = 200", "n_samples = 1000").replace("epochs = 1", "epochs = 20"),
    )
    store = tmp_path / "runs.sqlite"
    address = f"tcp://127.0.0.1:{free_port()}"
    procs: list[subprocess.Popen[Any]] = []
    try:
        sched_file = tmp_path / "scheduler.json"
        procs.append(
            _start(
                [PY, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                 "--port", address.rsplit(":", 1)[1], "--no-dashboard",
                 "--scheduler-file", str(sched_file)]
            )
        )  # fmt: skip
        wait_for(sched_file.exists, 120, "the scheduler", procs[0])
        assert json.loads(sched_file.read_text())["address"] == address
        for _ in range(2):
            procs.append(
                _start(
                    [PY, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                     "--no-nanny", "--host", "127.0.0.1", "--no-dashboard"]
                )
            )  # fmt: skip
        victim = procs[1]
        driver = start_cli(
            "sweep",
            str(spec_path),
            "--store",
            str(store),
            "--scheduler",
            address,
            "--no-progress",
            "--chunk-size",
            "1",
        )
        procs.append(driver)
        wait_for(lambda: row_count(store) >= 4, 180, "4 rows", driver)
        with ml.sweep.Store(store) as s:
            busy = {r.worker.split(":")[-1] for r in s.rows()}
        kill(victim)
        assert row_count(store) < 40  # killed mid-sweep, not after it
        out, _ = driver.communicate(timeout=300)
        assert driver.returncode == 0, out
        assert "40 runs" in out
        assert "0 failed" in out
        with ml.sweep.Store(store) as s:
            rows = s.rows()
            pids = {r.worker.split(":")[-1] for r in rows}
        assert len(rows) == 40
        assert all(r.status == "done" for r in rows)
        assert str(victim.pid) in busy | pids or len(pids) >= 1  # the victim had been working
        ref = tmp_path / "ref.sqlite"
        spec = _spec(spec_path)
        ml.sweep.run_sweep(spec.points, spec.data, ref, chunk_size=1)
        with ml.sweep.Store(store) as a, ml.sweep.Store(ref) as b:
            same_rows(a, b)
    finally:
        for p in reversed(procs):
            kill(p)


# ------------------------------------------------------------------ a run that kills its worker


def _poisoned_chunks() -> tuple[list[list[ml.sweep.Task]], str]:
    """16 runs in chunks of 4; the 7th run's learning rate ends its worker process."""
    points = ml.sweep.grid(TINY, {"learning_rate": [0.05, 0.1, 0.2, 0.3]}, seeds=[0, 1, 2, 3])
    tasks = prepare(points, TINY_DATA)[2]
    poison = dataclasses.replace(tasks[6].config, learning_rate=PoisonRate())
    tasks[6] = ml.sweep.Task("poison-" + tasks[6].key[:8], poison)
    return [tasks[i : i + 4] for i in range(0, 16, 4)], tasks[6].key


def _check_poisoned(outs: list[ml.sweep.Outcome], poison: str, max_attempts: int) -> None:
    by = {o.key: o for o in outs}
    assert len(outs) == len(by) == 16
    bad = by.pop(poison)
    assert bad.status == "failed"
    assert bad.error is not None
    assert bad.error.startswith(f"worker lost {max_attempts} time(s), giving up")
    assert bad.attempts >= max_attempts
    assert [o.status for o in by.values()] == ["done"] * 15
    assert all(o.result is not None and o.result.losses.size > 0 for o in by.values())


def test_pool_run_that_kills_its_worker_fails_alone(tmp_path: Path) -> None:
    chunks, poison = _poisoned_chunks()
    with deadline(120), ml.sweep.PoolExecutor(2, max_attempts=2) as ex:
        outs = list(ex.execute(chunks, TINY_DATA, TINY_DATA.build()))
    _check_poisoned(outs, poison, 2)


def test_dask_run_that_kills_its_worker_fails_alone() -> None:
    distributed = pytest.importorskip("distributed")
    import dask

    chunks, poison = _poisoned_chunks()
    # Dask gives up on a task at once when its worker dies; with saturation 1.0 a worker holds
    # only the task it runs, so Dask blames no innocent run (the executor charges single runs).
    settings = {"distributed.scheduler.allowed-failures": 0, "distributed.scheduler.worker-saturation": 1.0}
    with (
        deadline(120),
        dask.config.set(settings),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
        ml.sweep.DaskExecutor(client, max_attempts=2) as ex,
    ):
        outs = list(ex.execute(chunks, TINY_DATA, TINY_DATA.build()))
    _check_poisoned(outs, poison, 2)


def test_dask_cluster_without_workers_raises_within_worker_timeout(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with pytest.raises(ValueError, match=r"worker_timeout must be > 0.0, got 0.0"):
        ml.sweep.DaskExecutor(address="tcp://127.0.0.1:1", worker_timeout=0.0)
    points = ml.sweep.grid(TINY, {"learning_rate": [0.05, 0.1]})
    with (
        deadline(60),
        distributed.LocalCluster(n_workers=0, processes=False, dashboard_address="127.0.0.1:0") as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
        ml.sweep.DaskExecutor(client, worker_timeout=1.5) as ex,
    ):
        start = time.monotonic()
        with pytest.raises(TimeoutError, match=r"no workers for more than worker_timeout=1.5 s; 2 run\(s\)"):
            ml.sweep.run_sweep(points, TINY_DATA, tmp_path / "s.sqlite", executor=ex, chunk_size=1)
        waited = time.monotonic() - start
    assert 1.5 <= waited < 10.0
    with ml.sweep.Store(tmp_path / "s.sqlite") as store:
        assert len(store) == 0
        assert store.claim(["k"], "x", 1.0) == ["k"]  # the aborted driver released its claims


@pytest.mark.slow  # ~2 s alone, but the in-process cluster's teardown after scale(0) sometimes stalls ~60 s
def test_dask_cluster_that_loses_all_workers_mid_sweep_raises(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    points = ml.sweep.grid(TINY, {"learning_rate": [0.01 * (i + 1) for i in range(20)]})
    with (
        deadline(60),
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
        ml.sweep.DaskExecutor(client, worker_timeout=1.0) as ex,
    ):

        def lose_workers(p: ml.sweep.SweepProgress) -> None:
            if p.completed == 1:
                cluster.scale(0)

        with pytest.raises(TimeoutError, match=r"no workers for more than worker_timeout=1 s"):
            ml.sweep.run_sweep(
                points, TINY_DATA, tmp_path / "s.sqlite", executor=ex, chunk_size=1, progress=lose_workers
            )
    assert 1 <= row_count(tmp_path / "s.sqlite") < 20


# ----------------------------------------------------------------- workers die with the driver


def _children(pid: int) -> list[tuple[int, str]]:
    """``(pid, start time)`` of every process whose parent is ``pid``."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append((int(entry), fields[19]))
    return out


def _alive(pid: int, started: str) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z" and fields[19] == started  # a zombie or a new process is not it


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_pool_workers_and_resource_tracker_die_with_a_sigkilled_driver(tmp_path: Path) -> None:
    spec_path = write_spec(
        tmp_path / "spec.toml",
        SPEC_40.replace("n_samples = 200", "n_samples = 1000").replace("epochs = 1", "epochs = 20"),
    )
    store = tmp_path / "runs.sqlite"
    proc = start_cli(
        "sweep", str(spec_path), "--store", str(store), "--workers", "2", "--no-progress", "--chunk-size", "1"
    )
    try:
        wait_for(lambda: row_count(store) >= 1, 180, "a row", proc)
        kids = _children(proc.pid)
        assert len(kids) >= 3  # two workers and the resource tracker
    finally:
        kill(proc)
    end = time.monotonic() + 10
    while any(_alive(*k) for k in kids) and time.monotonic() < end:
        time.sleep(0.1)
    assert [k for k in kids if _alive(*k)] == []


# ---------------------------------------------------------------------------- Ctrl-C in the CLI


def test_ctrl_c_prints_one_line_exits_130_and_the_command_resumes(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path / "spec.toml", SPEC_40)
    store = tmp_path / "runs.sqlite"
    cmd = [PY, "-m", "momentumlab.cli", "sweep", str(spec_path), "--store", str(store)]
    cmd += ["--no-progress", "--chunk-size", "1"]
    proc = subprocess.Popen(cmd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: row_count(store) >= 5, 120, "5 rows", proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        kill(proc)
    assert proc.returncode == 130, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    found = re.fullmatch(
        r"momentumlab sweep: interrupted; (\d+) of 40 runs stored in (.+); resume with: (.+)", lines[0]
    )
    assert found is not None, lines[0]
    kept = int(found[1])
    assert 5 <= kept < 40
    assert kept == row_count(store)
    assert found[2] == str(store)
    resume = shlex.split(found[3])
    assert resume[0] == "momentumlab"
    done = subprocess.run(
        [PY, "-m", "momentumlab.cli", *resume[1:]],
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert f"40 runs: {kept} already in the store, {40 - kept} done" in done.stdout
    assert _check_store(store, 40) == 40
