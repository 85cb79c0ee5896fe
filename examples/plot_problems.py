"""
Momentum on every problem of the suite
======================================

Trains each problem of :func:`momentumlab.problems.names` twice at its suggested settings
(``problem.settings``): with its momentum (solid) and with ``momentum=0`` (dashed, plain
SGD at the same learning rate; where that diverges — heavy ball's optimal rate is up to
twice the largest stable one of gradient descent — at the largest of ``lr/2, lr/4, ...``
that does not). Each panel shows the training loss against epochs; where the
optimal loss is known (the linear problems and the 2-D functions) the panel shows the excess
loss ``loss - optimal_loss``. Classifiers print their final held-out accuracy in the title.

Run::

    python examples/plot_problems.py --out problems.png
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import dataclasses

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

import momentumlab as ml


def _curve(
    problem: ml.problems.Problem, result: ml.RunResult
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    y = np.asarray(result.losses, dtype=float)
    if problem.optimal_loss is not None:
        y = np.maximum(y - problem.optimal_loss, 1e-16)
    return np.asarray(result.record_epochs, dtype=float), y


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Momentum on every problem of the suite.")
    parser.add_argument("--out", default="problems.png", help="where to write the PNG")
    parser.add_argument("--quick", action="store_true", help="one short epoch per problem (for tests)")
    args = parser.parse_args(argv)

    names = ml.problems.names()
    cols = 5
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(3.2 * cols, 2.8 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):
        quick = (
            {"steps_per_epoch": 20}
            if args.quick and name in ("bowl", "rosenbrock", "beale", "saddle")
            else {}
        )
        problem = ml.problems.make(name, **quick)
        config = ml.RunConfig(**problem.settings)
        if args.quick:
            config = dataclasses.replace(
                config, epochs=min(config.epochs, 20 if config.batch_size > 100 else 1)
            )
        title = name
        for momentum, style in ((config.momentum, "-"), (0.0, "--")):
            cfg = dataclasses.replace(config, momentum=momentum)
            result = ml.train(cfg, problem)
            while result.diverged and cfg.learning_rate > config.learning_rate / 16:  # type: ignore[operator]
                cfg = dataclasses.replace(cfg, learning_rate=cfg.learning_rate / 2)  # type: ignore[operator]
                result = ml.train(cfg, problem)
            x, y = _curve(problem, result)
            label = f"momentum {cfg.momentum:.2g}, lr {cfg.learning_rate:.2g}"
            label += " (diverged)" if result.diverged else ""
            ax.semilogy(x, y, style, label=label)
            if result.metric_name in ("accuracy", "binary_accuracy"):
                title += f"\nacc {result.metrics[-1]:.3f}" if style == "-" else f" / {result.metrics[-1]:.3f}"
            print(f"{name:18s} momentum={cfg.momentum:<6.3g} final loss {result.final_loss:.4e}")
        ax.set_title(title, fontsize="medium")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss - optimum" if problem.optimal_loss is not None else "loss")
        ax.legend(fontsize="x-small")
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
