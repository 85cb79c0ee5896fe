"""Matplotlib figures of runs. Pyplot is imported lazily; nothing here calls ``plt.show()``.

Example:
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import momentumlab as ml
    >>> r = ml.train(ml.RunConfig(epochs=1), ml.data.make_linear_regression(seed=0))
    >>> ml.viz.plot_loss(r).get_yscale()
    'log'
"""

from momentumlab.viz._loss import plot_loss as plot_loss
from momentumlab.viz._theory import plot_rate as plot_rate

__all__ = [
    "plot_loss",
    "plot_rate",
]
