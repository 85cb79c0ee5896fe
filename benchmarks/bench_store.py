"""The results store at 5,000 rows: what ``momentumlab report`` costs in time and memory.

Builds (once) a store of ``--rows`` synthetic runs, each with ``--history`` records and
updates (2,000 gives ~80 KB of arrays per row, like a long chapter-style run), then times
and measures, in this process:

* ``report --top 10`` (summaries only: no history is read),
* ``report --csv`` (scalar columns, streamed row by row),
* ``report --json`` (every row with its whole result, streamed row by row),
* for comparison, ``Store.rows()`` (every row decoded into memory at once).

Time is the median of ``--repeats`` runs without tracing; "peak" is the peak of Python
allocations under ``tracemalloc`` in a separate run (tracing slows the code down), and "RSS"
the growth of the peak resident set size of a fresh process doing the case once (it counts
SQLite's page cache and NumPy buffers, which ``tracemalloc`` does not see).

Usage: ``python benchmarks/bench_store.py [--rows 5000] [--history 2000] [--store PATH]``
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

import momentumlab as ml
from momentumlab import cli

DATA = {"generator": "synthetic", "n_samples": 1000, "seed": 0}


def build(path: str, rows: int, history: int) -> None:
    """Write ``rows`` runs (a learning rate x momentum x seed grid) with synthetic results."""
    base = ml.RunConfig(epochs=3, batch_size=10, period=10)
    rng = np.random.default_rng(0)
    with ml.sweep.Store(path) as store:
        for i in range(rows):
            config = dataclasses.replace(
                base, learning_rate=0.001 * (1 + i % 50), momentum=0.01 * (i // 50 % 100), seed=i // 5000
            )
            losses = np.cumsum(rng.random(history))[::-1] / history
            diverged = i % 17 == 0
            result = ml.RunResult(
                config=config,
                losses=losses,
                record_steps=np.arange(history, dtype=np.int64),
                learning_rates=np.full(history, config.learning_rate),
                momenta=np.full(history, config.momentum),
                params={"dense0_weight": rng.random((1, 2)), "dense0_bias": rng.random(1)},
                weight=None,
                bias=None,
                wall_time=0.3,
                diverged=diverged,
                n_steps=history,
                steps_per_epoch=history // 3,
                epochs_completed=3,
                final_loss=float("nan") if diverged else float(losses[-1]),
            )
            outcome = ml.sweep.Outcome(
                key=f"{i:064x}", status="diverged" if diverged else "done", result=result, worker="bench"
            )
            store.put(outcome, config=config, data=DATA)


def measure(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """``(median seconds, peak MiB of Python allocations)``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak / 2**20


def report(*args: str) -> Callable[[], None]:
    def run() -> None:
        status = cli.main(["report", *args], out=io.StringIO())
        if status != 0:
            raise RuntimeError(f"report {args} ended with status {status}")

    return run


def rss_growth(script: str, path: str, case: str) -> float:
    """MiB by which a fresh process's peak RSS grows while it runs ``case`` once."""
    out = subprocess.run(
        [sys.executable, script, "--store", path, "--case", case],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(out.stdout.split()[-1])


def _maxrss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--history", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--store", help="reuse (or create) this store file")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # one case in this process: RSS growth
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        path = args.store
        if path is None:
            path = os.path.join(stack.enter_context(tempfile.TemporaryDirectory()), "bench.sqlite")
        if not os.path.exists(path):
            t0 = time.perf_counter()
            build(path, args.rows, args.history)
            print(f"built {path}: {args.rows} rows in {time.perf_counter() - t0:.1f} s")
        out = os.path.dirname(os.path.abspath(path))
        size = os.path.getsize(path) / 2**20
        with ml.sweep.Store(path, read_only=True) as store:
            n = len(store)
        print(f"store: {n} rows, {size:.0f} MiB")
        cases: list[tuple[str, Callable[[], Any]]] = [
            ("report --top 10", report("--store", path, "--top", "10")),
            ("report --csv", report("--store", path, "--csv", os.path.join(out, "bench.csv"))),
            ("report --json", report("--store", path, "--json", os.path.join(out, "bench.json"))),
        ]

        def all_rows() -> None:
            with ml.sweep.Store(path, read_only=True) as store:
                store.rows()

        cases.append(("Store.rows() (all in memory)", all_rows))
        if args.case is not None:
            import matplotlib.figure  # noqa: F401 - imported by every report: not the case's cost

            fn = dict(cases)[args.case]
            before = _maxrss()
            fn()
            print(f"{_maxrss() - before:.1f}")
            return
        print(f"{'what':<32}{'time (s)':>10}{'peak (MiB)':>12}{'RSS (MiB)':>11}")
        for name, fn in cases:
            seconds, peak = measure(fn, args.repeats)
            rss = rss_growth(os.path.abspath(__file__), path, name)
            print(f"{name:<32}{seconds:>10.2f}{peak:>12.1f}{rss:>11.1f}")
        for f in ("bench.csv", "bench.json"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(out, f))


if __name__ == "__main__":
    main()
