"""A validated factory for ``gluon.Trainer`` covering every optimizer MXNet registers."""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Mapping
from typing import Any, cast

import mxnet as mx

from momentumlab._src.checks import as_generator, check_bool, check_choice, check_float, check_int, check_type
from momentumlab._src.types import ScalarOrSchedule, Schedule, Seed
from momentumlab.optim._bridge import as_lr_scheduler
from momentumlab.optim._family import (
    FAMILY_HYPERPARAMETER_CHECKS,
    parse_inner_hyperparameters,
    register_family,
)
from momentumlab.optim._optimizers import FLOAT32_TINY, ScheduledMomentumNAG, ScheduledMomentumSGD, SeededSGLD

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
    "wd",
}

#: Registered optimizers that cannot train, with the reason (the factory's error says it).
EXCLUDED_OPTIMIZERS: dict[str, str] = {
    "test": (
        "it is MXNet's unit-test stub: its update is w += rescale_grad * grad (gradient ascent, "
        "the learning rate is ignored), so it cannot minimise anything"
    ),
}

#: Optimizers whose momentum may be a schedule (see :class:`ScheduledMomentumSGD`).
MOMENTUM_SCHEDULE_OPTIMIZERS = ("nag", "sgd")

_Check = Callable[[str, Any], Any]


def _unit(name: str, v: Any) -> float:
    return check_float(name, v, low=0.0, high=1.0, high_open=True)


def _pos(name: str, v: Any) -> float:
    return check_float(name, v, low=0.0, low_open=True)


def _nonneg(name: str, v: Any) -> float:
    return check_float(name, v, low=0.0)


def _pos_or_none(name: str, v: Any) -> float | None:
    return None if v is None else _pos(name, v)


def _nonneg_or_none(name: str, v: Any) -> float | None:
    return None if v is None else _nonneg(name, v)


def _int_at_least(low: int) -> _Check:
    def check(name: str, v: Any) -> int:
        return check_int(name, v, low=low)

    return check


def _choice(*options: str) -> _Check:
    def check(name: str, v: Any) -> str:
        return check_choice(name, v, options)

    return check


#: The range of every hyperparameter any registered optimizer takes (by keyword name).
HYPERPARAMETER_CHECKS: dict[str, _Check] = {
    "momentum": _unit,
    "beta1": _unit,
    "beta2": _unit,
    "gamma1": _unit,
    "gamma2": _unit,
    "rho": _unit,
    "epsilon": _pos,
    "eps": _nonneg,  # LARS defaults to eps=0; AdaGrad/GroupAdaGrad use small positive ones
    "lamda": _nonneg,
    "lamda1": _nonneg,
    "beta": _nonneg,
    "eta": _pos,
    "wd_lh": _nonneg,
    "schedule_decay": _nonneg,
    "clip_gradient": _pos_or_none,
    "clip_weights": _pos_or_none,
    "lower_bound": _nonneg_or_none,
    "upper_bound": _nonneg_or_none,
    "bias_correction": check_bool,
    "centered": check_bool,
    "lazy_update": check_bool,
    "multi_precision": check_bool,
    "momentum_correction": check_bool,
    "warmup_strategy": _choice("linear", "power2", "sqrt", "lars"),
    "warmup_epochs": _int_at_least(0),
    "batch_scale": _int_at_least(1),
    "updates_per_epoch": _int_at_least(1),
    "begin_epoch": _int_at_least(0),
    "num_epochs": _int_at_least(1),
    **FAMILY_HYPERPARAMETER_CHECKS,  # qhm, aggmo, demon, lookahead, sgd_schedule_free
}

register_family()  # the momentum family (momentumlab.optim._family) joins MXNet's registry


def registered_optimizers() -> tuple[str, ...]:
    """Names of every optimizer MXNet has registered, sorted (read from its registry now).

    Example:
        >>> import momentumlab as ml
        >>> {'sgd', 'nag', 'adam'} <= set(ml.optim.registered_optimizers())
        True
    """
    return tuple(sorted(mx.optimizer.Optimizer.opt_registry))


