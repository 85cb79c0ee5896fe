"""The two-way bridge between momentumlab schedules and ``mxnet.lr_scheduler``.

MXNet calls a scheduler with ``num_update``: the optimizer counts updates per parameter
index (``_index_update_count``) and ``num_update`` is the largest count, so during the
``k``-th ``trainer.step`` (from 1) every parameter, however many there are and however the
updater groups them, uses ``scheduler(k)``. Before the first step ``trainer.learning_rate``
reads ``scheduler(0)``. A momentumlab schedule counts steps from 0, so update ``k`` uses
``schedule(k - 1)``.
"""

from __future__ import annotations

import math

import mxnet as mx

from momentumlab._src.checks import check_type
from momentumlab._src.types import Schedule
from momentumlab.optim._schedules import PerEpoch


class ScheduleLR(mx.lr_scheduler.LRScheduler):
    """An MXNet ``LRScheduler`` that returns a momentumlab schedule's value.

    MXNet calls a scheduler with ``num_update`` counting updates from 1; the schedule counts
    steps from 0, so update ``k`` uses ``schedule(k - 1)`` (and ``num_update = 0``, read by
    ``trainer.learning_rate`` before the first step, also gives ``schedule(0)``). The
    scheduler keeps no state, so repeated or out-of-order calls give the same values.

    Args:
        schedule: a step schedule (step from 0 -> learning rate): a schedule value of
            :mod:`momentumlab.optim` or any callable; a :class:`PerEpoch` must be bound to
            steps first (:func:`bind_schedule`).

    Example:
        >>> import momentumlab as ml
        >>> sched = ml.optim.ScheduleLR(ml.optim.step_decay(1.0, 2, 0.5))
        >>> [sched(k) for k in (0, 1, 2, 3, 4)]
        [1.0, 1.0, 1.0, 0.5, 0.5]
    """

    def __init__(self, schedule: Schedule) -> None:
        if not callable(schedule):
            raise TypeError(f"schedule must be callable (step -> value), got {schedule!r}")
        if isinstance(schedule, PerEpoch):
            raise TypeError(
                f"schedule must be a step schedule, got a PerEpoch schedule (stated in epochs), "
                f"{schedule!r}; bind it first with bind_schedule(schedule, steps_per_epoch)"
            )
        super().__init__(base_lr=float(schedule(0)))
        self.schedule = schedule

    def __call__(self, num_update: int) -> float:
        return float(self.schedule(max(int(num_update) - 1, 0)))


def as_lr_scheduler(schedule: Schedule) -> ScheduleLR:
    """Wrap a step schedule as an ``mx.lr_scheduler.LRScheduler`` (see :class:`ScheduleLR`).

    Example:
        >>> import momentumlab as ml
        >>> sched = ml.optim.as_lr_scheduler(lambda step: 0.1 / (1 + step))
        >>> sched(1), sched(2)
        (0.1, 0.05)
    """
    return ScheduleLR(schedule)


def _warmup(s: mx.lr_scheduler.LRScheduler) -> Schedule:
    # MXNet's get_warmup_lr written out for k < warmup_steps, with the values read now
    begin, final, w = s.warmup_begin_lr, s.warmup_final_lr, int(s.warmup_steps)
    linear = s.warmup_mode == "linear"

    def value(k: float) -> float:
        if linear:
            return float(begin + (final - begin) * float(k) / float(w))
        return float(begin)

    return value


