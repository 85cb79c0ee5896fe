"""``ArrayData``: features and labels checked on construction, held as float32 NumPy arrays.

MXNet is imported only when a caller asks for the MXNet view (``features``, ``labels``,
``dataset``): generating data, wrapping arrays and reading them with ``numpy()`` never load it.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from momentumlab._src.checks import check_int, check_type
from momentumlab._src.types import Array

if TYPE_CHECKING:
    import mxnet as mx


def _is_ndarray(value: Any) -> bool:
    """Whether ``value`` is an MXNet NDArray (one can exist only once MXNet is imported)."""
    mxnet = sys.modules.get("mxnet")
    return mxnet is not None and isinstance(value, mxnet.nd.NDArray)


@dataclass(frozen=True, eq=False, repr=False, init=False)
class ArrayData:
    """A data set held in memory as float32 arrays, validated when it is built.

    One type serves regression and classification. For classification ``n_classes`` is set
    and the labels are class indices stored as float32 (what Gluon's losses take): a 1-D
    vector of whole numbers in ``[0, n_classes)``. Binary problems with one logit use
    ``n_classes=2`` and labels 0/1.

    Construction checks everything a training run relies on, so bad data fails here with a
    ``ValueError`` naming what is wrong, never half-way through a run: at least one example,
    float32 features and labels, 2-D features, matching lengths, finite values, and for
    classification whole-number labels in range.

    The arrays are kept as read-only float32 NumPy arrays; ``features`` and ``labels`` are
    their MXNet view, made (and MXNet imported) on first access and then reused. Arrays given
    as NDArrays are that view as they are. The value is immutable: assigning an attribute
    raises ``dataclasses.FrozenInstanceError``.

    Args:
        features: ``(n_samples, n_features)`` float32 array, NumPy or MXNet.
        labels: ``(n_samples,)`` or ``(n_samples, n_outputs)`` float32 array, NumPy or MXNet.
        n_classes: number of classes for classification (>= 2), ``None`` for regression.
        description: a canonical, JSON-friendly description (used for run keys).

    Attributes:
        features: ``(n_samples, n_features)`` float32 ``mx.nd.NDArray``.
        labels: ``(n_samples,)`` or ``(n_samples, n_outputs)`` float32 ``mx.nd.NDArray``.
        n_classes: number of classes for classification, ``None`` for regression.
        description: a canonical, JSON-friendly description (used for run keys).

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> y = np.array([0, 1, 2, 1], dtype=np.float32)
        >>> d = ml.data.ArrayData(np.zeros((4, 3), np.float32), y, n_classes=3)
        >>> d.n_samples, d.n_features, d.n_classes
        (4, 3, 3)
        >>> ml.data.ArrayData(np.zeros((4, 3), np.float32), y + 1, n_classes=3)
        Traceback (most recent call last):
        ...
        ValueError: labels must be class indices in [0, 3), got 1 label(s) outside, e.g. 3.0
    """

    n_classes: int | None
    description: dict[str, Any]
    _X: Array
    _y: Array
    _nd: tuple[mx.nd.NDArray, mx.nd.NDArray] | None

    def __init__(
        self,
        features: Array | mx.nd.NDArray,
        labels: Array | mx.nd.NDArray,
        *,
        n_classes: int | None = None,
        description: dict[str, Any] | None = None,
    ) -> None:
        desc: dict[str, Any] = {} if description is None else description
        check_type("description", desc, dict, "a dict")
        if n_classes is not None:
            check_int("n_classes", n_classes, low=2)
        X = _as_array("features", features)
        y = _as_array("labels", labels)
        check_arrays(X, y, n_classes=n_classes, require_float32=True)
        view = (features, labels) if _is_ndarray(features) and _is_ndarray(labels) else None
        for name, value in (
            ("_X", _frozen(X, features)),
            ("_y", _frozen(y, labels)),
            ("_nd", view),
            ("n_classes", n_classes),
            ("description", desc),
        ):
            object.__setattr__(self, name, value)

    def __getstate__(self) -> dict[str, Any]:
        # Pickle the NumPy arrays only; the MXNet view is rebuilt on first access.
        return {k: v for k, v in self.__dict__.items() if k != "_nd"} | {"_nd": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def _mxnet(self) -> tuple[mx.nd.NDArray, mx.nd.NDArray]:
        view = self._nd
        if view is None:
            import mxnet as mx

            view = (mx.nd.array(self._X, dtype="float32"), mx.nd.array(self._y, dtype="float32"))
            object.__setattr__(self, "_nd", view)
        return view

    @property
    def features(self) -> mx.nd.NDArray:
        """``(n_samples, n_features)`` float32 ``mx.nd.NDArray`` (imports MXNet on first use)."""
        return self._mxnet()[0]

    @property
    def labels(self) -> mx.nd.NDArray:
        """``(n_samples,)`` or ``(n_samples, n_outputs)`` float32 ``mx.nd.NDArray``."""
        return self._mxnet()[1]

    @property
    def n_samples(self) -> int:
        """Number of examples."""
        return int(self._X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return int(self._X.shape[1])

    @property
    def n_outputs(self) -> int:
        """Number of label columns (1 for a 1-D label vector)."""
        return 1 if self._y.ndim == 1 else int(self._y.shape[1])

    @property
    def dataset(self) -> mx.gluon.data.ArrayDataset:
        """A Gluon ``ArrayDataset`` view of ``(features, labels)`` (no copy)."""
        import mxnet as mx

        return mx.gluon.data.ArrayDataset(self.features, self.labels)

    def numpy(self) -> tuple[Array, Array]:
        """Return ``(features, labels)`` as float32 NumPy arrays (a copy; MXNet is not needed).

        Example:
            >>> import momentumlab as ml
            >>> X, y = ml.data.make_linear_regression(n_samples=4, seed=0).numpy()
            >>> X.dtype, y.shape
            (dtype('float32'), (4,))
        """
        return self._X.copy(), self._y.copy()

    def __len__(self) -> int:
        return self.n_samples

    def __repr__(self) -> str:
        classes = "" if self.n_classes is None else f", n_classes={self.n_classes}"
        return (
            f"{type(self).__name__}(n_samples={self.n_samples}, n_features={self.n_features}, "
            f"n_outputs={self.n_outputs}{classes}, description={self.description!r})"
        )


def _as_array(name: str, value: Any) -> Array:
    """The NumPy values of an ndarray or NDArray (a TypeError naming ``name`` otherwise)."""
    if _is_ndarray(value):
        return np.asarray(value.asnumpy())
    if isinstance(value, np.ndarray):
        return value
    raise TypeError(f"{name} must be a numpy.ndarray or mxnet.nd.NDArray, got {type(value).__name__}")


def _frozen(values: Array, given: Any) -> Array:
    """A read-only C-contiguous array of ``values``, copied unless MXNet made it for us."""
    out = np.ascontiguousarray(values) if _is_ndarray(given) else np.array(values, order="C", copy=True)
    out.setflags(write=False)
    return out


def check_arrays(
    X: Array,
    y: Array,
    *,
    n_classes: int | None = None,
    require_float32: bool = False,
    features: str = "features",
    labels: str = "labels",
) -> None:
    """Raise ``ValueError`` naming the problem unless ``(X, y)`` is a usable data set.

    Checked: dtypes (float32 when ``require_float32``; else any floating dtype, and for
    classification integer labels too), 2-D ``X`` with at least one row and column, 1-D/2-D
    ``y`` of the same length, finite values, and for classification 1-D whole-number labels in
    ``[0, n_classes)``.
    """
    if require_float32:
        for name, arr in ((features, X), (labels, y)):
            if arr.dtype != np.float32:
                raise ValueError(f"{name} must have dtype float32, got {arr.dtype}")
    else:
        if not np.issubdtype(X.dtype, np.floating):
            raise ValueError(f"{features} must have a floating dtype (float16/32/64), got {X.dtype}")
        label_ok = np.issubdtype(y.dtype, np.floating) or (
            n_classes is not None and np.issubdtype(y.dtype, np.integer)
        )
        if not label_ok:
            allowed = "a floating or integer dtype" if n_classes is not None else "a floating dtype"
            raise ValueError(f"{labels} must have {allowed}, got {y.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{features} must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(
            f"{features} must have at least 1 sample and 1 feature (an empty split?), got shape {X.shape}"
        )
    if y.ndim not in (1, 2):
        raise ValueError(
            f"{labels} must be 1-D (n_samples,) or 2-D (n_samples, n_outputs), got shape {y.shape}"
        )
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{labels} must have the same length as {features} ({X.shape[0]}), got {y.shape[0]}")
    if y.ndim == 2 and y.shape[1] < 1:
        raise ValueError(f"{labels} must have at least 1 output column, got shape {y.shape}")
    for name, arr in ((features, X), (labels, y)):
        if np.issubdtype(arr.dtype, np.floating):
            bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
            if bad:
                raise ValueError(f"{name} must be finite, got {bad} NaN/inf value(s)")
    if n_classes is not None:
        if y.ndim != 1:
            raise ValueError(f"{labels} must be 1-D class indices for classification, got shape {y.shape}")
        whole = y == np.round(y)
        if not bool(whole.all()):
            first = y[~whole][0]
            raise ValueError(f"{labels} must be whole-number class indices, got e.g. {first!r}")
        outside = (y < 0) | (y >= n_classes)
        if bool(outside.any()):
            raise ValueError(
                f"{labels} must be class indices in [0, {n_classes}), got {int(outside.sum())} "
                f"label(s) outside, e.g. {y[outside][0]!r}"
            )


def _array_digest(X: Array, y: Array) -> str:
    """SHA-256 of the shapes and float32 bytes of ``(X, y)`` (for run keys)."""
    digest = hashlib.sha256()
    digest.update(repr((X.shape, y.shape)).encode())
    digest.update(X.tobytes())
    digest.update(y.tobytes())
    return digest.hexdigest()


def classification_arrays(
    features: Array | mx.nd.NDArray,
    labels: Array | mx.nd.NDArray,
    *,
    n_classes: int | None = None,
    name: str | None = None,
) -> ArrayData:
    """Wrap a caller's own classification arrays after checking them.

    Features may have any floating dtype; labels may be integers or whole-number floats.
    Both are stored as float32 (Gluon's losses take float labels).

    Args:
        features: ``(n_samples, n_features)`` array, NumPy or MXNet.
        labels: ``(n_samples,)`` class indices.
        n_classes: number of classes, >= 2; ``None`` uses ``max(labels) + 1`` (at least 2).
        name: optional name stored in the description (used in run keys).

    Returns:
        An :class:`ArrayData` with ``n_classes`` set; its description carries a SHA-256 of
        the float32 bytes.

    Raises:
        ValueError: for wrong dtypes or dimensions, mismatched lengths, empty arrays, NaN/inf
            values, or labels that are not class indices in ``[0, n_classes)``.
        TypeError: for non-array input.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> d = ml.data.classification_arrays(np.eye(3), np.array([0, 1, 2]))
        >>> d.n_classes, d.labels.dtype
        (3, <class 'numpy.float32'>)
    """
    X = _as_array("features", features)
    y = _as_array("labels", labels)
    if n_classes is None:
        if np.size(y) and (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
            finite = y[np.isfinite(y)] if np.issubdtype(y.dtype, np.floating) else y
            top = int(np.max(finite)) if finite.size else 1
            k = max(2, top + 1)
        else:
            k = 2
    else:
        k = check_int("n_classes", n_classes, low=2)
    check_arrays(X, y, n_classes=k)
    if name is not None:
        check_type("name", name, str, "a str or None")
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    y32 = np.ascontiguousarray(y, dtype=np.float32)
    description: dict[str, Any] = {
        "generator": "classification_arrays",
        "name": name,
        "n_classes": k,
        "sha256": _array_digest(X32, y32),
    }
    return ArrayData(X32, y32, n_classes=k, description=description)
