"""scikit-learn's bundled data sets (read from its package files; nothing is downloaded)."""

from __future__ import annotations

from typing import Any

import numpy as np

from momentumlab._src.types import Array

INSTALL_HINT = 'pip install -e ".[datasets]" in the momentumlab checkout'

#: The loaders used, each reading CSV files that ship inside scikit-learn (no network).
_LOADERS = {
    "diabetes": ("load_diabetes", {"scaled": False}),
    "breast_cancer": ("load_breast_cancer", {}),
    "digits": ("load_digits", {}),
}


def load_bundled(name: str, problem: str) -> tuple[Array, Array]:
    """``(X, y)`` of one of scikit-learn's bundled data sets as float64 / original labels.

    Raises:
        ImportError: when scikit-learn is not installed; the message says what to install.
    """
    try:
        from sklearn import datasets
    except ImportError as err:
        raise ImportError(
            f"problem {problem!r} needs scikit-learn (the optional extra 'datasets'): {INSTALL_HINT}"
        ) from err
    func, kwargs = _LOADERS[name]
    loaded: Any = getattr(datasets, func)(return_X_y=True, **kwargs)
    X, y = loaded
    return np.asarray(X, dtype=np.float64), np.asarray(y)


def split(
    X: Array, y: Array, *, heldout_fraction: float, seed: int
) -> tuple[tuple[Array, Array], tuple[Array, Array]]:
    """Seeded random split into ``(train, heldout)``; each keeps at least one example."""
    n = X.shape[0]
    n_held = min(max(1, round(n * heldout_fraction)), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    held, train = order[:n_held], order[n_held:]
    return (X[train], y[train]), (X[held], y[held])


def standardize(train: Array, *others: Array) -> tuple[Array, ...]:
    """Centre and scale by the training split's mean and standard deviation only.

    Columns that are constant in the training split are centred and left unscaled.
    """
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return tuple((a - mean) / std for a in (train, *others))