def from_mxnet(scheduler: mx.lr_scheduler.LRScheduler) -> Schedule:
    """The value an MXNet scheduler gives at every update, as a stateless step schedule.

    MXNet's schedulers are stateful (``FactorScheduler`` and ``MultiFactorScheduler``
    multiply their own ``base_lr`` as they are called; ``PolyScheduler`` and
    ``CosineScheduler`` keep their last value past ``max_update``). The returned schedule
    gives, for step ``t`` (from 0), exactly the float MXNet returns for ``num_update = t +
    1`` when it is called once per update in order, as ``gluon.Trainer`` does, warmup
    (``linear`` or ``constant``) included. Its closed forms, with ``k = t + 1``, warmup
    ``w`` and ``b`` the scheduler's ``base_lr`` when wrapped:

    * warmup (``k < w``): ``begin + (b - begin) k / w`` (linear) or ``begin`` (constant);
    * ``FactorScheduler(step=s, factor=f, stop_factor_lr=m)``: ``b`` multiplied
      ``floor((k-1)/s)`` times by ``f``, one multiplication at a time, never below ``m``;
    * ``MultiFactorScheduler(step=[s_i], factor=f)``: ``b`` multiplied once per ``s_i < k``;
    * ``PolyScheduler(max_update=M, pwr=p, final_lr=e)``:
      ``e + (b - e)(1 - (k - w)/(M - w))^p`` for ``k <= M``, then ``e``;
    * ``CosineScheduler(max_update=M, final_lr=e)``:
      ``e + (b - e)(1 + cos(pi (k - w)/(M - w)))/2`` for ``k <= M``, then ``e``.

    The scheduler passed in is read, not called, so its state is left alone; wrap a
    fresh one (``base_lr`` is read as it is now).

    Args:
        scheduler: an ``mx.lr_scheduler`` ``FactorScheduler``, ``MultiFactorScheduler``,
            ``PolyScheduler``, ``CosineScheduler`` or a :class:`ScheduleLR`.

    Raises:
        TypeError: for another scheduler class.

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> mx_sched = mx.lr_scheduler.MultiFactorScheduler(step=[2, 4], factor=0.5, base_lr=1.0)
        >>> s = ml.optim.from_mxnet(mx_sched)
        >>> [s(t) for t in range(6)]
        [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """
    lrs = mx.lr_scheduler
    check_type("scheduler", scheduler, lrs.LRScheduler, "an mx.lr_scheduler.LRScheduler")
    if isinstance(scheduler, ScheduleLR):
        return scheduler.schedule
    w = int(scheduler.warmup_steps)
    warm = _warmup(scheduler)
    if isinstance(scheduler, lrs.FactorScheduler):
        base, step, f = float(scheduler.base_lr), int(scheduler.step), float(scheduler.factor)
        floor = float(scheduler.stop_factor_lr)

        def main(k: int) -> float:
            lr = base
            for _ in range((k - 1) // step):
                lr *= f
                if lr < floor:
                    lr = floor
            return lr

    elif isinstance(scheduler, lrs.MultiFactorScheduler):
        base, f = float(scheduler.base_lr), float(scheduler.factor)
        steps = [int(s) for s in scheduler.step]
        values = [base]
        for _ in steps:
            values.append(values[-1] * f)

        def main(k: int) -> float:
            return values[sum(1 for s in steps if k > s)]

    elif isinstance(scheduler, (lrs.PolyScheduler, lrs.CosineScheduler)):
        orig, final = scheduler.base_lr_orig, scheduler.final_lr
        M, span = int(scheduler.max_update), scheduler.max_steps
        poly = isinstance(scheduler, lrs.PolyScheduler)
        power = scheduler.power if poly else 1

        def curve(k: int) -> float:
            if poly:
                return float(final + (orig - final) * pow(1 - float(k - w) / float(span), power))
            return float(final + (orig - final) * (1 + math.cos(math.pi * (k - w) / span)) / 2)

        def main(k: int) -> float:
            return curve(min(k, M))

    else:
        raise TypeError(
            "scheduler must be an mx.lr_scheduler FactorScheduler, MultiFactorScheduler, "
            f"PolyScheduler, CosineScheduler or a ScheduleLR, got {type(scheduler).__name__}"
        )

    def schedule(step: float) -> float:
        k = int(step) + 1
        if k < w:
            return warm(k)
        return main(k)

    return schedule
