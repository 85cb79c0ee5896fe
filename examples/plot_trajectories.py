"""
Gradient descent, heavy ball and Nesterov on four 2-D functions
===============================================================

The paths of plain gradient descent (``momentum=0``), heavy ball (``optimizer='sgd'`` with
momentum) and Nesterov's accelerated gradient (``optimizer='nag'``) on the elongated bowl,
Rosenbrock's valley, Beale's function and a saddle between two minima, drawn over each
function's contours by :func:`momentumlab.viz.plot_trajectory`. Every run goes through
:func:`momentumlab.train` with ``record_params=True``; the path is
``result.param_history['xy']``. The star marks the known minimum.

One learning rate per function, at which all three methods are stable (Nesterov tolerates
the least: on the bowl, lr 0.4 with momentum 0.5 is fine for heavy ball and diverges for
Nesterov). Run::

    python examples/plot_trajectories.py --out trajectories.png
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

parser = argparse.ArgumentParser(description="GD, heavy ball and Nesterov on 2-D functions.")
parser.add_argument("--out", default=None, help="write the figure to this PNG")
parser.add_argument("--quick", action="store_true", help="a tenth of the steps (for tests)")
args, _ = parser.parse_known_args()

# problem -> (block, learning rate, momentum, steps)
SETTINGS: dict[str, tuple[type[ml.models.Function2D], float, float, int]] = {
    "bowl": (ml.models.Bowl, 0.3, 0.5, 40),
    "rosenbrock": (ml.models.Rosenbrock, 1e-3, 0.9, 1500),
    "beale": (ml.models.Beale, 5e-3, 0.9, 600),
    "saddle": (ml.models.Saddle, 0.1, 0.8, 120),
}
METHODS = (("gradient descent", "sgd", True), ("heavy ball", "sgd", False), ("Nesterov", "nag", False))

fig, grid = plt.subplots(2, 2, figsize=(11, 9), layout="constrained")
for ax, (name, (cls, lr, momentum, steps)) in zip(grid.ravel(), SETTINGS.items(), strict=True):
    problem = ml.problems.make(name, steps_per_epoch=10)
    block = cls()
    epochs = max(1, steps // 10 // (10 if args.quick else 1))
    base = ml.RunConfig(**{**problem.settings, "learning_rate": lr, "epochs": epochs})
    runs, labels = [], []
    for label, optimizer, plain in METHODS:
        config = dataclasses.replace(base, optimizer=optimizer, momentum=0.0 if plain else momentum)
        result = ml.train(config, problem, record_params=True)
        dist = float(np.linalg.norm(result.params["xy"] - np.asarray(block.minimum)))
        status = "diverged" if result.diverged else f"{dist:.1e} from min"
        runs.append(result)
        labels.append(f"{label} ({status})")
        print(
            f"{name:10s} {label:16s} {result.n_steps:5d} steps, final loss {result.final_loss:.3e}, {status}"
        )
    ml.viz.plot_trajectory(
        runs, block.value, labels=labels, param="xy", optimum=block.minimum, levels=25, ax=ax
    )
    ax.set_title(f"{name}: lr {lr:g}, momentum {momentum:g}, {runs[0].n_steps} steps")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
if args.out:
    fig.savefig(args.out, dpi=100)
