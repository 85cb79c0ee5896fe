"""A seeded binary-classification generator with a chosen margin and label noise."""

from __future__ import annotations

from typing import Any

import numpy as np

from momentumlab._src.checks import as_generator, check_float, check_int, check_overflow
from momentumlab._src.types import Seed
from momentumlab.data._arrays import ArrayData


def make_logistic(
    n_samples: int = 500,
    *,
    n_features: int = 2,
    margin: float = 0.0,
    label_noise: float = 0.0,
    seed: Seed = None,
) -> ArrayData:
    r"""Two Gaussian half-spaces for logistic regression, with a margin and flipped labels.

    A unit normal :math:`w^\star` is drawn, then the features :math:`x \sim \mathcal N(0, I)`;
    every point is pushed ``margin`` further from the hyperplane :math:`w^{\star\top} x = 0`
    (:math:`x \leftarrow x + \text{margin}\cdot\operatorname{sign}(w^{\star\top}x)\,w^\star`), so
    the clean classes are separated by a gap of ``2 * margin``. The label is
    :math:`[w^{\star\top}x > 0]`, flipped independently with probability ``label_noise``.

    What it is for: with ``label_noise=0`` and ``margin>0`` the data are separable, the
    logistic loss has no finite minimiser and the weights grow without bound (the implicit-bias
    regime); with label noise the minimiser is finite and the best accuracy is about
    ``1 - label_noise``.

    Args:
        n_samples: number of examples, >= 1.
        n_features: dimension, >= 1.
        margin: half-width of the empty band around the separating hyperplane, >= 0.
        label_noise: probability of flipping each label, in [0, 0.5].
        seed: an int, a ``numpy.random.Generator`` or ``None``; no global RNG is used.

    Returns:
        An :class:`ArrayData` with ``n_classes=2`` and 0/1 labels; the description records
        ``true_weight``.

    Raises:
        ValueError: for out-of-range arguments.

    Example:
        >>> import momentumlab as ml
        >>> d = ml.data.make_logistic(100, margin=0.5, seed=0)
        >>> d.n_classes, sorted(set(d.numpy()[1].tolist()))
        (2, [0.0, 1.0])
    """
    n = check_int("n_samples", n_samples, low=1)
    d = check_int("n_features", n_features, low=1)
    gap = check_float("margin", margin, low=0.0)
    flip = check_float("label_noise", label_noise, low=0.0, high=0.5)
    rng = as_generator(seed)
    w = rng.standard_normal(d)
    w /= np.linalg.norm(w)
    X = rng.standard_normal((n, d))
    side = np.where(X @ w >= 0.0, 1.0, -1.0)
    X += gap * side[:, None] * w[None, :]
    check_overflow("features", {"margin": (margin, X)})
    y = (side > 0).astype(np.float32)
    flips = rng.random(n) < flip
    y[flips] = 1.0 - y[flips]
    description: dict[str, Any] = {
        "generator": "make_logistic",
        "n_samples": n,
        "n_features": d,
        "margin": gap,
        "label_noise": flip,
        "seed": seed if isinstance(seed, int) else None,
        "true_weight": w.tolist(),
    }
    return ArrayData(
        X.astype(np.float32),
        y,
        n_classes=2,
        description=description,
    )
