"""Fault tests with real processes: the driver SIGKILLed and resumed, a Dask worker killed."""

from __future__ import annotations

import json
import random
import subprocess
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

import momentumlab as ml
from tests.sweep_util import (
    PY,
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
