"""The quadratic that full-batch training of a linear regressor under ``L2Loss`` minimises.

NumPy only (layer 1): nothing here imports MXNet, the runner, sweeps or plots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from momentumlab._src.checks import check_array, check_bool, check_int
from momentumlab._src.types import Array


def _as_float_array(name: str, value: Any) -> Array:
    if hasattr(value, "asnumpy"):  # an MXNet NDArray, read without importing MXNet
        value = value.asnumpy()
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy.ndarray (or an object with .asnumpy()), got {type(value).__name__}"
        )
    if not np.issubdtype(value.dtype, np.floating):
        raise TypeError(f"{name} must have a floating dtype, got {value.dtype}")
    return np.asarray(value, dtype=np.float64)


def _reshaped(name: str, value: Any, shape: tuple[int, ...]) -> Array:
    """``value`` checked and reshaped to ``shape`` (anything holding that many values)."""
    arr = check_array(name, value)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"{name} must have shape {shape} (or as many values), got shape {arr.shape}")
    return arr.reshape(shape)


def _design(features: Any, *, use_bias: bool = True) -> Array:
    X = _as_float_array("features", features)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"features must be 2-D (n_samples, n_features) with sizes >= 1, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("features must be finite, got NaN/inf values")
    return np.hstack([X, np.ones((X.shape[0], 1))]) if use_bias else X


def hessian(features: Any, *, n_outputs: int = 1) -> Array:
    r"""Hessian of the mean ``L2Loss`` of a linear regressor, in the parameters ``(w, b)``.

    Training minimises :math:`L(\theta) = \frac{1}{n m}\sum_{i,k} \tfrac12 (a_i^\top\theta_k -
    y_{ik})^2` with :math:`a_i = (x_i, 1)`: ``L2Loss`` is ``0.5 (pred - y)^2`` averaged over
    the ``m`` outputs, and ``Trainer.step(batch_size)`` divides the summed gradient by the batch
    size, so a full-batch update is :math:`\theta \leftarrow \theta - \alpha H(\theta -
    \theta^*)` with

    .. math:: H = \frac{1}{n m} A^\top A,\qquad A = [X, \mathbf 1].

    The full Hessian is block diagonal with one copy of ``H`` per output; this returns the
    block. Parameters are ordered ``(w_1, ..., w_d, b)``.

    Args:
        features: ``(n_samples, n_features)`` floating array (NumPy or MXNet); computed in
            float64 from the values given (float32 features are used exactly as training sees
            them).
        n_outputs: number of regression targets ``m`` (>= 1).

    Returns:
        The ``(n_features + 1, n_features + 1)`` symmetric Hessian block.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> ml.theory.hessian(np.array([[1.0], [-1.0]]))
        array([[1., 0.],
               [0., 1.]])
    """
    return _hessian_of(_design(features), check_int("n_outputs", n_outputs, low=1))


def _hessian_of(A: Array, n_outputs: int) -> Array:
    H: Array = A.T @ A / (A.shape[0] * n_outputs)
    return 0.5 * (H + H.T)


@dataclass(frozen=True, kw_only=True, eq=False)
class LeastSquares:
    r"""Everything the theory knows about one linear-regression data set.

    Attributes:
        hessian: the ``(p, p)`` Hessian block :math:`H = A^\top A/(n m)`, ``p = n_features + 1``
            (``p = n_features`` without a bias; see :func:`hessian`).
        eigenvalues: eigenvalues of ``hessian``, ascending.
        eigenvectors: matching orthonormal eigenvectors (columns).
        weight: least-squares optimum ``(n_outputs, n_features)``.
        bias: least-squares optimum ``(n_outputs,)`` (zeros when ``use_bias`` is false: the
            model has no bias).
        optimal_loss: the smallest mean ``L2Loss`` any linear model reaches on the data.
        design: ``A = [X, 1]`` (``A = X`` without a bias) in float64, ``(n_samples, p)``.
        residuals: ``A θ* - y`` at the optimum, ``(n_samples, n_outputs)``.
        rank: the rank of ``A``; below ``p`` the optimum is not unique and ``weight``/``bias``
            are the minimum-norm one.
        use_bias: whether the model has a bias (the last column of ``A`` is ones).

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> q = ml.theory.least_squares((X, 3 * X[:, 0] + 1))
        >>> q.weight.round(6).tolist(), q.bias.round(6).tolist(), round(q.optimal_loss, 12)
        ([[3.0]], [1.0], 0.0)
    """

    hessian: Array
    eigenvalues: Array
    eigenvectors: Array
    weight: Array
    bias: Array
    optimal_loss: float
    design: Array
    residuals: Array
    rank: int
    use_bias: bool = True

    @property
    def n_samples(self) -> int:
        """Number of examples."""
        return int(self.design.shape[0])

    @property
    def n_features(self) -> int:
        """Number of input features (the Hessian has one more row, for the bias)."""
        return int(self.design.shape[1] - (1 if self.use_bias else 0))

    @property
    def n_outputs(self) -> int:
        """Number of regression targets."""
        return int(self.residuals.shape[1])

    @property
    def lambda_min(self) -> float:
        """Smallest eigenvalue of the Hessian."""
        return float(self.eigenvalues[0])

    @property
    def lambda_max(self) -> float:
        """Largest eigenvalue of the Hessian."""
        return float(self.eigenvalues[-1])

    @property
    def condition_number(self) -> float:
        """κ = λ_max / λ_min (``inf`` for a singular Hessian)."""
        lo = self.lambda_min
        return float(self.lambda_max / lo) if lo > 0 else float("inf")

    @property
    def residual_variance(self) -> float:
        """Mean squared residual at the optimum, σ² = 2 m L* (an estimate of the noise variance)."""
        return float(np.mean(self.residuals**2))

    def loss(self, weight: Any, bias: Any = None) -> float:
        r"""The mean ``L2Loss`` at ``(weight, bias)``, in float64.

        Uses :math:`L(\theta) = L^* + \tfrac12 \sum_k (\theta_k-\theta_k^*)^\top H
        (\theta_k-\theta_k^*)`.

        Args:
            weight: ``(n_outputs, n_features)`` weights (anything NumPy reshapes to that).
            bias: ``(n_outputs,)`` biases; required with a bias, ``None`` (or zeros) without.

        Raises:
            ValueError: for a missing bias, or a non-zero one when ``use_bias`` is false.

        Example:
            >>> import numpy as np, momentumlab as ml
            >>> X = np.array([[0.0], [1.0], [2.0]])
            >>> q = ml.theory.least_squares((X, 3 * X[:, 0] + 1))
            >>> round(q.loss([[2.0]], [1.0]), 10)  # 0.5 * mean(x^2) = 0.5 * 5/3
            0.8333333333
        """
        w = _reshaped("weight", weight, self.weight.shape)
        if bias is None:
            if self.use_bias:
                raise ValueError("bias must be given for a fit with a bias (use_bias=True), got None")
            b = self.bias
        else:
            b = _reshaped("bias", bias, self.bias.shape)
            if not self.use_bias and np.any(b != 0.0):
                raise ValueError(
                    f"bias must be None or zeros without a bias (use_bias=False), got {b.tolist()}"
                )
        e = np.hstack([w - self.weight, (b - self.bias)[:, None]]) if self.use_bias else w - self.weight
        return float(self.optimal_loss + 0.5 * np.einsum("kp,pq,kq->", e, self.hessian, e))


def _features_labels(data: Any) -> tuple[Any, Any]:
    if isinstance(data, tuple) and len(data) == 2:
        return data[0], data[1]
    if hasattr(data, "numpy") and callable(data.numpy):
        out = data.numpy()
        if isinstance(out, tuple) and len(out) == 2:
            return out[0], out[1]
    raise TypeError(
        "data must be a (features, labels) tuple or an object whose .numpy() returns one "
        f"(e.g. momentumlab.data.LinearData), got {type(data).__name__}"
    )


def least_squares(data: Any, *, use_bias: bool = True) -> LeastSquares:
    r"""The closed-form optimum, optimal loss and Hessian spectrum of a regression data set.

    Solves :math:`\min_\theta \frac{1}{nm}\sum \tfrac12 (a_i^\top\theta_k - y_{ik})^2` by
    least squares on :math:`A = [X, 1]` (or :math:`A = X` for a model without bias) in
    float64, from the data exactly as training sees it (the float32 values of a
    :class:`momentumlab.data.LinearData`). This is the library's one least-squares solver:
    problems, figures and examples take their optimum, optimal loss and spectrum from it.

    Args:
        data: a :class:`momentumlab.data.LinearData` (anything with ``.numpy() -> (X, y)``),
            or a ``(features, labels)`` tuple of arrays.
        use_bias: fit ``y ≈ X wᵀ + b`` (the default, a :class:`~momentumlab.models.LinearRegressor`)
            or ``y ≈ X wᵀ`` (a net without bias).

    Returns:
        A :class:`LeastSquares`.

    Raises:
        TypeError: for data of the wrong kind or non-floating arrays.
        ValueError: for mismatched shapes or non-finite values.

    Example:
        >>> import momentumlab as ml
        >>> data = ml.data.make_conditioned_regression(300, 2, condition_number=50.0, seed=0)
        >>> round(ml.theory.least_squares(data).condition_number, 6)
        50.0
        >>> import numpy as np
        >>> X = np.array([[1.0], [2.0]])
        >>> ml.theory.least_squares((X, 2 * X[:, 0]), use_bias=False).weight.round(12).tolist()
        [[2.0]]
    """
    fit_bias = check_bool("use_bias", use_bias)
    features, labels = _features_labels(data)
    A = _design(features, use_bias=fit_bias)
    y = _as_float_array("labels", labels)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] != A.shape[0] or y.shape[1] < 1:
        raise ValueError(
            f"labels must have shape ({A.shape[0]},) or ({A.shape[0]}, n_outputs), "
            f"got shape {np.shape(labels)}"
        )
    if not np.all(np.isfinite(y)):
        raise ValueError("labels must be finite, got NaN/inf values")
    m = y.shape[1]
    theta, _, rank, _ = np.linalg.lstsq(A, y, rcond=None)  # (p, m)
    residuals = A @ theta - y
    H = _hessian_of(A, m)
    evals, evecs = np.linalg.eigh(H)
    return LeastSquares(
        hessian=H,
        eigenvalues=evals,
        eigenvectors=evecs,
        weight=(theta[:-1] if fit_bias else theta).T.copy(),
        bias=theta[-1].copy() if fit_bias else np.zeros(m),
        optimal_loss=float(0.5 * np.mean(residuals**2)),
        design=A,
        residuals=residuals,
        rank=int(rank),
        use_bias=fit_bias,
    )


__all__ = ["LeastSquares", "hessian", "least_squares"]
