"""Optimizer instances for what MXNet's stock optimizers cannot do safely.

* :class:`ScheduledMomentumSGD` / :class:`ScheduledMomentumNAG`: momentum that follows a
  schedule. MXNet's ``SGD``/``NAG`` allocate no momentum buffer when created with
  ``momentum=0`` and pick the kernel with ``momentum > 0``, so a momentum that starts at 0 and
  grows would never get a buffer (and a momentum that passes through 0 would drop the
  velocity). These always keep the buffer and always run the momentum kernel
  (``sgd_mom_update`` / ``nag_mom_update``), with ``momentum = schedule(num_update - 1)``
  read at every update, the same way MXNet reads ``lr_scheduler(num_update)``.
* :class:`SeededSGLD`: MXNet's SGLD update with its Gaussian noise drawn from a NumPy
  generator instead of MXNet's global RNG, so runs are reproducible from a seed without
  seeding anything global.

They are passed to ``gluon.Trainer(optimizer=instance)``; nothing is added to MXNet's global
optimizer registry.
"""

from __future__ import annotations

import math
from typing import Any

import mxnet as mx
import numpy as np

from momentumlab._src.checks import as_generator
from momentumlab._src.types import Schedule, Seed
from momentumlab.optim._schedules import PerEpoch

#: The smallest normal float32: MXNet parses optimizer scalars as float32 and rejects less.
FLOAT32_TINY = float(np.finfo(np.float32).tiny)


def _as_list(x: Any) -> list[Any]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


class _ScheduledMomentum:
    """Mixin: momentum from a schedule of the update count; the buffer always exists."""

    momentum_schedule: Schedule
    momentum: float
    num_update: int

    def _set_schedule(self, schedule: Schedule) -> None:
        if not callable(schedule):
            raise TypeError(f"momentum_schedule must be a callable step -> value, got {schedule!r}")
        if isinstance(schedule, PerEpoch):
            raise TypeError(
                f"momentum_schedule must be a step schedule, got a PerEpoch schedule (stated in epochs), "
                f"{schedule!r}; bind it first with bind_schedule(momentum, steps_per_epoch)"
            )
        self.momentum_schedule = schedule
        self.momentum = self._momentum_at(0)

    def _momentum_at(self, step: int) -> float:
        m = float(self.momentum_schedule(step))
        if not (0.0 <= m < 1.0):
            raise ValueError(f"momentum schedule must give values in [0.0, 1.0), got {m!r} at step {step}")
        if 0.0 < m < FLOAT32_TINY:
            raise ValueError(
                f"momentum schedule must give 0 or values >= {FLOAT32_TINY} (MXNet reads momentum as "
                f"float32), got {m!r} at step {step}"
            )
        return m

    def create_state(self, index: Any, weight: mx.nd.NDArray) -> mx.nd.NDArray:
        return mx.nd.zeros(weight.shape, weight.context, dtype=weight.dtype)

    def create_state_multi_precision(self, index: Any, weight: mx.nd.NDArray) -> mx.nd.NDArray:
        if weight.dtype != np.float32 and weight.dtype != np.float64:
            raise ValueError(
                f"weight dtype must be float32 or float64 with a momentum schedule, got {weight.dtype}"
            )
        return self.create_state(index, weight)

    def _prepare(self, indices: list[Any]) -> tuple[list[float], list[float], dict[str, Any]]:
        self._update_count(indices)  # type: ignore[attr-defined]
        self.momentum = self._momentum_at(max(self.num_update - 1, 0))
        lrs = self._get_lrs(indices)  # type: ignore[attr-defined]
        wds = self._get_wds(indices)  # type: ignore[attr-defined]
        kwargs: dict[str, Any] = {"rescale_grad": self.rescale_grad, "momentum": self.momentum}  # type: ignore[attr-defined]
        if self.clip_gradient:  # type: ignore[attr-defined]
            kwargs["clip_gradient"] = self.clip_gradient  # type: ignore[attr-defined]
        return lrs, wds, kwargs


