"""
Momentum against plain SGD on the chapter's problem
===================================================

The "Momentum with Gluon" chapter trains a linear regression (``y = 2 x1 - 3.4 x2 + 4.2``)
with mini-batch SGD, batch 10, learning rate 0.2 and momentum 0.9, dividing the learning
rate by ten after epoch 2. Here the same problem runs with momentum 0 (plain SGD), 0.5 and
0.9 from the same initial weights and the same batch order, and
:func:`momentumlab.viz.plot_losses` draws the three loss curves on one log axis, with the
learning rate actually used at every update on the right-hand axis (dashed).

What the picture shows: with momentum 0.9 the effective step ``lr / (1 - momentum)`` is
2.0, ten times plain SGD's, and on this well-conditioned problem that is too much: the loss
oscillates and needs about two epochs to reach the floor that plain SGD and momentum 0.5
reach within a quarter of an epoch. All three end at the noise floor
``0.5 * 0.01**2 = 5e-5`` of the label noise. Momentum pays off on ill-conditioned problems
(see the trajectory example), not here.
"""

# %%
from __future__ import annotations

import argparse
import dataclasses

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import momentumlab as ml

parser = argparse.ArgumentParser(description="Loss curves of SGD with several momenta.")
parser.add_argument("--out", default=None, help="write the figure to this PNG")
args, _ = parser.parse_known_args()

data = ml.data.make_linear_regression(seed=0)
chapter = ml.RunConfig.chapter()  # batch 10, lr 0.2, momentum 0.9, 3 epochs, decay after epoch 2
runs = [ml.train(dataclasses.replace(chapter, momentum=m), data) for m in (0.0, 0.5, 0.9)]
for r in runs:
    print(f"momentum {r.config.momentum}: final loss {r.final_loss:.3e} in {r.wall_time:.2f} s")

# %%
# One call draws every run; the labels name the config field that differs.
fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
ml.viz.plot_losses(runs, show_lr=True, ax=ax)
ax.set_title("batch 10, lr 0.2 (x0.1 after epoch 2)")
if args.out:
    fig.savefig(args.out, dpi=120)
