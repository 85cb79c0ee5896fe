"""Canonical configs and run keys.

A run key is the SHA-256 of a canonical JSON text holding the config and the data's
description. The canonical form is plain JSON: ints stay ints, every float-typed field is a
float written by ``repr`` (Python's JSON encoder does exactly that), the schedule is its
dataclass fields with a type tag, and keys are sorted. Anything that cannot be described
this way (a callable learning rate) is rejected, because two runs could not be told apart.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
import typing
from collections.abc import Mapping
from typing import Any

import numpy as np

from momentumlab.optim import EpochDecay, ReduceOnPlateau
from momentumlab.runner import RunConfig

#: Version of the canonical form; part of every key, so a change of form never reuses old keys.
KEY_VERSION = 1

_SCHEDULES: dict[str, type[Any]] = {"EpochDecay": EpochDecay}


def _hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _float_typed(hint: Any) -> bool:
    """Whether a field annotated ``hint`` holds a float (so ints given there become floats)."""
    args = typing.get_args(hint) or (hint,)
    return float in args and int not in args


def _scalar(name: str, value: Any) -> Any:
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"{name} must be finite to be part of a run key, got {v}")
        return v
    raise TypeError(
        f"{name} must be a number, str, bool or None to be part of a run key, got {value!r} "
        f"of type {type(value).__name__}"
    )


def _dataclass_fields(name: str, obj: Any) -> dict[str, Any]:
    hints = _hints(type(obj))
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is not None and not isinstance(value, bool) and _float_typed(hints[f.name]):
            value = float(value)
        out[f.name] = _scalar(f"{name}.{f.name}", value)
    return out


def canonical_config(config: RunConfig) -> dict[str, Any]:
    """The canonical, JSON-ready form of ``config`` used in run keys and stores.

    Args:
        config: a :class:`momentumlab.RunConfig` whose learning rate is a float (a callable
            schedule has no canonical description).

    Returns:
        A dict of plain JSON values; ``config_from_canonical`` turns it back into the config.

    Raises:
        TypeError: for a callable ``learning_rate`` or a value that is not a plain scalar.

    Example:
        >>> import momentumlab as ml
        >>> c = ml.sweep.canonical_config(ml.RunConfig(learning_rate=1))
        >>> c["learning_rate"], c["schedule"]
        (1.0, {'__type__': 'EpochDecay', 'factor': 0.1, 'after_epoch': 2})
    """
    if not isinstance(config, RunConfig):
        raise TypeError(f"config must be a RunConfig, got {type(config).__name__}")
    for name in ("learning_rate", "momentum"):
        value = getattr(config, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
            raise TypeError(
                f"{name} must be a float for sweeps and run keys (a callable schedule has no "
                f"canonical description), got {value!r}; sweep a float (and RunConfig.schedule, "
                "an EpochDecay, or RunConfig.plateau) instead"
            )
    hints = _hints(RunConfig)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(RunConfig):
        value = getattr(config, f.name)
        if f.name == "schedule":
            if value is None:
                out[f.name] = None
            else:
                kind = type(value).__name__
                if _SCHEDULES.get(kind) is not type(value):
                    raise TypeError(f"schedule must be one of {sorted(_SCHEDULES)} or None, got {value!r}")
                out[f.name] = {"__type__": kind, **_dataclass_fields("schedule", value)}
        elif f.name == "plateau":
            out[f.name] = (
                None
                if value is None
                else {"__type__": type(value).__name__, **_dataclass_fields("plateau", value)}
            )
        elif f.name == "hyperparameters":
            out[f.name] = [[str(k), _scalar(f"hyperparameters[{k!r}]", v)] for k, v in value]
        else:
            if value is not None and not isinstance(value, bool) and _float_typed(hints[f.name]):
                value = float(value)
            out[f.name] = _scalar(f.name, value)
    return out


def config_from_canonical(values: Mapping[str, Any]) -> RunConfig:
    """Build a :class:`~momentumlab.RunConfig` from its canonical (or hand-written) mapping.

    The mapping may leave fields out (they keep their defaults). ``schedule`` is ``None`` or
    a mapping of :class:`~momentumlab.optim.EpochDecay` fields (an optional ``"__type__"``
    tag names the class); ``hyperparameters`` is a mapping or ``[name, value]`` pairs.

    Raises:
        ValueError: for an unknown field name (named in the message) or an invalid value.
        TypeError: for values of the wrong type.

    Example:
        >>> import momentumlab as ml
        >>> cfg = ml.RunConfig(momentum=0.5)
        >>> ml.sweep.config_from_canonical(ml.sweep.canonical_config(cfg)) == cfg
        True
        >>> ml.sweep.config_from_canonical({"learnig_rate": 0.1})
        Traceback (most recent call last):
        ...
        ValueError: config has unknown field 'learnig_rate'; valid fields are ['batch_size', ...]
    """
    if not isinstance(values, Mapping):
        raise TypeError(f"config must be a mapping of RunConfig fields, got {type(values).__name__}")
    names = [f.name for f in dataclasses.fields(RunConfig)]
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in names:
            raise ValueError(f"config has unknown field {key!r}; valid fields are {sorted(names)}")
        if key == "schedule" and value is not None:
            value = schedule_from_mapping(value)
        elif key == "plateau" and isinstance(value, Mapping):
            value = _plateau_from_mapping(value)
        elif key == "hyperparameters" and isinstance(value, list):
            value = tuple(tuple(pair) if isinstance(pair, list) else pair for pair in value)
        kwargs[key] = value
    return RunConfig(**kwargs)


def schedule_from_mapping(value: Any) -> EpochDecay:
    """An :class:`~momentumlab.optim.EpochDecay` from a mapping of its fields (or itself).

    Example:
        >>> import momentumlab as ml
        >>> ml.sweep.schedule_from_mapping({"factor": 0.5})
        EpochDecay(factor=0.5, after_epoch=2)
    """
    if isinstance(value, EpochDecay):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(f"schedule must be a mapping of EpochDecay fields or None, got {value!r}")
    fields = dict(value)
    kind = fields.pop("__type__", "EpochDecay")
    cls = _SCHEDULES.get(kind)
    if cls is None:
        raise ValueError(f"schedule.__type__ must be one of {sorted(_SCHEDULES)}, got {kind!r}")
    valid = [f.name for f in dataclasses.fields(cls)]
    for key in fields:
        if key not in valid:
            raise ValueError(f"schedule has unknown field {key!r}; valid fields are {valid}")
    out: EpochDecay = cls(**fields)
    return out


def _plateau_from_mapping(value: Mapping[str, Any]) -> ReduceOnPlateau:
    fields = dict(value)
    kind = fields.pop("__type__", "ReduceOnPlateau")
    if kind != "ReduceOnPlateau":
        raise ValueError(f"plateau.__type__ must be 'ReduceOnPlateau', got {kind!r}")
    valid = [f.name for f in dataclasses.fields(ReduceOnPlateau)]
    for key in fields:
        if key not in valid:
            raise ValueError(f"plateau has unknown field {key!r}; valid fields are {valid}")
    return ReduceOnPlateau(**fields)


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys and no NaN/inf (the text that keys hash).

    Example:
        >>> import momentumlab as ml
        >>> ml.sweep.canonical_json({"b": 0.1, "a": [1, None]})
        '{"a":[1,null],"b":0.1}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=True)


def run_key(config: RunConfig, description: Mapping[str, Any]) -> str:
    """The stable key of running ``config`` on data described by ``description``.

    ``sha256`` (hex) of the canonical JSON of ``{"config": ..., "data": ..., "v": KEY_VERSION}``.
    Equal configs on equal data always share a key, across processes and machines.

    Args:
        config: a :class:`momentumlab.RunConfig` (float learning rate).
        description: the data's ``description`` dict (JSON values only).

    Example:
        >>> import momentumlab as ml
        >>> data = ml.data.make_linear_regression(n_samples=10, seed=0)
        >>> k = ml.sweep.run_key(ml.RunConfig(), data.description)
        >>> len(k), k == ml.sweep.run_key(ml.RunConfig(learning_rate=0.2), data.description)
        (64, True)
    """
    if not isinstance(description, Mapping):
        raise TypeError(f"description must be a mapping, got {type(description).__name__}")
    try:
        data_json = canonical_json(dict(description))
    except (TypeError, ValueError) as err:
        raise TypeError(f"description must hold finite JSON values only, got {description!r}") from err
    text = canonical_json(
        {"config": canonical_config(config), "data": json.loads(data_json), "v": KEY_VERSION}
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()
