"""momentumlab: run, check and picture optimizer experiments on Apache MXNet Gluon.

Example:
    >>> import momentumlab as ml
    >>> result = ml.train(ml.RunConfig.chapter(), ml.data.make_linear_regression(seed=0))
    >>> result.final_loss < 1e-4
    True
"""

import logging as _logging

from momentumlab import data as data
from momentumlab import models as models
from momentumlab import optim as optim
from momentumlab import problems as problems
from momentumlab import sweep as sweep
from momentumlab import theory as theory
from momentumlab import viz as viz
from momentumlab._src.types import ScalarOrSchedule as ScalarOrSchedule
from momentumlab._src.types import Schedule as Schedule
from momentumlab._src.types import Seed as Seed
from momentumlab.runner import EpochInfo as EpochInfo
from momentumlab.runner import RunConfig as RunConfig
from momentumlab.runner import RunResult as RunResult
from momentumlab.runner import batch_orders as batch_orders
from momentumlab.runner import can_train_many as can_train_many
from momentumlab.runner import train as train
from momentumlab.runner import train_many as train_many

__version__ = "0.1.0"

# A library configures no logging output: without this, Python's last-resort handler
# would print every warning (e.g. "diverged in epoch 3") to stderr.
_logging.getLogger("momentumlab").addHandler(_logging.NullHandler())

__all__ = [
    "EpochInfo",
    "RunConfig",
    "RunResult",
    "ScalarOrSchedule",
    "Schedule",
    "Seed",
    "batch_orders",
    "can_train_many",
    "data",
    "models",
    "optim",
    "problems",
    "sweep",
    "theory",
    "train",
    "train_many",
    "viz",
]
