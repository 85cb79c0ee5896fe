"""Loss curves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from momentumlab.viz._common import DIVERGED_COLOR, axes, check_results

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from momentumlab.runner import RunResult


def plot_loss(result: RunResult, *, ax: Axes | None = None, **line_kwargs: Any) -> Axes:
    """Draw a run's recorded full-dataset loss on a log scale against epochs.

    Records sit at their exact positions (updates done / updates per epoch). Non-finite
    records of a diverged run are left out of the line and marked with a red "x" at the top
    of the axis, and the title says the run diverged.

    Args:
        result: a :class:`momentumlab.RunResult`.
        ax: the Axes to draw on; ``None`` creates a new figure (not registered with pyplot,
            so this is safe headless and in threads).
        **line_kwargs: passed to ``Axes.semilogy``.

    Returns:
        The Axes drawn on.

    Example:
        >>> import momentumlab as ml
        >>> r = ml.train(ml.RunConfig(epochs=1), ml.data.make_linear_regression(seed=0))
        >>> ax = ml.viz.plot_loss(r)
        >>> ax.get_xlabel(), ax.get_ylabel(), len(ax.lines)
        ('epoch', 'loss', 1)
    """
    if isinstance(result, (list, tuple)):
        raise TypeError(
            f"result must be a RunResult, got {type(result).__name__}; use plot_losses for several"
        )
    (result,) = check_results("result", result)
    ax = axes(ax)
    x = np.asarray(result.record_epochs, dtype=float)
    y = np.asarray(result.losses, dtype=float)
    finite = np.isfinite(y) & (y > 0)
    ax.semilogy(x[finite], y[finite], **line_kwargs)
    if not finite.all():
        bad = x[~finite]
        ax.plot(
            bad,
            np.full(bad.shape, 1.0),
            "x",
            color=DIVERGED_COLOR,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
            label="_diverged",
        )
    if result.diverged:
        ax.set_title(f"diverged: {result.message}", color=DIVERGED_COLOR, fontsize="small")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_xlim(0, max(result.config.epochs, float(x.max()) if x.size else 0.0))
    return ax
