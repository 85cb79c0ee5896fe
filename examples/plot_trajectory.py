"""
Gradient descent zig-zags, momentum runs along the valley
=========================================================

The classic picture of why momentum helps, drawn from real :func:`momentumlab.train` runs.

The problem is a two-feature linear regression whose loss Hessian has eigenvalues 0.1 and
2.0 (condition number 20): the features are centred, whitened and scaled so that
``X^T X / n = diag(0.1, 2.0)`` exactly. The net's bias is frozen at the true value 0
(``LinearRegressor(2, train_bias=False)``), so training moves exactly the two weights and
:func:`momentumlab.viz.linear_regression_surface` gives the loss surface they move on.

Three full-batch runs start from ``w = (-4, 2)``:

* gradient descent at learning rate 0.9 (``0.9 * 2.0 = 1.8``, close to the stability limit
  2 of the steep direction): it overshoots across the valley at every step while crawling
  along the flat direction;
* heavy-ball momentum 0.5 at the same learning rate;
* Polyak's optimal pair (:func:`momentumlab.theory.optimal_momentum`), which balances the two
  directions.
"""

# %%
from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import momentumlab as ml

parser = argparse.ArgumentParser(description="Paths of GD and momentum over the loss contours.")
parser.add_argument("--out", default=None, help="write the figure to this PNG")
args, _ = parser.parse_known_args()

EIGENVALUES = (0.1, 2.0)
N = 200
rng = np.random.default_rng(0)
Z = rng.standard_normal((N, 2))
Z -= Z.mean(axis=0)
Z = Z @ np.linalg.inv(np.linalg.cholesky(Z.T @ Z / N)).T  # now Z^T Z / N = I
X = (Z * np.sqrt(EIGENVALUES)).astype(np.float32)
data = ml.data.from_arrays(X, X @ np.array([1.0, 1.0], dtype=np.float32), name="valley")
surface = ml.viz.linear_regression_surface(data, bias=0.0)
print("Hessian eigenvalues:", surface.eigenvalues.round(4), "optimum:", surface.center.round(4))


def run(learning_rate: float, momentum: float) -> ml.RunResult:
    """Full-batch training from w = (-4, 2) with the bias frozen at 0."""
    net = ml.models.LinearRegressor(2, train_bias=False)
    ml.models.init_normal(net, seed=0)
    ml.models.set_params(net, {"dense0_weight": np.array([[-4.0, 2.0]]), "dense0_bias": np.array([0.0])})
    # full batch: one update and one loss record per epoch, at a constant rate
    config = ml.RunConfig(
        batch_size=N, learning_rate=learning_rate, momentum=momentum, epochs=30, shuffle=False
    )
    return ml.train(config, data, net=net, initialize=False, record_params=True)


polyak = ml.theory.optimal_momentum(EIGENVALUES)
alpha, beta = polyak.learning_rate, polyak.momentum
runs = [run(0.9, 0.0), run(0.9, 0.5), run(alpha, beta)]
labels = ["GD, lr 0.9", "momentum 0.5, lr 0.9", f"Polyak: lr {alpha:.2f}, momentum {beta:.2f}"]
for label, r in zip(labels, runs, strict=True):
    print(f"{label:36s} loss after 30 steps: {r.final_loss:.2e}")

# %%
# The paths over the contours, and the same runs' losses.
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
ml.viz.plot_trajectory(runs, surface, labels=labels, ax=left)
left.set_title("paths over the loss contours")
ml.viz.plot_losses(runs, labels=labels, ax=right)
right.set_title("loss per step (full batch: 1 step = 1 epoch)")
if args.out:
    fig.savefig(args.out, dpi=120)
