"""ml.sweep.quasi_random_search: scrambled Sobol/Halton points cover the space better than random ones."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy.stats import qmc

import momentumlab as ml

SPACE: dict[str, Any] = {
    "learning_rate": ml.sweep.Uniform(low=1e-3, high=1.0, log=True),
    "momentum": ml.sweep.Uniform(low=0.0, high=0.9),
}


def unit(points: tuple[ml.sweep.Point, ...]) -> npt.NDArray[np.float64]:
    """The points mapped back into the unit square (log scale for the learning rate)."""
    lr = np.array([p.config.learning_rate for p in points], dtype=float)
    m = np.array([p.config.momentum for p in points], dtype=float)
    return np.column_stack([np.log(lr / 1e-3) / math.log(1e3), m / 0.9])


@pytest.mark.parametrize("method", ["sobol", "halton"])
def test_quasi_random_points_have_lower_discrepancy_than_random_points(method: str) -> None:
    base = ml.RunConfig()
    quasi = unit(ml.sweep.quasi_random_search(base, SPACE, 64, seed=0, method=method))
    assert quasi.shape == (64, 2)
    assert np.all((quasi >= 0) & (quasi < 1))
    d_quasi = qmc.discrepancy(quasi)
    d_random = [
        qmc.discrepancy(unit(ml.sweep.random_search(base, SPACE, n_points=64, seed=s))) for s in range(5)
    ]
    assert d_quasi < min(d_random)


def test_same_seed_same_points_other_seed_other_points_and_run_seeds_repeat() -> None:
    a = ml.sweep.quasi_random_search(ml.RunConfig(), SPACE, 8, seed=3, seeds=[0, 1])
    assert a == ml.sweep.quasi_random_search(ml.RunConfig(), SPACE, 8, seed=3, seeds=[0, 1])
    assert a != ml.sweep.quasi_random_search(ml.RunConfig(), SPACE, 8, seed=4, seeds=[0, 1])
    assert len(a) == 16
    assert [p.config.seed for p in a[:4]] == [0, 1, 0, 1]
    assert a[0].changes[:2] == a[1].changes[:2]
    assert a[0].changes[-1] == ("seed", 0)


def test_int_and_choice_entries_cover_their_values() -> None:
    space: dict[str, Any] = {
        "batch_size": ml.sweep.IntUniform(low=1, high=4),
        "optimizer": ["sgd", "nag"],
        "epochs": ml.sweep.IntUniform(low=1, high=100, log=True),
    }
    pts = ml.sweep.quasi_random_search(ml.RunConfig(), space, 32, seed=0)
    sizes = [p.config.batch_size for p in pts]
    assert sorted(set(sizes)) == [1, 2, 3, 4]
    assert all(sizes.count(b) == 8 for b in (1, 2, 3, 4))
    assert {p.config.optimizer for p in pts} == {"sgd", "nag"}
    assert all(1 <= p.config.epochs <= 100 for p in pts)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        ml.sweep.quasi_random_search(ml.RunConfig(), SPACE, 4, seed=0, method="lhs")
    with pytest.raises(ValueError, match="n_points must be an integer >= 1, got 0"):
        ml.sweep.quasi_random_search(ml.RunConfig(), SPACE, 0, seed=0)
    with pytest.raises(ValueError, match="unknown field 'lr'"):
        ml.sweep.quasi_random_search(ml.RunConfig(), {"lr": ml.sweep.Uniform(low=0.1, high=1.0)}, 4, seed=0)
    with pytest.raises(TypeError, match=r"space\['momentum'\] must be a Uniform"):
        ml.sweep.quasi_random_search(ml.RunConfig(), {"momentum": 0.5}, 4, seed=0)  # type: ignore[dict-item]
