"""
Gradient descent, heavy ball and Nesterov on four 2-D functions
===============================================================

The paths of plain gradient descent (``momentum=0``), heavy ball (``optimizer='sgd'`` with
momentum) and Nesterov's accelerated gradient (``optimizer='nag'``) on the elongated bowl,
Rosenbrock's valley, Beale's function and a saddle between two minima, drawn over the
function's contours. Every run goes through :func:`momentumlab.train` with
``record_params=True``; the path is ``result.param_history['xy']``. The star marks the
known minimum.

Run::

    python examples/plot_trajectories.py --out trajectories.png
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

import momentumlab as ml

# problem -> (learning rate, momentum, steps): one learning rate per function at which all
# three methods are stable (Nesterov tolerates the least), so the paths compare like for like.
SETTINGS = {
    "bowl": (0.3, 0.5, 40),
    "rosenbrock": (1e-3, 0.9, 1500),
    "beale": (5e-3, 0.9, 600),
    "saddle": (0.1, 0.8, 120),
}
BLOCKS: dict[str, type[ml.models.Function2D]] = {
    "bowl": ml.models.Bowl,
    "rosenbrock": ml.models.Rosenbrock,
    "beale": ml.models.Beale,
    "saddle": ml.models.Saddle,
}
METHODS = (("gradient descent", "sgd", 0.0), ("heavy ball", "sgd", None), ("Nesterov", "nag", None))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="GD, heavy ball and Nesterov on 2-D functions.")
    parser.add_argument("--out", default="trajectories.png", help="where to write the PNG")
    parser.add_argument(
        "--quick", action="store_true", help="a tenth of the steps and a coarse grid (for tests)"
    )
    args = parser.parse_args(argv)

    fig = Figure(figsize=(11, 9), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    for ax, (name, (lr, momentum, steps)) in zip(axes, SETTINGS.items(), strict=True):
        problem = ml.problems.make(name, steps_per_epoch=10)
        block = BLOCKS[name]()
        (x0, x1), (y0, y1) = block.bounds
        grid = 60 if args.quick else 300
        gx, gy = np.meshgrid(np.linspace(x0, x1, grid), np.linspace(y0, y1, grid))
        values = block.value(gx, gy) - block.minimum_value + 1e-3
        levels = np.geomspace(values.min(), values.max(), 25)
        ax.contour(gx, gy, values, levels=levels, norm=LogNorm(), cmap="Greys", linewidths=0.6)
        n_epochs = max(1, (steps // 10) // (10 if args.quick else 1))
        base = ml.RunConfig(**{**problem.settings, "learning_rate": lr, "epochs": n_epochs})
        for label, optimizer, mom in METHODS:
            config = dataclasses.replace(base, optimizer=optimizer, momentum=momentum if mom is None else mom)
            result = ml.train(config, problem, record_params=True)
            path = result.param_history["xy"]
            dist = np.linalg.norm(path[-1] - np.asarray(block.minimum))
            status = "diverged" if result.diverged else f"{dist:.1e} from min"
            z = 3 if mom == 0.0 else 2  # gradient descent on top: it is often under the others
            ax.plot(path[:, 0], path[:, 1], ".-", ms=2, lw=1, zorder=z, label=f"{label} ({status})")
            loss = f"final loss {result.final_loss:.3e}"
            print(f"{name:10s} {label:16s} {result.n_steps:5d} steps, {loss}, {status}")
        if block.minimum is not None:
            ax.plot(*block.minimum, "k*", ms=12, label="minimum")
        ax.plot(*path[0], "ko", ms=5)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_title(f"{name}: lr {lr:g}, momentum {momentum:g}, {result.n_steps} steps")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.legend(fontsize="small", loc="lower right")
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
