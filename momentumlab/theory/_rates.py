r"""Linear rates of gradient descent and heavy-ball momentum on a quadratic.

Conventions used everywhere in :mod:`momentumlab.theory`:

* MXNet's SGD keeps the learning rate inside the velocity, ``v <- β v - α g; w <- w + v``.
  Eliminating ``v`` gives Polyak's heavy ball with step ``α``:
  :math:`\theta_{t+1} = \theta_t - \alpha\nabla L(\theta_t) + \beta(\theta_t - \theta_{t-1})`.
* On the quadratic with Hessian ``H`` each eigen-direction (eigenvalue ``λ``) of the error
  :math:`e_t = \theta_t - \theta^*` evolves by the 2×2 matrix

  .. math:: \begin{pmatrix} e_{t+1} \\ e_t \end{pmatrix} =
            \begin{pmatrix} 1 + \beta - \alpha\lambda & -\beta \\ 1 & 0 \end{pmatrix}
            \begin{pmatrix} e_t \\ e_{t-1} \end{pmatrix}.

* A **rate** is the asymptotic per-step contraction factor of the *parameter error*
  :math:`\|e_t\|`: the spectral radius of that matrix, maximised over the spectrum. The excess
  loss :math:`L(\theta_t) - L^*` is quadratic in the error, so it contracts by **rate²** per
  step. :func:`momentumlab.theory.fit_rate` reports both and compares like with like.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from momentumlab._src.checks import check_array, check_float
from momentumlab._src.types import Array


def _extremes(spectrum: Any) -> tuple[float, float]:
    """``(λ_min, λ_max)`` of a LeastSquares-like object or an array of eigenvalues."""
    evals = getattr(spectrum, "eigenvalues", spectrum)
    try:
        lam = check_array("spectrum", evals, low=0.0, low_open=True)
    except TypeError:
        raise TypeError(
            f"spectrum must be a LeastSquares or an array of eigenvalues, got {spectrum!r}"
        ) from None
    return float(lam.min()), float(lam.max())


def _check_array(name: str, value: Any, *, low: float, low_open: bool) -> Array:
    return check_array(name, value, low=low, low_open=low_open, allow_empty=True)


def mode_rate(eigenvalue: Any, learning_rate: Any, momentum: Any = 0.0) -> Array:
    r"""Spectral radius of the 2×2 heavy-ball iteration of one eigenvalue (vectorised).

    With :math:`t = 1 + \beta - \alpha\lambda` the matrix's eigenvalues solve
    :math:`z^2 - t z + \beta = 0`, so the radius is :math:`\sqrt\beta` when
    :math:`t^2 < 4\beta` (complex pair: under-damped) and
    :math:`(|t| + \sqrt{t^2 - 4\beta})/2` otherwise (over-damped). For ``β = 0`` it is
    :math:`|1 - \alpha\lambda|`, plain gradient descent.

    Args:
        eigenvalue: λ > 0 (array-like).
        learning_rate: α > 0 (array-like).
        momentum: β >= 0 (array-like).

    Returns:
        The radii, broadcast over the three arguments.

    Example:
        >>> import momentumlab as ml
        >>> float(ml.theory.mode_rate(1.0, 0.5)), float(ml.theory.mode_rate(1.0, 1.0, 0.25))
        (0.5, 0.5)
    """
    lam = _check_array("eigenvalue", eigenvalue, low=0.0, low_open=True)
    a = _check_array("learning_rate", learning_rate, low=0.0, low_open=True)
    b = _check_array("momentum", momentum, low=0.0, low_open=False)
    t = 1.0 + b - a * lam
    disc = t * t - 4.0 * b
    real = (np.abs(t) + np.sqrt(np.maximum(disc, 0.0))) / 2.0
    out: Array = np.where(disc >= 0, real, np.sqrt(b))
    return out


@overload
def rate(spectrum: Any, learning_rate: float, momentum: float = ...) -> float: ...
@overload
def rate(spectrum: Any, learning_rate: npt.ArrayLike, momentum: npt.ArrayLike = ...) -> Any: ...
def rate(spectrum: Any, learning_rate: Any, momentum: Any = 0.0) -> Any:
    r"""Predicted linear rate of the parameter error for step ``α`` and momentum ``β``.

    The maximum of :func:`mode_rate` over the spectrum. Only the extreme eigenvalues matter:
    the radius grows with :math:`|t|` and :math:`|t| = |1+\beta-\alpha\lambda|` is convex in
    λ, so its maximum over :math:`[\lambda_{min}, \lambda_{max}]` sits at an end. That makes
    the function cheap on a grid: pass arrays for ``learning_rate`` and ``momentum`` (they
    broadcast) to get a heatmap. The excess loss converges at ``rate**2``; a rate ``>= 1``
    means no convergence (``> 1``: divergence).

    At the critical-damping boundary (:math:`t^2 = 4\beta`) the 2×2 matrix is a Jordan block
    and the error decays like :math:`t\,\rho^t`: the rate is still ρ, approached slowly.

    Args:
        spectrum: a :class:`LeastSquares` or an array of Hessian eigenvalues (> 0).
        learning_rate: α > 0, a float or an array.
        momentum: β >= 0, a float or an array.

    Returns:
        A float for scalar arguments, else an array of the broadcast shape.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> spec = [1.0, 100.0]
        >>> round(ml.theory.rate(spec, 2 / 101), 6)  # GD at its best step: (κ-1)/(κ+1)
        0.980198
        >>> ml.theory.rate(spec, np.array([0.01, 0.02]), np.array([[0.0], [0.5]])).shape
        (2, 2)
    """
    lo, hi = _extremes(spectrum)
    r = np.maximum(mode_rate(lo, learning_rate, momentum), mode_rate(hi, learning_rate, momentum))
    if np.ndim(learning_rate) == 0 and np.ndim(momentum) == 0:
        return float(r)
    return r


@overload
def is_stable(spectrum: Any, learning_rate: float, momentum: float = ...) -> bool: ...
@overload
def is_stable(spectrum: Any, learning_rate: npt.ArrayLike, momentum: npt.ArrayLike = ...) -> Any: ...
def is_stable(spectrum: Any, learning_rate: Any, momentum: Any = 0.0) -> Any:
    r"""Whether full-batch heavy ball converges: :math:`0 \le \beta < 1` and
    :math:`0 < \alpha\lambda < 2 + 2\beta` for every eigenvalue.

    This is the Jury criterion for :math:`z^2 - (1+\beta-\alpha\lambda)z + \beta`; it is
    equivalent to ``rate(...) < 1`` (tested as a law). Vectorised like :func:`rate`.

    Args:
        spectrum: a :class:`LeastSquares` or an array of eigenvalues.
        learning_rate: α > 0 (float or array).
        momentum: β >= 0 (float or array).

    Returns:
        A bool for scalar arguments, else a boolean array.

    Example:
        >>> import momentumlab as ml
        >>> ml.theory.is_stable([1.0, 10.0], 0.35, 0.9), ml.theory.is_stable([1.0, 10.0], 0.39, 0.9)
        (True, False)
    """
    _, hi = _extremes(spectrum)
    a = _check_array("learning_rate", learning_rate, low=0.0, low_open=True)
    b = _check_array("momentum", momentum, low=0.0, low_open=False)
    ok = (b < 1.0) & (a * hi < 2.0 + 2.0 * b)
    if np.ndim(ok) == 0:
        return bool(ok)
    return ok


def max_stable_learning_rate(spectrum: Any, momentum: Any = 0.0) -> Any:
    r"""The stability boundary :math:`\alpha_{max}(\beta) = 2(1+\beta)/\lambda_{max}` (vectorised).

    Every step below it (and above 0) converges for that momentum; at and above it the
    largest eigen-direction does not contract.

    Example:
        >>> import momentumlab as ml
        >>> ml.theory.max_stable_learning_rate([1.0, 4.0], 0.5)
        0.75
    """
    _, hi = _extremes(spectrum)
    b = _check_array("momentum", momentum, low=0.0, low_open=False)
    out = 2.0 * (1.0 + b) / hi
    return float(out) if np.ndim(out) == 0 else out


def critical_learning_rates(eigenvalue: Any, momentum: Any) -> tuple[Any, Any]:
    r"""The two steps at which eigenvalue λ is critically damped for momentum β (vectorised).

    Critical damping is a double root of :math:`z^2 - (1+\beta-\alpha\lambda)z + \beta`, i.e.
    :math:`(1+\beta-\alpha\lambda)^2 = 4\beta`:

    .. math:: \alpha_-(\beta) = \frac{(1-\sqrt\beta)^2}{\lambda},\qquad
              \alpha_+(\beta) = \frac{(1+\sqrt\beta)^2}{\lambda}.

    Between them that direction is under-damped (oscillates, rate √β); outside it is
    over-damped. Every direction is under-damped iff
    :math:`\alpha_-(\beta;\lambda_{min}) \le \alpha \le \alpha_+(\beta;\lambda_{max})`,
    a band that opens exactly at the Polyak momentum β*, where it is the single point α*.

    Args:
        eigenvalue: λ > 0 (array-like; pass ``λ_min`` and ``λ_max`` for the curves that bound
            the all-under-damped band).
        momentum: β >= 0 (array-like).

    Returns:
        ``(low, high)``, floats for scalars else arrays.

    Example:
        >>> import momentumlab as ml
        >>> ml.theory.critical_learning_rates(4.0, 0.25)
        (0.0625, 0.5625)
    """
    lam = _check_array("eigenvalue", eigenvalue, low=0.0, low_open=True)
    b = _check_array("momentum", momentum, low=0.0, low_open=False)
    s = np.sqrt(b)
    low, high = (1.0 - s) ** 2 / lam, (1.0 + s) ** 2 / lam
    if np.ndim(low) == 0:
        return float(low), float(high)
    return low, high


@dataclass(frozen=True)
class Tuning:
    """A step size and momentum with the rate theory predicts for them.

    Attributes:
        learning_rate: α (MXNet's ``learning_rate``).
        momentum: β (MXNet's ``momentum``; 0 for plain gradient descent).
        rate: predicted per-step rate of the parameter error (the excess loss goes as rate²).

    Example:
        >>> import momentumlab as ml
        >>> ml.theory.Tuning(0.5, 0.0, 0.5).momentum
        0.0
    """

    learning_rate: float
    momentum: float
    rate: float

    @property
    def loss_rate(self) -> float:
        """Per-step rate of the excess loss, ``rate**2``."""
        return self.rate**2


def best_learning_rate(spectrum: Any, momentum: float = 0.0) -> Tuning:
    r"""The step that minimises the rate for a fixed momentum β.

    .. math:: \alpha = \frac{2(1+\beta)}{\lambda_{max}+\lambda_{min}}

    It balances the two extreme directions (:math:`|t|` equal at both ends). For
    :math:`\beta \ge \beta^*` other steps in the under-damped band tie at rate √β; this one is
    always among the minimisers.

    Args:
        spectrum: a :class:`LeastSquares` or an array of eigenvalues.
        momentum: β in [0, 1).

    Returns:
        A :class:`Tuning`.

    Example:
        >>> import momentumlab as ml
        >>> t = ml.theory.best_learning_rate([1.0, 3.0])
        >>> t.learning_rate, t.rate
        (0.5, 0.5)
    """
    lo, hi = _extremes(spectrum)
    b = check_float("momentum", momentum, low=0.0, high=1.0, high_open=True)
    a = 2.0 * (1.0 + b) / (hi + lo)
    return Tuning(a, b, rate([lo, hi], a, b))


def optimal_gd(spectrum: Any) -> Tuning:
    r"""Gradient descent's best step and its rate.

    .. math:: \alpha = \frac{2}{\lambda_{max}+\lambda_{min}},\qquad \rho = \frac{\kappa-1}{\kappa+1}.

    Example:
        >>> import momentumlab as ml
        >>> t = ml.theory.optimal_gd([1.0, 9.0])
        >>> t.learning_rate, t.momentum, round(t.rate, 12)
        (0.2, 0.0, 0.8)
    """
    lo, hi = _extremes(spectrum)
    kappa = hi / lo
    return Tuning(2.0 / (hi + lo), 0.0, (kappa - 1.0) / (kappa + 1.0))


def optimal_momentum(spectrum: Any) -> Tuning:
    r"""Polyak's optimal heavy ball in MXNet's convention.

    .. math:: \alpha^* = \frac{4}{(\sqrt{\lambda_{max}}+\sqrt{\lambda_{min}})^2},\qquad
              \beta^* = \Big(\frac{\sqrt\kappa-1}{\sqrt\kappa+1}\Big)^2,\qquad
              \rho^* = \frac{\sqrt\kappa-1}{\sqrt\kappa+1}.

    No constant (α, β) does better on the worst case over the spectrum's interval; both
    extreme directions are critically damped there (so their errors decay like
    :math:`t\rho^{*t}`), every inner one is under-damped at radius √β* = ρ*.

    Example:
        >>> import momentumlab as ml
        >>> t = ml.theory.optimal_momentum([1.0, 9.0])
        >>> t.learning_rate, t.momentum, t.rate
        (0.25, 0.25, 0.5)
    """
    lo, hi = _extremes(spectrum)
    sk = np.sqrt(hi / lo)
    rho = float((sk - 1.0) / (sk + 1.0))
    return Tuning(float(4.0 / (np.sqrt(hi) + np.sqrt(lo)) ** 2), rho**2, rho)


__all__ = [
    "Tuning",
    "best_learning_rate",
    "critical_learning_rates",
    "is_stable",
    "max_stable_learning_rate",
    "mode_rate",
    "optimal_gd",
    "optimal_momentum",
    "rate",
]
