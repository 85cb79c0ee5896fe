"""``train`` against a plain Gluon loop, per problem of the suite: time per epoch and ratio.

The plain loop is written as users write it: a ``gluon.data.DataLoader`` over an
``ArrayDataset`` with ``shuffle=True``, the net un-hybridized, ``gluon.Trainer('sgd', ...)``
with the same learning rate and momentum, and the same records as ``train`` (the
full-dataset loss, and the held-out metric where the problem has one, every ``period``
examples, read with ``asnumpy()`` as the chapter does). Both run at the problem's own
settings (``problem.settings``). Timings alternate between the two and keep the best of
``--repeats`` rounds, so a noisy shared machine affects both alike; only the ratio means
something across machines.

Run::

    python benchmarks/bench_problems.py [--repeats 3] [--epochs 2] [--problem NAME ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

import momentumlab as ml


def plain_loop(problem: ml.problems.Problem, config: ml.RunConfig) -> float:
    """The loop as a user writes it; returns the last recorded loss."""
    net = problem.make_net()
    if problem.init_params is not None:
        problem.init_params(net, np.random.default_rng(config.seed))
    else:
        ml.models.init_normal(net, seed=config.seed)
    loss_fn = problem.make_loss()
    opts = {"learning_rate": config.learning_rate}
    if config.momentum:
        opts["momentum"] = config.momentum
    trainer = gluon.Trainer(net.collect_params(), config.optimizer, opts)
    X, y = problem.data.features, problem.data.labels
    held = problem.heldout
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X, y), config.batch_size, shuffle=True)
    bs = config.batch_size
    losses = [float(np.mean(loss_fn(net(X), y).asnumpy()))]
    accuracies: list[float] = []
    period = config.period or bs
    for _ in range(config.epochs):
        for i, (xb, yb) in enumerate(loader):
            with autograd.record():
                loss = loss_fn(net(xb), yb)
            loss.backward()
            trainer.step(xb.shape[0])
            if i * bs % period == 0:
                losses.append(float(np.mean(loss_fn(net(X), y).asnumpy())))
                if held is not None and problem.metric == "accuracy":
                    pred = net(held.features).argmax(axis=1)
                    accuracies.append(float((pred == held.labels).mean().asscalar()))
                elif held is not None and problem.metric == "binary_accuracy":
                    pred = net(held.features).reshape((-1,)) > 0
                    accuracies.append(float((pred == held.labels).mean().asscalar()))
                elif held is not None:
                    accuracies.append(float(np.mean(loss_fn(net(held.features), held.labels).asnumpy())))
    return losses[-1]


def _config(problem: ml.problems.Problem, epochs: int) -> ml.RunConfig:
    config = ml.RunConfig(**problem.settings)
    return dataclasses.replace(config, epochs=min(config.epochs, epochs))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="train vs a plain Gluon loop, per problem.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timing (at most the settings')")
    parser.add_argument("--problem", action="append", help="only these problems (repeatable)")
    args = parser.parse_args(argv)
    names = args.problem or list(ml.problems.names())
    print(f"mxnet {mx.__version__}; best of {args.repeats}; seconds per epoch")
    print(f"{'problem':18s} {'steps/ep':>8s} {'train':>9s} {'plain':>9s} {'ratio':>6s}")
    ratios = []
    for name in names:
        problem = ml.problems.make(name)
        config = _config(problem, args.epochs)
        warm = dataclasses.replace(config, epochs=1)
        ml.train(warm, problem)
        plain_loop(problem, warm)
        t_train, t_plain = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            ml.train(config, problem)
            t1 = time.perf_counter()
            plain_loop(problem, config)
            t2 = time.perf_counter()
            t_train.append((t1 - t0) / config.epochs)
            t_plain.append((t2 - t1) / config.epochs)
        a, b = min(t_train), min(t_plain)
        steps = -(-problem.data.n_samples // config.batch_size)
        ratios.append(b / a)
        print(f"{name:18s} {steps:8d} {a:9.4f} {b:9.4f} {b / a:5.1f}x", flush=True)
    print(f"smallest ratio {min(ratios):.1f}x, geometric mean {np.exp(np.mean(np.log(ratios))):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
