r"""The stationary loss floor of mini-batch SGD with momentum at a constant learning rate.

Model (linear regression, exact second moments). Write :math:`e_t = \theta_t - \theta^*` and
:math:`a_i = (x_i, 1)`, :math:`r_i = a_i^\top\theta^* - y_i` (residuals at the optimum, so
:math:`\sum_i a_i r_i = 0`). The mini-batch gradient is the full gradient plus noise,
:math:`g_t = H e_t + \xi_t`, where :math:`\xi_t` has zero mean given the past and covariance

.. math:: C(\Sigma) = \frac{c_B}{B}\Big[\underbrace{\tfrac{1}{n m^2}\textstyle\sum_i r_i^2 a_i a_i^\top}_{S}
          + \underbrace{\tfrac{1}{n m^2}\textstyle\sum_i (a_i^\top\Sigma a_i)\, a_i a_i^\top}_{K(\Sigma)}
          - H\Sigma H\Big],

with :math:`\Sigma = \mathbb E[e_t e_t^\top]`, ``B`` the batch size and
:math:`c_B = (n-B)/(n-1)` for a batch drawn without replacement (``1`` with replacement).
``S`` is the per-example gradient covariance at the optimum (≈ σ² H / m for homoscedastic
residuals of variance σ²); ``K - HΣH`` is the extra noise from the data's spread around the
current error ("multiplicative" noise). The state :math:`z_t = (e_t, e_{t-1})` follows
:math:`z_{t+1} = M z_t - (\alpha\xi_t, 0)` with the heavy-ball matrix ``M``, so its stationary
covariance solves the discrete Lyapunov equation

.. math:: Z = M Z M^\top + \begin{pmatrix}\alpha^2 C(\Sigma) & 0\\ 0 & 0\end{pmatrix},
          \qquad \Sigma = Z_{11},

and the predicted mean loss is :math:`L^* + \tfrac12\sum_k \operatorname{tr}(H\Sigma_k)`.

In the eigenbasis of ``H`` the Lyapunov equation decouples into 2×2 blocks: the error
covariance is :math:`\tilde\Sigma = \alpha^2\, G\circ\tilde C` (Hadamard product) with a
transfer factor :math:`G_{ij}` per pair of eigenvalues, and the self-consistency in
:math:`\Sigma` is one linear solve. For sampling **with** replacement this is exact (the
second moments of linear SGD close). ``train`` reshuffles every epoch (batches without
replacement, negatively correlated within an epoch); the model keeps the per-batch factor
:math:`c_B` and ignores those correlations, which makes it slightly pessimistic for directions
that relax more slowly than an epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from momentumlab._src.checks import check_bool, check_choice, check_float, check_int, check_type
from momentumlab._src.types import Array
from momentumlab.theory._quadratic import LeastSquares
from momentumlab.theory._rates import is_stable

_SAMPLING = ("with-replacement", "without-replacement")
_MAX_P_MULTIPLICATIVE = 40


@dataclass(frozen=True, kw_only=True, eq=False)
class StationaryLoss:
    """The predicted stationary state of constant-step mini-batch SGD with momentum.

    Attributes:
        loss: predicted time-average of the recorded full-dataset loss, ``optimal_loss + excess``
            (``inf`` if the iteration is not stable in mean square).
        excess: predicted mean excess loss ``½ Σ_k tr(H Σ_k)``.
        optimal_loss: ``L*`` of the problem.
        covariance: stationary error covariance per output, ``(n_outputs, p, p)`` in the
            parameters ``(w, b)`` (``nan`` when unstable).
        noise_gain: spectral radius of the map ``Σ -> Σ`` through the multiplicative noise
            (0 without it); the second moments are stable iff it is < 1 (and GD is stable).
        stable: whether the mean and second moments converge.

    Example:
        >>> import momentumlab as ml
        >>> data = ml.data.make_conditioned_regression(500, 2, condition_number=10.0, noise=0.1, seed=0)
        >>> q = ml.theory.least_squares(data)
        >>> s = ml.theory.stationary_loss(q, learning_rate=0.1, momentum=0.9, batch_size=10)
        >>> s.stable, s.loss > q.optimal_loss
        (True, True)
    """

    loss: float
    excess: float
    optimal_loss: float
    covariance: Array
    noise_gain: float
    stable: bool


def _transfer(lam: Array, alpha: float, beta: float) -> Array:
    """``G[i, j]``: (0,0) entry of Z solving ``Z = M_i Z M_jᵀ + E_00`` for the 2×2 blocks."""
    p = lam.size
    Ms = np.zeros((p, 2, 2))
    Ms[:, 0, 0] = 1.0 + beta - alpha * lam
    Ms[:, 0, 1] = -beta
    Ms[:, 1, 0] = 1.0
    # vec (column-major) of M_i Z M_jᵀ is (M_j ⊗ M_i) vec Z.
    kron = np.einsum("jab,icd->ijacbd", Ms, Ms).reshape(p, p, 4, 4)
    system = np.eye(4) - kron
    rhs = np.zeros((p, p, 4))
    rhs[..., 0] = 1.0
    out: Array = np.linalg.solve(system, rhs[..., None])[..., 0, 0]
    return out


def stationary_loss(
    problem: LeastSquares,
    *,
    learning_rate: float,
    momentum: float = 0.0,
    batch_size: int,
    sampling: str = "without-replacement",
    multiplicative: bool = True,
) -> StationaryLoss:
    r"""Predict the loss floor of mini-batch SGD with momentum at a constant learning rate.

    See the module docstring for the model: exact second moments of linear-regression SGD
    with batches drawn with replacement; for ``"without-replacement"`` (what ``train`` does
    within an epoch) each batch's noise is scaled by :math:`(n-B)/(n-1)` and the correlations
    between batches of one epoch are ignored. With ``multiplicative=False`` only the noise at
    the optimum (``S``) is kept, the usual "additive noise" approximation, which is accurate
    when :math:`\alpha\operatorname{tr}(H)/(B(1-\beta))` is small.

    For small steps the answer approaches
    :math:`L^* + \frac{\alpha\, c_B}{4B(1-\beta)}\operatorname{tr}(S)`.

    Args:
        problem: the :class:`LeastSquares` of the data.
        learning_rate: constant α > 0 (MXNet's ``learning_rate``).
        momentum: β in [0, 1).
        batch_size: B in [1, n_samples].
        sampling: ``"without-replacement"`` (default) or ``"with-replacement"``.
        multiplicative: include the noise from the data's spread around the current error.

    Returns:
        A :class:`StationaryLoss`; ``stable`` is False (and ``loss`` is ``inf``) when the full
        batch iteration is unstable or the second moments grow.

    Raises:
        ValueError: for out-of-range arguments, or ``multiplicative=True`` with more than
            39 features (the linear solve grows as ``p^6``).

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> data = ml.data.make_linear_regression(n_samples=1000, seed=0)
        >>> q = ml.theory.least_squares(data)
        >>> s = ml.theory.stationary_loss(q, learning_rate=0.2, momentum=0.9, batch_size=10)
        >>> round(s.loss / q.optimal_loss, 2)  # the chapter's lr=0.2, β=0.9 floor, vs L*
        1.5
    """
    check_type("problem", problem, LeastSquares, "a momentumlab.theory.LeastSquares")
    alpha = check_float("learning_rate", learning_rate, low=0.0, low_open=True)
    beta = check_float("momentum", momentum, low=0.0, high=1.0, high_open=True)
    n = problem.n_samples
    B = check_int("batch_size", batch_size, low=1, high=n)
    mode = check_choice("sampling", sampling, _SAMPLING)
    mult = check_bool("multiplicative", multiplicative)
    lam, V = problem.eigenvalues, problem.eigenvectors
    p, m = lam.size, problem.n_outputs
    if mult and p >= _MAX_P_MULTIPLICATIVE:
        raise ValueError(
            f"multiplicative=True needs n_features < {_MAX_P_MULTIPLICATIVE - 1}, got {p - 1}; "
            "use multiplicative=False"
        )
    nan_cov = np.full((m, p, p), np.nan)
    if not is_stable(lam, alpha, beta):
        return StationaryLoss(
            loss=np.inf,
            excess=np.inf,
            optimal_loss=problem.optimal_loss,
            covariance=nan_cov,
            noise_gain=np.nan,
            stable=False,
        )
    c_b = (n - B) / (n - 1) if (mode == "without-replacement" and n > 1) else 1.0
    D = (alpha**2 * c_b / B) * _transfer(lam, alpha, beta)  # Σ̃ = D ∘ C̃(Σ̃) in the eigenbasis
    At = problem.design @ V  # rows ã_i
    scale = 1.0 / (n * m * m)
    if mult:
        A2 = np.einsum("ni,nj->nij", At, At).reshape(n, p * p)
        K = scale * (A2.T @ A2)  # vec K(Σ̃) = K vec Σ̃
        T = D.reshape(-1, 1) * (K - np.diag(np.outer(lam, lam).ravel()))
        gain = float(np.max(np.abs(np.linalg.eigvals(T))))
    else:
        T = np.zeros((p * p, p * p))
        gain = 0.0
    covs = np.empty((m, p, p))
    excess = 0.0
    for k in range(m):
        r2 = problem.residuals[:, k] ** 2
        S = scale * (At * r2[:, None]).T @ At
        if gain >= 1.0:
            break
        sig = np.linalg.solve(np.eye(p * p) - T, (D * S).ravel()).reshape(p, p)
        sig = 0.5 * (sig + sig.T)
        covs[k] = V @ sig @ V.T
        excess += 0.5 * float(np.sum(lam * np.diag(sig)))
    if gain >= 1.0:
        return StationaryLoss(
            loss=np.inf,
            excess=np.inf,
            optimal_loss=problem.optimal_loss,
            covariance=nan_cov,
            noise_gain=gain,
            stable=False,
        )
    return StationaryLoss(
        loss=problem.optimal_loss + excess,
        excess=excess,
        optimal_loss=problem.optimal_loss,
        covariance=covs,
        noise_gain=gain,
        stable=True,
    )


__all__ = ["StationaryLoss", "stationary_loss"]
