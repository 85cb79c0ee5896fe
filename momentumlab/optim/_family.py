"""The momentum family as MXNet optimizers: QHM, AggMo, Demon, Lookahead, schedule-free SGD, torch SGD.

Each class is an ``mx.optimizer.Optimizer`` registered in MXNet's optimizer registry under
its lowercase name (:data:`FAMILY_OPTIMIZERS`) when this module is imported, which
:mod:`momentumlab.optim`'s trainer factory does (as does the first use of any MXNet-touching
name of :mod:`momentumlab.optim`), so ``gluon.Trainer(params, "qhm", {...})``,
:func:`~momentumlab.optim.make_trainer` and ``RunConfig(optimizer="qhm")`` all find them.
Registration is idempotent (:func:`register_family`).

In every update the gradient is first processed as MXNet's own optimizers do:
``g = clip(rescale_grad * grad, clip_gradient) + wd * w`` (weight decay as an L2 term), and
``lr`` is the learning rate MXNet gives the parameter (scheduler and ``lr_mult`` included).
``t`` counts the updates of that parameter from 1. In one notation (``b``, ``v`` buffers
starting at 0):

============================ =====================================================================
``sgd_torch`` (mu)           ``b <- mu b + g;  w <- w - lr b``  (torch/optax heavy ball)
``qhm`` (nu, beta=momentum)  ``b <- beta b + (1-beta) g;  w <- w - lr ((1-nu) g + nu b)``
``aggmo`` (betas)            ``b_i <- beta_i b_i + g;  w <- w - (lr/K) sum_i b_i``
``demon`` (beta0, T)         ``beta_t = beta0 p / ((1-beta0) + beta0 p), p = max(1 - (t-1)/T, 0)``;
                             ``v <- beta_t v - lr g;  w <- w + v``  (MXNet's heavy ball)
``lookahead`` (k, alpha)     ``w <- inner(w)`` every step; every ``k``-th step
                             ``s <- s + alpha (w - s);  w <- s``  (``s`` starts at ``w``)
``sgd_schedule_free``        ``w`` holds the gradient point ``y``; ``z <- z - lr g(y)``;
(beta=momentum)              ``x <- (1-c) x + c z``; ``y <- (1-beta) z + beta x``, with
                             ``c = t^r lr_max^q / sum_{i<=t} i^r lr_max,i^q``
============================ =====================================================================

Schedule-free SGD evaluates at ``x``, not at the trained ``y``: read it with
:meth:`SGDScheduleFree.evaluation_weight` or swap it into the parameters for an evaluation
with :func:`evaluation_point`. The float64 NumPy references of these updates are in
:mod:`momentumlab.optim._reference` (:func:`~momentumlab.optim.reference_run`).

Example:
    >>> import mxnet as mx, momentumlab as ml
    >>> net = ml.models.LinearRegressor(2, initializer=mx.init.Zero())
    >>> trainer = mx.gluon.Trainer(net.collect_params(), "qhm", {"learning_rate": 0.1, "nu": 0.7})
    >>> type(trainer._optimizer).__name__, trainer._optimizer.momentum
    ('QHM', 0.999)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import mxnet as mx

from momentumlab._src.checks import check_float, check_int, check_type
from momentumlab.optim._optimizers import FLOAT32_TINY
from momentumlab.optim._reference import demon_momentum


def _unit(name: str, value: Any) -> float:
    return check_float(name, value, low=0.0, high=1.0, high_open=True)


# --------------------------------------------------------------------------- hyperparameter checks


def check_nu(name: str, value: Any) -> float:
    """QHM's ``nu``: in [0, 1]."""
    return check_float(name, value, low=0.0, high=1.0)


