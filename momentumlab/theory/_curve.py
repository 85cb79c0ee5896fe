r"""The exact full-batch loss curve of the momentum family on a quadratic, under any schedule.

On least squares the full-batch gradient is :math:`H(\theta - \theta^*)`, so in the
eigenbasis of :math:`H` every method is a linear system per eigenvalue :math:`\lambda` whose
matrix changes with the step's hyperparameters. With ``e`` the error along one eigenvector
and the buffers in the update conventions of :mod:`momentumlab.optim` (no weight decay):

* ``sgd`` (MXNet heavy ball), state ``(e, v)``: ``v' = mu v - eta lam e;  e' = e + v'``;
* ``nag`` (MXNet's kernel), ``(e, v)``: ``e' = (1 - (1+mu) eta lam) e + mu^2 v;
  v' = mu v - eta lam e``;
* ``sgd_torch``, ``(e, b)``: ``b' = mu b + lam e;  e' = e - eta b'``;
* ``qhm``, ``(e, b)``: ``b' = beta b + (1-beta) lam e;  e' = e - eta ((1-nu) lam e + nu b')``;
* Demon is ``sgd`` with the per-step momentum ``[ml.optim.demon_momentum(t, beta0, T) for t
  in range(n)]``: pass that as ``momentum`` (this package imports only NumPy);
* ``aggmo``, ``(e, b_1..b_K)``: ``b_i' = beta_i b_i + lam e;  e' = e - (eta/K) sum_i b_i'``;
* ``sgd_schedule_free``, ``(z, x)``: ``y = (1-beta) z + beta x;  z' = z - eta lam y;
  x' = (1-c) x + c z'`` (the loss at ``y``, or at ``x``);
* ``lookahead`` around any of those (``inner``), the inner state with the weights first
  (schedule-free's as ``(y, z, x)``: Lookahead overwrites ``y`` while ``z`` and ``x`` stay)
  and the slow weights ``s`` last: the inner step leaves ``s`` alone, and every ``k``-th
  update is followed by the synchronisation ``s' = s + alpha (e - s);  e' = s'`` (the inner
  buffers are kept, as :class:`momentumlab.optim.Lookahead` keeps them), one more matrix;

so the error after ``T`` steps is the product of ``T`` small matrices applied to the initial
state, per eigenvalue; the loss is :math:`L^* + \tfrac12\sum_i \lambda_i e_i^2`. This module is
NumPy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from momentumlab._src.checks import (
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_per_step,
    check_step_values,
    check_type,
)
from momentumlab.theory._quadratic import LeastSquares, _reshaped

Array = npt.NDArray[np.float64]

#: The methods :func:`predict_curve` predicts (named as their MXNet optimizers).
CURVE_METHODS = ("aggmo", "lookahead", "nag", "qhm", "sgd", "sgd_schedule_free", "sgd_torch")
#: The inner optimizers of ``lookahead`` that :func:`predict_curve` predicts.
LOOKAHEAD_INNER = ("aggmo", "nag", "qhm", "sgd", "sgd_schedule_free", "sgd_torch")


@dataclass(frozen=True)
class PredictedCurve:
    """The predicted full-batch loss after every update.

    Attributes:
        losses: ``(n_steps + 1,)``, entry 0 the initial loss.
        mode_errors: ``(n_steps + 1, n_outputs, p)``, the error of the (evaluated) parameters
            along each eigenvector of the Hessian (``problem.eigenvectors``), per output.
        eigenvalues: the Hessian's eigenvalues, ``(p,)`` (the axis of the modes).
    """

    losses: Array
    mode_errors: Array
    eigenvalues: Array

    @property
    def mode_losses(self) -> Array:
        """``(n_steps + 1, p)``: each eigen-direction's share ``0.5 lam_i sum_k e_ki^2`` of the loss."""
        out: Array = 0.5 * self.eigenvalues * np.sum(self.mode_errors**2, axis=1)
        return out


def _betas(betas: Any, name: str) -> Array:
    """AggMo's betas, each in [0, 1); at least one for ``aggmo``."""
    bs = check_array("betas", betas, ndim=1, low=0.0, high=1.0, high_open=True, allow_empty=True)
    if name == "aggmo" and bs.size == 0:
        raise ValueError("betas must be a non-empty sequence of values in [0, 1), got []")
    return bs


