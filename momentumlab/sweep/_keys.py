"""Canonical configs and run keys.

A run key is the SHA-256 of a canonical JSON text holding the config and the data's
description. The canonical form is plain JSON: ints stay ints, every float-typed field is a
float written by ``repr`` (Python's JSON encoder does exactly that), the schedule is its
``to_dict`` form with a ``kind``, and keys are sorted. Anything that cannot be described
this way (a custom schedule function) is rejected, because two runs could not be told apart.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from momentumlab.runner import RunConfig

#: Version of the canonical form; part of every key, so a change of form never reuses old keys.
KEY_VERSION = 2


def canonical_config(config: RunConfig) -> dict[str, Any]:
    """The canonical, JSON-ready form of ``config`` used in run keys: :meth:`RunConfig.to_dict`,
    checked to be finite (read it back with :meth:`RunConfig.from_dict`).

    Raises:
        TypeError: for a learning rate or momentum that is a custom function (it has no
            plain-data description, so two runs could not be told apart).

    Example:
        >>> import momentumlab as ml
        >>> from momentumlab.sweep._keys import canonical_config
        >>> c = canonical_config(ml.RunConfig.chapter(learning_rate=1))
        >>> c["learning_rate"]["schedule"]["init_value"]
        1.0
    """
    if not isinstance(config, RunConfig):
        raise TypeError(f"config must be a RunConfig, got {type(config).__name__}")
    out = config.to_dict()
    try:
        canonical_json(out)
    except ValueError as err:
        raise ValueError(f"config must hold finite values to be part of a run key, got {out!r}") from err
    return out


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys and no NaN/inf (the text that keys hash).

    Example:
        >>> from momentumlab.sweep._keys import canonical_json
        >>> canonical_json({"b": 0.1, "a": [1, None]})
        '{"a":[1,null],"b":0.1}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=True)


def run_key(config: RunConfig, description: Mapping[str, Any]) -> str:
    """The stable key of running ``config`` on data described by ``description``.

    ``sha256`` (hex) of the canonical JSON of ``{"config": ..., "data": ..., "v": KEY_VERSION}``.
    Equal configs on equal data always share a key, across processes and machines.

    Args:
        config: a :class:`momentumlab.RunConfig` (a number or a schedule value as learning rate; a custom
            function cannot be keyed).
        description: the data's ``description`` dict (JSON values only).

    Example:
        >>> import momentumlab as ml
        >>> data = ml.data.make_linear_regression(n_samples=10, seed=0)
        >>> k = ml.sweep.run_key(ml.RunConfig(), data.description)
        >>> len(k), k == ml.sweep.run_key(ml.RunConfig(learning_rate=0.01), data.description)
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
