"""How one run scales with the data: n = 1e3 ... 1e6 examples, d = 2 ... 1000 features.

Each cell is one epoch of ``ml.train`` (batch 100, at most 10 loss records per epoch, the fast
path), timed once after a warm-up on a smaller problem; the table gives the time per epoch
and per example, whether records came from moments or passes, and a NumPy measurement of the
two ways to visit a shuffled epoch: one permuted copy of the data then slices
(``copy``) vs gathering each batch by index (``gather``). The run uses the cheaper one by the
rule in ``momentumlab/runner/_numpy.py``. The Gluon path is timed where an epoch has at most
``--gluon-steps`` updates. Cells with more than ``--max-elements`` values (n*d) are skipped to
keep the memory and the runtime small (default 1e8: n = 1e6 with d = 1000 needs 4 GB and is
skipped unless asked for).

Usage: ``python benchmarks/bench_scaling.py [--max-elements 1e8] [--gluon-steps 1000]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import numpy.typing as npt

import momentumlab as ml

BATCH = 100


def visit_costs(X: npt.NDArray[np.float32], order: npt.NDArray[np.int64]) -> tuple[float, float]:
    t0 = time.perf_counter()
    Xe = X[order]
    for lo in range(0, len(X), BATCH):
        Xe[lo : lo + BATCH].sum()
    copy = time.perf_counter() - t0
    t0 = time.perf_counter()
    for lo in range(0, len(X), BATCH):
        X[order[lo : lo + BATCH]].sum()
    return copy, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-elements", type=float, default=1e8)
    parser.add_argument("--gluon-steps", type=int, default=1000)
    args = parser.parse_args()
    config = ml.RunConfig.chapter(
        batch_size=BATCH, period=BATCH, epochs=1, learning_rate=0.01, max_records_per_epoch=10
    )
    ml.train(config, ml.data.make_linear_regression(n_samples=1000, seed=0))  # warm-up
    print(f"one epoch, batch {BATCH}, <= 10 records per epoch; times in seconds")
    print(
        f"{'n':>8s} {'d':>5s} {'fast s':>8s} {'us/example':>10s} {'records':>8s} {'gather':>7s} "
        f"{'copy s':>7s} {'gather s':>8s} {'gluon s':>8s} {'gluon/fast':>10s}"
    )
    rng = np.random.default_rng(0)
    for d in (2, 100, 1000):
        weight = rng.standard_normal(d) / np.sqrt(d)
        for n in (1_000, 10_000, 100_000, 1_000_000):
            if n * d > args.max_elements:
                print(f"{n:8d} {d:5d}  skipped (n*d > --max-elements)")
                continue
            data = ml.data.make_linear_regression(n_samples=n, weight=weight, seed=1)
            t0 = time.perf_counter()
            result = ml.train(config, data)
            fast = time.perf_counter() - t0
            assert result.engine == "numpy"
            records = "moments" if d + 1 <= 11 else "passes"
            per_batch = ml.runner._numpy.gather_per_batch(n, d, BATCH)
            X = data.features.asnumpy()
            copy, gather = visit_costs(X, np.random.default_rng(2).permutation(n))
            gluon_s, ratio = "-", "-"
            if n // BATCH <= args.gluon_steps:
                t0 = time.perf_counter()
                ml.train(config, data, engine="gluon")
                g = time.perf_counter() - t0
                gluon_s, ratio = f"{g:8.3f}", f"{g / fast:9.1f}x"
            print(
                f"{n:8d} {d:5d} {fast:8.3f} {fast / n * 1e6:10.2f} {records:>8s} "
                f"{'batch' if per_batch else 'epoch':>7s} {copy:7.3f} {gather:8.3f} "
                f"{gluon_s:>8s} {ratio:>10s}"
            )


if __name__ == "__main__":
    main()
