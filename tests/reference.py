"""Independent NumPy references of MXNet's SGD update rules (float64)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def numpy_sgd(
    X: npt.NDArray[np.float32],
    y: npt.NDArray[np.float32],
    w0: npt.NDArray[np.float32],
    b0: npt.NDArray[np.float32],
    orders: Sequence[npt.NDArray[np.int64]],
    batch_size: int,
    lrs: Sequence[float],
    momentum: float,
) -> tuple[F64, F64, list[float]]:
    """Heavy ball in MXNet's convention on ``L2Loss`` (0.5 (xw+b-y)^2), one output.

    ``g' = sum of per-example gradients / len(batch)``; ``v <- mu v - lr g'``; ``w <- w + v``.
    With ``momentum == 0`` this is MXNet's plain ``w <- w - lr g'``. Returns the final
    ``(w, b)`` and the mean full-data loss after every update.
    """
    Xd = X.astype(np.float64)
    yd = y.astype(np.float64).reshape(-1)
    w = w0.astype(np.float64).reshape(-1).copy()
    b = float(b0.reshape(-1)[0])
    vw = np.zeros_like(w)
    vb = 0.0
    n = Xd.shape[0]
    losses: list[float] = []
    step = 0
    for order in orders:
        for lo in range(0, n, batch_size):
            idx = order[lo : lo + batch_size]
            xb, yb = Xd[idx], yd[idx]
            r = xb @ w + b - yb
            gw = xb.T @ r / len(idx)
            gb = float(r.sum()) / len(idx)
            lr = lrs[step]
            if momentum == 0.0:
                w = w - lr * gw
                b = b - lr * gb
            else:
                vw = momentum * vw - lr * gw
                vb = momentum * vb - lr * gb
                w = w + vw
                b = b + vb
            step += 1
            losses.append(float(np.mean(0.5 * (Xd @ w + b - yd) ** 2)))
    return w.reshape(1, -1), np.array([b]), losses
