"""Float64 NumPy references of the momentum family's updates, and the heavy-ball converters.

One function per method, each ``(w, g, state, lr, step, **hyperparameters) -> (w, state)``
on float64 arrays, written from the papers' formulas independently of the MXNet optimizers
of :mod:`momentumlab.optim._family` (the tests hold each optimizer to its reference). The
gradient ``g`` is the processed one (``rescale_grad``, clipping done) and weight decay is
added here as ``g + wd w``, as MXNet does. ``step`` counts updates from 1. The methods are
listed in :data:`REFERENCE_UPDATES`; :func:`reference_update` dispatches one update and
:func:`reference_run` runs one from a gradient function. Besides the family it has MXNet's
own heavy ball (``"sgd"``: ``v <- mu v - lr g; w <- w + v``) and NAG (``"nag"``, its
kernel's velocity form ``v <- mu v - lr g; w <- w + mu v - lr g``, which with a constant
rate is ``m <- mu m + g; w <- w - lr (g + mu m)``; with weight decay the stored velocity's
decay term uses the updated weight, as MXNet 1.9.1's in-place kernel does).

Example:
    >>> import numpy as np, momentumlab as ml
    >>> run = ml.optim.reference_run("qhm", lambda w: w, np.ones(1), [0.5] * 3, momentum=0.5, nu=1.0)
    >>> run.weights[:, 0].round(6).tolist()
    [1.0, 0.75, 0.4375, 0.171875]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from momentumlab._src.checks import (
    check_array,
    check_choice,
    check_float,
    check_int,
    check_per_step,
    check_type,
)

F64 = npt.NDArray[np.float64]
State = dict[str, Any]
Update = Callable[..., tuple[F64, State]]


def demon_momentum(step: int, momentum: float, total_steps: int | None) -> float:
    """Demon's decayed momentum at ``step`` (from 0): ``beta0 p / ((1 - beta0) + beta0 p)``.

    ``p = max(1 - step / total_steps, 0)`` (Chen et al., "Demon: improved neural network
    training with momentum decay"): ``beta0`` at step 0, 0 from step ``total_steps`` on;
    ``total_steps=None`` keeps ``beta0`` (no decay).

    Example:
        >>> import momentumlab as ml
        >>> [round(ml.optim.demon_momentum(t, 0.9, 4), 4) for t in range(5)]
        [0.9, 0.871, 0.8182, 0.6923, 0.0]
    """
    step, momentum = check_int("step", step, low=0), check_float("momentum", momentum, low=0.0, high=1.0)
    if total_steps is None:
        return momentum
    total_steps = check_int("total_steps", total_steps, low=1)
    p = max(1.0 - step / total_steps, 0.0)
    denominator = (1.0 - momentum) + momentum * p
    return momentum * p / denominator if denominator > 0 else 0.0


def _decayed(w: F64, g: F64, wd: float) -> F64:
    return g + wd * w if wd else g


def _sgd(
    w: F64, g: F64, state: State, lr: float, step: int, *, momentum: float = 0.0, wd: float = 0.0
) -> tuple[F64, State]:
    v = momentum * state.get("v", 0.0) - lr * _decayed(w, g, wd)
    return w + v, {"v": v}


def _nag(
    w: F64, g: F64, state: State, lr: float, step: int, *, momentum: float = 0.0, wd: float = 0.0
) -> tuple[F64, State]:
    """MXNet 1.9.1's ``nag_mom_update`` as its optimizer calls it (in place, ``out=weight``).

    Velocity form: ``v' = mu v - lr (g + wd w); w' = w + mu v' - lr (g + wd w)``; the kernel
    then stores ``v = mu v - lr (g + wd w')``, with the *updated* weight in the decay term.
    """
    v = momentum * state.get("v", 0.0)
    w_new = w - v + (momentum + 1.0) * (v - lr * _decayed(w, g, wd))
    return w_new, {"v": v - lr * _decayed(w_new, g, wd)}


def _sgd_torch(
    w: F64, g: F64, state: State, lr: float, step: int, *, momentum: float = 0.0, wd: float = 0.0
) -> tuple[F64, State]:
    b = momentum * state.get("b", 0.0) + _decayed(w, g, wd)
    return w - lr * b, {"b": b}


def _qhm(
    w: F64,
    g: F64,
    state: State,
    lr: float,
    step: int,
    *,
    momentum: float = 0.999,
    nu: float = 0.7,
    wd: float = 0.0,
) -> tuple[F64, State]:
    gd = _decayed(w, g, wd)
    b = momentum * state.get("b", 0.0) + (1.0 - momentum) * gd
    return w - lr * ((1.0 - nu) * gd + nu * b), {"b": b}


def _aggmo(
    w: F64,
    g: F64,
    state: State,
    lr: float,
    step: int,
    *,
    betas: Sequence[float] = (0.0, 0.9, 0.99),
    wd: float = 0.0,
) -> tuple[F64, State]:
    gd = _decayed(w, g, wd)
    old = state.get("b") or [0.0] * len(betas)
    bufs = [beta * b + gd for beta, b in zip(betas, old, strict=True)]
    return w - lr / len(betas) * np.sum(bufs, axis=0), {"b": bufs}


def _demon(
    w: F64,
    g: F64,
    state: State,
    lr: float,
    step: int,
    *,
    momentum: float = 0.9,
    total_steps: int | None = None,
    wd: float = 0.0,
) -> tuple[F64, State]:
    beta = demon_momentum(step - 1, momentum, total_steps)
    w, new = _sgd(w, g, state, lr, step, momentum=beta, wd=wd)
    return w, {**new, "momentum": beta}


def _lookahead(
    w: F64,
    g: F64,
    state: State,
    lr: float,
    step: int,
    *,
    k: int = 5,
    alpha: float = 0.5,
    inner: str = "sgd",
    momentum: float | None = None,
    inner_hyperparameters: Mapping[str, Any] | None = None,
    wd: float = 0.0,
) -> tuple[F64, State]:
    slow = state.get("slow", w)
    hyper = dict(inner_hyperparameters or {})
    if momentum is not None:
        hyper["momentum"] = momentum
    w, inner_state = REFERENCE_UPDATES[inner](w, g, state.get("inner", {}), lr, step, wd=wd, **hyper)
    if step % k == 0:
        slow = slow + alpha * (w - slow)
        w = slow
    return w, {"inner": inner_state, "slow": slow}


def _sgd_schedule_free(
    w: F64,
    g: F64,
    state: State,
    lr: float,
    step: int,
    *,
    momentum: float = 0.9,
    weight_lr_power: float = 2.0,
    r: float = 0.0,
    wd: float = 0.0,
) -> tuple[F64, State]:
    z, x = state.get("z", w), state.get("x", w)
    lr_max = max(state.get("lr_max", 0.0), lr)
    weight = step**r * lr_max**weight_lr_power
    weight_sum = state.get("weight_sum", 0.0) + weight
    c = weight / weight_sum if weight_sum > 0 else 0.0
    z = z - lr * _decayed(w, g, wd)
    x = (1.0 - c) * x + c * z
    y = (1.0 - momentum) * z + momentum * x
    return y, {"z": z, "x": x, "lr_max": lr_max, "weight_sum": weight_sum}


#: Each method's update ``(w, g, state, lr, step, **hyperparameters) -> (w, state)``.
REFERENCE_UPDATES: Mapping[str, Update] = {
    "aggmo": _aggmo,
    "demon": _demon,
    "lookahead": _lookahead,
    "nag": _nag,
    "qhm": _qhm,
    "sgd": _sgd,
    "sgd_schedule_free": _sgd_schedule_free,
    "sgd_torch": _sgd_torch,
}


def reference_update(
    name: str,
    weight: npt.ArrayLike,
    grad: npt.ArrayLike,
    state: State | None,
    *,
    learning_rate: float,
    step: int,
    weight_decay: float = 0.0,
    **hyperparameters: Any,
) -> tuple[F64, State]:
    """One float64 update of method ``name``: the oracle of its MXNet optimizer.

    Args:
        name: one of :data:`REFERENCE_UPDATES` (the family, ``"sgd"`` and ``"nag"``).
        weight: the weights before the update.
        grad: the gradient at ``weight`` (without weight decay).
        state: the state the previous update returned; ``None`` before the first.
        learning_rate: the learning rate of this update.
        step: the number of this update, from 1.
        weight_decay: L2 coefficient ``wd`` (``g + wd w``).
        **hyperparameters: the method's keywords, named as its optimizer's
            (``momentum``, ``nu``, ``betas``, ``total_steps``, ``k``, ``alpha``, ``inner``,
            ``inner_hyperparameters``, ``weight_lr_power``, ``r``).

    Returns:
        The new weights and the new state (a dict; for ``sgd_schedule_free`` ``state["x"]``
        is the evaluation point).

    Raises:
        ValueError: for an unknown method or a step < 1.

    Example:
        >>> import momentumlab as ml
        >>> w, s = ml.optim.reference_update("sgd_torch", [1.0], [2.0], None,
        ...                                  learning_rate=0.1, step=1, momentum=0.9)
        >>> w.tolist(), s["b"].tolist()
        ([0.8], [2.0])
    """
    method = REFERENCE_UPDATES[check_choice("name", name, REFERENCE_UPDATES)]
    t = check_int("step", step, low=1)
    lr = check_float("learning_rate", learning_rate)
    wd = check_float("weight_decay", weight_decay, low=0.0)
    w = np.array(check_array("weight", weight), dtype=np.float64)
    g = np.array(check_array("grad", grad, shape=w.shape), dtype=np.float64)
    if state is not None:
        check_type("state", state, dict, "a dict (the state the previous update returned) or None")
    return method(w, g, dict(state or {}), lr, t, wd=wd, **hyperparameters)


@dataclass(frozen=True)
class ReferenceRun:
    """The weights of a :func:`reference_run`, before and after every update.

    Attributes:
        weights: ``(n_steps + 1, d)``, row 0 the initial weights.
        evaluation_weights: where the method is evaluated, the same shape; the weights
            themselves except for ``sgd_schedule_free`` (its average ``x``).
    """

    weights: F64
    evaluation_weights: F64


def reference_run(
    name: str,
    gradient: Callable[[F64], npt.ArrayLike] | Callable[[F64, int], npt.ArrayLike],
    w0: npt.ArrayLike,
    learning_rates: Sequence[float] | npt.ArrayLike,
    *,
    weight_decay: float = 0.0,
    momentum: float | Sequence[float] | None = None,
    **hyperparameters: Any,
) -> ReferenceRun:
    """Run method ``name`` in float64 for ``len(learning_rates)`` updates.

    Args:
        name: one of :data:`REFERENCE_UPDATES`.
        gradient: ``w -> g`` (or ``(w, step) -> g`` with ``step`` from 0, for mini-batches).
        w0: initial weights.
        learning_rates: the learning rate of every update.
        weight_decay: L2 coefficient.
        momentum: a float, or one value per update (a momentum schedule), or ``None`` for the
            method's default.
        **hyperparameters: the method's other keywords (see :func:`reference_update`).

    Returns:
        The :class:`ReferenceRun`.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> run = ml.optim.reference_run("sgd", lambda w: w, np.ones(1), [0.5, 0.5], momentum=0.5)
        >>> run.weights[:, 0].tolist()
        [1.0, 0.5, 0.0]
    """
    if not callable(gradient):
        raise TypeError(f"gradient must be a callable w -> g or (w, step) -> g, got {gradient!r}")
    lrs = check_array("learning_rates", learning_rates, ndim=(0, 1), allow_empty=True).reshape(-1)
    n = lrs.size
    moms: list[float | None] = (
        [None] * n if momentum is None else check_per_step("momentum", momentum, n, per="update").tolist()
    )
    takes_step = _takes_step(gradient)
    w = np.array(check_array("w0", w0), dtype=np.float64).reshape(-1)
    weights, evals = [w], [w]
    state: State | None = None
    for i in range(n):
        g = gradient(w, i) if takes_step else gradient(w)  # type: ignore[call-arg]
        extra = dict(hyperparameters)
        if moms[i] is not None:
            extra["momentum"] = moms[i]
        w, state = reference_update(
            name, w, g, state, learning_rate=float(lrs[i]), step=i + 1, weight_decay=weight_decay, **extra
        )
        weights.append(w)
        evals.append(state["x"] if name == "sgd_schedule_free" else w)
    return ReferenceRun(np.array(weights), np.array(evals))


def _takes_step(fn: Callable[..., Any]) -> bool:
    import inspect

    try:
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        ]
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False
    return len(params) >= 2


# --------------------------------------------------------------------------- conventions


def _lr_ratios(learning_rates: Sequence[float] | npt.ArrayLike) -> F64:
    lrs = check_array("learning_rates", learning_rates, ndim=1, low=0.0, low_open=True)
    ratios = np.ones_like(lrs)
    ratios[1:] = lrs[:-1] / lrs[1:]
    return ratios


def mxnet_to_torch_momentum(
    momentum: float | Sequence[float] | npt.ArrayLike, learning_rates: Sequence[float] | npt.ArrayLike
) -> F64:
    """The torch/optax momenta that give MXNet's heavy-ball trajectory under a learning-rate schedule.

    MXNet keeps the learning rate in the velocity, ``v_t = mu_t v_{t-1} - lr_t g_t;
    w_t = w_{t-1} + v_t``; torch and optax keep it out, ``b_t = m_t b_{t-1} + g_t;
    w_t = w_{t-1} - lr_t b_t``. With ``b_t = -v_t / lr_t`` the two are the same iteration
    exactly when ``m_t = mu_t lr_{t-1} / lr_t`` (``m_0 = mu_0``; the buffer starts at 0).
    So they agree while the rate is constant, and after a change from ``lr`` to ``lr'``
    MXNet behaves as torch with momentum ``mu lr / lr'`` for that one update: its step
    differs from torch's by ``(lr' - lr) mu b_{t-1}``.

    Args:
        momentum: MXNet's ``mu``, a float or one value per update.
        learning_rates: ``lr_t`` for every update, each > 0.

    Returns:
        The torch momentum of every update.

    Raises:
        ValueError: for a rate that is not > 0 or a length mismatch.

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.mxnet_to_torch_momentum(0.9, [0.1, 0.1, 0.01, 0.01]).round(6).tolist()
        [0.9, 0.9, 9.0, 0.9]
    """
    ratios = _lr_ratios(learning_rates)
    return check_per_step("momentum", momentum, ratios.size) * ratios


def torch_to_mxnet_momentum(
    momentum: float | Sequence[float] | npt.ArrayLike, learning_rates: Sequence[float] | npt.ArrayLike
) -> F64:
    """The MXNet momenta that give torch's heavy-ball trajectory: ``mu_t = m_t lr_t / lr_{t-1}``.

    The inverse of :func:`mxnet_to_torch_momentum` (see it for the two conventions).

    Args:
        momentum: torch's ``m``, a float or one value per update.
        learning_rates: ``lr_t`` for every update, each > 0.

    Returns:
        The MXNet momentum of every update.

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.torch_to_mxnet_momentum(0.9, [0.1, 0.1, 0.01, 0.01]).round(6).tolist()
        [0.9, 0.9, 0.09, 0.9]
    """
    ratios = _lr_ratios(learning_rates)
    return check_per_step("momentum", momentum, ratios.size) / ratios


def mxnet_velocity_to_torch_buffer(velocity: npt.ArrayLike, learning_rate: float) -> F64:
    """MXNet's velocity ``v`` as torch's buffer ``b = -v / lr`` (``lr`` the last update's).

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.mxnet_velocity_to_torch_buffer([-0.2], 0.1).tolist()
        [2.0]
    """
    lr = check_float("learning_rate", learning_rate, low=0.0, low_open=True)
    return -check_array("velocity", velocity) / lr


def torch_buffer_to_mxnet_velocity(buffer: npt.ArrayLike, learning_rate: float) -> F64:
    """torch's buffer ``b`` as MXNet's velocity ``v = -lr b`` (``lr`` the last update's).

    Example:
        >>> import momentumlab as ml
        >>> ml.optim.torch_buffer_to_mxnet_velocity([2.0], 0.1).tolist()
        [-0.2]
    """
    lr = check_float("learning_rate", learning_rate, low=0.0, low_open=True)
    return -lr * check_array("buffer", buffer)