def step_matrices(
    optimizer: str,
    eigenvalues: npt.ArrayLike,
    learning_rate: float,
    momentum: float = 0.0,
    *,
    nu: float = 0.7,
    betas: Sequence[float] = (0.0, 0.9, 0.99),
    averaging: float = 1.0,
    inner: str = "sgd",
    alpha: float = 0.5,
    synchronise: bool = False,
) -> Array:
    """The matrix of one update per eigenvalue: ``state' = M state`` (see the module docstring).

    The state is ``(e, v)`` (``sgd``, ``nag``), ``(e, b)`` (``sgd_torch``, ``qhm``),
    ``(e, b_1, ..., b_K)`` (``aggmo``) or ``(z, x)`` (``sgd_schedule_free``, whose averaging
    weight ``c`` of this update is ``averaging``); for ``lookahead`` the inner optimizer's
    state (``(y, z, x)`` for schedule-free SGD) followed by the slow weights' error ``s``,
    and the update is the inner one followed, when ``synchronise``, by Lookahead's
    synchronisation. :func:`predict_curve` multiplies them.

    Args:
        optimizer: one of :data:`CURVE_METHODS`.
        eigenvalues: the Hessian eigenvalues ``lam``, shape ``(p,)``.
        learning_rate: ``eta`` of the update.
        momentum: ``mu`` or ``beta`` of the update.
        nu: QHM's ``nu``.
        betas: AggMo's betas.
        averaging: schedule-free SGD's ``c`` in [0, 1].
        inner: Lookahead's inner optimizer, one of :data:`LOOKAHEAD_INNER`.
        alpha: Lookahead's slow step in (0, 1].
        synchronise: whether this update of ``lookahead`` ends with the synchronisation.

    Returns:
        ``(p, s, s)`` float64 matrices.

    Example:
        >>> import momentumlab as ml
        >>> ml.theory.step_matrices("sgd", [2.0], 0.25, 0.5)[0].tolist()  # [[1 - h, mu], [-h, mu]]
        [[0.5, 0.5], [-0.5, 0.5]]
        >>> sync = ml.theory.step_matrices("lookahead", [2.0], 0.25, alpha=0.5, synchronise=True)
        >>> sync[0].tolist()  # the sgd step on (e, v), then s' = e' = (e' + s) / 2
        [[0.25, 0.0, 0.5], [-0.5, 0.0, 0.0], [0.25, 0.0, 0.5]]
    """
    name = check_choice("optimizer", optimizer, CURVE_METHODS)
    inner_name = check_choice("inner", inner, LOOKAHEAD_INNER)
    a = check_float("alpha", alpha, low=0.0, high=1.0, low_open=True)
    sync = check_bool("synchronise", synchronise)
    if name == "lookahead":
        lam = check_array("eigenvalues", eigenvalues, ndim=(0, 1)).reshape(-1)
        if inner_name == "sgd_schedule_free":
            inside = _schedule_free_weight_form(
                lam, check_float("learning_rate", learning_rate), check_float("momentum", momentum),
                check_float("averaging", averaging, low=0.0, high=1.0),
            )  # fmt: skip
        else:
            inside = step_matrices(inner_name, lam, learning_rate, momentum, nu=nu, betas=betas)
        size = inside.shape[-1] + 1
        full = np.zeros((lam.size, size, size))
        full[:, :-1, :-1] = inside
        full[:, -1, -1] = 1.0
        out_la: Array = synchronisation(size, a) @ full if sync else full
        return out_la
    lam = check_array("eigenvalues", eigenvalues, ndim=(0, 1)).reshape(-1)
    eta, mu = check_float("learning_rate", learning_rate), check_float("momentum", momentum)
    nu_ = check_float("nu", nu)
    bs = _betas(betas, name)
    c = check_float("averaging", averaging, low=0.0, high=1.0)
    h = eta * lam
    one, zero = np.ones_like(lam), np.zeros_like(lam)
    rows: list[list[Array]]
    if name == "sgd":  # v' = mu v - h e; e' = e + v'
        rows = [[1 - h, mu * one], [-h, mu * one]]
    elif name == "nag":  # e' = (1 - (1+mu) h) e + mu^2 v; v' = mu v - h e
        rows = [[1 - (1 + mu) * h, mu * mu * one], [-h, mu * one]]
    elif name == "sgd_torch":  # b' = mu b + lam e; e' = e - eta b'
        rows = [[1 - h, -eta * mu * one], [lam, mu * one]]
    elif name == "qhm":  # b' = beta b + (1-beta) lam e; e' = e - eta ((1-nu) lam e + nu b')
        rows = [[1 - h * (1 - nu_ + nu_ * (1 - mu)), -eta * nu_ * mu * one], [(1 - mu) * lam, mu * one]]
    elif name == "aggmo":  # b_i' = beta_i b_i + lam e; e' = e - (eta/K) sum b_i'
        k = bs.size
        rows = [[1 - h] + [-(eta / k) * beta * one for beta in bs]]
        for i in range(k):
            rows.append([lam] + [(bs[i] * one if j == i else zero) for j in range(k)])
    else:  # sgd_schedule_free, state (z, x): z' = z - h y, y = (1-beta) z + beta x; x' = (1-c) x + c z'
        zz, zx = 1 - h * (1 - mu), -h * mu
        rows = [[zz, zx], [c * zz, (1 - c) * one + c * zx]]
    out: Array = np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)
    return out


