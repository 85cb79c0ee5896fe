"""The frozen, validated configuration of one run."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from momentumlab._src.checks import (
    check_bool,
    check_float,
    check_int,
    check_type,
)
from momentumlab.optim import (
    EpochDecay,
    PerEpoch,
    ReduceOnPlateau,
    Schedule,
    check_hyperparameters,
    check_momentum,
    check_optimizer,
    custom_schedule,
    optimizer_hyperparameters,
    schedule_from_dict,
)

#: The chapter's settings ("Momentum with Gluon"), used by :meth:`RunConfig.chapter`.
CHAPTER_SETTINGS: dict[str, Any] = {
    "batch_size": 10,
    "learning_rate": 0.2,
    "momentum": 0.9,
    "epochs": 3,
    "period": 10,
    "init_sigma": 1.0,
    "max_records_per_epoch": None,
}


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Everything that defines one training run. Frozen and keyword-only.

    The defaults are what a torch/optax/scikit-learn user expects: a constant learning rate
    of 0.01 (no hidden decay), the optimizer's own momentum (``None``: none for plain SGD),
    mini-batches of 32, 10 epochs, and a loss record after every update (at most 100 evenly
    spaced records per epoch). Any registered optimizer and any batch size train without
    touching another field. The chapter's settings are a preset, :meth:`chapter`.
    A sweep point is ``dataclasses.replace(config, **changes)``, validated again.

    Attributes:
        batch_size: examples per update, >= 1 (and at most the data size, checked by ``train``).
            A last short batch of an epoch is kept.
        learning_rate: a constant learning rate (float > 0) or a schedule value of the update
            step (step from 0; see :mod:`momentumlab.optim`), or a schedule stated in epochs
            through the one wrapper :class:`momentumlab.optim.PerEpoch`. A plain function is
            wrapped by :func:`momentumlab.optim.custom_schedule` (it runs, but cannot be
            stored or keyed). Every value the schedule gives during the run must be finite
            and >= 0 (checked by ``train``).
        momentum: ``None`` (default: the optimizer's own default, 0 for ``sgd`` and ``nag``),
            a number (see :func:`momentumlab.optim.check_momentum`) or, for ``sgd`` and
            ``nag``, a schedule of it (step schedule or ``PerEpoch``).
        epochs: passes over the data, >= 1.
        period: ``None`` (default) records the full-dataset loss after every update; an int
            ``p >= 1`` records after mini-batch ``i`` (0-based) when a multiple of ``p``
            examples falls inside it (``i * batch_size <= k p < min((i + 1) * batch_size, n)``), which
            for ``p`` a multiple of ``batch_size`` is the chapter's rule ``i * batch_size % p
            == 0``. The loss before any update is always recorded.
        plateau: a :class:`momentumlab.optim.ReduceOnPlateau` multiplying the learning rate
            (whatever its schedule) when the recorded loss stops improving, or ``None``.
        optimizer: a registered MXNet optimizer name.
        weight_decay: L2 penalty ``wd`` >= 0.
        hyperparameters: other optimizer keywords, stored as sorted ``(name, value)`` pairs
            (a mapping is accepted and converted).
        seed: fixes the initial parameters and the shuffle order (int >= 0).
        shuffle: shuffle the examples every epoch; ``False`` keeps the data's order.
        init_sigma: standard deviation of the initial weights of a linear net (default 0.01,
            MXNet's ``Normal()``; the chapter uses 1). Problems with their own initialiser
            ignore it.
        max_records_per_epoch: at most this many loss records per epoch (>= 1; default 100),
            or ``None`` for all positions given by ``period``. With ``m`` positions in an
            epoch numbered ``j = 0 .. m-1`` and a cap ``c < m`` the records kept are those with
            ``j = (k + 1) * m // c - 1`` for ``k = 0 .. c-1``: evenly spaced, the last
            position of the epoch always kept. This bounds the record cost of a run over a
            large data set (each record is a pass over the data).

    Example:
        >>> import dataclasses, momentumlab as ml
        >>> ml.RunConfig().learning_rate, ml.RunConfig().momentum
        (0.01, None)
        >>> ml.RunConfig.chapter().batch_size
        10
        >>> ml.RunConfig(momentum=1.5)
        Traceback (most recent call last):
        ...
        ValueError: momentum must be in [0.0, 1.0), got 1.5
    """

    batch_size: int = 32
    learning_rate: float | Schedule | Callable[[int], float] = 0.01
    momentum: float | Schedule | Callable[[int], float] | None = None
    epochs: int = 10
    period: int | None = None
    plateau: ReduceOnPlateau | None = None
    optimizer: str = "sgd"
    weight_decay: float = 0.0
    hyperparameters: Any = ()
    seed: int = 0
    shuffle: bool = True
    init_sigma: float = 0.01
    max_records_per_epoch: int | None = 100

    def __post_init__(self) -> None:
        check_int("batch_size", self.batch_size, low=1)
        if isinstance(self.learning_rate, Schedule):
            pass
        elif callable(self.learning_rate):  # a plain function becomes a (non-storable) schedule value
            object.__setattr__(self, "learning_rate", custom_schedule(self.learning_rate))
        else:
            check_float("learning_rate", self.learning_rate, low=0.0, low_open=True)
        name = check_optimizer(self.optimizer)
        valid = optimizer_hyperparameters(name)
        if callable(self.momentum) and not isinstance(self.momentum, Schedule):
            object.__setattr__(self, "momentum", custom_schedule(self.momentum))
        check_momentum(self.momentum, name)
        check_int("epochs", self.epochs, low=1)
        if self.period is not None:
            check_int("period", self.period, low=1)
        if self.plateau is not None:
            check_type("plateau", self.plateau, ReduceOnPlateau, "a ReduceOnPlateau or None")
        check_float("weight_decay", self.weight_decay, low=0.0)
        object.__setattr__(self, "hyperparameters", _freeze_hyper(self.hyperparameters, name, valid))
        check_int("seed", self.seed, low=0)
        check_bool("shuffle", self.shuffle)
        check_float("init_sigma", self.init_sigma, low=0.0)
        if self.max_records_per_epoch is not None:
            check_int("max_records_per_epoch", self.max_records_per_epoch, low=1)

    @classmethod
    def chapter(cls, **overrides: Any) -> RunConfig:
        """The chapter's settings: ``train(batch_size=10, lr=0.2, mom=0.9, epochs=3, period=10)``.

        Batches of 10, learning rate 0.2 multiplied by 0.1 at the start of every epoch after
        epoch 2 (``PerEpoch(EpochDecay(init_value=0.2, factor=0.1, after_epoch=2))``),
        momentum 0.9, 3 epochs, a loss record every 10 examples (all of them kept), initial
        weights ``N(0, 1)``. ``overrides`` replace fields; a *number* given as
        ``learning_rate`` replaces the base rate of the chapter's decay (as the chapter's
        ``train(lr=...)`` does), a schedule replaces the whole learning rate.

        Example:
            >>> import momentumlab as ml
            >>> c = ml.RunConfig.chapter(momentum=0.0)
            >>> c.batch_size, c.momentum, c.period, c.epochs
            (10, 0.0, 10, 3)
            >>> c.learning_rate
            PerEpoch(schedule=EpochDecay(init_value=0.2, factor=0.1, after_epoch=2), fractional=False)
        """
        values = {**CHAPTER_SETTINGS, **overrides}
        lr = values["learning_rate"]
        if isinstance(lr, (int, float)) and not isinstance(lr, bool):
            base = check_float("learning_rate", lr, low=0.0, low_open=True)
            values["learning_rate"] = PerEpoch(EpochDecay(init_value=base, factor=0.1, after_epoch=2))
        return cls(**values)

    def record_mask(self, n_samples: int) -> list[bool]:
        """Which mini-batches of an epoch are followed by a loss record (see the class doc).

        Example:
            >>> import momentumlab as ml
            >>> ml.RunConfig(batch_size=10, period=20).record_mask(60)
            [True, False, True, False, True, False]
            >>> ml.RunConfig(batch_size=10, period=10, max_records_per_epoch=2).record_mask(60)
            [False, False, True, False, False, True]
            >>> ml.RunConfig(batch_size=7, period=10).record_mask(30)
            [True, True, True, False, False]
        """
        n = check_int("n_samples", n_samples, low=1)
        bs = self.batch_size
        steps = -(-n // bs)
        p = self.period
        if p is None:
            candidates = list(range(steps))
        else:
            # a multiple of p in [i*bs, (i+1)*bs): the first multiple >= i*bs is below (i+1)*bs
            candidates = [i for i in range(steps) if -(-(i * bs) // p) * p < min((i + 1) * bs, n)]
        m, cap = len(candidates), self.max_records_per_epoch
        if cap is not None and cap < m:
            candidates = [candidates[(k + 1) * m // cap - 1] for k in range(cap)]
        keep = set(candidates)
        return [i in keep for i in range(steps)]

    def hyperparameter_dict(self) -> dict[str, Any]:
        """The optimizer keywords as a plain dict."""
        return dict(self.hyperparameters)

    def to_dict(self) -> dict[str, Any]:
        """The config as plain, TOML-safe data; :meth:`from_dict` gives back an equal config.

        Numbers stay numbers, a schedule becomes its ``to_dict()`` form (see
        :func:`momentumlab.optim.schedule_from_dict`), ``plateau`` its fields, the optimizer
        keywords a table. TOML has no null: a ``None`` is left out where it is the default
        and written ``"none"`` elsewhere. This is the one form of a config in run keys,
        stores and sweep files.

        Example:
            >>> import momentumlab as ml
            >>> d = ml.RunConfig(momentum=0.5).to_dict()
            >>> d["momentum"], "plateau" in d
            (0.5, False)
            >>> ml.RunConfig.from_dict(d) == ml.RunConfig(momentum=0.5)
            True
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                if f.default is not None:
                    out[f.name] = NONE
                continue
            if f.name == "hyperparameters":
                out[f.name] = {k: (NONE if v is None else v) for k, v in value}
            elif f.name in _FLOAT_FIELDS and isinstance(value, (int, float)) and not isinstance(value, bool):
                out[f.name] = float(value)
            elif isinstance(value, (bool, int, float, str)):
                out[f.name] = value
            else:
                out[f.name] = _value_to_dict(f.name, value)
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RunConfig:
        """The config described by ``values`` (the :meth:`to_dict` form, or a TOML table).

        Fields left out keep their defaults; ``"none"`` stands for ``None``; a schedule is a
        table with a ``kind``.

        Raises:
            ValueError: for an unknown field (named, with the valid ones) or a bad value.
            TypeError: for a value of the wrong type.

        Example:
            >>> import momentumlab as ml
            >>> ml.RunConfig.from_dict({"learnig_rate": 0.1})
            Traceback (most recent call last):
            ...
            ValueError: config has unknown field 'learnig_rate'; valid fields are ['batch_size', ...]
        """
        if not isinstance(values, Mapping):
            raise TypeError(f"config must be a mapping of RunConfig fields, got {values!r}")
        names = [f.name for f in dataclasses.fields(cls)]
        kwargs: dict[str, Any] = {}
        for key, value in values.items():
            if key not in names:
                raise ValueError(f"config has unknown field {key!r}; valid fields are {sorted(names)}")
            kwargs[key] = field_from_plain(key, value)
        return cls(**kwargs)


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


#: How ``None`` is written in plain data (TOML has no null).
NONE = "none"

_FLOAT_FIELDS = ("learning_rate", "momentum", "weight_decay", "init_sigma")


def _value_to_dict(name: str, value: Any) -> dict[str, Any]:
    """The plain-data form of the schedule or plateau value held by config field ``name``."""
    to_dict = getattr(value, "to_dict", None)
    try:
        if to_dict is None:
            raise TypeError(f"{value!r} has no plain-data form")
        out: dict[str, Any] = to_dict()
        return out
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be a number or a schedule value of momentumlab.optim to be stored or keyed "
            f"(a custom function cannot be): {err}"
        ) from err


def _schedule_from_plain(name: str, value: Mapping[str, Any]) -> Schedule:
    try:
        return schedule_from_dict(value)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{name}: {err}") from err


def _hyper_from_plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: (None if v == NONE else v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(tuple(pair) if isinstance(pair, list) else pair for pair in value)
    return value


def field_from_plain(name: str, value: Any) -> Any:
    """The value of config field ``name`` from its plain-data form (see :meth:`RunConfig.to_dict`)."""
    if isinstance(value, str) and value == NONE:
        return None
    if name == "hyperparameters":
        return _hyper_from_plain(value)
    if name in ("learning_rate", "momentum") and isinstance(value, Mapping):
        return _schedule_from_plain(name, value)
    if name == "plateau" and isinstance(value, Mapping):
        return ReduceOnPlateau.from_dict(value)
    return value
