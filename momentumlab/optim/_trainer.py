"""A validated factory for ``gluon.Trainer``."""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any

import mxnet as mx

from momentumlab._src.checks import check_choice, check_float
from momentumlab._src.types import ScalarOrSchedule
from momentumlab.optim._bridge import as_lr_scheduler

# Arguments of mx.optimizer.Optimizer that the factory sets itself or that make no sense here.
_BASE_RESERVED = {
    "self",
    "kwargs",
    "learning_rate",
    "lr_scheduler",
    "sym",
    "param_idx2name",
    "param_dict",
    "rescale_grad",
    "begin_num_update",
}


def registered_optimizers() -> tuple[str, ...]:
    """Names of every optimizer MXNet has registered, sorted.

    Example:
        >>> import momentumlab as ml
        >>> {'sgd', 'nag', 'adam'} <= set(ml.optim.registered_optimizers())
        True
    """
    return tuple(sorted(mx.optimizer.Optimizer.opt_registry))


def optimizer_hyperparameters(optimizer: str) -> tuple[str, ...]:
    """The hyperparameters (constructor keywords) that ``optimizer`` accepts, sorted.

    Raises:
        ValueError: for an unknown optimizer; the message lists the registered ones.

    Example:
        >>> import momentumlab as ml
        >>> 'momentum' in ml.optim.optimizer_hyperparameters('sgd')
        True
    """
    name = check_choice("optimizer", optimizer, registered_optimizers())
    cls = mx.optimizer.Optimizer.opt_registry[name]
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for pname, param in inspect.signature(init).parameters.items():
            if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
                continue
            names.add(pname)
    return tuple(sorted(names - _BASE_RESERVED))


def make_trainer(
    params: mx.gluon.ParameterDict,
    *,
    optimizer: str = "sgd",
    learning_rate: ScalarOrSchedule = 0.01,
    momentum: float | None = None,
    weight_decay: float = 0.0,
    hyperparameters: Mapping[str, Any] | None = None,
    kvstore: str | None = None,
) -> mx.gluon.Trainer:
    """Build a ``gluon.Trainer`` from typed, validated arguments.

    A float ``learning_rate`` is passed as MXNet's ``learning_rate``; a schedule
    (``step -> lr``, step from 0) is attached with :func:`as_lr_scheduler`.

    Args:
        params: the parameters to train (``net.collect_params()``).
        optimizer: a registered MXNet optimizer name (see :func:`registered_optimizers`).
        learning_rate: a float > 0 or a schedule.
        momentum: momentum in [0, 1) for optimizers that take one; ``None`` leaves MXNet's default.
        weight_decay: L2 penalty ``wd`` >= 0.
        hyperparameters: other constructor keywords of the optimizer (see
            :func:`optimizer_hyperparameters`).
        kvstore: MXNet kvstore; ``None`` (default) updates locally, which is fastest on one device.

    Returns:
        The ``gluon.Trainer``.

    Raises:
        ValueError: for an unknown optimizer, a hyperparameter it does not take (the message
            lists the valid ones) or an out-of-range value.

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> net = ml.models.LinearRegressor(2, initializer=mx.init.Zero())
        >>> t = ml.optim.make_trainer(net.collect_params(), learning_rate=0.2, momentum=0.9)
        >>> t.learning_rate, t.optimizer.momentum
        (0.2, 0.9)
    """
    name = check_choice("optimizer", optimizer, registered_optimizers())
    valid = optimizer_hyperparameters(name)
    opt_params: dict[str, Any] = {}
    if callable(learning_rate):
        opt_params["lr_scheduler"] = as_lr_scheduler(learning_rate)
        opt_params["learning_rate"] = float(learning_rate(0))
    else:
        opt_params["learning_rate"] = check_float("learning_rate", learning_rate, low=0.0, low_open=True)
    if momentum is not None:
        if "momentum" not in valid:
            raise ValueError(
                f"momentum is not a hyperparameter of optimizer {name!r}; valid ones are {list(valid)}"
            )
        opt_params["momentum"] = check_float("momentum", momentum, low=0.0, high=1.0, high_open=True)
    opt_params["wd"] = check_float("weight_decay", weight_decay, low=0.0)
    for key, value in dict(hyperparameters or {}).items():
        if key not in valid:
            raise ValueError(
                f"hyperparameters has {key!r}, which optimizer {name!r} does not take; "
                f"valid ones are {list(valid)}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"hyperparameters[{key!r}] must be finite, got {value}")
        opt_params[key] = value
    return mx.gluon.Trainer(params, name, opt_params, kvstore=kvstore)