def _schedule_free_weight_form(lam: Array, eta: float, beta: float, c: float) -> Array:
    """Schedule-free SGD with its weights ``y`` kept as a state, ``(y, z, x)``: ``z' = z - h y;
    x' = (1-c) x + c z';  y' = (1-beta) z' + beta x'`` (Lookahead overwrites ``y``)."""
    h, one, zero = eta * lam, np.ones_like(lam), np.zeros_like(lam)
    a = (1 - beta) + beta * c  # y' = a z' + beta (1 - c) x
    rows = [[-a * h, a * one, beta * (1 - c) * one], [-h, one, zero], [-c * h, c * one, (1 - c) * one]]
    out: Array = np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)
    return out


def synchronisation(size: int, alpha: float) -> Array:
    """Lookahead's synchronisation on a state of ``size`` (weights first, slow weights last).

    ``s' = s + alpha (e - s);  e' = s'``; the inner buffers in between are kept.

    Example:
        >>> synchronisation(3, 0.5).tolist()
        [[0.5, 0.0, 0.5], [0.0, 1.0, 0.0], [0.5, 0.0, 0.5]]
    """
    out: Array = np.eye(size)
    out[0, :] = 0.0
    out[0, 0], out[0, -1] = alpha, 1.0 - alpha
    out[-1, :] = out[0, :]
    return out


def state_size(optimizer: str, inner: str = "sgd", n_betas: int = 3) -> int:
    """The length of the state :func:`step_matrices` acts on."""
    if optimizer == "lookahead":
        return 1 + (3 if inner == "sgd_schedule_free" else state_size(inner, n_betas=n_betas))
    return 1 + n_betas if optimizer == "aggmo" else 2


def initial_state(optimizer: str, e: npt.NDArray[Any], inner: str = "sgd", n_betas: int = 3) -> Array:
    """The state before the first update from the error ``e``: buffers 0, averages and slow weights ``e``."""
    state = np.zeros((state_size(optimizer, inner, n_betas), *e.shape))
    state[0] = e
    if optimizer == "sgd_schedule_free" or optimizer == "lookahead":
        state[-1] = e  # x (schedule-free) or the slow weights start at the initial point
    if optimizer == "lookahead" and inner == "sgd_schedule_free":
        state[1] = e  # (y, z, x, s)
        state[2] = e
    return state


def averaging_weights(learning_rates: Array, weight_lr_power: float, r: float) -> Array:
    """Schedule-free SGD's averaging weight ``c_t = t^r lr_max^q / sum_{i<=t} i^r lr_max,i^q`` per update."""
    out = np.empty(learning_rates.size)
    lr_max, weight_sum = 0.0, 0.0
    for t, eta in enumerate(learning_rates):
        lr_max = max(lr_max, float(eta))
        w_t = (t + 1) ** r * lr_max**weight_lr_power
        weight_sum += w_t
        out[t] = w_t / weight_sum if weight_sum > 0 else 0.0
    return out


