"""Linear-regression data: the chapter's generator and wrapping a caller's arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from momentumlab._src.checks import (
    as_generator,
    check_array,
    check_float,
    check_int,
    check_overflow,
    check_type,
)
from momentumlab._src.types import Array, Seed
from momentumlab.data._arrays import ArrayData, _array_digest, _as_array, check_arrays

if TYPE_CHECKING:
    import mxnet as mx


@dataclass(frozen=True, eq=False, repr=False, init=False)
class LinearData(ArrayData):
    """A regression data set (an :class:`ArrayData`) with its ground truth when known.

    Args:
        features: ``(n_samples, n_features)`` float32 array, NumPy or MXNet.
        labels: ``(n_samples,)`` or ``(n_samples, n_outputs)`` float32 array, NumPy or MXNet.
        n_classes: must be ``None`` (regression); kept so the signature matches ``ArrayData``.
        description: a canonical, JSON-friendly description (used for run keys).
        true_weight: ``(n_outputs, n_features)`` finite weights that generated the labels, or
            ``None``.
        true_bias: ``(n_outputs,)`` finite bias that generated the labels, or ``None``.
        noise: standard deviation of the label noise, >= 0, or ``None`` when unknown.

    Raises:
        ValueError: for unusable arrays (see :class:`ArrayData`), a truth of the wrong shape
            or with NaN/inf values, or a negative ``noise``.
        TypeError: for arguments of the wrong type.

    Attributes:
        features: ``(n_samples, n_features)`` float32 ``mx.nd.NDArray`` (made on first access).
        labels: ``(n_samples,)`` or ``(n_samples, n_outputs)`` float32 ``mx.nd.NDArray``.
        true_weight: ``(n_outputs, n_features)`` weights that generated the labels, or ``None``.
        true_bias: ``(n_outputs,)`` bias that generated the labels, or ``None``.
        noise: standard deviation of the label noise, or ``None`` when unknown.
        description: a canonical, JSON-friendly description (used for run keys).

    Example:
        >>> import momentumlab as ml
        >>> data = ml.data.make_linear_regression(n_samples=8, seed=1)
        >>> data.features.shape, data.labels.shape, data.true_weight.tolist()
        ((8, 2), (8,), [[2.0, -3.4]])
    """

    true_weight: Array | None
    true_bias: Array | None
    noise: float | None

    def __init__(
        self,
        features: Array | mx.nd.NDArray,
        labels: Array | mx.nd.NDArray,
        *,
        n_classes: int | None = None,
        description: dict[str, Any] | None = None,
        true_weight: Array | None = None,
        true_bias: Array | None = None,
        noise: float | None = None,
    ) -> None:
        if n_classes is not None:
            raise ValueError(f"n_classes must be None for regression data, got {n_classes!r}")
        super().__init__(features, labels, description=description)
        m, d = self.n_outputs, self.n_features
        w = None if true_weight is None else check_array("true_weight", true_weight, shape=(m, d))
        b = None if true_bias is None else check_array("true_bias", true_bias, shape=(m,))
        sigma = None if noise is None else check_float("noise", noise, low=0.0)
        object.__setattr__(self, "true_weight", w)
        object.__setattr__(self, "true_bias", b)
        object.__setattr__(self, "noise", sigma)


def make_linear_regression(
    n_samples: int = 1000,
    *,
    weight: Sequence[float] | Array = (2.0, -3.4),
    bias: float | Sequence[float] | Array = 4.2,
    noise: float = 0.01,
    seed: Seed = None,
) -> LinearData:
    r"""The chapter's synthetic linear regression, seeded.

    .. math:: X_{ij} \sim \mathcal N(0, 1),\qquad y = X w^\top + b + \sigma\,\varepsilon,
              \quad \varepsilon \sim \mathcal N(0, 1).

    With the defaults this is the data of "Momentum with Gluon": 1000 examples,
    ``y = 2 x1 - 3.4 x2 + 4.2 + 0.01 noise``. The features are drawn as float32; the labels
    are computed in float64 from those float32 features and stored as float32.

    Args:
        n_samples: number of examples, >= 1.
        weight: true weights, shape ``(n_features,)`` for one output or
            ``(n_outputs, n_features)``.
        bias: true bias, a float or shape ``(n_outputs,)``.
        noise: standard deviation of the Gaussian label noise, >= 0.
        seed: an int, a ``numpy.random.Generator`` or ``None``; no global RNG is used.

    Returns:
        A :class:`LinearData` with the truth in ``true_weight``/``true_bias``.

    Raises:
        ValueError: for a non-positive ``n_samples``, negative or non-finite ``noise``,
            or non-finite/mismatched ``weight``/``bias``.
        TypeError: for arguments of the wrong type.

    Example:
        >>> import momentumlab as ml
        >>> a = ml.data.make_linear_regression(seed=3)
        >>> b = ml.data.make_linear_regression(seed=3)
        >>> bool((a.numpy()[0] == b.numpy()[0]).all())
        True
    """
    n = check_int("n_samples", n_samples, low=1)
    sigma = check_float("noise", noise, low=0.0)
    w = check_array("weight", weight, ndim=(1, 2))
    if w.ndim == 1:
        w = w[None, :]
    b = np.atleast_1d(check_array("bias", bias, ndim=(0, 1)))
    if b.shape != (w.shape[0],):
        raise ValueError(f"bias must have shape ({w.shape[0]},) to match weight, got shape {b.shape}")
    description: dict[str, Any] = {
        "generator": "make_linear_regression",
        "n_samples": n,
        "weight": w.tolist(),
        "bias": b.tolist(),
        "noise": sigma,
        "seed": seed if isinstance(seed, int) else None,
    }
    rng = as_generator(seed)
    X = rng.standard_normal((n, w.shape[1])).astype(np.float32)
    eps = rng.standard_normal((n, w.shape[0]))
    with np.errstate(over="ignore", invalid="ignore"):
        terms = {
            "weight": (weight, X.astype(np.float64) @ w.T),
            "bias": (bias, b),
            "noise": (sigma, sigma * eps),
        }
        check_overflow("labels", terms)
    y = X.astype(np.float64) @ w.T + b + sigma * eps
    if w.shape[0] == 1:
        y = y[:, 0]
    return LinearData(
        X,
        y.astype(np.float32),
        true_weight=w,
        true_bias=b,
        noise=sigma,
        description=description,
    )


def from_arrays(
    features: Array | mx.nd.NDArray,
    labels: Array | mx.nd.NDArray,
    *,
    name: str | None = None,
) -> LinearData:
    """Wrap a caller's own regression arrays after checking them.

    Floating-point input (float16/32/64) is converted to float32; integer, boolean, complex
    or object arrays are rejected rather than silently cast.

    Args:
        features: ``(n_samples, n_features)`` array, NumPy or MXNet.
        labels: ``(n_samples,)`` or ``(n_samples, n_outputs)`` array, NumPy or MXNet.
        name: optional name stored in the description (used in run keys).

    Returns:
        A :class:`LinearData` without ground truth. Its description carries a SHA-256 of the
        float32 bytes, so two runs on the same arrays share a key.

    Raises:
        TypeError: for non-array input or a non-floating dtype.
        ValueError: for wrong dimensions, mismatched lengths, empty arrays or NaN/inf values.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> X = np.arange(6, dtype=np.float32).reshape(3, 2)
        >>> ml.data.from_arrays(X, X.sum(axis=1)).n_samples
        3
    """
    X = _as_array("features", features)
    y = _as_array("labels", labels)
    for label, arr in (("features", X), ("labels", y)):
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(f"{label} must have a floating dtype (float16/32/64), got {arr.dtype}")
    check_arrays(X, y)
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    y32 = np.ascontiguousarray(y, dtype=np.float32)
    if name is not None:
        check_type("name", name, str, "a str or None")
    description: dict[str, Any] = {
        "generator": "from_arrays",
        "name": name,
        "sha256": _array_digest(X32, y32),
    }
    return LinearData(X32, y32, description=description)