def parse_betas(name: str, value: Any) -> tuple[float, ...]:
    """AggMo's ``betas`` as a tuple: a non-empty sequence of values in [0, 1), or such a
    sequence written as a comma-separated string (``"0,0.9,0.99"``, the form a
    ``RunConfig``'s scalar hyperparameters can hold)."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
        try:
            items: list[Any] = [float(p) for p in parts]
        except ValueError:
            raise ValueError(
                f"{name} must be a non-empty sequence of values in [0, 1) or a comma-separated "
                f"string of them, got {value!r}"
            ) from None
    elif isinstance(value, Sequence):
        items = list(value)
    else:
        raise TypeError(
            f"{name} must be a non-empty sequence of values in [0, 1) or a comma-separated string "
            f"of them, got {value!r} of type {type(value).__name__}"
        )
    if not items:
        raise ValueError(f"{name} must be a non-empty sequence of values in [0, 1), got {value!r}")
    return tuple(_unit(f"{name}[{i}]", b) for i, b in enumerate(items))


def check_betas(name: str, value: Any) -> tuple[float, ...] | str:
    """Validate AggMo's ``betas``; a string stays a string (a tuple a tuple of floats)."""
    parsed = parse_betas(name, value)
    return value if isinstance(value, str) else parsed


def check_total_steps(name: str, value: Any) -> int | None:
    """Demon's ``total_steps``: an integer >= 1, or ``None`` (no decay)."""
    return None if value is None else check_int(name, value, low=1)


def check_k(name: str, value: Any) -> int:
    """Lookahead's ``k``: an integer >= 1."""
    return check_int(name, value, low=1)


def check_alpha(name: str, value: Any) -> float:
    """Lookahead's ``alpha``: in (0, 1]."""
    return check_float(name, value, low=0.0, high=1.0, low_open=True)


def check_inner(name: str, value: Any) -> str:
    """Lookahead's ``inner`` optimizer: any trainable registered optimizer name."""
    from momentumlab.optim._trainer import check_optimizer  # the one optimizer-name rule

    try:
        return check_optimizer(value)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{name}: {e}") from e


def parse_inner_hyperparameters(name: str, value: Any) -> dict[str, Any]:
    """Lookahead's ``inner_hyperparameters`` as a dict: ``None``, a mapping, or a string
    ``"key=value,key=value"`` (numbers, ``true``/``false``), the form a ``RunConfig`` holds."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, str):
        out: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            key, sep, text = part.partition("=")
            if not sep or not key.strip():
                raise ValueError(f"{name} must be a mapping or a string 'key=value,key=value', got {value!r}")
            out[key.strip()] = _parse_scalar(text.strip())
        return out
    raise TypeError(
        f"{name} must be None, a mapping or a string 'key=value,key=value', got {value!r} "
        f"of type {type(value).__name__}"
    )


def _parse_scalar(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def check_inner_hyperparameters(name: str, value: Any) -> Any:
    """Check the form of ``inner_hyperparameters`` (their ranges are checked against ``inner``)."""
    parse_inner_hyperparameters(name, value)
    return value


def check_weight_lr_power(name: str, value: Any) -> float:
    """Schedule-free SGD's ``weight_lr_power``: >= 0."""
    return check_float(name, value, low=0.0)


def check_r(name: str, value: Any) -> float:
    """Schedule-free SGD's ``r`` (polynomial averaging weight): >= 0."""
    return check_float(name, value, low=0.0)


#: The range check of every hyperparameter the family adds (merged into HYPERPARAMETER_CHECKS).
FAMILY_HYPERPARAMETER_CHECKS = {
    "nu": check_nu,
    "betas": check_betas,
    "total_steps": check_total_steps,
    "k": check_k,
    "alpha": check_alpha,
    "inner": check_inner,
    "inner_hyperparameters": check_inner_hyperparameters,
    "weight_lr_power": check_weight_lr_power,
    "r": check_r,
}


# --------------------------------------------------------------------------- the optimizers


class _Family(mx.optimizer.Optimizer):
    """Shared plumbing: per-parameter step count and MXNet's gradient processing."""

    def _begin(
        self, index: Any, weight: mx.nd.NDArray, grad: mx.nd.NDArray
    ) -> tuple[mx.nd.NDArray, float, int]:
        """Count the update; return ``(g, lr, t)`` with ``g = clip(rescale grad) + wd w``."""
        if isinstance(index, (list, tuple)):  # pragma: no cover - aggregate_num is 0
            raise TypeError(f"{type(self).__name__} updates one parameter at a time, got {index!r}")
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        g = grad * self.rescale_grad
        if self.clip_gradient is not None:
            g = mx.nd.clip(g, -self.clip_gradient, self.clip_gradient)
        if wd != 0.0:
            g = g + wd * weight
        return g, lr, int(self._index_update_count[index])

    def _zeros(self, weight: mx.nd.NDArray) -> mx.nd.NDArray:
        return mx.nd.zeros(weight.shape, weight.context, dtype=weight.dtype)


