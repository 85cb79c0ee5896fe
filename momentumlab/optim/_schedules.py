"""The chapter's per-epoch decay and the bridge from a schedule to an MXNet ``LRScheduler``."""

from __future__ import annotations

from dataclasses import dataclass

import mxnet as mx

from momentumlab._src.checks import check_float, check_int
from momentumlab._src.types import Schedule


@dataclass(frozen=True, kw_only=True)
class EpochDecay:
    """Multiply the learning rate by ``factor`` at the start of every epoch after ``after_epoch``.

    This is the chapter's decay: with ``factor=0.1, after_epoch=2`` epochs 1 and 2 use the
    base rate, epoch 3 uses ``base*0.1``, epoch 4 ``base*0.01``, ... Epochs count from 1.
    The product is formed by repeated multiplication, exactly as the chapter's
    ``trainer.set_learning_rate(trainer.learning_rate * 0.1)`` does, so the float64 values
    (and hence the runs) are bit-identical to it.

    Args:
        factor: multiplier in (0, 1].
        after_epoch: last epoch that still uses the base rate, >= 0.

    Example:
        >>> import momentumlab as ml
        >>> d = ml.optim.EpochDecay(factor=0.5, after_epoch=1)
        >>> [d.learning_rate(1.0, e) for e in (1, 2, 3)]
        [1.0, 0.5, 0.25]
        >>> s = d.as_schedule(1.0, steps_per_epoch=2)
        >>> [s(t) for t in range(6)]
        [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """

    factor: float = 0.1
    after_epoch: int = 2

    def __post_init__(self) -> None:
        check_float("factor", self.factor, low=0.0, high=1.0, low_open=True)
        check_int("after_epoch", self.after_epoch, low=0)

    def learning_rate(self, base: float, epoch: int) -> float:
        """The learning rate used during ``epoch`` (1-based) for a base rate ``base``."""
        e = check_int("epoch", epoch, low=1)
        lr = float(base)
        for _ in range(max(0, e - self.after_epoch)):
            lr *= self.factor
        return lr

    def as_schedule(self, base: float, *, steps_per_epoch: int) -> Schedule:
        """A per-step :data:`~momentumlab.Schedule` (step counted from 0)."""
        spe = check_int("steps_per_epoch", steps_per_epoch, low=1)
        b = check_float("base", base, low=0.0, low_open=True)

        def schedule(step: int) -> float:
            return self.learning_rate(b, step // spe + 1)

        return schedule

    def as_lr_scheduler(self, base: float, *, steps_per_epoch: int) -> ScheduleLR:
        """An ``mx.lr_scheduler.LRScheduler`` for ``gluon.Trainer(..., lr_scheduler=...)``."""
        return as_lr_scheduler(self.as_schedule(base, steps_per_epoch=steps_per_epoch))


class ScheduleLR(mx.lr_scheduler.LRScheduler):
    """An MXNet ``LRScheduler`` that returns a momentumlab schedule's value.

    MXNet calls a scheduler with ``num_update`` counting updates from 1; the schedule counts
    steps from 0, so update ``k`` uses ``schedule(k - 1)``. The scheduler keeps no state, so
    repeated or out-of-order calls give the same values.
    """

    def __init__(self, schedule: Schedule) -> None:
        if not callable(schedule):
            raise TypeError(f"schedule must be callable (step -> value), got {schedule!r}")
        super().__init__(base_lr=float(schedule(0)))
        self.schedule = schedule

    def __call__(self, num_update: int) -> float:
        return float(self.schedule(max(int(num_update) - 1, 0)))


def as_lr_scheduler(schedule: Schedule) -> ScheduleLR:
    """Wrap a step schedule as an ``mx.lr_scheduler.LRScheduler``.

    Example:
        >>> import momentumlab as ml
        >>> sched = ml.optim.as_lr_scheduler(lambda step: 0.1 / (1 + step))
        >>> sched(1), sched(2)
        (0.1, 0.05)
    """
    return ScheduleLR(schedule)