def family_rate(
    spectrum: npt.ArrayLike,
    optimizer: str,
    learning_rate: float,
    momentum: float = 0.0,
    *,
    nu: float = 0.7,
    betas: Sequence[float] = (0.0, 0.9, 0.99),
) -> float:
    """The linear rate of ``optimizer`` at constant hyperparameters: the largest spectral radius.

    The per-step contraction of the error, ``max over eigenvalues of rho(M(lam))`` for the
    :func:`step_matrices`; for ``sgd`` it equals :func:`rate` (tested). Evaluate it on a
    grid of ``(learning_rate, momentum)`` for the phase diagram of heavy ball, NAG or QHM(nu).
    Schedule-free SGD has no constant rate (its averaging weight changes every step). QHM
    with ``nu = 0`` keeps a buffer that never reaches the error, so its rate is plain GD's.

    Args:
        spectrum: the Hessian eigenvalues (or a :class:`LeastSquares`).
        optimizer: one of :data:`CURVE_METHODS` except ``sgd_schedule_free`` and ``lookahead``.
        learning_rate: ``eta``.
        momentum: ``mu`` / ``beta``.
        nu: QHM's ``nu``.
        betas: AggMo's betas.

    Example:
        >>> import momentumlab as ml
        >>> spec = [1.0, 100.0]
        >>> round(ml.theory.family_rate(spec, "sgd", 2 / 101), 6)
        0.980198
        >>> hb = ml.theory.rate(spec, 0.02, 0.9)  # QHM with nu = 1 is heavy ball at eta (1 - beta)
        >>> abs(ml.theory.family_rate(spec, "qhm", 0.02 / 0.1, 0.9, nu=1.0) - hb) < 1e-9
        True
    """
    name = check_choice("optimizer", optimizer, CURVE_METHODS)
    if name == "lookahead":
        raise ValueError(
            "optimizer must not be 'lookahead' for a rate: its update repeats every k steps, so "
            "it has no constant per-step matrix; got 'lookahead'"
        )
    if name == "sgd_schedule_free":
        raise ValueError(
            "optimizer must not be 'sgd_schedule_free' for a rate: its averaging weight changes "
            "every step, so it has no constant rate; got 'sgd_schedule_free'"
        )
    lam = (
        spectrum.eigenvalues
        if isinstance(spectrum, LeastSquares)
        else check_array("spectrum", spectrum, ndim=(0, 1)).reshape(-1)
    )
    if name == "qhm" and nu == 0:  # the buffer never feeds the error: the rate is plain GD's
        name, momentum = "sgd", 0.0
    mats = step_matrices(name, lam, learning_rate, momentum, nu=nu, betas=betas)
    return float(np.max(np.abs(np.linalg.eigvals(mats))))


