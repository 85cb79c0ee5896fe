"""Linear-regression data: the chapter's generator and wrapping a caller's arrays."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import mxnet as mx
import numpy as np

from momentumlab._src.checks import as_generator, check_float, check_int, check_type
from momentumlab._src.types import Array, Seed


@dataclass(frozen=True, eq=False)
class LinearData:
    """A regression data set held as float32 MXNet arrays, with its ground truth when known.

    Attributes:
        features: ``(n_samples, n_features)`` float32 ``mx.nd.NDArray``.
        labels: ``(n_samples,)`` or ``(n_samples, n_outputs)`` float32 ``mx.nd.NDArray``.
        true_weight: ``(n_outputs, n_features)`` weights that generated the labels, or ``None``.
        true_bias: ``(n_outputs,)`` bias that generated the labels, or ``None``.
        noise: standard deviation of the label noise (``nan`` when unknown).
        description: a canonical, JSON-friendly description (used for run keys).

    Example:
        >>> import momentumlab as ml
        >>> data = ml.data.make_linear_regression(n_samples=8, seed=1)
        >>> data.features.shape, data.labels.shape, data.true_weight.tolist()
        ((8, 2), (8,), [[2.0, -3.4]])
    """

    features: mx.nd.NDArray
    labels: mx.nd.NDArray
    true_weight: Array | None = None
    true_bias: Array | None = None
    noise: float = float("nan")
    description: dict[str, Any] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        """Number of examples."""
        return int(self.features.shape[0])

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return int(self.features.shape[1])

    @property
    def n_outputs(self) -> int:
        """Number of regression targets (1 for a 1-D label vector)."""
        return 1 if self.labels.ndim == 1 else int(self.labels.shape[1])

    @property
    def dataset(self) -> mx.gluon.data.ArrayDataset:
        """A Gluon ``ArrayDataset`` view of ``(features, labels)`` (no copy)."""
        return mx.gluon.data.ArrayDataset(self.features, self.labels)

    def numpy(self) -> tuple[Array, Array]:
        """Return ``(features, labels)`` as float32 NumPy arrays (a copy).

        Example:
            >>> import momentumlab as ml
            >>> X, y = ml.data.make_linear_regression(n_samples=4, seed=0).numpy()
            >>> X.dtype, y.shape
            (dtype('float32'), (4,))
        """
        return self.features.asnumpy(), self.labels.asnumpy()

    def __len__(self) -> int:
        return self.n_samples

    def __repr__(self) -> str:
        return (
            f"LinearData(n_samples={self.n_samples}, n_features={self.n_features}, "
            f"n_outputs={self.n_outputs}, description={self.description!r})"
        )


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
        >>> bool((a.features == b.features).asnumpy().all())
        True
    """
    n = check_int("n_samples", n_samples, low=1)
    sigma = check_float("noise", noise, low=0.0)
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim == 1:
        w = w[None, :]
    if w.ndim != 2 or w.shape[1] < 1 or w.shape[0] < 1:
        raise ValueError(
            "weight must have shape (n_features,) or (n_outputs, n_features) with sizes >= 1, "
            f"got shape {np.shape(weight)}"
        )
    if not np.all(np.isfinite(w)):
        raise ValueError(f"weight must be finite, got {w.tolist()}")
    b = np.atleast_1d(np.asarray(bias, dtype=np.float64))
    if b.shape != (w.shape[0],):
        raise ValueError(f"bias must have shape ({w.shape[0]},) to match weight, got shape {b.shape}")
    if not np.all(np.isfinite(b)):
        raise ValueError(f"bias must be finite, got {b.tolist()}")
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
    y = X.astype(np.float64) @ w.T + b + sigma * eps
    if w.shape[0] == 1:
        y = y[:, 0]
    return LinearData(
        features=mx.nd.array(X, dtype="float32"),
        labels=mx.nd.array(y.astype(np.float32), dtype="float32"),
        true_weight=w,
        true_bias=b,
        noise=sigma,
        description=description,
    )


def _to_numpy(name: str, value: Any) -> Array:
    if isinstance(value, mx.nd.NDArray):
        return np.asarray(value.asnumpy())
    if isinstance(value, np.ndarray):
        return value
    raise TypeError(f"{name} must be a numpy.ndarray or mxnet.nd.NDArray, got {type(value).__name__}")


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
    X = _to_numpy("features", features)
    y = _to_numpy("labels", labels)
    for label, arr in (("features", X), ("labels", y)):
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(f"{label} must have a floating dtype (float16/32/64), got {arr.dtype}")
    if X.ndim != 2:
        raise ValueError(f"features must be 2-D (n_samples, n_features), got shape {X.shape}")
    if y.ndim not in (1, 2):
        raise ValueError(
            f"labels must be 1-D (n_samples,) or 2-D (n_samples, n_outputs), got shape {y.shape}"
        )
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"features must have at least 1 sample and 1 feature, got shape {X.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"labels must have the same length as features ({X.shape[0]}), got {y.shape[0]}")
    if y.ndim == 2 and y.shape[1] < 1:
        raise ValueError(f"labels must have at least 1 output column, got shape {y.shape}")
    for label, arr in (("features", X), ("labels", y)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        if bad:
            raise ValueError(f"{label} must be finite, got {bad} NaN/inf value(s)")
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    y32 = np.ascontiguousarray(y, dtype=np.float32)
    digest = hashlib.sha256()
    digest.update(repr((X32.shape, y32.shape)).encode())
    digest.update(X32.tobytes())
    digest.update(y32.tobytes())
    if name is not None:
        check_type("name", name, str, "a str or None")
    description: dict[str, Any] = {
        "generator": "from_arrays",
        "name": name,
        "sha256": digest.hexdigest(),
    }
    return LinearData(
        features=mx.nd.array(X32, dtype="float32"),
        labels=mx.nd.array(y32, dtype="float32"),
        description=description,
    )
