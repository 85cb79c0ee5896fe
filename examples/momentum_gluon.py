"""The "Momentum with Gluon" chapter, end to end through momentumlab.

Prints the chapter's lines (one per epoch, then the final weights and bias) and writes the
semilogy loss curve to a PNG. ``--momentum 0`` answers the chapter's exercise: momentum 0 is
plain SGD.

Run::

    python examples/momentum_gluon.py --out momentum.png
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import numpy as np

import momentumlab as ml


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.2)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--period", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="momentum_gluon.png", help="where to write the PNG")
    args = parser.parse_args(argv)

    try:
        config = ml.RunConfig.chapter(
            batch_size=args.batch_size,
            learning_rate=args.lr,
            momentum=args.momentum,
            epochs=args.epochs,
            period=args.period,
            seed=args.seed,
        )
    except (TypeError, ValueError) as err:
        parser.error(str(err))
    data = ml.data.make_linear_regression(seed=args.seed)

    def report(info: ml.EpochInfo) -> None:
        print(
            "Batch size %d, Learning rate %f, Epoch %d, loss %.4e"
            % (config.batch_size, info.learning_rate, info.epoch, info.loss)
        )

    result = ml.train(config, data, callback=report)
    if result.weight is None or result.bias is None:  # only for a non-linear net
        return 2
    w = np.array2string(np.reshape(result.weight, (1, -1)), precision=4)
    print("w:", w, "b:", f"{result.bias[0]:.4f}", "\n")

    ax = ml.viz.plot_loss(result)
    ax.set_title(f"batch {config.batch_size}, lr {args.lr}, momentum {args.momentum}")
    fig = ax.get_figure(root=True)
    if fig is not None:
        fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out} ({result.wall_time:.2f} s of training)")
    return 1 if result.diverged else 0


if __name__ == "__main__":
    sys.exit(main())
