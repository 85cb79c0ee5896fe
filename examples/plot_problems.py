"""
Momentum on every problem of the suite
======================================

Trains each problem of :func:`momentumlab.problems.names` twice at its suggested settings
(``problem.settings``): with its momentum (solid) and with ``momentum=0`` (dashed, plain
SGD at the same learning rate; where that diverges — heavy ball's optimal rate is up to
twice the largest stable one of gradient descent — at the largest of ``lr/2, lr/4, ...``
that does not). Each panel shows the training loss against epochs; where the optimal loss
is known (the linear problems and the 2-D functions) it shows the excess loss
``loss - optimal_loss``. Classifiers print their final held-out accuracy in the title.

Needs the ``datasets`` extra (scikit-learn's bundled data). Run::

    python examples/plot_problems.py --out problems.png
"""

# %%
from __future__ import annotations

import argparse
import dataclasses

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import momentumlab as ml

parser = argparse.ArgumentParser(description="Momentum on every problem of the suite.")
parser.add_argument("--out", default=None, help="write the figure to this PNG")
parser.add_argument("--quick", action="store_true", help="one short epoch per problem (for tests)")
args, _ = parser.parse_known_args()

FUNCTIONS = ("bowl", "rosenbrock", "beale", "saddle")
names = ml.problems.names()
fig, grid = plt.subplots(2, 5, figsize=(16, 5.6), layout="constrained")
for ax, name in zip(grid.ravel(), names, strict=True):
    problem = ml.problems.make(name, **({"steps_per_epoch": 20} if args.quick and name in FUNCTIONS else {}))
    config = ml.RunConfig(**problem.settings)
    if args.quick:
        config = dataclasses.replace(config, epochs=min(config.epochs, 20 if config.batch_size > 100 else 1))
    title = name
    for momentum, style in ((config.momentum, "-"), (0.0, "--")):
        cfg = dataclasses.replace(config, momentum=momentum)
        result = ml.train(cfg, problem)
        while isinstance(cfg.learning_rate, float) and result.diverged:
            if cfg.learning_rate <= float(config.learning_rate) / 16:  # type: ignore[arg-type]
                break
            cfg = dataclasses.replace(cfg, learning_rate=cfg.learning_rate / 2)
            result = ml.train(cfg, problem)
        y = np.asarray(result.losses, dtype=float)
        if problem.optimal_loss is not None:
            y = np.maximum(y - problem.optimal_loss, 1e-16)
        lr = f"{cfg.learning_rate:.2g}" if isinstance(cfg.learning_rate, float) else "scheduled"
        label = f"momentum {cfg.momentum or 0.0:.2g}, lr {lr}"
        ax.semilogy(result.record_epochs, y, style, label=label + (" (diverged)" if result.diverged else ""))
        if result.metric_name in ("accuracy", "binary_accuracy"):
            title += f"\nacc {result.metrics[-1]:.3f}" if style == "-" else f" / {result.metrics[-1]:.3f}"
        print(f"{name:18s} momentum={cfg.momentum or 0.0:<6.3g} final loss {result.final_loss:.4e}")
    ax.set_title(title, fontsize="medium")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss - optimum" if problem.optimal_loss is not None else "loss")
    ax.legend(fontsize="x-small")
if args.out:
    fig.savefig(args.out, dpi=100)
