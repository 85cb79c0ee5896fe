"""Trainer factories and learning-rate schedules.

Example:
    >>> import momentumlab as ml
    >>> decay = ml.optim.EpochDecay(factor=0.1, after_epoch=2)
    >>> [decay.learning_rate(0.2, e) for e in (1, 2, 3)]
    [0.2, 0.2, 0.020000000000000004]
"""

from momentumlab.optim._schedules import EpochDecay as EpochDecay
from momentumlab.optim._schedules import ScheduleLR as ScheduleLR
from momentumlab.optim._schedules import as_lr_scheduler as as_lr_scheduler
from momentumlab.optim._trainer import make_trainer as make_trainer
from momentumlab.optim._trainer import optimizer_hyperparameters as optimizer_hyperparameters
from momentumlab.optim._trainer import registered_optimizers as registered_optimizers

__all__ = [
    "EpochDecay",
    "ScheduleLR",
    "as_lr_scheduler",
    "make_trainer",
    "optimizer_hyperparameters",
    "registered_optimizers",
]
