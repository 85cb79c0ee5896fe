"""Several runs' loss curves on one axis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from momentumlab._src.checks import check_bool
from momentumlab.viz._common import DIVERGED_COLOR, auto_labels, axes, check_labels, check_results

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from momentumlab.runner import RunResult

# A diverged run's last finite losses can reach 1e30 and flatten every other curve: the y axis
# then stops this many decades above the largest starting loss, and the run leaves the top.
_DECADES_ABOVE_START = 3.0
# "A factor of ten or more", forgiving rounding (0.2 / 0.020000000000000004 < 10).
_DECADE = 10.0 * (1 - 1e-9)


def plot_losses(
    results: RunResult | Sequence[RunResult],
    *,
    labels: Sequence[str] | None = None,
    show_lr: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """Draw the recorded loss of several runs on one log axis against epochs, with a legend.

    Each run is drawn at its exact record positions (``result.record_epochs``). A diverged
    run is drawn up to its last finite loss, its label says "(diverged)", and a cross at the
    top of the axis marks the epoch where its loss stopped being finite. When a run diverged
    the y axis is capped a few decades above the largest starting loss so that the other
    curves stay readable.

    With ``show_lr=True`` a second y axis on the right (``ax.twinx()``) shows, as dashed steps
    in the run's colour, the learning rate of every update (``result.learning_rates``); it
    is logarithmic when the rates span a factor of ten or more.

    Args:
        results: one :class:`momentumlab.RunResult` or a sequence of them.
        labels: one legend label per run; ``None`` names the config fields in which the
            runs differ (e.g. ``"momentum=0.9"``).
        show_lr: also draw the learning rates on a second y axis.
        ax: the Axes to draw on; ``None`` creates a new figure (not registered with pyplot).

    Returns:
        The main (loss) Axes. The learning-rate axis, when drawn, shares its x axis.

    Raises:
        TypeError: if ``results`` holds anything but ``RunResult`` objects.
        ValueError: for no runs or a wrong number of labels.

    Example:
        >>> import dataclasses, momentumlab as ml
        >>> data = ml.data.make_linear_regression(n_samples=100, seed=0)
        >>> base = ml.RunConfig(epochs=2)
        >>> runs = [ml.train(dataclasses.replace(base, momentum=m), data) for m in (0.0, 0.9)]
        >>> ax = ml.viz.plot_losses(runs, show_lr=True)
        >>> len(ax.lines), ax.get_yscale(), [t.get_text() for t in ax.get_legend().get_texts()]
        (2, 'log', ['momentum=0', 'momentum=0.9'])
    """
    runs = check_results("results", results)
    names = check_labels(labels, len(runs)) or auto_labels(runs)
    lr_axis = check_bool("show_lr", show_lr)
    ax = axes(ax)
    twin = ax.twinx() if lr_axis else None
    x_max = 0.0
    starts: list[float] = []
    any_diverged = False
    lr_min, lr_max = np.inf, 0.0
    for i, (r, name) in enumerate(zip(runs, names, strict=True)):
        x = np.asarray(r.record_epochs, dtype=float)
        y = np.asarray(r.losses, dtype=float)
        ok = np.isfinite(y) & (y > 0)
        diverged = bool(r.diverged or not ok.all())
        any_diverged |= diverged
        label = f"{name} (diverged)" if diverged else name
        (line,) = ax.semilogy(x[ok], y[ok], label=label, color=f"C{i % 10}", lw=1.5)
        if diverged:
            line.set_linestyle((0, (4, 1.5)))
            bad = x[~ok] if (~ok).any() else x[-1:]
            ax.plot(
                bad[:1],
                [1.0],
                "x",
                color=DIVERGED_COLOR,
                ms=9,
                mew=2,
                transform=ax.get_xaxis_transform(),
                clip_on=False,
                label="_diverged",
            )
        if ok.any():
            starts.append(float(y[ok][0]))
        x_max = max(x_max, float(r.config.epochs), float(x.max()) if x.size else 0.0)
        if twin is not None and r.learning_rates.size:
            lrs = np.asarray(r.learning_rates, dtype=float)
            steps = np.arange(lrs.size + 1) / float(r.steps_per_epoch)
            twin.step(steps, np.append(lrs, lrs[-1]), where="post", color=line.get_color(), ls="--", lw=1)
            pos = lrs[np.isfinite(lrs) & (lrs > 0)]
            if pos.size:
                lr_min, lr_max = min(lr_min, float(pos.min())), max(lr_max, float(pos.max()))
    if any_diverged and starts:
        top = max(starts) * 10**_DECADES_ABOVE_START
        low, high = ax.get_ylim()
        if high > top:
            ax.set_ylim(low, top)
    ax.set_xlim(0.0, x_max if x_max > 0 else 1.0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if twin is not None:
        twin.set_ylabel("learning rate (dashed)")
        if lr_max > 0 and lr_max / lr_min >= _DECADE:
            twin.set_yscale("log")
        # Keep the loss curves and the legend above the learning-rate steps.
        ax.set_zorder(twin.get_zorder() + 1)
        ax.patch.set_visible(False)
    ax.legend(fontsize="small")
    return ax
