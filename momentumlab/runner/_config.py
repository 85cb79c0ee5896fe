"""The frozen, validated configuration of one run."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from momentumlab._src.checks import (
    check_bool,
    check_float,
    check_int,
    check_type,
)
from momentumlab._src.types import Schedule
from momentumlab.optim import (
    MOMENTUM_SCHEDULE_OPTIMIZERS,
    EpochDecay,
    PerEpoch,
    ReduceOnPlateau,
    check_hyperparameters,
    check_optimizer,
    optimizer_hyperparameters,
)


def _default_schedule() -> EpochDecay:
    return EpochDecay(factor=0.1, after_epoch=2)


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Everything that defines one training run. Frozen and keyword-only.

    The defaults are the chapter's: ``batch_size=10, learning_rate=0.2, momentum=0.9,
    epochs=3, period=10`` with the learning rate multiplied by 0.1 every epoch after epoch 2.
    A sweep point is ``dataclasses.replace(config, **changes)``, validated again.

    Attributes:
        batch_size: examples per update, >= 1 (and at most the data size, checked by ``train``).
        learning_rate: base learning rate (float > 0), a step schedule ``step -> lr`` (step
            from 0), or a :class:`momentumlab.optim.PerEpoch` schedule stated in epochs (bound
            to the run's updates per epoch by ``train``).
        momentum: heavy-ball momentum in [0, 1), a step schedule or a ``PerEpoch`` schedule
            of it (``sgd`` and ``nag`` only; see
            :class:`momentumlab.optim.ScheduledMomentumSGD`), or ``None`` for optimizers
            without momentum. A float uses MXNet's stock optimizer.
        epochs: passes over the data, >= 1.
        period: record the full-dataset loss after mini-batch ``i`` (0-based) when
            ``i * batch_size % period == 0``; a positive multiple of ``batch_size``.
        schedule: per-epoch decay applied to a float ``learning_rate``, or ``None``.
        plateau: a :class:`momentumlab.optim.ReduceOnPlateau` multiplying the learning rate
            (whatever its schedule) when the recorded loss stops improving, or ``None``.
        optimizer: a registered MXNet optimizer name.
        weight_decay: L2 penalty ``wd`` >= 0.
        hyperparameters: other optimizer keywords, stored as sorted ``(name, value)`` pairs
            (a mapping is accepted and converted).
        seed: fixes the initial parameters and the shuffle order (int >= 0).
        shuffle: shuffle the examples every epoch; ``False`` keeps the data's order.
        init_sigma: standard deviation of the initial weights (the chapter's ``Normal(sigma=1)``).
        max_records_per_epoch: at most this many loss records per epoch (>= 1), or ``None``
            for all of the chapter's positions. The chapter records after mini-batch ``i``
            when ``i * batch_size % period == 0``: ``m`` positions per epoch, numbered
            ``j = 0 .. m-1``. With a cap ``c < m`` the records kept are those with
            ``j = (k + 1) * m // c - 1`` for ``k = 0 .. c-1``: evenly spaced, the last
            position of the epoch always kept. This bounds the record cost of a run over a
            large data set (each record is a pass over the data, or O(d²) from moments).

    Example:
        >>> import dataclasses, momentumlab as ml
        >>> base = ml.RunConfig()
        >>> dataclasses.replace(base, momentum=0.0).momentum
        0.0
        >>> ml.RunConfig(momentum=1.5)
        Traceback (most recent call last):
        ...
        ValueError: momentum must be in [0.0, 1.0), got 1.5
    """

    batch_size: int = 10
    learning_rate: float | Schedule | PerEpoch = 0.2
    momentum: float | Schedule | PerEpoch | None = 0.9
    epochs: int = 3
    period: int = 10
    schedule: EpochDecay | None = field(default_factory=_default_schedule)
    plateau: ReduceOnPlateau | None = None
    optimizer: str = "sgd"
    weight_decay: float = 0.0
    hyperparameters: Any = ()
    seed: int = 0
    shuffle: bool = True
    init_sigma: float = 1.0
    max_records_per_epoch: int | None = None

    def __post_init__(self) -> None:
        bs = check_int("batch_size", self.batch_size, low=1)
        if callable(self.learning_rate) or isinstance(self.learning_rate, PerEpoch):
            if self.schedule is not None:
                raise ValueError(
                    "schedule must be None when learning_rate is a schedule (callable), got "
                    f"schedule={self.schedule!r}"
                )
        else:
            check_float("learning_rate", self.learning_rate, low=0.0, low_open=True)
        name = check_optimizer(self.optimizer)
        valid = optimizer_hyperparameters(name)
        if self.momentum is not None:
            if "momentum" not in valid:
                raise ValueError(
                    f"momentum must be None for optimizer {name!r}, which takes no momentum; "
                    f"got {self.momentum!r}"
                )
            if callable(self.momentum) or isinstance(self.momentum, PerEpoch):
                if name not in MOMENTUM_SCHEDULE_OPTIMIZERS:
                    raise ValueError(
                        f"momentum may be a schedule only for optimizers "
                        f"{list(MOMENTUM_SCHEDULE_OPTIMIZERS)}, got optimizer {name!r}"
                    )
            else:
                mom = check_float("momentum", self.momentum, low=0.0, high=1.0, high_open=True)
                if name == "dcasgd" and mom > 0:
                    raise ValueError(
                        "momentum must be 0 or None for optimizer 'dcasgd' (MXNet 1.9.1's DCASGD "
                        f"fails with momentum > 0), got {mom}"
                    )
        check_int("epochs", self.epochs, low=1)
        period = check_int("period", self.period, low=1)
        if period % bs != 0:
            raise ValueError(f"period must be a positive multiple of batch_size ({bs}), got {period}")
        if self.schedule is not None:
            check_type("schedule", self.schedule, EpochDecay, "an EpochDecay or None")
        if self.plateau is not None:
            check_type("plateau", self.plateau, ReduceOnPlateau, "a ReduceOnPlateau or None")
        check_float("weight_decay", self.weight_decay, low=0.0)
        object.__setattr__(self, "hyperparameters", _freeze_hyper(self.hyperparameters, name, valid))
        check_int("seed", self.seed, low=0)
        check_bool("shuffle", self.shuffle)
        check_float("init_sigma", self.init_sigma, low=0.0)
        if self.max_records_per_epoch is not None:
            check_int("max_records_per_epoch", self.max_records_per_epoch, low=1)

    def record_mask(self, n_samples: int) -> list[bool]:
        """Which mini-batches of an epoch are followed by a loss record (see the class doc).

        Example:
            >>> import momentumlab as ml
            >>> ml.RunConfig(batch_size=10, period=20).record_mask(60)
            [True, False, True, False, True, False]
            >>> ml.RunConfig(batch_size=10, period=10, max_records_per_epoch=2).record_mask(60)
            [False, False, True, False, False, True]
        """
        n = check_int("n_samples", n_samples, low=1)
        steps = -(-n // self.batch_size)
        candidates = [i for i in range(steps) if i * self.batch_size % self.period == 0]
        m, cap = len(candidates), self.max_records_per_epoch
        if cap is not None and cap < m:
            candidates = [candidates[(k + 1) * m // cap - 1] for k in range(cap)]
        keep = set(candidates)
        return [i in keep for i in range(steps)]

    def hyperparameter_dict(self) -> dict[str, Any]:
        """The optimizer keywords as a plain dict."""
        return dict(self.hyperparameters)


def _freeze_hyper(value: Any, optimizer: str, valid: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, (tuple, list)):
        pairs = []
        for item in value:
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise TypeError(
                    f"hyperparameters must be a mapping or (name, value) pairs, got item {item!r}"
                )
            pairs.append((item[0], item[1]))
    else:
        raise TypeError(f"hyperparameters must be a mapping or (name, value) pairs, got {value!r}")
    out: list[tuple[str, Any]] = []
    for key, val in pairs:
        if key in ("momentum", "wd", "learning_rate"):
            raise ValueError(f"hyperparameters must not contain {key!r}; use the RunConfig field instead")
        if key not in valid:
            raise ValueError(
                f"hyperparameters has {key!r}, which optimizer {optimizer!r} does not take; "
                f"valid ones are {list(valid)}"
            )
        if not isinstance(val, (numbers.Real, str, bool)) and val is not None:
            raise TypeError(f"hyperparameters[{key!r}] must be a number, str, bool or None, got {val!r}")
        out.append((str(key), val))
    checked = check_hyperparameters(optimizer, dict(out))
    return tuple(sorted(checked.items()))
