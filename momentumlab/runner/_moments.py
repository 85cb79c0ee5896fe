"""The mean squared (``L2Loss``) loss of affine maps from the data's moments, in float64.

For ``Z = [X, 1]`` (n x (d+1)) and labels ``Y`` (n x o), the chapter's loss of the affine map
``θ_k = [w_k, b_k]`` is

.. math:: L(θ) = \\frac{1}{2 o} \\sum_k \\left(θ_k^\\top G θ_k - 2 θ_k^\\top c_k + s_k\\right),
          \\quad G = Z^\\top Z / n,\\; c = Z^\\top Y / n,\\; s_k = \\|Y_{:,k}\\|^2 / n,

so after one O(n d²) pass each record costs O(o d²) instead of O(n d o). Everything is
float64 (the float32 data are exact in float64), so the value is the loss of the float32
parameters to about 1e-12 relative even near the optimum, where ``s`` and ``L`` differ by
many orders of magnitude; a float32 version would lose most digits there. A loss past
float32's range is reported as ``inf``, as the Gluon loop's float32 records would be.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from momentumlab._src.types import Array

_CHUNK_ELEMENTS = 1 << 22
_F32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class SquaredMoments:
    """``G``, ``c`` and ``s`` of a data set (see the module doc)."""

    gram: Array
    cross: Array
    sq: Array

    @classmethod
    def of(cls, X: Array, Y: Array) -> SquaredMoments:
        """Moments of ``X`` (n x d) and ``Y`` (n x o), accumulated in float64 chunk by chunk."""
        n, d = X.shape
        o = Y.shape[1]
        gram = np.zeros((d + 1, d + 1))
        cross = np.zeros((d + 1, o))
        sq = np.zeros(o)
        rows = max(1, _CHUNK_ELEMENTS // max(d, 1))
        for lo in range(0, n, rows):
            x = X[lo : lo + rows].astype(np.float64)
            y = Y[lo : lo + rows].astype(np.float64)
            gram[:d, :d] += x.T @ x
            col = x.sum(axis=0)
            gram[:d, d] += col
            gram[d, :d] += col
            gram[d, d] += x.shape[0]
            cross[:d] += x.T @ y
            cross[d] += y.sum(axis=0)
            sq += (y * y).sum(axis=0)
        return cls(gram=gram / n, cross=cross / n, sq=sq / n)

    def loss(self, W: Array, b: Array) -> Array:
        """Mean ``L2Loss`` of weights ``W`` (..., o, d) and biases ``b`` (..., o), float64."""
        theta = np.concatenate([np.asarray(W, np.float64), np.asarray(b, np.float64)[..., None]], axis=-1)
        quad = np.einsum("...kd,de,...ke->...", theta, self.gram, theta)
        lin = np.einsum("...kd,dk->...", theta, self.cross)
        o = theta.shape[-2]
        value = 0.5 * (quad - 2.0 * lin + self.sq.sum()) / o
        return _as_float32_range(np.where(np.isnan(value), np.nan, np.maximum(value, 0.0)))


def direct_loss(X: Array, Y: Array, W: Array, b: Array) -> float:
    """Mean ``L2Loss`` of one affine map by a pass over the data (float32 residuals, float64 sum)."""
    n = X.shape[0]
    total = 0.0
    rows = max(1, _CHUNK_ELEMENTS // max(X.shape[1], 1))
    for lo in range(0, n, rows):
        r = (X[lo : lo + rows] @ W.T + b - Y[lo : lo + rows]).astype(np.float64)
        total += float((r * r).sum())
    return float(_as_float32_range(np.asarray(0.5 * total / (n * W.shape[0]))))


def _as_float32_range(value: Array) -> Array:
    """Losses past float32's range become ``inf``, as the Gluon loop's float32 records do."""
    return np.where(value > _F32_MAX, np.inf, value)
