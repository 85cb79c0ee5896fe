"""One ``train`` run vs a user's hybridized ``DataLoader`` loop, per problem of the suite.

The baseline is the loop a user writes with the same settings (``problem.settings``): a
``gluon.data.DataLoader`` over an ``ArrayDataset`` with ``shuffle=True``, the problem's net and
loss hybridized, ``gluon.Trainer`` with the same optimizer, learning rate (a schedule is set
with ``trainer.set_learning_rate`` when it changes, as the chapter does), momentum and weight
decay, and the same records as ``train``: the full-dataset loss (and the held-out metric, where
the problem has one) at the positions of ``config.record_mask``, each read to the host as a
user does. ``train`` runs whatever engine it picks (``result.engine`` is printed).

Both are timed ``--repeats`` times, interleaved, after one warm-up each; the table gives
medians and the ratio loop / train (target: >= 5x on every problem).

Run::

    python benchmarks/bench_problems.py [--repeats 5] [--epochs N] [--problem NAME ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Sequence

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

import momentumlab as ml


def user_loop(problem: ml.problems.Problem, config: ml.RunConfig) -> list[float]:
    """The loop as a user writes it with ``config``'s settings; returns the recorded losses."""
    net = problem.make_net()
    rng = np.random.default_rng(config.seed)
    if problem.init_params is not None:
        problem.init_params(net, rng)
    else:
        ml.models.init_normal(net, sigma=config.init_sigma, seed=rng)
    loss_fn = problem.make_loss()
    net.hybridize()
    loss_fn.hybridize()
    X, y = problem.data.features, problem.data.labels
    n, bs = problem.data.n_samples, config.batch_size
    steps_per_epoch = -(-n // bs)
    lr_at = ml.optim.bind_schedule(config.learning_rate, steps_per_epoch)
    opts: dict[str, float] = {"learning_rate": float(lr_at(0)) if callable(lr_at) else float(lr_at)}
    if config.momentum is not None:
        opts["momentum"] = float(config.momentum)  # type: ignore[arg-type]
    if config.weight_decay:
        opts["wd"] = config.weight_decay
    trainer = gluon.Trainer(net.collect_params(), config.optimizer, opts)
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X, y), bs, shuffle=True)
    held = problem.heldout
    record_after = config.record_mask(n)

    Xh, yh = (held.features, held.labels) if held is not None and problem.metric else (None, None)

    def metric() -> float:
        out = net(Xh)
        if problem.metric == "accuracy":
            return float((out.argmax(axis=1) == yh).mean().asscalar())
        if problem.metric == "binary_accuracy":
            return float(((out.reshape((-1,)) > 0) == yh).mean().asscalar())
        return float(loss_fn(out, yh).mean().asscalar())

    losses = [float(loss_fn(net(X), y).mean().asscalar())]
    metrics = [metric()] if Xh is not None else []
    step = 0
    for _ in range(config.epochs):
        for i, (xb, yb) in enumerate(loader):
            if callable(lr_at):
                lr = float(lr_at(step))
                if lr != trainer.learning_rate:
                    trainer.set_learning_rate(lr)
            with autograd.record():
                loss = loss_fn(net(xb), yb)
            loss.backward()
            trainer.step(xb.shape[0])
            step += 1
            if record_after[i]:
                losses.append(float(loss_fn(net(X), y).mean().asscalar()))
                if Xh is not None:
                    metrics.append(metric())
    return losses


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="train vs a user's hybridized DataLoader loop, per problem.")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=None, help="cap the settings' epochs")
    parser.add_argument("--problem", action="append", help="only these problems (repeatable)")
    args = parser.parse_args(argv)
    names = args.problem or list(ml.problems.names())
    print(f"mxnet {mx.__version__}, numpy {np.__version__}; medians of {args.repeats} interleaved repeats")
    header = ("problem", "engine", "steps", "records", "train s", "loop s", "ratio")
    print("{:18s} {:>8s} {:>6s} {:>7s} {:>9s} {:>9s} {:>7s}".format(*header))
    ratios = []
    for name in names:
        problem = ml.problems.make(name)
        config = ml.RunConfig(**problem.settings)
        if args.epochs is not None:
            config = dataclasses.replace(config, epochs=min(config.epochs, args.epochs))
        result = ml.train(config, problem)  # warm-up
        user_loop(problem, config)
        t_train, t_loop = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            ml.train(config, problem)
            t1 = time.perf_counter()
            user_loop(problem, config)
            t2 = time.perf_counter()
            t_train.append(t1 - t0)
            t_loop.append(t2 - t1)
        a, b = statistics.median(t_train), statistics.median(t_loop)
        ratios.append(b / a)
        print(
            f"{name:18s} {result.engine:>8s} {result.n_steps:6d} {len(result.losses):7d} "
            f"{a:9.4f} {b:9.4f} {b / a:6.1f}x",
            flush=True,
        )
    geo = float(np.exp(np.mean(np.log(ratios))))
    print(f"smallest ratio {min(ratios):.1f}x, geometric mean {geo:.1f}x (target >= 5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