class TorchSGD(_Family):
    """Heavy ball in the torch/optax convention: ``b <- mu b + g; w <- w - lr b``.

    MXNet's ``sgd`` keeps the learning rate inside the velocity (``v <- mu v - lr g;
    w <- w + v``). With a constant learning rate the two are the same iteration
    (``v = -lr b``); after a change from ``lr`` to ``lr'`` the velocity MXNet carries is
    ``-lr b``, so its next steps differ from torch's by ``(lr' - lr) mu^j b`` at the ``j``-th
    update after the change (see :func:`~momentumlab.optim.torch_to_mxnet_momentum`).
    Registered as ``"sgd_torch"``.

    Args:
        momentum: ``mu`` in [0, 1).
        **kwargs: other ``mx.optimizer.Optimizer`` arguments (``learning_rate``, ``wd``, ...).

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> opt = ml.optim.TorchSGD(momentum=0.5, learning_rate=0.1)
        >>> w = mx.nd.zeros((1,))
        >>> s = opt.create_state(0, w)
        >>> for _ in range(2):
        ...     opt.update(0, w, mx.nd.ones((1,)), s)
        >>> round(float(w.asscalar()), 6)  # -0.1 * 1 - 0.1 * 1.5
        -0.25
    """

    def __init__(self, momentum: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.momentum = _unit("momentum", momentum)

    def create_state(self, index: Any, weight: mx.nd.NDArray) -> mx.nd.NDArray:
        """The state of one parameter (its buffers, as the class docstring says)."""
        return self._zeros(weight)

    def update(self, index: Any, weight: mx.nd.NDArray, grad: mx.nd.NDArray, state: mx.nd.NDArray) -> None:
        """One update of ``weight`` in place (the formula in the class docstring)."""
        g, lr, _ = self._begin(index, weight, grad)
        state[:] = self.momentum * state + g
        weight[:] = weight - lr * state


class QHM(_Family):
    """Quasi-hyperbolic momentum (Ma & Yarats 2019): a ``nu``-weighted mix of SGD and momentum.

    ``b <- beta b + (1 - beta) g;  w <- w - lr ((1 - nu) g + nu b)``, with ``beta`` given as
    ``momentum`` (so ``RunConfig(momentum=...)`` and the run's recorded momenta apply).
    ``nu = 0`` is plain SGD; ``nu = 1`` is heavy ball with the normalised buffer, i.e. torch
    heavy ball with learning rate ``lr (1 - beta)``; ``nu = beta`` is NAG with learning rate
    ``lr (1 - beta)`` (tested). Registered as ``"qhm"``; the paper's defaults
    ``nu = 0.7, beta = 0.999``.

    Args:
        momentum: ``beta`` in [0, 1).
        nu: immediate discount ``nu`` in [0, 1].
        **kwargs: other ``mx.optimizer.Optimizer`` arguments.

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> opt = ml.optim.QHM(momentum=0.5, nu=1.0, learning_rate=1.0)
        >>> w = mx.nd.zeros((1,))
        >>> opt.update(0, w, mx.nd.ones((1,)), opt.create_state(0, w))
        >>> float(w.asscalar())  # -(1 - 0.5) * 1
        -0.5
    """

    def __init__(self, momentum: float = 0.999, nu: float = 0.7, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.momentum = _unit("momentum", momentum)
        self.nu = check_nu("nu", nu)

    def create_state(self, index: Any, weight: mx.nd.NDArray) -> mx.nd.NDArray:
        """The state of one parameter (its buffers, as the class docstring says)."""
        return self._zeros(weight)

    def update(self, index: Any, weight: mx.nd.NDArray, grad: mx.nd.NDArray, state: mx.nd.NDArray) -> None:
        """One update of ``weight`` in place (the formula in the class docstring)."""
        g, lr, _ = self._begin(index, weight, grad)
        beta, nu = self.momentum, self.nu
        state[:] = beta * state + (1.0 - beta) * g
        weight[:] = weight - lr * ((1.0 - nu) * g + nu * state)


class AggMo(_Family):
    """Aggregated momentum (Lucas et al. 2019): the average of ``K`` heavy-ball buffers.

    ``b_i <- beta_i b_i + g  (i = 1..K);  w <- w - (lr / K) sum_i b_i``, the convention of
    the authors' implementation (torch's, learning rate outside the buffers). With one beta it
    is :class:`TorchSGD` (tested). Registered as ``"aggmo"``.

    Args:
        betas: the ``beta_i`` in [0, 1), a non-empty sequence or a comma-separated string
            (default ``(0.0, 0.9, 0.99)``, the paper's).
        **kwargs: other ``mx.optimizer.Optimizer`` arguments.

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> opt = ml.optim.AggMo(betas="0,0.5", learning_rate=1.0)
        >>> w = mx.nd.zeros((1,))
        >>> s = opt.create_state(0, w)
        >>> for _ in range(2):
        ...     opt.update(0, w, mx.nd.ones((1,)), s)
        >>> opt.betas, float(w.asscalar())  # -(1 + 1)/2 - (1 + 1.5)/2
        ((0.0, 0.5), -2.25)
    """

    def __init__(self, betas: Sequence[float] | str = (0.0, 0.9, 0.99), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.betas = parse_betas("betas", betas)

    def create_state(self, index: Any, weight: mx.nd.NDArray) -> tuple[mx.nd.NDArray, ...]:
        """The state of one parameter (its buffers, as the class docstring says)."""
        return tuple(self._zeros(weight) for _ in self.betas)

    def update(self, index: Any, weight: mx.nd.NDArray, grad: mx.nd.NDArray, state: Any) -> None:
        """One update of ``weight`` in place (the formula in the class docstring)."""
        g, lr, _ = self._begin(index, weight, grad)
        for beta, b in zip(self.betas, state, strict=True):
            b[:] = beta * b + g
        weight[:] = weight - (lr / len(self.betas)) * mx.nd.add_n(*state)


class Demon(_Family):
    """Decaying momentum (Demon, Chen et al.): MXNet's heavy ball with ``beta_t`` decayed to 0.

    Update ``t`` (from 1) uses ``beta = demon_momentum(t - 1, momentum, total_steps)`` in
    MXNet's heavy-ball kernel (``v <- beta v - lr g; w <- w + v``, the form of the paper's
    Demon SGDM), so ``total_steps=None`` (no decay) is MXNet's ``sgd`` exactly, and
    ``optimizer.momentum`` holds the value of the last update (which a run records).
    Registered as ``"demon"``.

    Args:
        momentum: ``beta_init`` in [0, 1).
        total_steps: ``T``, the update at which the momentum reaches 0 (>= 1), or ``None``.
        **kwargs: other ``mx.optimizer.Optimizer`` arguments.

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> opt = ml.optim.Demon(momentum=0.9, total_steps=4, learning_rate=0.1)
        >>> w = mx.nd.zeros((1,))
        >>> s = opt.create_state(0, w)
        >>> for _ in range(2):
        ...     opt.update(0, w, mx.nd.ones((1,)), s)
        >>> round(opt.momentum, 4)
        0.871
    """

    def __init__(self, momentum: float = 0.9, total_steps: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.momentum_init = _unit("momentum", momentum)
        self.total_steps = check_total_steps("total_steps", total_steps)
        self.momentum = self.momentum_init

    def create_state(self, index: Any, weight: mx.nd.NDArray) -> mx.nd.NDArray:
        """The state of one parameter (its buffers, as the class docstring says)."""
        return self._zeros(weight)

    def update(self, index: Any, weight: mx.nd.NDArray, grad: mx.nd.NDArray, state: mx.nd.NDArray) -> None:
        """One update of ``weight`` in place (the formula in the class docstring)."""
        self._update_count(index)
        t = int(self._index_update_count[index])
        beta = demon_momentum(t - 1, self.momentum_init, self.total_steps)
        self.momentum = beta if beta >= FLOAT32_TINY else 0.0
        kwargs: dict[str, Any] = {"rescale_grad": self.rescale_grad, "momentum": self.momentum}
        if self.clip_gradient:
            kwargs["clip_gradient"] = self.clip_gradient
        lr, wd = self._get_lr(index), self._get_wd(index)
        mx.nd.sgd_mom_update(weight, grad, state, out=weight, lr=lr, wd=wd, lazy_update=False, **kwargs)


class Lookahead(_Family):
    """Lookahead (Zhang et al. 2019) around any registered optimizer.

    The inner optimizer updates the (fast) weights at every step; at every ``k``-th update
    of a parameter its slow copy ``s`` moves ``s <- s + alpha (w - s)`` and the weights are
    reset to it (``s`` starts at the initial weights). ``k = 1, alpha = 1`` is the inner
    optimizer itself (tested). The inner optimizer gets this one's learning rate (scheduler
    and ``lr_mult`` included), ``wd``, ``rescale_grad`` and ``clip_gradient`` at every
    update. ``optimizer.momentum`` is the inner optimizer's momentum (absent if it has
    none). Registered as ``"lookahead"``.

    Args:
        k: synchronisation period, >= 1 (default 5, the paper's).
        alpha: slow step size in (0, 1] (default 0.5).
        inner: name of a trainable registered optimizer (default ``"sgd"``).
        momentum: passed to the inner optimizer; ``None`` leaves its default.
        inner_hyperparameters: other keywords of the inner optimizer, a mapping or a string
            ``"key=value,..."``; checked with :func:`~momentumlab.optim.check_hyperparameters`.
        **kwargs: other ``mx.optimizer.Optimizer`` arguments.

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> opt = ml.optim.Lookahead(k=2, alpha=0.5, learning_rate=1.0)
        >>> w = mx.nd.zeros((1,))
        >>> s = opt.create_state(0, w)
        >>> for _ in range(2):
        ...     opt.update(0, w, mx.nd.ones((1,)), s)
        >>> float(w.asscalar())  # two SGD steps reach -2; the slow weights move half way
        -1.0
    """

    def __init__(
        self,
        k: int = 5,
        alpha: float = 0.5,
        inner: str = "sgd",
        momentum: float | None = None,
        inner_hyperparameters: Mapping[str, Any] | str | None = None,
        **kwargs: Any,
    ) -> None:
        from momentumlab.optim._trainer import check_inner_hyperparameters, check_momentum

        super().__init__(**kwargs)
        self.k = check_k("k", k)
        self.alpha = check_alpha("alpha", alpha)
        self.inner_name = check_inner("inner", inner)
        if self.inner_name == "lookahead":
            raise ValueError("inner must not be 'lookahead' itself, got 'lookahead'")
        hyper = check_inner_hyperparameters(self.inner_name, inner_hyperparameters)
        m = check_momentum(momentum, self.inner_name)
        if callable(m):
            raise TypeError(f"momentum of lookahead must be a float or None, got {m!r}")
        if m is not None:
            hyper["momentum"] = m
        self.inner = mx.optimizer.create(
            self.inner_name, learning_rate=self.lr if self.lr is not None else 0.01, wd=self.wd, **hyper
        )
        if hasattr(self.inner, "momentum"):  # a run records it; absent when the inner has none
            self.momentum = self.inner.momentum

    def create_state(self, index: Any, weight: mx.nd.NDArray) -> tuple[Any, mx.nd.NDArray]:
        """The state of one parameter (its buffers, as the class docstring says)."""
        return (self.inner.create_state_multi_precision(index, weight), weight.copy())

    def update(self, index: Any, weight: mx.nd.NDArray, grad: mx.nd.NDArray, state: Any) -> None:
        """One update of ``weight`` in place (the formula in the class docstring)."""
        self._update_count(index)
        t = int(self._index_update_count[index])
        inner = self.inner
        inner.param_dict = self.param_dict
        inner.lr_mult, inner.wd_mult, inner.idx2name = self.lr_mult, self.wd_mult, self.idx2name
        inner.lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        inner.wd = self.wd
        inner.rescale_grad = self.rescale_grad
        inner.clip_gradient = self.clip_gradient
        inner_state, slow = state
        inner.update_multi_precision(index, weight, grad, inner_state)
        if hasattr(inner, "momentum"):
            self.momentum = inner.momentum
        if t % self.k == 0:
            slow[:] = slow + self.alpha * (weight - slow)
            weight[:] = slow


class SGDScheduleFree(_Family):
    """Schedule-free SGD (Defazio et al. 2024): trains at ``y``, evaluates at the average ``x``.

    The parameter holds the gradient point ``y``; the state holds ``z`` (the SGD sequence) and
    ``x`` (the weighted average, where the model is evaluated). Update ``t`` (from 1)::

        g = grad at y;  z <- z - lr g;  x <- (1 - c) x + c z;  y <- (1 - beta) z + beta x
        c = w_t / sum_{i <= t} w_i,   w_i = i^r * lr_max_i^weight_lr_power

    with ``lr_max_i`` the largest learning rate used so far (the reference implementation's
    weighting; a constant rate gives ``c = 1/t``, the plain average). All three start at
    the initial weights. Warm up through the learning-rate schedule (a
    :func:`~momentumlab.optim.warmup`). Registered as ``"sgd_schedule_free"``.

    Evaluation: :meth:`evaluation_weight` gives ``x`` of one parameter, and
    :func:`evaluation_point` swaps ``x`` into every parameter of a trainer for the duration
    of a ``with`` block. ``train`` records losses and metrics at ``x``; its parameters are ``y``.

    Args:
        momentum: ``beta`` in [0, 1), the interpolation between ``z`` and ``x`` (default 0.9).
        weight_lr_power: ``q >= 0`` (default 2).
        r: ``r >= 0``, polynomial weighting of later iterates (default 0).
        **kwargs: other ``mx.optimizer.Optimizer`` arguments.

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> opt = ml.optim.SGDScheduleFree(momentum=0.5, learning_rate=1.0)
        >>> w = mx.nd.zeros((1,))
        >>> s = opt.create_state(0, w)
        >>> opt.update(0, w, mx.nd.ones((1,)), s)  # z = -1, x = -1 (c = 1), y = -1
        >>> opt.update(0, w, mx.nd.ones((1,)), s)  # z = -2, x = -1.5, y = -1.75
        >>> float(w.asscalar()), float(opt.evaluation_weight(0).asscalar())
        (-1.75, -1.5)
    """

    def __init__(
        self, momentum: float = 0.9, weight_lr_power: float = 2.0, r: float = 0.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.momentum = _unit("momentum", momentum)
        self.weight_lr_power = check_weight_lr_power("weight_lr_power", weight_lr_power)
        self.r = check_r("r", r)
        self._states: dict[Any, tuple[mx.nd.NDArray, mx.nd.NDArray]] = {}
        self._averaging: dict[Any, tuple[float, float]] = {}  # index -> (lr_max, weight_sum)

    def create_state(self, index: Any, weight: mx.nd.NDArray) -> tuple[mx.nd.NDArray, mx.nd.NDArray]:
        """The state of one parameter (its buffers, as the class docstring says)."""
        state = (weight.copy(), weight.copy())
        self._states[index] = state
        self._averaging[index] = (0.0, 0.0)
        return state

    def update(self, index: Any, weight: mx.nd.NDArray, grad: mx.nd.NDArray, state: Any) -> None:
        """One update of ``weight`` in place (the formula in the class docstring)."""
        g, lr, t = self._begin(index, weight, grad)
        z, x = state
        self._states[index] = state
        lr_max, weight_sum = self._averaging.get(index, (0.0, 0.0))
        lr_max = max(lr_max, lr)
        w_t = t**self.r * lr_max**self.weight_lr_power
        weight_sum += w_t
        self._averaging[index] = (lr_max, weight_sum)
        c = w_t / weight_sum if weight_sum > 0 else 0.0
        beta = self.momentum
        z[:] = z - lr * g
        x[:] = (1.0 - c) * x + c * z
        weight[:] = (1.0 - beta) * z + beta * x

    def evaluation_weight(self, index: Any) -> mx.nd.NDArray:
        """The evaluation point ``x`` of parameter ``index`` (raises ``KeyError`` before its first update)."""
        return self._states[index][1]


def evaluation_point(trainer: mx.gluon.Trainer) -> contextlib.AbstractContextManager[None]:
    """Within the block, every parameter holds its schedule-free evaluation point ``x``.

    For a trainer whose optimizer is :class:`SGDScheduleFree`; on leaving the block the
    training point ``y`` is restored. Parameters not updated yet (``x = y``) are left alone.
    For any other optimizer the block changes nothing.

    Args:
        trainer: the ``gluon.Trainer``.

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> net = mx.gluon.nn.Dense(1, in_units=1, use_bias=False)
        >>> net.initialize(mx.init.Zero())
        >>> trainer = mx.gluon.Trainer(net.collect_params(), "sgd_schedule_free",
        ...                            {"learning_rate": 1.0, "momentum": 0.5})
        >>> for _ in range(2):
        ...     with mx.autograd.record():
        ...         loss = -net(mx.nd.ones((1, 1)))  # gradient -1: w grows by lr per step
        ...     loss.backward()
        ...     trainer.step(1)
        >>> with ml.optim.evaluation_point(trainer):
        ...     at_x = float(net.weight.data().asscalar())
        >>> at_x, float(net.weight.data().asscalar())
        (1.5, 1.75)
    """
    check_type("trainer", trainer, mx.gluon.Trainer, "a gluon.Trainer")
    return _evaluation_point(trainer)


@contextlib.contextmanager
def _evaluation_point(trainer: mx.gluon.Trainer) -> Iterator[None]:
    opt = trainer._optimizer
    if not isinstance(opt, SGDScheduleFree):
        yield
        return
    saved: list[tuple[mx.gluon.Parameter, list[mx.nd.NDArray]]] = []
    try:
        for i, param in enumerate(trainer._params):
            if i not in opt._states or param._data is None:
                continue
            arrays = param.list_data()
            saved.append((param, [a.copy() for a in arrays]))
            x = opt.evaluation_weight(i)
            for a in arrays:
                a[:] = x.as_in_context(a.context)
        yield
    finally:
        for param, copies in saved:
            for a, c in zip(param.list_data(), copies, strict=True):
                a[:] = c


# --------------------------------------------------------------------------- registry

#: The family's optimizers by the name MXNet's registry gives them.
FAMILY_OPTIMIZERS: dict[str, type[mx.optimizer.Optimizer]] = {
    "aggmo": AggMo,
    "demon": Demon,
    "lookahead": Lookahead,
    "qhm": QHM,
    "sgd_schedule_free": SGDScheduleFree,
    "sgd_torch": TorchSGD,
}


def register_family() -> None:
    """Register :data:`FAMILY_OPTIMIZERS` in MXNet's optimizer registry (idempotent).

    A name already bound to the same class (or to a reloaded copy of it) is left as is;
    a name held by an unrelated optimizer raises ``ValueError`` rather than replacing it.

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> from momentumlab.optim._family import register_family
        >>> register_family(); register_family()
        >>> mx.optimizer.Optimizer.opt_registry["qhm"] is ml.optim.QHM
        True
    """
    registry = mx.optimizer.Optimizer.opt_registry
    for name, cls in FAMILY_OPTIMIZERS.items():
        existing = registry.get(name)
        if existing is cls:
            continue
        if existing is not None and (existing.__module__, existing.__qualname__) != (
            cls.__module__,
            cls.__qualname__,
        ):
            raise ValueError(
                f"optimizer name {name!r} is already registered by {existing.__module__}."
                f"{existing.__qualname__}; momentumlab's {cls.__qualname__} cannot take it"
            )
        registry[name] = cls


register_family()
