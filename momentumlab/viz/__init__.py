"""Matplotlib figures of runs. Pyplot is imported lazily; nothing here calls ``plt.show()``.

Every ``plot_*`` function takes ``ax=None`` and returns the Axes it drew on. Without ``ax`` it
makes a new figure: with pyplot inside a Jupyter kernel (so the notebook shows it under the
cell), elsewhere a Figure not registered with pyplot (safe headless and in threads). Diverged
runs and cells are drawn in red and said to be diverged; nothing raises because a run blew up.

Example:
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import momentumlab as ml
    >>> r = ml.train(ml.RunConfig(epochs=1), ml.data.make_linear_regression(seed=0))
    >>> ml.viz.plot_loss(r).get_yscale()
    'log'
"""

from momentumlab.viz._explorer import explorer as explorer
from momentumlab.viz._family import PHASE_METHODS as PHASE_METHODS
from momentumlab.viz._family import measured_rates as measured_rates
from momentumlab.viz._family import plot_modes as plot_modes
from momentumlab.viz._family import plot_phase as plot_phase
from momentumlab.viz._loss import plot_loss as plot_loss
from momentumlab.viz._losses import plot_losses as plot_losses
from momentumlab.viz._notebook import LiveLoss as LiveLoss
from momentumlab.viz._notebook import ProgressBar as ProgressBar
from momentumlab.viz._schedule import plot_schedule as plot_schedule
from momentumlab.viz._sweep import plot_sweep as plot_sweep
from momentumlab.viz._theory import plot_rate as plot_rate
from momentumlab.viz._trajectory import QuadraticSurface as QuadraticSurface
from momentumlab.viz._trajectory import Surface as Surface
from momentumlab.viz._trajectory import linear_regression_surface as linear_regression_surface
from momentumlab.viz._trajectory import plot_trajectory as plot_trajectory

__all__ = [
    "PHASE_METHODS",
    "LiveLoss",
    "ProgressBar",
    "QuadraticSurface",
    "Surface",
    "explorer",
    "linear_regression_surface",
    "measured_rates",
    "plot_loss",
    "plot_losses",
    "plot_modes",
    "plot_phase",
    "plot_rate",
    "plot_schedule",
    "plot_sweep",
    "plot_trajectory",
]