def trainable_optimizers() -> tuple[str, ...]:
    """The registered optimizers :func:`make_trainer` builds (all but the excluded ones).

    Example:
        >>> import momentumlab as ml
        >>> 'test' in ml.optim.trainable_optimizers(), 'sgld' in ml.optim.trainable_optimizers()
        (False, True)
    """
    return tuple(n for n in registered_optimizers() if n not in EXCLUDED_OPTIMIZERS)


def check_optimizer(name: Any) -> str:
    """Return ``name`` if :func:`make_trainer` can build it; else raise with the reason.

    Raises:
        ValueError: unknown (the message lists the valid ones) or excluded (the message says why).

    Example:
        >>> import momentumlab as ml
        >>> try:
        ...     ml.optim.check_optimizer('test')
        ... except ValueError as err:
        ...     print(str(err)[:59])
        optimizer 'test' is registered by MXNet but excluded: it is
    """
    if isinstance(name, str) and name in EXCLUDED_OPTIMIZERS:
        reason = EXCLUDED_OPTIMIZERS[name]
        raise ValueError(f"optimizer {name!r} is registered by MXNet but excluded: {reason}")
    return check_choice("optimizer", name, trainable_optimizers())


def optimizer_hyperparameters(optimizer: str) -> tuple[str, ...]:
    """The hyperparameters (constructor keywords) that ``optimizer`` accepts, sorted.

    Read from the signatures of the optimizer class and its bases; ``learning_rate``, ``wd``
    (``weight_decay``) and the arguments the Trainer sets itself are not listed.

    Raises:
        ValueError: for an unknown optimizer; the message lists the registered ones.

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.optimizer_hyperparameters('adam')
        ('beta1', 'beta2', 'clip_gradient', 'epsilon', 'lazy_update', 'multi_precision')
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


def check_hyperparameters(optimizer: str, hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    """Validate optimizer keywords: each must be one ``optimizer`` takes, inside its range.

    Raises:
        ValueError: for a keyword the optimizer does not take (the message lists the valid
            ones) or a value out of range.
        TypeError: for a value of the wrong type.

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.check_hyperparameters('adam', {'beta1': 0.8})
        {'beta1': 0.8}
        >>> ml.optim.check_hyperparameters('adam', {'beta1': 1.0})
        Traceback (most recent call last):
        ...
        ValueError: beta1 must be in [0.0, 1.0), got 1.0
    """
    name = check_optimizer(optimizer)
    valid = optimizer_hyperparameters(name)
    check_type("hyperparameters", hyperparameters, Mapping, "a mapping of keyword -> value")
    out: dict[str, Any] = {}
    for key, value in dict(hyperparameters).items():
        if key in ("learning_rate", "wd", "momentum"):
            raise ValueError(
                f"hyperparameters must not contain {key!r}; use the "
                f"{'weight_decay' if key == 'wd' else key} argument instead"
            )
        if key not in valid:
            raise ValueError(
                f"hyperparameters has {key!r}, which optimizer {name!r} does not take; "
                f"valid ones are {list(valid)}"
            )
        check = HYPERPARAMETER_CHECKS.get(key)
        if check is None:  # pragma: no cover - every registered keyword has a check (tested)
            if not isinstance(value, (numbers.Real, str)) and value is not None:
                raise TypeError(f"{key} must be a number, str, bool or None, got {value!r}")
            out[key] = value
        else:
            out[key] = check(key, value)
    if name == "lamb":
        lo, hi = out.get("lower_bound"), out.get("upper_bound")
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"lower_bound must be <= upper_bound ({hi}), got {lo}")
    if name == "lookahead" and "inner_hyperparameters" in out:  # checked against the inner optimizer
        inner = out.get("inner", "sgd")
        check_inner_hyperparameters(inner, out["inner_hyperparameters"])
    return out


def check_inner_hyperparameters(inner: str, value: Any) -> dict[str, Any]:
    """Lookahead's ``inner_hyperparameters`` (a mapping or ``"key=value,..."``) checked for ``inner``."""
    parsed = parse_inner_hyperparameters("inner_hyperparameters", value)
    try:
        return check_hyperparameters(inner, parsed)
    except (TypeError, ValueError) as e:
        raise type(e)(f"inner_hyperparameters: {e}") from e


