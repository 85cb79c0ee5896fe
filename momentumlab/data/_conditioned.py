"""Linear-regression problems with a chosen condition number of the training Hessian."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from momentumlab._src.checks import (
    as_generator,
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_overflow,
)
from momentumlab._src.types import Array, Seed
from momentumlab.data._linear import LinearData

SPECTRA = ("geometric", "linear", "outlier", "two-cluster")

#: The largest condition number float32 features hold (to about 1% with ``rotate=True``;
#: beyond it rounding dominates the smallest eigenvalue, and past 1e16 it turns negative).
_MAX_CONDITION_NUMBER = 1e12


def _relative_spectrum(shape: str, p: int, kappa: float) -> Array:
    """``p`` relative eigenvalues in [1/κ, 1], descending, with exact extremes."""
    if p == 1:
        return np.ones(1)
    u = np.linspace(0.0, 1.0, p)
    if shape == "geometric":
        rel = kappa ** (-u)
    elif shape == "linear":
        rel = 1.0 - u * (1.0 - 1.0 / kappa)
    elif shape == "outlier":
        rel = np.ones(p)
    else:  # two-cluster
        rel = np.where(np.arange(p) < (p + 1) // 2, 1.0, 1.0 / kappa)
    rel[0], rel[-1] = 1.0, 1.0 / kappa
    return rel


def _haar(rng: np.random.Generator, p: int) -> Array:
    q, r = np.linalg.qr(rng.standard_normal((p, p)))
    out: Array = q * np.sign(np.diag(r))
    return out


def _unit_bias_entry(H: Array) -> Array:
    """Turn ``H`` in the plane (bias, j) so that its bias diagonal entry is exactly 1.

    Needs ``trace(H) = p``, so some other diagonal entry lies on the other side of 1.
    """
    b = H.shape[0] - 1
    h_bb = H[b, b]
    if np.isclose(h_bb, 1.0, rtol=0.0, atol=1e-15):
        return H
    side = np.sign(h_bb - 1.0)
    cands = [j for j in range(b) if np.sign(H[j, j] - 1.0) == -side]
    j = max(cands, key=lambda k: abs(H[k, k] - 1.0))
    # (G H Gᵀ)_bb = c² h_bb + 2cs h_bj + s² h_jj = 1 with (c, s) = (cos θ, sin θ): in tan θ = u,
    # (h_bb - 1) + 2 h_bj u + (h_jj - 1) u² = 0, with a root in u ∈ (0, ∞) or (-∞, 0).
    roots = np.roots([H[j, j] - 1.0, 2.0 * H[b, j], h_bb - 1.0])
    u = float(np.real(roots[np.argmin(np.abs(np.imag(roots)) + np.abs(roots))]))
    c, s = 1.0 / np.hypot(1.0, u), u / np.hypot(1.0, u)
    G = np.eye(H.shape[0])
    G[b, b], G[b, j], G[j, b], G[j, j] = c, s, -s, c
    out: Array = G @ H @ G.T
    return out


def _design_with_gram(rng: np.random.Generator, n: int, H: Array) -> Array:
    """An ``(n, p)`` matrix ``A`` with ``AᵀA = n H`` and last column exactly ones."""
    p = H.shape[0]
    evals, Q = np.linalg.eigh(H)
    root = Q @ np.diag(np.sqrt(evals)) @ Q.T  # H^{1/2}, symmetric
    c = root[:, -1]  # ‖c‖² = H_bb = 1
    V, _ = np.linalg.qr(np.hstack([np.ones((n, 1)), rng.standard_normal((n, p - 1))]))
    V *= np.sign(V[0, 0])  # first column = +1/√n
    # Householder P with P e1 = c, so U = V P has U c = V e1 = 1/√n.
    e1 = np.zeros(p)
    e1[0] = 1.0
    v = e1 - c
    P = np.eye(p) if np.linalg.norm(v) < 1e-15 else np.eye(p) - 2.0 * np.outer(v, v) / (v @ v)
    U = V @ P
    A: Array = np.sqrt(n) * U @ root
    return A


def make_conditioned_regression(
    n_samples: int = 200,
    n_features: int = 2,
    *,
    condition_number: float,
    spectrum: str = "geometric",
    rotate: bool = True,
    noise: float = 0.0,
    weight: Sequence[float] | Array | None = None,
    bias: float | None = None,
    seed: Seed = None,
) -> LinearData:
    r"""A linear regression whose *training* Hessian has a chosen condition number and spectrum.

    Training with ``L2Loss`` and ``Trainer.step(batch_size)`` minimises a quadratic with
    Hessian :math:`H = A^\top A / n` in the parameters ``(w, b)``, :math:`A = [X, \mathbf 1]`
    (see :func:`momentumlab.theory.hessian`). This generator builds ``X`` so that ``H`` has
    exactly the eigenvalues asked for: ``κ = λ_max/λ_min = condition_number``, shaped by
    ``spectrum`` (``p = n_features + 1`` eigenvalues):

    * ``"geometric"``: evenly spaced in log (``κ^{-k/(p-1)}``),
    * ``"linear"``: evenly spaced,
    * ``"outlier"``: one small eigenvalue, the others equal to the largest,
    * ``"two-cluster"``: half at the top, half at the bottom.

    The bias column forces :math:`H_{bb} = \operatorname{mean}(1\cdot 1) = 1`, so the scale is
    not free:

    * ``rotate=True``: eigenvalues scaled to mean 1 (trace ``p``, like standardised
      features), eigenvectors rotated at random, then turned in one (bias, feature) plane so
      that :math:`H_{bb} = 1`. Features are correlated and not centred, as in real data.
    * ``rotate=False``: :math:`H` is diagonal: features centred and uncorrelated with
      variances equal to the lower ``p - 1`` eigenvalues, the bias direction having the
      largest, 1.

    The labels are :math:`y = X w + b + \sigma\varepsilon` with ``w, b`` drawn from
    :math:`\mathcal N(0, 1)` unless given. Features are stored as float32 and the Hessian of
    the stored values is what :func:`momentumlab.theory.least_squares` reports; float32
    rounding moves κ by well under 1e-6 relative for moderate sizes.

    Args:
        n_samples: examples, >= n_features + 1.
        n_features: features ``d`` >= 1.
        condition_number: κ in [1, 1e12] (float32 features hold no larger one).
        spectrum: one of ``"geometric"``, ``"linear"``, ``"outlier"``, ``"two-cluster"``.
        rotate: rotate the eigenvectors at random (see above).
        noise: standard deviation σ >= 0 of the label noise.
        weight: true weights ``(n_features,)``, or ``None`` to draw them.
        bias: true bias, or ``None`` to draw it.
        seed: an int, a ``numpy.random.Generator`` or ``None``; no global RNG is used.

    Returns:
        A :class:`LinearData` with the truth in ``true_weight``/``true_bias`` and a canonical
        ``description``.

    Raises:
        ValueError: for out-of-range arguments (the message names the parameter).
        TypeError: for arguments of the wrong type.

    Example:
        >>> import momentumlab as ml
        >>> data = ml.data.make_conditioned_regression(200, 3, condition_number=1000.0, seed=0)
        >>> q = ml.theory.least_squares(data)
        >>> round(q.condition_number, 3), round(float(q.hessian[-1, -1]), 6)
        (1000.0, 1.0)
    """
    d = check_int("n_features", n_features, low=1)
    n = check_int("n_samples", n_samples, low=d + 1)
    kappa = check_float("condition_number", condition_number, low=1.0, high=_MAX_CONDITION_NUMBER)
    shape = check_choice("spectrum", spectrum, SPECTRA)
    rot = check_bool("rotate", rotate)
    sigma = check_float("noise", noise, low=0.0)
    p = d + 1
    w_given = None if weight is None else check_array("weight", weight, shape=(d,))
    b_given = None if bias is None else check_float("bias", bias)
    description: dict[str, Any] = {
        "generator": "make_conditioned_regression",
        "n_samples": n,
        "n_features": d,
        "condition_number": kappa,
        "spectrum": shape,
        "rotate": rot,
        "noise": sigma,
        "weight": None if w_given is None else w_given.tolist(),
        "bias": b_given,
        "seed": seed if isinstance(seed, int) else None,
    }
    rng = as_generator(seed)
    rel = _relative_spectrum(shape, p, kappa)
    if rot:
        lam = rel * (p / rel.sum())
        Q = _haar(rng, p)
        H = _unit_bias_entry(Q @ np.diag(lam) @ Q.T)
    else:
        H = np.diag(np.concatenate([rel[1:], rel[:1]]))  # features get the lower eigenvalues
    H = 0.5 * (H + H.T)
    A = _design_with_gram(rng, n, H)
    X = A[:, :d].astype(np.float32)
    w = rng.standard_normal(d) if w_given is None else w_given
    b = float(rng.standard_normal()) if b_given is None else b_given
    eps = rng.standard_normal(n)
    with np.errstate(over="ignore", invalid="ignore"):
        terms = {
            "weight": (weight, X.astype(np.float64) @ w),
            "bias": (bias, b),
            "noise": (sigma, sigma * eps),
        }
        check_overflow("labels", terms)
    y = X.astype(np.float64) @ w + b + sigma * eps
    return LinearData(
        X,
        y.astype(np.float32),
        true_weight=w[None, :].copy(),
        true_bias=np.array([b]),
        noise=sigma,
        description=description,
    )


__all__ = ["SPECTRA", "make_conditioned_regression"]
