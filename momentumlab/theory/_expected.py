r"""The expected mini-batch loss of the momentum family on least squares, under any schedule.

This extends the model of :func:`momentumlab.theory.stationary_loss` from a constant step to
any per-step sequence of hyperparameters, and from heavy ball to every method of
:func:`momentumlab.theory.predict_curve`.

Model. In the eigenbasis of the Hessian (:math:`H = V\Lambda V^\top`) every method is a linear
system per eigenvalue, ``z' = M_t z + b_t g``, where ``z`` holds the error and the buffers
(see :mod:`momentumlab.theory._curve`), ``g`` is the mini-batch gradient, and the error at
which the gradient is taken is ``P_t z`` (the error itself; ``(1-beta) z + beta x`` for
schedule-free SGD). The gradient of a batch ``J`` of ``b`` examples is the full gradient plus
noise, :math:`g = \Lambda P z + \xi`, with :math:`\xi = \frac1b\sum_{i\in J} u_i - \bar u`
and :math:`u_i = \tilde a_i(\tilde a_i^\top e + r_i)/m` (``ã_i`` the example in the eigenbasis,
``r_i`` its residual at the optimum, ``m`` the outputs). Split the error into its mean and
its fluctuation, :math:`e = \mu + \delta`: the mean follows the full-batch recursion exactly
(:func:`predict_curve`), and the noise into

* the **mean-driven** part :math:`\varepsilon_t`, the batch average of
  :math:`v_i(t) = \tilde a_i(\tilde a_i^\top \mu_t + r_i)/m` minus its mean (a known
  sequence, residual noise included); and
* the **multiplicative** part :math:`\zeta_t`, from :math:`w_i = \tilde a_i\tilde a_i^\top\delta_t/m`.

The fluctuation covariance ``D`` of the whole state is propagated per step,

.. math:: D' = M D M^\top + M X b^\top + b X^\top M^\top
          + b\,b^\top \otimes \big(\operatorname{Cov}\varepsilon_t + \operatorname{Cov}\zeta_t\big),

with :math:`\operatorname{Cov}\varepsilon_t = \frac{c_b}{b}\frac1n\sum_i \tilde v_i\tilde v_i^\top`
(:math:`\tilde v_i = v_i - \bar v`), :math:`\operatorname{Cov}\zeta_t = \frac{c_b}{b}
\big[K(\Sigma_\delta) - \Lambda\Sigma_\delta\Lambda\big]`,
:math:`K(\Sigma) = \frac{1}{nm^2}\sum_i (\tilde a_i^\top\Sigma\tilde a_i)\tilde a_i\tilde a_i^\top`,
:math:`\Sigma_\delta = P D P^\top`, and the expected loss is
:math:`L^* + \tfrac12\sum_k\big(\mu_k^\top\Lambda\mu_k + \operatorname{tr}\Lambda\Sigma_{\delta,k}\big)`.

* ``sampling="with-replacement"``: every batch is ``b`` independent draws, :math:`c_b = 1`,
  :math:`X = 0`, and the recursion is **exact** (the second moments of linear SGD close).
* ``sampling="without-replacement"`` (default; what ``train`` does: a fresh permutation every
  epoch cut into batches, the last one short): :math:`c_b = (n-b)/(n-1)`, and the batches of one
  epoch are disjoint, so their mean-driven noises are correlated,
  :math:`\operatorname{Cov}(\varepsilon_t, \varepsilon_k) = -\frac{1}{n(n-1)}\sum_i\tilde v_i(t)
  \tilde v_i(k)^\top` for ``t != k`` in one epoch (0 across epochs). ``X`` is the resulting
  cross moment :math:`\mathbb E[\delta z_t\,\varepsilon_t^\top] = -\frac{1}{n(n-1)}\sum_i
  Y_i(t)\tilde v_i(t)^\top` with :math:`Y_i(t+1) = M_t Y_i(t) + b_t\tilde v_i(t)`, reset at each
  epoch. The same disjointness gives the multiplicative noise a mean (a batch avoids the
  examples that moved the error this epoch), :math:`\mathbb E\,\zeta_t =
  -\frac{1}{n(n-1)m}\sum_i \tilde a_i\tilde a_i^\top P Y_i(t)`, which shifts the mean error
  by a drift ``d`` (``d' = M d + b E ζ``) that enters the loss as
  :math:`\mu^\top\Lambda d + \tfrac12 d^\top\Lambda d`. What is approximated: the
  correlations of the multiplicative noise across the batches of an epoch (beyond that
  mean). They matter when the error's own spread drives the noise (residuals small, steps
  near the edge of mean-square stability); the measured deviations are in
  ``docs/guide/family.rst``.

NumPy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from momentumlab._src.checks import check_bool, check_choice, check_int, check_per_step, check_type
from momentumlab._src.types import Array
from momentumlab.theory._curve import (
    averaging_weights,
    predict_curve,
    state_size,
    step_matrices,
    synchronisation,
)
from momentumlab.theory._quadratic import LeastSquares

#: How batches are drawn: ``"without-replacement"`` (a permutation per epoch, as ``train``)
#: or ``"with-replacement"`` (independent draws; the model is exact).
SAMPLING = ("without-replacement", "with-replacement")


@dataclass(frozen=True, kw_only=True, eq=False)
class ExpectedCurve:
    """The expected full-dataset loss of mini-batch training after every update.

    Attributes:
        losses: ``(n_steps + 1,)`` expected loss, entry 0 the initial loss.
        mean_losses: ``(n_steps + 1,)`` the loss of the mean parameters: the full-batch
            prediction of :func:`predict_curve` (``losses - mean_losses`` is the noise's share).
        mode_losses: ``(n_steps + 1, p)`` each eigen-direction's expected share
            ``0.5 lam_i E[sum_k e_ki^2]`` (they sum to ``losses - optimal_loss``).
        eigenvalues: the Hessian's eigenvalues ``(p,)``.
        optimal_loss: ``L*``.
    """

    losses: Array
    mean_losses: Array
    mode_losses: Array
    eigenvalues: Array
    optimal_loss: float


def noise_inputs(
    optimizer: str,
    learning_rate: float,
    momentum: float = 0.0,
    *,
    nu: float = 0.7,
    betas: Sequence[float] = (0.0, 0.9, 0.99),
    averaging: float = 1.0,
    inner: str = "sgd",
    alpha: float = 0.5,
    synchronise: bool = False,
) -> tuple[Array, Array]:
    """How the gradient enters one update: ``(b, P)`` with ``state' = A state + b g``, ``g`` at ``P state``.

    The :func:`step_matrices` of an eigenvalue ``lam`` are ``A + lam b Pᵀ``; ``b`` is the
    state's response to the gradient and ``P`` reads the error at which the gradient is taken
    from the state (the error itself, or schedule-free SGD's ``y = (1 - beta) z + beta x``).
    For ``lookahead`` (``inner``, ``alpha``) the inner optimizer's, in the state of
    :func:`step_matrices`, followed by the synchronisation when ``synchronise``.

    Returns:
        ``(b, P)``, each of the state's length.

    Example:
        >>> b, P = noise_inputs("sgd", 0.1, 0.9)
        >>> b.tolist(), P.tolist()  # v' = mu v - eta g; e' = e + v'
        ([-0.1, -0.1], [1.0, 0.0])
    """
    eta, mu, c = float(learning_rate), float(momentum), float(averaging)
    if optimizer == "lookahead":
        if inner == "sgd_schedule_free":  # (y, z, x): y' = a z' + beta (1 - c) x, z' = z - eta g
            a = (1 - mu) + mu * c
            b_in, P_in = np.array([-a * eta, -eta, -c * eta]), np.eye(3)[0]
        else:
            b_in, P_in = noise_inputs(inner, eta, mu, nu=nu, betas=betas)
        b_la, P_la = np.append(b_in, 0.0), np.append(P_in, 0.0)
        return (synchronisation(b_la.size, alpha) @ b_la if synchronise else b_la), P_la
    if optimizer == "sgd":
        return np.array([-eta, -eta]), np.array([1.0, 0.0])
    if optimizer == "nag":  # e' = e + mu^2 v - (1 + mu) eta g; v' = mu v - eta g
        return np.array([-(1 + mu) * eta, -eta]), np.array([1.0, 0.0])
    if optimizer == "sgd_torch":  # b' = mu b + g; e' = e - eta b'
        return np.array([-eta, 1.0]), np.array([1.0, 0.0])
    if optimizer == "qhm":  # b' = beta b + (1-beta) g; e' = e - eta ((1-nu) g + nu b')
        return np.array([-eta * ((1 - nu) + nu * (1 - mu)), 1 - mu]), np.array([1.0, 0.0])
    if optimizer == "aggmo":
        k = len(betas)
        return np.array([-eta] + [1.0] * k), np.eye(k + 1)[0]
    if optimizer == "sgd_schedule_free":  # z' = z - eta g(y); x' = (1-c) x + c z'
        return np.array([-eta, -c * eta]), np.array([1 - mu, mu])
    raise ValueError(f"optimizer must be one of the curve methods, got {optimizer!r}")


def _initial_covariance(value: npt.ArrayLike | None, m: int, p: int) -> Array | None:
    if value is None:
        return None
    try:
        C = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"initial_covariance must be a ({p}, {p}) array of numbers or None, got {value!r}"
        ) from None
    if C.shape == (p, p):
        C = np.broadcast_to(C, (m, p, p))
    if C.shape != (m, p, p) or not np.all(np.isfinite(C)):
        raise ValueError(
            f"initial_covariance must be finite with shape ({p}, {p}) or ({m}, {p}, {p}), got shape {C.shape}"
        )
    if not np.allclose(C, np.swapaxes(C, 1, 2)) or np.min(np.linalg.eigvalsh(C)) < -1e-12 * max(
        1.0, np.abs(C).max()
    ):
        raise ValueError("initial_covariance must be symmetric positive semi-definite, got another matrix")
    return np.array(C)


def _over_start(
    problem: LeastSquares, optimizer: str, learning_rates: Any, C0: Array, kwargs: dict[str, Any]
) -> ExpectedCurve:
    """The expectation over a random start of mean ``(weight, bias)`` and covariance ``C0``.

    For a fixed start the expected loss is a quadratic function of the start, so its mean
    over any distribution with this mean and covariance is the mean over the ``2p`` sigma
    points ``mean ± sqrt(p) c_j`` (``c_j`` the columns of a square root of ``C0``), exactly.
    """
    m, p = C0.shape[0], C0.shape[1]
    w = np.asarray(kwargs.pop("weight"), dtype=np.float64).reshape(problem.weight.shape)
    b = kwargs.pop("bias")
    theta = np.hstack([w, np.asarray(b, dtype=np.float64).reshape(m, 1)]) if problem.use_bias else w
    vals, vecs = np.linalg.eigh(C0)  # (m, p), (m, p, p)
    roots = vecs * np.sqrt(np.clip(vals, 0.0, None))[:, None, :]  # columns c_j per output
    curves = []
    for j in range(p):
        for sign in (1.0, -1.0):
            start = theta + sign * np.sqrt(p) * roots[:, :, j]
            w_j, b_j = (start[:, :-1], start[:, -1]) if problem.use_bias else (start, None)
            curves.append(expected_curve(problem, optimizer, learning_rates, weight=w_j, bias=b_j, **kwargs))
    return ExpectedCurve(
        losses=np.mean([c.losses for c in curves], axis=0),
        mean_losses=np.mean([c.mean_losses for c in curves], axis=0),
        mode_losses=np.mean([c.mode_losses for c in curves], axis=0),
        eigenvalues=problem.eigenvalues.copy(),
        optimal_loss=problem.optimal_loss,
    )


def _batch_sizes(n_samples: int, batch_size: int, n_steps: int) -> tuple[Array, Array]:
    """Per update: the batch length and whether it starts an epoch (``train``'s layout)."""
    per_epoch = -(-n_samples // batch_size)
    i = np.arange(n_steps) % per_epoch
    sizes = np.minimum(batch_size, n_samples - i * batch_size)
    return sizes.astype(np.float64), i == 0


def expected_curve(
    problem: LeastSquares,
    optimizer: str,
    learning_rates: Sequence[float] | npt.ArrayLike,
    *,
    batch_size: int,
    weight: npt.ArrayLike,
    bias: npt.ArrayLike | None = None,
    momentum: float | Sequence[float] | npt.ArrayLike = 0.0,
    nu: float | Sequence[float] | npt.ArrayLike = 0.7,
    betas: Sequence[float] = (0.0, 0.9, 0.99),
    weight_lr_power: float = 2.0,
    r: float = 0.0,
    at_evaluation_point: bool = False,
    sampling: str = "without-replacement",
    multiplicative: bool = True,
    initial_covariance: npt.ArrayLike | None = None,
    inner: str = "sgd",
    k: int = 5,
    alpha: float = 0.5,
) -> ExpectedCurve:
    r"""The expected loss of mini-batch ``optimizer`` from ``(weight, bias)`` under any schedule.

    Batches of ``batch_size`` examples as ``train`` draws them (a fresh permutation every epoch,
    the last batch of an epoch short when ``batch_size`` does not divide the data) or, with
    ``sampling="with-replacement"``, independent draws; the rest as :func:`predict_curve`
    (whose arguments these are). The model and its approximation are in the module docstring:
    exact with replacement; without replacement exact but for the multiplicative noise's
    correlations within an epoch. With ``batch_size = n_samples`` (without replacement) there is
    no noise and the answer is :func:`predict_curve`'s.

    Args:
        problem: the :class:`LeastSquares` of the data.
        optimizer: one of :data:`CURVE_METHODS`.
        learning_rates: the rate of every update (its length is the number of updates).
        batch_size: examples per update, in ``[1, n_samples]``.
        weight: initial weights, ``(n_outputs, n_features)``.
        bias: initial biases (required with a bias).
        momentum: a float or one value per update (see :func:`predict_curve`).
        nu: QHM's ``nu``, a float or one value per update.
        betas: AggMo's betas.
        weight_lr_power: schedule-free SGD's ``q``.
        r: schedule-free SGD's ``r``.
        at_evaluation_point: schedule-free SGD's loss at ``x`` instead of ``y``.
        inner: Lookahead's inner optimizer (see :func:`predict_curve`).
        k: Lookahead's synchronisation period.
        alpha: Lookahead's slow step.
        sampling: one of :data:`SAMPLING`.
        multiplicative: keep the noise from the error's own spread (``False``: only the
            mean-driven part, a lower bound).
        initial_covariance: the covariance of random initial parameters (``(w, b)`` order),
            ``(p, p)`` for every output or ``(n_outputs, p, p)``; ``weight`` and ``bias`` are
            then their mean, and the answer is the expectation over the initial draw too
            (e.g. ``sigma**2`` on the weights' diagonal for ``N(0, sigma²)`` weights and zero
            biases): the expected loss from a fixed start is quadratic in the start, so it
            is averaged over ``2p`` sigma points, exactly. ``mean_losses`` is then the
            expected full-batch loss. ``None``: the start is fixed.

    Returns:
        The :class:`ExpectedCurve`.

    Raises:
        ValueError: for out-of-range arguments (as :func:`predict_curve`, and ``batch_size``).

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> data = ml.data.make_conditioned_regression(200, 2, condition_number=10.0, noise=0.3, seed=0)
        >>> q = ml.theory.least_squares(data)
        >>> start = {"weight": np.zeros((1, 2)), "bias": [0.0]}
        >>> full = ml.theory.expected_curve(q, "sgd", [0.1] * 40, batch_size=200, **start)
        >>> mini = ml.theory.expected_curve(q, "sgd", [0.1] * 40, batch_size=10, **start)
        >>> bool(np.allclose(full.losses, full.mean_losses)), bool(mini.losses[-1] > full.losses[-1])
        (True, True)
    """
    check_type("problem", problem, LeastSquares, "a momentumlab.theory.LeastSquares")
    mode = check_choice("sampling", sampling, SAMPLING)
    mult = check_bool("multiplicative", multiplicative)
    n = problem.n_samples
    B = check_int("batch_size", batch_size, low=1, high=n)
    common: dict[str, Any] = {
        "weight": weight, "bias": bias, "momentum": momentum, "nu": nu, "betas": betas,
        "weight_lr_power": weight_lr_power, "r": r, "inner": inner, "k": k, "alpha": alpha,
    }  # fmt: skip
    at_eval = check_bool("at_evaluation_point", at_evaluation_point)
    grad_curve = predict_curve(problem, optimizer, learning_rates, **common)  # validates the rest
    loss_curve = (
        predict_curve(problem, optimizer, learning_rates, at_evaluation_point=True, **common)
        if optimizer == "sgd_schedule_free" and at_eval
        else grad_curve
    )
    at_x = loss_curve is not grad_curve
    lrs = np.asarray(learning_rates, dtype=np.float64).reshape(-1)
    steps = lrs.size
    lam = problem.eigenvalues
    m, p = problem.n_outputs, lam.size
    mean_modes = 0.5 * lam * np.sum(loss_curve.mode_errors**2, axis=1)  # (T+1, p)
    sizes, starts = _batch_sizes(n, B, steps)
    if mode == "with-replacement":
        factors = 1.0 / sizes
    else:
        factors = ((n - sizes) / (n - 1) if n > 1 else np.zeros(steps)) / sizes
    C0 = _initial_covariance(initial_covariance, m, p)
    if C0 is not None:  # the expected loss is quadratic in the start: average it over sigma points
        rest = {"batch_size": B, "at_evaluation_point": at_eval, "sampling": mode, "multiplicative": mult}
        return _over_start(problem, optimizer, learning_rates, C0, {**common, **rest})
    if not np.any(factors > 0):  # full batches without replacement from a fixed start: no noise
        return ExpectedCurve(
            losses=loss_curve.losses.copy(),
            mean_losses=loss_curve.losses.copy(),
            mode_losses=mean_modes,
            eigenvalues=lam.copy(),
            optimal_loss=problem.optimal_loss,
        )

    moms = check_per_step("momentum", momentum, steps, low=0.0, high=1.0, high_open=True)
    nus = check_per_step("nu", nu, steps, low=0.0, high=1.0)
    bs = [float(b) for b in betas]
    la = optimizer == "lookahead"
    period = int(k) if la else 1  # checked by predict_curve
    free = optimizer == "sgd_schedule_free" or (la and inner == "sgd_schedule_free")
    cs = averaging_weights(lrs, float(weight_lr_power), float(r)) if free else np.ones(steps)
    At = problem.design @ problem.eigenvectors  # (n, p): examples in the eigenbasis
    res = problem.residuals.T  # (m, n)
    s = state_size(optimizer, inner, len(bs))
    D = np.zeros((m, p, s, p, s))  # fluctuation covariance of the state, per output
    drift = np.zeros((m, p, s))  # E[fluctuation of the state]: 0 with replacement
    Y = np.zeros((m, n, p, s))  # Y_i(t): the state's response to example i's past mean-driven noise
    fluct = np.zeros((steps + 1, p))
    correlated = mode == "without-replacement"
    scale = 1.0 / (n * m * m)
    with np.errstate(all="ignore"):
        for t in range(steps):
            eta, mu, c = float(lrs[t]), float(moms[t]), float(cs[t])
            step: dict[str, Any] = {"nu": float(nus[t]), "betas": bs, "averaging": c}
            if la:
                step.update(inner=inner, alpha=float(alpha), synchronise=(t + 1) % period == 0)
            M = step_matrices(optimizer, lam, eta, mu, **step)  # (p, s, s)
            b_in, P = noise_inputs(optimizer, eta, mu, **step)
            mu_g = grad_curve.mode_errors[t]  # (m, p): the mean error where the gradient is taken
            v = At[None, :, :] * ((mu_g @ At.T + res) / m)[:, :, None]  # (m, n, p)
            v -= v.mean(axis=1, keepdims=True)
            cov = np.einsum("kni,knj->kij", v, v) / n
            sig = np.einsum("a,kiajb,b->kij", P, D, P)  # fluctuation covariance at the gradient point
            if mult:
                q = np.einsum("ni,kij,nj->kn", At, sig, At)
                cov += scale * np.einsum("kn,ni,nj->kij", q, At, At) - lam[:, None] * sig * lam[None, :]
            cov *= factors[t]
            new = np.einsum("iac,kicjd,jbd->kiajb", M, D, M)
            new += np.einsum("a,b,kij->kiajb", b_in, b_in, cov)
            drift_t = np.einsum("iab,kib->kia", M, drift)
            if correlated:
                if starts[t]:
                    Y[:] = 0.0
                X = -np.einsum("knia,knj->kiaj", Y, v) / (n * (n - 1))  # E[delta_state eps^T]
                MX = np.einsum("iac,kicj->kiaj", M, X)
                cross = np.einsum("kiaj,b->kiajb", MX, b_in)
                new += cross + cross.transpose(0, 3, 4, 1, 2)
                # the mean of the multiplicative noise: a batch avoids the examples that moved the error
                seen = np.einsum("ni,knia,a->kn", At, Y, P)
                drift_t += -np.einsum("kn,ni->ki", seen, At)[..., None] * b_in / (n * (n - 1) * m)
                Y = np.einsum("iab,knib->knia", M, Y) + v[..., None] * b_in
            D = 0.5 * (new + new.transpose(0, 3, 4, 1, 2))
            drift = drift_t
            P_loss = np.eye(s)[1] if at_x else P  # the loss is at x, or where the gradient is taken
            diag = np.einsum("a,kiaib,b->ki", P_loss, D, P_loss)  # (m, p)
            shift = np.einsum("kia,a->ki", drift, P_loss)
            mean_t = loss_curve.mode_errors[t + 1]
            fluct[t + 1] = 0.5 * lam * (diag + 2 * mean_t * shift + shift**2).sum(axis=0)
    modes = mean_modes + fluct
    return ExpectedCurve(
        losses=problem.optimal_loss + modes.sum(axis=1),
        mean_losses=loss_curve.losses.copy(),
        mode_losses=modes,
        eigenvalues=lam.copy(),
        optimal_loss=problem.optimal_loss,
    )


__all__ = ["SAMPLING", "ExpectedCurve", "expected_curve", "noise_inputs"]
