"""Theory beside practice: predicted rates and loss floors against real MXNet runs.

Left: full-batch runs on a problem with condition number κ (gradient descent at its best
step, heavy ball at Polyak's optimum, and the chapter's momentum 0.9), each with its predicted
rate as a dashed line. Middle: the predicted rate over (learning rate, momentum), with the
stability boundary, the critical-damping curves and the three settings. Right: the chapter's
mini-batch runs at a constant learning rate against the predicted stationary loss floor.

Run::

    python examples/theory_vs_practice.py --out theory_vs_practice.png
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure

import momentumlab as ml


def full_batch(n: int, lr: float, momentum: float, steps: int) -> ml.RunConfig:
    """``steps`` full-batch updates at a constant rate: one update and one loss record per epoch."""
    return ml.RunConfig(
        batch_size=n,
        learning_rate=lr,
        momentum=momentum,
        epochs=steps,
        shuffle=False,
        init_sigma=1.0,  # the chapter's N(0, 1) start
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--kappa", type=float, default=100.0, help="condition number of the full-batch problem"
    )
    parser.add_argument("--steps", type=int, default=400, help="full-batch updates per run")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the mini-batch runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="theory_vs_practice.png", help="where to write the PNG")
    args = parser.parse_args(argv)

    n = 200
    data = ml.data.make_conditioned_regression(n, 2, condition_number=args.kappa, seed=args.seed)
    q = ml.theory.least_squares(data)
    gd, hb = ml.theory.optimal_gd(q), ml.theory.optimal_momentum(q)
    chapter_lr = ml.theory.best_learning_rate(q, 0.9).learning_rate
    chapter = ml.theory.Tuning(chapter_lr, 0.9, ml.theory.rate(q, chapter_lr, 0.9))
    settings = [
        ("GD, best step", gd, 0.0),
        ("heavy ball, Polyak optimum", hb, 2.0),
        ("momentum 0.9", chapter, 0.0),
    ]

    fig = Figure(figsize=(15.0, 4.4), layout="constrained")
    ax_run, ax_map, ax_floor = fig.subplots(1, 3)
    print(f"κ = {q.condition_number:.6g}, λ = {np.array2string(q.eigenvalues, precision=4)}")
    for (name, tuning, power), color in zip(settings, ["C0", "C1", "C2"], strict=True):
        result = ml.train(full_batch(n, tuning.learning_rate, tuning.momentum, args.steps), data)
        fit = ml.theory.fit_rate(result, optimal_loss=q.optimal_loss, power=power)
        label = f"{name}: α={tuning.learning_rate:.3g}, β={tuning.momentum:.3g}, measured ρ={fit.rate:.4f}"  # noqa: RUF001
        ml.viz.plot_rate(
            result, tuning.rate, optimal_loss=q.optimal_loss, ax=ax_run, label=label, power=power, color=color
        )
        print(f"{name:28s} predicted rate {tuning.rate:.5f}  measured {fit.rate:.5f}")
    ax_run.set_title(f"full batch, κ = {q.condition_number:.0f}: measured vs predicted (dashed)")
    ax_run.set_ylim(1e-14, None)
    ax_run.legend(fontsize="x-small", loc="lower left")

    alphas = np.linspace(1e-3, 1.05 * ml.theory.max_stable_learning_rate(q, 0.99), 300)
    betas = np.linspace(0.0, 0.99, 200)
    grid = ml.theory.rate(q, alphas[None, :], betas[:, None])
    mesh = ax_map.pcolormesh(alphas, betas, np.minimum(grid, 1.0), cmap="viridis", shading="auto")
    fig.colorbar(mesh, ax=ax_map, label="predicted rate ρ (≥ 1 clipped)")  # noqa: RUF001
    ax_map.plot(ml.theory.max_stable_learning_rate(q, betas), betas, "r-", label="stability edge 2(1+β)/λmax")
    lo, _ = ml.theory.critical_learning_rates(q.lambda_min, betas)
    _, hi = ml.theory.critical_learning_rates(q.lambda_max, betas)
    ax_map.plot(lo, betas, "w--", lw=1, label="critical damping of λmin / λmax")
    ax_map.plot(hi, betas, "w--", lw=1)
    for (name, tuning, _), marker in zip(settings, ["o", "*", "s"], strict=True):
        ax_map.plot(
            tuning.learning_rate, tuning.momentum, marker, color="white", mec="black", ms=10, label=name
        )
    ax_map.set_xlim(alphas[0], alphas[-1])
    ax_map.set_xlabel("learning rate α")  # noqa: RUF001
    ax_map.set_ylabel("momentum β")
    ax_map.set_title("predicted rate over (α, β)")  # noqa: RUF001
    ax_map.legend(fontsize="x-small", loc="lower right")

    chapter_data = ml.data.make_linear_regression(seed=args.seed)
    cq = ml.theory.least_squares(chapter_data)
    for (lr, mom), color in zip([(0.2, 0.9), (0.02, 0.9), (0.2, 0.0)], ["C3", "C4", "C5"], strict=True):
        # the chapter's batches and N(0, 1) start at a constant rate; a record after every update
        config = ml.RunConfig(
            batch_size=10, learning_rate=lr, momentum=mom, epochs=args.epochs, init_sigma=1.0, seed=args.seed
        )
        result = ml.train(config, chapter_data)
        floor = ml.theory.stationary_loss(cq, learning_rate=lr, momentum=mom, batch_size=config.batch_size)
        tail = float(np.mean(result.losses[len(result.losses) // 3 :]))
        ml.viz.plot_loss(
            result, ax=ax_floor, color=color, lw=0.7, label=f"lr={lr}, β={mom}: tail mean {tail:.3e}"
        )
        ax_floor.axhline(floor.loss, color=color, ls="--", lw=1.2, label=f"predicted floor {floor.loss:.3e}")
        print(f"mini-batch lr={lr} β={mom}: predicted floor {floor.loss:.4e}, measured tail mean {tail:.4e}")
    ax_floor.axhline(
        cq.optimal_loss, color="black", ls=":", lw=1, label=f"optimal loss {cq.optimal_loss:.3e}"
    )
    ax_floor.set_ylim(0.8 * cq.optimal_loss, 2e-3)
    ax_floor.set_title("chapter data, batch 10, constant lr: loss floor")
    ax_floor.legend(fontsize="x-small", loc="upper right")
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return 0 if math.isfinite(q.condition_number) else 1


if __name__ == "__main__":
    raise SystemExit(main())