def predict_curve(
    problem: LeastSquares,
    optimizer: str,
    learning_rates: Sequence[float] | npt.ArrayLike,
    *,
    weight: npt.ArrayLike,
    bias: npt.ArrayLike | None = None,
    momentum: float | Sequence[float] | npt.ArrayLike = 0.0,
    nu: float | Sequence[float] | npt.ArrayLike = 0.7,
    betas: Sequence[float] = (0.0, 0.9, 0.99),
    weight_lr_power: float = 2.0,
    r: float = 0.0,
    at_evaluation_point: bool = False,
    inner: str = "sgd",
    k: int = 5,
    alpha: float = 0.5,
) -> PredictedCurve:
    r"""The exact full-batch loss of ``optimizer`` from ``(weight, bias)`` under any schedule.

    Full-batch training (every update uses the gradient of the whole data set, the mean
    ``L2Loss`` of ``problem``) with learning rate ``learning_rates[t]`` at update ``t`` and,
    for the momentum methods, ``momentum`` (and QHM's ``nu``) either fixed or given per update.
    The prediction is the product of one small matrix per eigenvalue and update (see the
    module docstring), so it holds along the whole curve, not only its rate; a float64
    full-batch run matches it to rounding (tested to 1e-6 relative).

    Args:
        problem: the :class:`LeastSquares` of the data.
        optimizer: one of :data:`CURVE_METHODS`.
        learning_rates: the rate of every update (its length is the number of updates).
        weight: initial weights, ``(n_outputs, n_features)``.
        bias: initial biases ``(n_outputs,)`` (required with a bias).
        momentum: ``mu`` (``sgd``, ``nag``, ``sgd_torch``) or ``beta`` (``qhm``,
            ``sgd_schedule_free``); a float or one value per update (Demon: ``sgd`` with
            its decayed momenta, see :func:`momentumlab.optim.demon_momentum`).
        nu: QHM's ``nu``, a float or one value per update.
        betas: AggMo's ``beta_i``.
        weight_lr_power: schedule-free SGD's ``q``.
        r: schedule-free SGD's ``r``.
        at_evaluation_point: for ``sgd_schedule_free``, the loss at the average ``x``
            (``True``) instead of the training point ``y``.
        inner: for ``lookahead``, its inner optimizer (one of :data:`LOOKAHEAD_INNER`), whose
            hyperparameters are ``momentum``, ``nu``, ``betas``, ``weight_lr_power`` and ``r``;
            the loss is at the (fast) weights, where a run of Lookahead is evaluated.
        k: Lookahead's synchronisation period (after updates ``k``, ``2k``, ...).
        alpha: Lookahead's slow step in (0, 1].

    Returns:
        The :class:`PredictedCurve`.

    Raises:
        ValueError: for an unknown method, values out of range or lengths that disagree.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> q = ml.theory.least_squares((np.array([[1.0], [-1.0]]), np.array([1.0, -1.0])), use_bias=False)
        >>> c = ml.theory.predict_curve(q, "sgd", [0.5, 0.5], weight=[[0.0]], momentum=0.5)
        >>> c.losses.round(6).tolist()  # e: -1 -> -0.5 -> -0.0 (v = 0.5, then 0.25 + 0.25)
        [0.5, 0.125, 0.0]
    """
    name = check_choice("optimizer", optimizer, CURVE_METHODS)
    check_type("problem", problem, LeastSquares, "a momentumlab.theory.LeastSquares")
    lrs = check_array("learning_rates", learning_rates, ndim=1, allow_empty=True)
    n = lrs.size
    check_step_values("learning_rates", lrs, low=0.0)
    at_x = check_bool("at_evaluation_point", at_evaluation_point)
    moms = check_per_step("momentum", momentum, n, low=0.0, high=1.0, high_open=True)
    nus = check_per_step("nu", nu, n, low=0.0, high=1.0)
    bs = _betas(betas, name)
    q_power = check_float("weight_lr_power", weight_lr_power, low=0.0)
    r_power = check_float("r", r, low=0.0)
    inner_name, period, a = _lookahead_arguments(name, inner, k, alpha)
    if name == "lookahead" and at_x:
        raise ValueError(
            "at_evaluation_point must be False for lookahead (its runs are evaluated at the fast "
            "weights), got True"
        )
    free = name == "sgd_schedule_free" or inner_name == "sgd_schedule_free"

    w = _reshaped("weight", weight, problem.weight.shape)
    if problem.use_bias:
        if bias is None:
            raise ValueError("bias must be given for a problem with a bias (use_bias=True), got None")
        b = _reshaped("bias", bias, problem.bias.shape)
        err = np.hstack([w - problem.weight, (b - problem.bias)[:, None]])
    else:
        err = w - problem.weight
    lam = problem.eigenvalues
    e = err @ problem.eigenvectors  # (m, p): error along each eigenvector

    state = initial_state(name, e, inner_name, bs.size)
    cs = averaging_weights(lrs, q_power, r_power) if free else np.ones(n)
    errors = [e.copy()]
    for t in range(n):
        eta, mu, c = float(lrs[t]), float(moms[t]), float(cs[t])
        mats = step_matrices(
            name, lam, eta, mu, nu=float(nus[t]), betas=tuple(bs.tolist()), averaging=c,
            inner=inner_name, alpha=a, synchronise=(t + 1) % period == 0,
        )  # fmt: skip
        state = np.einsum("pab,bkp->akp", mats, state)
        if name == "sgd_schedule_free":
            point = state[1] if at_x else (1 - mu) * state[0] + mu * state[1]
        else:
            point = state[0]
        errors.append(point.copy())
    modes: Array = np.array(errors, dtype=np.float64)
    losses = problem.optimal_loss + 0.5 * np.einsum("tkp,p->t", modes**2, lam)
    return PredictedCurve(losses=losses, mode_errors=modes, eigenvalues=lam.copy())


def _lookahead_arguments(name: str, inner: Any, k: Any, alpha: Any) -> tuple[str, int, float]:
    """Lookahead's ``(inner, k, alpha)``, checked for every method (another one ignores them)."""
    inner_name = check_choice("inner", inner, LOOKAHEAD_INNER)
    period = check_int("k", k, low=1)
    a = check_float("alpha", alpha, low=0.0, high=1.0, low_open=True)
    return (inner_name, period, a) if name == "lookahead" else ("sgd", 1, 1.0)
