"""The one divergence rule of every engine.

At the end of every epoch an engine hands over the losses it recorded during that epoch, the
loss of the parameters at the end of the epoch, and whether those parameters are finite. The
run has diverged when

* a loss is not finite, or
* a loss is above :data:`LOSS_LIMIT`, or
* a parameter is not finite.

Why a limit below float32's range: the Gluon engine computes losses in float32 (the mean of
per-example float32 losses), the NumPy engines in float64 from the data's moments. Near
float32's largest value (3.4e38) the first overflows to ``inf`` where the second is still
finite (a mean of ``n`` losses sums to ``n`` times it first), so a bare "non-finite" rule gave
engines different verdicts on the same run (seen at loss 2.3e38). A loss of 1e30 leaves that
margin for any data set of fewer than 3e8 examples, and no run that reaches it is converging.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from momentumlab._src.types import Array

#: A loss above this ends a run as diverged (see the module doc).
LOSS_LIMIT = 1e30


def divergence_reasons(losses: Array, params_finite: Array) -> list[str]:
    """For K runs at the end of an epoch, why each diverged (``""`` when it did not).

    Args:
        losses: ``(K, R)`` losses: those recorded during the epoch and the loss at its end.
        params_finite: ``(K,)`` whether every parameter is finite at the end of the epoch.

    Example:
        >>> import numpy as np
        >>> divergence_reasons(np.array([[1.0, 0.5], [1.0, np.inf], [2e30, 1.0], [1.0, 1.0]]),
        ...                    np.array([True, True, True, False]))
        ['', 'non-finite loss', 'loss above 1e+30', 'non-finite parameters']
    """
    values = np.asarray(losses, dtype=np.float64)
    finite = np.isfinite(values).all(axis=-1)
    with np.errstate(invalid="ignore"):
        huge = (values > LOSS_LIMIT).any(axis=-1)
    ok: npt.NDArray[np.bool_] = np.asarray(params_finite, dtype=bool)
    out: list[str] = []
    for f, h, p in zip(finite.tolist(), huge.tolist(), ok.tolist(), strict=True):
        if not f:
            out.append("non-finite loss")
        elif h:
            out.append(f"loss above {LOSS_LIMIT:g}")
        elif not p:
            out.append("non-finite parameters")
        else:
            out.append("")
    return out


def divergence_reason(losses: Array | list[float], params_finite: bool) -> str:
    """:func:`divergence_reasons` for one run: ``""`` or why it diverged."""
    return divergence_reasons(np.asarray(losses, dtype=np.float64)[None, :], np.array([params_finite]))[0]


def all_finite(*arrays: Array) -> bool:
    """Whether every value of every array is finite."""
    return all(bool(np.isfinite(a).all()) for a in arrays)
