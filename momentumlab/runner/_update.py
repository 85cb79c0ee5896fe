"""The update rule of each optimizer the NumPy engines run, written once, in float32.

Each rule is MXNet 1.9.1's kernel, operation for operation in the kernel's order, so with the
same float32 inputs it gives the same bits (``tests/test_engines_agree.py`` checks every rule
against its kernel bit for bit). Shapes broadcast, so the same function updates one parameter
set (scalars for the hyperparameters) or K stacked ones (hyperparameters of shape
``(K, 1, ...)``). Every rule takes and returns ``(weight, velocity)``; a rule without a buffer
returns the velocity unchanged.

Which rule an optimizer uses (:func:`rule_for`), as MXNet's optimizer picks its kernel:

* ``sgd``: :func:`sgd_update` (``multi_sgd_mom_update``, and ``multi_sgd_update`` when the
  momentum is 0: the same bits, see there);
* ``nag`` with momentum ``None`` or 0: :func:`plain_update` (MXNet's ``NAG`` then has no
  buffer and calls ``sgd_update``); with a momentum > 0 or a momentum schedule:
  :func:`nag_update` (``nag_mom_update``);
* ``qhm`` and ``sgd_torch`` (the momentum family, :data:`REFERENCE_OPTIMIZERS`): their NumPy
  reference update (``momentumlab/optim/_reference.py``) through :func:`reference_rule`, in
  float32 (not bit for bit with the family's MXNet optimizers: within float32 round-off).
  ``aggmo``, ``demon``, ``lookahead`` and ``sgd_schedule_free`` keep state the rule signature
  does not carry (several buffers, a step count, a slow copy, an evaluation point) and run on
  the Gluon engine.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from momentumlab._src.types import Array
from momentumlab.optim._reference import REFERENCE_UPDATES

#: A float32 hyperparameter: a NumPy float32 scalar, or an array broadcasting against the parameter.
Hyper = Array | np.floating[Any]

#: ``rule(weight, velocity, grad, *, lr, momentum, wd, rescale) -> (weight, velocity)``.
UpdateRule = Callable[..., tuple[Array, Array]]


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
    ``multi_sgd_update`` (``w - ((η wd) w + (η rescale) g)``): ``0·v - a - b`` is exactly
    ``-(a + b)`` under round-to-nearest, so one rule serves both.

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


def plain_update(
    weight: Array,
    velocity: Array,
    grad: Array,
    *,
    lr: Hyper,
    momentum: Hyper,
    wd: Hyper,
    rescale: Hyper,
) -> tuple[Array, Array]:
    """SGD without a buffer as MXNet's single-weight ``sgd_update`` kernel orders it.

    .. math:: w \\leftarrow (1 - \\eta\\,\\mathrm{wd})\\, w - (\\eta\\,\\mathrm{rescale})\\, g

    (``momentum`` is ignored and ``velocity`` returned unchanged). Not the same bits as
    ``multi_sgd_update`` when ``wd > 0``; MXNet's ``NAG`` without momentum calls this one.

    Example:
        >>> import numpy as np
        >>> f = np.float32
        >>> w, _ = plain_update(np.ones(1, f), np.zeros(1, f), np.ones(1, f),
        ...                     lr=f(0.5), momentum=f(0.0), wd=f(0.5), rescale=f(1.0))
        >>> w.tolist()
        [0.25]
    """
    new: Array = (np.float32(1.0) - lr * wd) * weight - (lr * rescale) * grad
    return new, velocity


def nag_update(
    weight: Array,
    velocity: Array,
    grad: Array,
    *,
    lr: Hyper,
    momentum: Hyper,
    wd: Hyper,
    rescale: Hyper,
) -> tuple[Array, Array]:
    """One Nesterov update as MXNet's ``nag_mom_update`` kernel computes it in place.

    .. math:: a = \\mu v,\\quad s = \\mathrm{rescale}\\, g,\\quad
              w' = w - a + (\\mu + 1)\\bigl(a - \\eta\\,(s + \\mathrm{wd}\\, w)\\bigr),\\quad
              v' = a - \\eta\\,(s + \\mathrm{wd}\\, w')

    in float32. Note ``w'`` in the velocity: MXNet 1.9.1's optimizer calls the kernel with
    ``out=weight``, and the kernel reads the weight for the velocity's weight-decay term after
    writing the new one (with ``wd = 0`` the two readings agree). This rule reproduces what
    the optimizer does, bit for bit, quirk included.

    Example:
        >>> import numpy as np
        >>> f = np.float32
        >>> w, v = nag_update(np.ones(1, f), np.zeros(1, f), np.ones(1, f),
        ...                   lr=f(0.5), momentum=f(0.5), wd=f(0.0), rescale=f(1.0))
        >>> w.tolist(), v.tolist()
        ([0.25], [-0.5])
    """
    a = momentum * velocity
    g = rescale * grad
    new: Array = weight - a + (momentum + np.float32(1.0)) * (a - lr * (g + wd * weight))
    v: Array = a - lr * (g + wd * new)
    return new, v


#: Optimizers of the momentum family run through their NumPy reference update
#: (:data:`momentumlab.optim._reference.REFERENCE_UPDATES`, the oracle their MXNet optimizers
#: are tested against) evaluated in float32 on K stacked parameter sets, with the
#: hyperparameters each takes besides ``momentum`` (which must be a number: these optimizers
#: take no momentum schedule, and ``None`` would mean their own default).
REFERENCE_OPTIMIZERS: dict[str, tuple[str, ...]] = {"qhm": ("nu",), "sgd_torch": ()}


@functools.lru_cache(maxsize=64)
def reference_rule(optimizer: str, hyperparameters: tuple[tuple[str, Any], ...] = ()) -> UpdateRule:
    """The update of a :data:`REFERENCE_OPTIMIZERS` optimizer as a rule of this module.

    The reference ``(w, g, state, lr, step, momentum=, wd=, ...)`` is called with the
    processed gradient ``rescale * grad`` (as the family's optimizers process it) and the
    velocity as its buffer ``state["b"]``; float32 arrays stay float32, and its arithmetic
    broadcasts over K stacked parameter sets. Its weight decay is one number
    (``g + wd w if wd else g``), so the engine calls it once per weight decay.

    Example:
        >>> import numpy as np
        >>> f = np.float32
        >>> rule = reference_rule("qhm", (("nu", 1.0),))
        >>> w, b = rule(np.ones(1, f), np.zeros(1, f), np.ones(1, f), lr=f(1.0), momentum=f(0.5),
        ...             wd=0.0, rescale=f(1.0))
        >>> w.tolist(), b.tolist(), w.dtype
        ([0.5], [0.5], dtype('float32'))
    """
    method = REFERENCE_UPDATES[optimizer]
    hyper = dict(hyperparameters)

    def rule(
        weight: Array, velocity: Array, grad: Array, *, lr: Hyper, momentum: Hyper, wd: Hyper, rescale: Hyper
    ) -> tuple[Array, Array]:
        new, state = method(weight, rescale * grad, {"b": velocity}, lr, 1, momentum=momentum, wd=wd, **hyper)
        return new, state["b"]

    rule.__name__ = f"{optimizer}_reference"
    rule.scalar_wd = True  # type: ignore[attr-defined]
    return rule


def rule_for(
    optimizer: str, momentum: object, hyperparameters: tuple[tuple[str, Any], ...] = ()
) -> UpdateRule:
    """The rule MXNet's ``optimizer`` runs with ``momentum`` (``None``, a number or a schedule).

    Raises:
        ValueError: for an optimizer without a NumPy rule.

    Example:
        >>> rule_for("nag", None).__name__, rule_for("nag", 0.9).__name__, rule_for("sgd", 0.0).__name__
        ('plain_update', 'nag_update', 'sgd_update')
        >>> rule_for("qhm", 0.9, (("nu", 0.7),)).__name__
        'qhm_reference'
    """
    if optimizer in REFERENCE_OPTIMIZERS:
        keep = REFERENCE_OPTIMIZERS[optimizer]
        return reference_rule(optimizer, tuple((k, v) for k, v in hyperparameters if k in keep))
    if optimizer == "sgd":
        return sgd_update
    if optimizer == "nag":
        constant_zero = momentum is None or (not callable(momentum) and float(momentum) == 0.0)  # type: ignore[arg-type]
        return plain_update if constant_zero else nag_update
    raise ValueError(
        f"optimizer must be one of {list(RULE_OPTIMIZERS)} for the NumPy engine, got {optimizer!r}"
    )


#: Optimizers with a NumPy update rule.
RULE_OPTIMIZERS = ("sgd", "nag", *REFERENCE_OPTIMIZERS)