def _check_params_fit(name: str, params: mx.gluon.ParameterDict, weight_decay: float) -> None:
    if name != "groupadagrad":
        return
    for pname, p in params.items():
        if len(p.shape) != 2:
            raise ValueError(
                f"optimizer 'groupadagrad' needs every parameter to be 2-D (MXNet's GroupAdaGrad "
                f"asserts it), got parameter {pname!r} of shape {p.shape}"
            )
    if weight_decay != 0.0:
        raise ValueError(f"weight_decay must be 0 for optimizer 'groupadagrad', got {weight_decay}")


def check_momentum(momentum: Any, optimizer: str) -> float | Schedule | None:
    """Return ``momentum`` if ``optimizer`` can use it, else raise naming what is allowed.

    The one momentum rule of the library (:class:`momentumlab.RunConfig`,
    :func:`make_trainer` and every engine go through it): ``None`` (the optimizer's own
    default); a float that is 0 or in ``[FLOAT32_TINY, 1)`` (MXNet reads it as float32, so a
    smaller positive value would silently become 0); or, for ``sgd`` and ``nag``, a schedule
    of it. ``dcasgd`` takes only 0 (its momentum branch fails inside MXNet 1.9.1).

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.check_momentum(0.9, "sgd")
        0.9
        >>> ml.optim.check_momentum(1e-40, "sgd")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: momentum must be 0 or in [1.1754943508222875e-38, 1.0) (MXNet reads it as ...), got 1e-40
    """
    name = check_optimizer(optimizer)
    if momentum is None:
        return None
    if "momentum" not in optimizer_hyperparameters(name):
        raise ValueError(
            f"momentum must be None for optimizer {name!r}, which takes no momentum; got {momentum!r}"
        )
    if callable(momentum):
        if name not in MOMENTUM_SCHEDULE_OPTIMIZERS:
            raise ValueError(
                f"momentum may be a schedule only for optimizers {list(MOMENTUM_SCHEDULE_OPTIMIZERS)}, "
                f"got a schedule for optimizer {name!r}"
            )
        return cast(Schedule, momentum)
    m = check_float("momentum", momentum, low=0.0, high=1.0, high_open=True)
    if 0.0 < m < FLOAT32_TINY:
        raise ValueError(
            f"momentum must be 0 or in [{FLOAT32_TINY}, 1.0) (MXNet reads it as float32), got {m!r}"
        )
    if name == "dcasgd" and m > 0:
        raise ValueError(
            "momentum must be 0 or None for optimizer 'dcasgd': with momentum > 0 MXNet 1.9.1's "
            f"DCASGD.update tests an NDArray's truth value and fails; got {m}"
        )
    return m


