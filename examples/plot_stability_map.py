"""
Where heavy ball converges: a (learning rate, momentum) map
===========================================================

A grid of full-batch runs, one per (learning rate, momentum) pair, on a two-feature
regression whose features are scaled so that the loss Hessian has eigenvalues 0.1 and 2.0
in the weights (and 1.0 in the bias: the features are centred). It is drawn with
:func:`momentumlab.viz.plot_sweep`: the colour is the loss after 40 steps on a log scale,
capped at the starting loss (so every cell that got worse has the top colour), and hatched
red cells diverged (their loss overflowed).

On top, the closed forms for a quadratic whose Hessian has extreme eigenvalues ``lam_min``
and ``lam_max``: heavy ball is stable exactly left of the dashed line
``lr = 2 (1 + momentum) / lam_max``, and the star is Polyak's optimal pair. The Hessian is
that of the mean ``L2Loss`` in the weights and the bias, ``[X, 1]^T [X, 1] / n``.
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

parser = argparse.ArgumentParser(description="Final loss over learning rate and momentum.")
parser.add_argument("--out", default=None, help="write the figure to this PNG")
args, _ = parser.parse_known_args()

N = 200
rng = np.random.default_rng(0)
Z = rng.standard_normal((N, 2))
Z -= Z.mean(axis=0)
Z = Z @ np.linalg.inv(np.linalg.cholesky(Z.T @ Z / N)).T  # now Z^T Z / N = I
X = (Z * np.sqrt([0.1, 2.0])).astype(np.float32)
data = ml.data.from_arrays(X, X @ np.array([2.0, -3.4], dtype=np.float32) + 4.2, name="valley")
lam = ml.theory.least_squares(data).eigenvalues
print(f"Hessian eigenvalues {lam.round(3)}, condition number {lam[-1] / lam[0]:.2f}")

# full batch: one update and one loss record per epoch; every run starts from the same N(0, 1) weights
base = ml.RunConfig(batch_size=N, epochs=40, shuffle=False, init_sigma=1.0)
runs = [
    ml.train(dataclasses.replace(base, learning_rate=float(lr), momentum=float(m)), data)
    for lr in np.geomspace(0.05, 20.0, 16)
    for m in np.linspace(0.0, 0.95, 11)
]
print(f"{len(runs)} runs, {sum(r.diverged for r in runs)} diverged")

# %%
fig, ax = plt.subplots(figsize=(6.5, 4.5), layout="constrained")
start = float(runs[0].losses[0])  # the same initial weights for every run
ml.viz.plot_sweep(runs, x="learning_rate", y="momentum", spectrum=(lam[0], lam[-1]), vmax=start, ax=ax)
ax.set_title("loss after 40 full-batch steps")
if args.out:
    fig.savefig(args.out, dpi=120)
