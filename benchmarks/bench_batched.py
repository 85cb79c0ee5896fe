"""The batched engine on every target of issue 14: ``ml.train_many`` over K configs vs one run.

One row per target, each problem with its own settings (``problem.settings``):

* digits-mlp: 1,000 configurations (10 learning rates x 10 momenta x 10 seeds) <= 30x one run;
* logistic, breast-cancer: 1,000 (the same grid) <= 10x one run;
* rosenbrock, beale, saddle, bowl: 10,000 (100 learning rates x 100 momenta) <= 2x one run;
* the chapter (linear-regression, ``RunConfig.chapter()``): 1,000 configurations (learning
  rate, momentum, decay factor, distinct seeds) <= 0.3x one run of the chapter's own loop.

"One run" is ``ml.train(base, problem)`` (the default engine, the NumPy engine at K = 1 since
issue 14); the ratio against ``engine="gluon"`` is printed too. Times are medians of
``--repeats`` interleaved repeats (baseline, batch, baseline, batch, ...), so a load change on
the shared machine hits both. Peak memory is measured in one more, untimed, batched call under
``tracemalloc`` (NumPy reports its arrays to it), beside the estimate the chunking uses.

Usage (from ``benchmarks/``): ``python bench_batched.py [--repeats 3] [--only digits-mlp,bowl]
[--scale 0.1] [--profile]`` (``--scale`` multiplies every K, for a quick look; ``--profile``
prints where one batched call spends its time, the 12 functions with the most own time).
On a shared machine the wall-clock ratios move with the load; ``--cpu`` times CPU seconds of
this process instead (run it with ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1`` to compare
versions: the CPU time of one thread).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
from bench_chapter import chapter_loop
from bench_sweep import configs as sweep_configs

import momentumlab as ml

TARGETS: dict[str, tuple[int, float]] = {
    "digits-mlp": (1000, 30.0),
    "logistic": (1000, 10.0),
    "breast-cancer": (1000, 10.0),
    "rosenbrock": (10000, 2.0),
    "beale": (10000, 2.0),
    "saddle": (10000, 2.0),
    "bowl": (10000, 2.0),
    "chapter": (1000, 0.3),
}


def grid_configs(base: ml.RunConfig, k: int) -> list[ml.RunConfig]:
    """``k`` configs: learning rate x momentum (x 10 seeds when k >= 1000 and k < 10000)."""
    lr0 = float(base.learning_rate)  # type: ignore[arg-type]
    seeds = 10 if k < 10000 else 1
    side = max(1, round((k / seeds) ** 0.5))
    lrs = lr0 * np.geomspace(0.1, 1.5, side)
    moms = np.linspace(0.0, 0.95, side)
    out = [
        dataclasses.replace(base, learning_rate=float(lr), momentum=float(m), seed=s)
        for lr in lrs
        for m in moms
        for s in range(seeds)
    ]
    return out[:k]


def chapter_configs(base: ml.RunConfig, k: int) -> list[ml.RunConfig]:
    """The chapter's sweep of ``bench_sweep.py``: learning rate, decay factor, momentum and seed drawn."""
    return sweep_configs(k, base)


def interleaved(
    fns: list[Callable[[], Any]], repeats: int, clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    """Median seconds of each function, repeats interleaved."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = clock()
            fn()
            times[i].append(clock() - t0)
    return [statistics.median(t) for t in times]


def profile(fn: Callable[[], Any]) -> None:
    """Print the 12 functions where one call of ``fn`` spends the most own time."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.runcall(fn)
    pstats.Stats(prof).sort_stats("tottime").print_stats(12)


def peak_bytes(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def estimate(configs: list[ml.RunConfig], problem: Any) -> int:
    from momentumlab.runner._kernels import kernel_for
    from momentumlab.runner._vectorized import bytes_per_config, chunk_size

    p = problem if isinstance(problem, ml.problems.Problem) else ml.problems.linear_problem(problem)
    kernel = kernel_for(p, p.make_net(), p.make_loss())
    assert not isinstance(kernel, str)
    size = min(len(configs), chunk_size(configs[0], p, kernel, 2 * 2**30))
    return kernel.shared_bytes() + size * bytes_per_config(configs[0], p, kernel)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default=",".join(TARGETS))
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--cpu", action="store_true")
    args = parser.parse_args()
    clock = time.process_time if args.cpu else time.perf_counter
    print(
        f"{'target':14s} {'K':>6s} {'one run s':>10s} {'gluon s':>8s} {'batch s':>9s} "
        f"{'x one run':>10s} {'x gluon':>8s} {'goal':>6s} {'met':>4s} {'peak MiB':>9s} {'est MiB':>8s}"
    )
    for name in args.only.split(","):
        k_full, goal = TARGETS[name]
        k = max(2, round(k_full * args.scale))
        if name == "chapter":
            data = ml.data.make_linear_regression(seed=0)
            base = ml.RunConfig.chapter()
            configs = chapter_configs(base, k)
            orders = ml.batch_orders(base, data.n_samples)
            net = ml.models.LinearRegressor(2)
            ml.models.init_normal(net, seed=0)
            w0, b0 = ml.models.get_linear_params(net)
            problem: Any = data
            one: Callable[[], Any] = functools.partial(chapter_loop, data, w0, b0, orders)
        else:
            problem = ml.problems.make(name)
            base = ml.RunConfig(**problem.settings)
            configs = grid_configs(base, k)
            one = functools.partial(ml.train, base, problem)

        def gluon(base: ml.RunConfig = base, problem: Any = problem) -> Any:
            return ml.train(base, problem, engine="gluon")

        def batch(configs: list[ml.RunConfig] = configs, problem: Any = problem) -> Any:
            return ml.train_many(configs, problem)

        assert ml.can_train_many(configs, problem)
        one(), gluon()  # warm-up
        t_one, t_gluon, t_batch = interleaved([one, gluon, batch], args.repeats, clock)
        peak = peak_bytes(batch)
        ratio = t_batch / t_one
        print(
            f"{name:14s} {k:6d} {t_one:10.3f} {t_gluon:8.3f} {t_batch:9.2f} {ratio:9.2f}x "
            f"{t_batch / t_gluon:7.2f}x {goal:5.1f}x {'yes' if ratio <= goal * k / k_full else 'no':>4s} "
            f"{peak / 2**20:9.1f} {estimate(configs, problem) / 2**20:8.1f}",
            flush=True,
        )
        if args.profile:
            profile(batch)
    print("one run: ml.train(base, problem) (chapter: the chapter's own Gluon loop); gluon: engine='gluon'")


if __name__ == "__main__":
    main()