class ScheduledMomentumSGD(_ScheduledMomentum, mx.optimizer.SGD):
    """MXNet's SGD with heavy-ball momentum ``schedule(num_update - 1)`` at every update.

    The update is MXNet's: ``v <- mu v - lr (rescale_grad g + wd w); w <- w + v``, with the
    momentum kernel even when ``mu = 0``. ``optimizer.momentum`` holds the value of the last
    update.

    Args:
        momentum_schedule: step (from 0) -> momentum in [0, 1): a schedule value of
            :mod:`momentumlab.optim` (a :class:`~momentumlab.optim.PerEpoch` bound to steps
            first) or any callable.
        **kwargs: other ``mx.optimizer.SGD`` arguments (``learning_rate``, ``wd``, ...).

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> opt = ml.optim.ScheduledMomentumSGD(lambda t: min(0.1 * t, 0.9), learning_rate=0.1)
        >>> w, g = mx.nd.ones((2,)), mx.nd.ones((2,))
        >>> state = opt.create_state(0, w)
        >>> for _ in range(3):
        ...     opt.update(0, w, g, state)
        >>> opt.momentum, [round(float(v), 4) for v in w.asnumpy()]
        (0.2, [0.668, 0.668])
    """

    def __init__(self, momentum_schedule: Schedule, **kwargs: Any) -> None:
        kwargs.pop("momentum", None)
        super().__init__(momentum=0.0, **kwargs)
        self._set_schedule(momentum_schedule)

    def _update_impl(
        self, indices: Any, weights: Any, grads: Any, states: Any, multi_precision: bool = False
    ) -> None:
        idx, ws, gs, ss = _as_list(indices), _as_list(weights), _as_list(grads), _as_list(states)
        lrs, wds, kwargs = self._prepare(idx)
        dense = all(w.stype == "default" and g.stype == "default" for w, g in zip(ws, gs, strict=True))
        if dense:
            flat = [a for triple in zip(ws, gs, ss, strict=True) for a in triple]
            mx.nd.multi_sgd_mom_update(*flat, out=ws, num_weights=len(ws), lrs=lrs, wds=wds, **kwargs)
            return
        for w, g, s, lr, wd in zip(ws, gs, ss, lrs, wds, strict=True):
            mx.nd.sgd_mom_update(w, g, s, out=w, lazy_update=self.lazy_update, lr=lr, wd=wd, **kwargs)


class ScheduledMomentumNAG(_ScheduledMomentum, mx.optimizer.NAG):
    """MXNet's NAG with momentum ``schedule(num_update - 1)`` at every update.

    Args:
        momentum_schedule: step (from 0) -> momentum in [0, 1).
        **kwargs: other ``mx.optimizer.NAG`` arguments.

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> opt = ml.optim.ScheduledMomentumNAG(lambda t: 0.0, learning_rate=0.5)
        >>> w = mx.nd.ones((1,))
        >>> opt.update(0, w, mx.nd.ones((1,)), opt.create_state(0, w))
        >>> w.asscalar()
        0.5
    """

    def __init__(self, momentum_schedule: Schedule, **kwargs: Any) -> None:
        kwargs.pop("momentum", None)
        super().__init__(momentum=0.0, **kwargs)
        self._set_schedule(momentum_schedule)

    def _update_impl(
        self, index: Any, weight: Any, grad: Any, state: Any, multi_precision: bool = False
    ) -> None:
        parts = _as_list(index), _as_list(weight), _as_list(grad), _as_list(state)
        for i, w, g, s in zip(*parts, strict=True):
            lrs, wds, kwargs = self._prepare([i])
            mx.nd.nag_mom_update(w, g, s, out=w, lr=lrs[0], wd=wds[0], **kwargs)


class SeededSGLD(mx.optimizer.SGLD):
    """MXNet's SGLD update with its noise drawn from a NumPy generator.

    ``w <- w - lr/2 (rescale_grad g + wd w) + N(0, lr)``, as ``mx.optimizer.SGLD``, whose
    noise comes from MXNet's global RNG; here it comes from ``seed`` (an int or a
    ``numpy.random.Generator``), so two runs with the same seed are identical.

    Args:
        seed: int >= 0, a NumPy ``Generator`` or ``None`` (fresh entropy).
        **kwargs: other ``mx.optimizer.SGLD`` arguments.

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> def run():
        ...     opt, w = ml.optim.SeededSGLD(seed=0, learning_rate=0.01), mx.nd.zeros((2,))
        ...     opt.update(0, w, mx.nd.ones((2,)), None)
        ...     return w.asnumpy()
        >>> bool((run() == run()).all())
        True
    """

    def __init__(self, *, seed: Seed = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rng = as_generator(seed)

    def update(self, index: Any, weight: Any, grad: Any, state: Any) -> None:
        """One SGLD update of ``weight`` in place (MXNet's formula, seeded noise)."""
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        grad = grad * self.rescale_grad
        if self.clip_gradient is not None:
            grad = mx.nd.clip(grad, -self.clip_gradient, self.clip_gradient)
        weight[:] += -lr / 2 * (grad + wd * weight)
        noise = self._rng.normal(0.0, math.sqrt(lr), size=weight.shape).astype(weight.dtype)
        weight[:] += mx.nd.array(noise, ctx=weight.context, dtype=weight.dtype)
