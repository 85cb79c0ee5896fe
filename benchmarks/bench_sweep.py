"""A sweep of K configurations: ``ml.train_many`` vs K sequential ``ml.train`` runs vs one chapter run.

The K configurations vary learning rate, momentum, seed and the decay factor of the chapter's
schedule on the chapter's problem (1000 x 2, batch 10, 3 epochs, a record every 10 examples).
Sequential times are EXTRAPOLATED: ``--probe`` runs are timed and their median multiplied by
K (running 1000 Gluon runs would take many minutes). The chapter loop is timed ``--repeats``
times (median). Ratios are taken in this one process.

Usage: ``python benchmarks/bench_sweep.py [--repeats 3] [--probe 3]``
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from bench_chapter import chapter_loop

import momentumlab as ml


def timed(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def configs(k: int, base: ml.RunConfig, *, shared_seed: bool = False) -> list[ml.RunConfig]:
    rng = np.random.default_rng(k)
    return [
        dataclasses.replace(
            base,
            learning_rate=ml.optim.PerEpoch(
                ml.optim.EpochDecay(
                    init_value=float(rng.uniform(0.01, 0.4)),
                    factor=float(rng.uniform(0.05, 1.0)),
                    after_epoch=2,
                )
            ),
            momentum=float(rng.uniform(0.0, 0.95)),
            seed=0 if shared_seed else int(rng.integers(0, 2**31)),
        )
        for _ in range(k)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--probe", type=int, default=3)
    args = parser.parse_args()
    data = ml.data.make_linear_regression(seed=0)
    base = ml.RunConfig.chapter()
    orders = ml.batch_orders(base, data.n_samples)
    net = ml.models.LinearRegressor(2)
    ml.models.init_normal(net, seed=0)
    w0, b0 = ml.models.get_linear_params(net)
    chapter_loop(data, w0, b0, orders)  # warm-up
    ml.train(base, data, engine="gluon")
    chapter = timed(lambda: chapter_loop(data, w0, b0, orders), args.repeats)
    probe = configs(args.probe, base)
    one_fast = statistics.median(timed(functools.partial(ml.train, c, data), 1) for c in probe)
    one_gluon = statistics.median(
        timed(functools.partial(ml.train, c, data, engine="gluon"), 1) for c in probe
    )
    print(f"one chapter-loop run: {chapter:.3f} s (median of {args.repeats})")
    print(f"one train run: numpy engine {one_fast * 1e3:.1f} ms, gluon engine {one_gluon * 1e3:.1f} ms")
    print(
        "sequential columns are extrapolated: K x the median of "
        f"{args.probe} timed runs; distinct seeds per config"
    )
    print(
        f"{'K':>5s} {'train_many s':>13s} {'/chapter':>9s} {'shared seed s':>14s} {'/chapter':>9s} "
        f"{'seq fast s*':>12s} {'seq gluon s*':>13s} {'many vs seq fast':>17s} {'many vs seq gluon':>18s}"
    )
    for k in (1, 10, 100, 1000):
        cs = configs(k, base)
        assert ml.can_train_many(cs, data)
        many = timed(functools.partial(ml.train_many, cs, data), args.repeats)
        shared = configs(k, base, shared_seed=True)
        many_shared = timed(functools.partial(ml.train_many, shared, data), args.repeats)
        seq_fast, seq_gluon = k * one_fast, k * one_gluon
        print(
            f"{k:5d} {many:13.3f} {many / chapter:8.2f}x {many_shared:14.3f} {many_shared / chapter:8.2f}x "
            f"{seq_fast:12.2f} {seq_gluon:13.1f} "
            f"{seq_fast / many:16.1f}x {seq_gluon / many:17.1f}x"
        )


if __name__ == "__main__":
    main()