def make_trainer(
    params: mx.gluon.ParameterDict,
    *,
    optimizer: str = "sgd",
    learning_rate: ScalarOrSchedule = 0.01,
    momentum: float | Schedule | None = None,
    weight_decay: float = 0.0,
    hyperparameters: Mapping[str, Any] | None = None,
    kvstore: str | None = None,
    seed: Seed = None,
) -> mx.gluon.Trainer:
    """Build a ``gluon.Trainer`` from typed, validated arguments.

    A float ``learning_rate`` is passed as MXNet's ``learning_rate``; a schedule
    (``step -> lr``, step from 0) is attached with :func:`as_lr_scheduler`. A float
    ``momentum`` uses MXNet's stock optimizer (bit-identical to
    ``gluon.Trainer(params, name, {"momentum": m, ...})``); a momentum schedule (``sgd`` and
    ``nag`` only) uses :class:`ScheduledMomentumSGD` / :class:`ScheduledMomentumNAG`, which
    keep the momentum buffer even while the momentum is 0. ``sgld`` draws its noise from
    ``seed`` when one is given (:class:`SeededSGLD`); with ``seed=None`` it is MXNet's own,
    which draws from MXNet's global RNG. ``groupadagrad`` needs 2-D parameters and no
    weight decay (checked). ``dcasgd`` with momentum > 0 fails inside MXNet 1.9.1 (its
    update tests an NDArray's truth value), so it is rejected; the registered ``test``
    optimizer is excluded (see :data:`EXCLUDED_OPTIMIZERS`).

    Args:
        params: the parameters to train (``net.collect_params()``).
        optimizer: a registered MXNet optimizer name (see :func:`trainable_optimizers`).
        learning_rate: a float > 0 or a schedule.
        momentum: momentum in [0, 1) or a schedule of it for optimizers that take one;
            ``None`` leaves MXNet's default.
        weight_decay: L2 penalty ``wd`` >= 0.
        hyperparameters: other constructor keywords of the optimizer (see
            :func:`optimizer_hyperparameters`), each checked by :func:`check_hyperparameters`.
        kvstore: MXNet kvstore; ``None`` (default) updates locally, which is fastest on one device.
        seed: the noise seed of ``sgld`` (ignored by the others).

    Returns:
        The ``gluon.Trainer``.

    Raises:
        ValueError: for an unknown or excluded optimizer, a hyperparameter it does not take
            (the message lists the valid ones) or an out-of-range value.

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> net = ml.models.LinearRegressor(2, initializer=mx.init.Zero())
        >>> t = ml.optim.make_trainer(net.collect_params(), learning_rate=0.2, momentum=0.9)
        >>> t.learning_rate, t.optimizer.momentum
        (0.2, 0.9)
        >>> try:
        ...     ml.optim.make_trainer(net.collect_params(), optimizer="adam", hyperparameters={"rho": 0.9})
        ... except ValueError as err:
        ...     print(err)  # doctest: +ELLIPSIS
        hyperparameters has 'rho', which optimizer 'adam' does not take; valid ones are ['beta1', ...]
    """
    name = check_optimizer(optimizer)
    if not isinstance(params, (mx.gluon.ParameterDict, dict, list, tuple)):
        raise TypeError(
            f"params must be a ParameterDict (net.collect_params()) or a list of Parameters, got {params!r}"
        )
    if kvstore is not None:
        check_type("kvstore", kvstore, str, "a str (an MXNet kvstore type) or None")
    if seed is not None:
        as_generator(seed)
    opt_params: dict[str, Any] = {}
    if callable(learning_rate):
        opt_params["lr_scheduler"] = as_lr_scheduler(learning_rate)
        opt_params["learning_rate"] = float(learning_rate(0))
    else:
        opt_params["learning_rate"] = check_float("learning_rate", learning_rate, low=0.0, low_open=True)
    m = check_momentum(momentum, name)
    scheduled_momentum: Schedule | None = None
    if callable(m):
        scheduled_momentum = m
    elif m is not None:
        opt_params["momentum"] = m
    wd = check_float("weight_decay", weight_decay, low=0.0)
    opt_params["wd"] = wd
    opt_params.update(check_hyperparameters(name, hyperparameters or {}))
    _check_params_fit(name, params, wd)
    if scheduled_momentum is not None:
        cls = ScheduledMomentumSGD if name == "sgd" else ScheduledMomentumNAG
        instance: mx.optimizer.Optimizer = cls(scheduled_momentum, **opt_params)
        return mx.gluon.Trainer(params, instance, kvstore=kvstore)
    if name == "sgld" and seed is not None:
        return mx.gluon.Trainer(params, SeededSGLD(seed=seed, **opt_params), kvstore=kvstore)
    return mx.gluon.Trainer(params, name, opt_params, kvstore=kvstore)
