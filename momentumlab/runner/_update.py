"""The update rule of each optimizer the NumPy engines run, written once, in float32.

Shapes broadcast, so the same function updates one parameter set (scalars for the
hyperparameters) or K stacked ones (hyperparameters of shape ``(K, 1, ...)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from momentumlab._src.types import Array

#: A float32 hyperparameter: a NumPy float32 scalar, or an array broadcasting against the parameter.
Hyper = Array | np.floating[Any]


def sgd_update(
    weight: Array,
    velocity: Array,
    grad: Array,
    *,
    lr: Hyper,
    momentum: Hyper,
    wd: Hyper,
    rescale: Hyper,
) -> tuple[Array, Array]:
    """One heavy-ball SGD update as MXNet's ``(multi_)sgd_mom_update`` kernels order it.

    .. math:: v \\leftarrow \\mu v - (\\eta\\,\\mathrm{wd})\\, w - (\\eta\\,\\mathrm{rescale})\\, g,
              \\qquad w \\leftarrow w + v

    evaluated left to right in float32 (every argument must be float32 for the bits to be
    MXNet's). With ``momentum == 0`` and a finite ``velocity`` this gives the same bits as
    the kernel without a buffer (``(multi_)sgd_update``: ``w - ((η wd) w + (η rescale) g)``):
    ``0·v - a - b`` is exactly ``-(a + b)`` under round-to-nearest, so one rule serves both.

    Args:
        weight: the parameter ``w``.
        velocity: the momentum buffer ``v`` (zeros at the start).
        grad: the gradient summed over the batch.
        lr: the learning rate ``η`` of this update.
        momentum: ``μ`` of this update.
        wd: the weight decay.
        rescale: ``1 / batch length``.

    Returns:
        The new ``(weight, velocity)``.

    Example:
        >>> import numpy as np
        >>> f = np.float32
        >>> w, v = sgd_update(np.ones(2, f), np.zeros(2, f), np.ones(2, f),
        ...                   lr=f(0.1), momentum=f(0.9), wd=f(0.0), rescale=f(1.0))
        >>> w.tolist(), v.dtype
        ([0.8999999761581421, 0.8999999761581421], dtype('float32'))
    """
    v: Array = momentum * velocity - (lr * wd) * weight - (lr * rescale) * grad
    return weight + v, v
