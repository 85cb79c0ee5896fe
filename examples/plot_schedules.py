"""
Learning-rate and momentum schedules
====================================

Every schedule of :mod:`momentumlab.optim` over 300 updates (the chapter's 3 epochs of 100
updates), one panel each: the torch/optax-style decays, warmup, warm restarts, one-cycle with
its inverse momentum cycle, joined schedules, MXNet's own schedulers read through the bridge,
and a reduce-on-plateau run on the chapter's problem.

What the picture shows: every schedule is a function of the update index (and a frozen
value that prints and stores its parameters), so each panel is simply ``schedule(t)`` for
``t = 0 .. 299``. The chapter's decay stated in epochs
(``PerEpoch``) drops at update 200; MXNet's ``FactorScheduler`` and ``CosineScheduler`` read
through :func:`momentumlab.optim.from_mxnet` give the values MXNet itself would use; the last
panel is a real run where reduce-on-plateau halves the cosine rate whenever the recorded
loss stops improving by 5% for 15 records.

Run::

    python examples/plot_schedules.py --out schedules.png
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import mxnet as mx
from matplotlib.figure import Figure

import momentumlab as ml

N = 300
SPE = 100


def main(argv: Sequence[str] | None = None) -> Figure:
    """Draw every schedule on one pyplot figure (the gallery captures it); ``--out`` also writes a PNG."""
    parser = argparse.ArgumentParser(description="Draw every momentumlab schedule to a PNG.")
    parser.add_argument("--out", default=None, help="write the figure to this PNG")
    args, _ = parser.parse_known_args(argv)

    o = ml.optim
    cycle = o.one_cycle(0.2, N)
    panels: dict[str, list[Callable[[int], float]]] = {
        "constant_schedule(0.2)": [o.constant_schedule(0.2)],
        "step_decay(0.2, 100, 0.1)": [o.step_decay(0.2, 100, 0.1)],
        "multistep_decay(0.2, [200, 250], 0.1)": [o.multistep_decay(0.2, [200, 250], 0.1)],
        "exponential_decay(0.2, 0.99)": [o.exponential_decay(0.2, 0.99)],
        "cosine_decay(0.2, 300, end_value=0.02)": [o.cosine_decay(0.2, N, end_value=0.02)],
        "cosine_warm_restarts(0.2, 50, period_mult=2)": [o.cosine_warm_restarts(0.2, 50, period_mult=2)],
        "polynomial_schedule(0.2, 0, 2, 300)": [o.polynomial_schedule(0.2, 0.0, 2.0, N)],
        "linear_schedule(0.2, 0.02, 300)": [o.linear_schedule(0.2, 0.02, N)],
        "warmup(cosine, 30): linear / constant": [
            o.warmup(o.cosine_decay(0.2, N - 30), 30),
            o.warmup(o.cosine_decay(0.2, N - 30), 30, start_value=0.05, mode="constant"),
        ],
        "one_cycle(0.2, 300): lr and momentum/5": [cycle.learning_rate, lambda t: cycle.momentum(t) / 5],
        "piecewise_constant([100, 200], ...)": [o.piecewise_constant([100, 200], [0.2, 0.05, 0.1])],
        "join_schedules([linear, cosine], [50])": [
            o.join_schedules([o.linear_schedule(0.0, 0.2, 50), o.cosine_decay(0.2, N - 50)], [50])
        ],
        "PerEpoch(multistep([2], 0.1)) = chapter": [o.PerEpoch(o.multistep_decay(0.2, [2], 0.1)).bind(SPE)],
        "from_mxnet: Factor / Cosine(warmup)": [
            o.from_mxnet(mx.lr_scheduler.FactorScheduler(step=60, factor=0.5, base_lr=0.2)),
            o.from_mxnet(
                mx.lr_scheduler.CosineScheduler(
                    max_update=N, base_lr=0.2, warmup_steps=40, warmup_begin_lr=0.0
                )
            ),
        ],
    }
    data = ml.data.make_linear_regression(seed=0)
    plateau = o.ReduceOnPlateau(factor=0.5, patience=15, threshold=0.05, observe="record")
    # the chapter's run with a cosine learning rate in place of its decay, and the plateau rule
    run = ml.train(ml.RunConfig.chapter(learning_rate=o.cosine_decay(0.2, N), plateau=plateau), data)
    cols = 4
    rows = (len(panels) + 1 + cols - 1) // cols
    fig, grid = plt.subplots(rows, cols, sharex=True, figsize=(4.0 * cols, 2.6 * rows), layout="constrained")
    axes = grid.ravel()
    for ax, (title, schedules) in zip(axes, panels.items(), strict=False):
        for s in schedules:
            ml.viz.plot_schedule(s, N, ax=ax)
        ax.set_title(title, fontsize="small")
    ax = axes[len(panels)]
    ml.viz.plot_schedule(o.cosine_decay(0.2, N), N, ax=ax, label="cosine base", linestyle=":")
    ml.viz.plot_schedule(lambda t: float(run.learning_rates[t]), run.n_steps, ax=ax, label="with plateau")
    ax.legend(fontsize="x-small")
    ax.set_title("ReduceOnPlateau on cosine (a real run)", fontsize="small")
    for ax in axes[len(panels) + 1 :]:
        ax.set_visible(False)
    if args.out:
        fig.savefig(args.out, dpi=90)
    return fig


# A plain call, no ``SystemExit``: sphinx-gallery runs this file as ``__main__`` and an exit
# would end the whole docs build.
if __name__ == "__main__":
    main()
