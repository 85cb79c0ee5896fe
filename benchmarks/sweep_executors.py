"""The issue's 200-point sweep (10 learning rates x 10 momenta x 2 seeds, the chapter's config)
run from the CLI: in-process with a SIGKILL part-way and a resume, then a process pool, then a
Dask LocalCluster; checks that every store has exactly 200 identical rows and prints timings.

Run::

    python benchmarks/sweep_executors.py --dir /tmp/sweep200
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import momentumlab as ml

SPEC = """
seeds = [0, 1]
[grid]
learning_rate = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2]
momentum = [0.0, 0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99]
"""


def _same(a: ml.RunResult, b: ml.RunResult) -> bool:
    return np.array_equal(a.losses, b.losses, equal_nan=True) and all(
        np.array_equal(a.params[p], b.params[p]) for p in a.params
    )


def rows(path: Path) -> int:
    if not path.exists():
        return 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def cli(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "momentumlab.cli", *args], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default="sweep200")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    spec = d / "spec.toml"
    spec.write_text(SPEC)
    for f in d.glob("*.sqlite*"):
        f.unlink()
    a = d / "inproc.sqlite"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "momentumlab.cli", "sweep", str(spec), "--store", str(a)])
    while rows(a) < 80:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = rows(a)
    t_first = time.perf_counter() - t0
    t_resume = cli("sweep", str(spec), "--store", str(a))
    print(f"in-process: SIGKILLed with {killed_at} rows after {t_first:.1f} s; resume {t_resume:.1f} s; "
          f"rows {rows(a)}")  # fmt: skip
    t_in = cli("sweep", str(spec), "--store", str(d / "inproc2.sqlite"), "--no-progress")
    t_pool = cli("sweep", str(spec), "--store", str(d / "pool.sqlite"), "--workers", str(args.workers),
                 "--no-progress")  # fmt: skip
    from distributed import LocalCluster

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, host="127.0.0.1",  # type: ignore[no-untyped-call]
                      dashboard_address="127.0.0.1:0") as cluster:  # fmt: skip
        t_dask = cli("sweep", str(spec), "--store", str(d / "dask.sqlite"), "--scheduler",
                     cluster.scheduler_address, "--no-progress")  # fmt: skip
    with ml.sweep.Store(a) as s:
        ref = {r.key: r for r in s.rows()}
    for name in ("inproc2", "pool", "dask"):
        with ml.sweep.Store(d / f"{name}.sqlite") as s:
            other = {r.key: r for r in s.rows()}
        same = other.keys() == ref.keys() and all(
            r.status == other[k].status and (r.result is None) == (other[k].result is None)
            and (r.result is None or _same(r.result, other[k].to_result()))
            for k, r in ref.items()
        )  # fmt: skip
        print(f"{name}: {len(other)} rows, identical to the killed+resumed store: {same}")
    print(f"200 runs from the CLI (process start included): in-process {t_in:.1f} s, "
          f"pool({args.workers}) {t_pool:.1f} s ({t_in / t_pool:.2f}x), "
          f"dask LocalCluster({args.workers}) {t_dask:.1f} s ({t_in / t_dask:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
