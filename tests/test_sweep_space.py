"""Sweep points: grid, random search, nested fields and validation before anything runs."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import momentumlab as ml

BASE = ml.RunConfig.chapter()


def test_grid_is_the_product_with_seeds_fastest() -> None:
    pts = ml.sweep.grid(BASE, {"learning_rate": [0.1, 0.2, 0.3], "momentum": [0.0, 0.9]}, seeds=[5, 6])
    assert len(pts) == 12
    assert [p.config.seed for p in pts[:4]] == [5, 6, 5, 6]
    assert [p.config.momentum for p in pts[:4]] == [0.0, 0.0, 0.9, 0.9]
    assert pts[-1].changes == (("learning_rate", 0.3), ("momentum", 0.9), ("seed", 6))
    # every point is the base with the changes replaced, nothing else
    for p in pts:
        assert p.config == dataclasses.replace(BASE, **dict(p.changes))


@settings(max_examples=25, deadline=None)
@given(
    lrs=st.lists(st.floats(1e-4, 1.0), min_size=1, max_size=4),
    moms=st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 0.99)), min_size=1, max_size=3),
    n_seeds=st.integers(1, 3),
)
def test_grid_size_law(lrs: list[float], moms: list[float], n_seeds: int) -> None:
    pts = ml.sweep.grid(BASE, {"learning_rate": lrs, "momentum": moms}, seeds=list(range(n_seeds)))
    assert len(pts) == len(lrs) * len(moms) * n_seeds


def test_nested_schedule_field_replaces_the_frozen_value() -> None:
    axes: dict[str, list[float]] = {
        "learning_rate.schedule.factor": [0.5, 1.0],
        "learning_rate.schedule.after_epoch": [0],
    }
    pts = ml.sweep.grid(BASE, axes)
    assert [p.config.learning_rate for p in pts] == [
        ml.optim.PerEpoch(ml.optim.EpochDecay(init_value=0.2, factor=0.5, after_epoch=0)),
        ml.optim.PerEpoch(ml.optim.EpochDecay(init_value=0.2, factor=1.0, after_epoch=0)),
    ]
    assert BASE.learning_rate == ml.optim.PerEpoch(ml.optim.EpochDecay(init_value=0.2))  # untouched
    assert ml.sweep.field_value(pts[0].config, "learning_rate.schedule.factor") == 0.5


def test_hyperparameter_field() -> None:
    (p,) = ml.sweep.grid(BASE, {"hyperparameters.clip_gradient": [1.0]})
    assert p.config.hyperparameter_dict() == {"clip_gradient": 1.0}
    assert ml.sweep.field_value(p.config, "hyperparameters.clip_gradient") == 1.0


@pytest.mark.parametrize(
    ("axes", "error", "match"),
    [
        ({"lr": [0.1]}, ValueError, "unknown field 'lr'"),
        ({"schedule.factor": [0.1]}, ValueError, "unknown field 'schedule.factor'"),
        ({"learning_rate.schedule.factr": [0.1]}, ValueError, "factr is not a parameter of EpochDecay"),
        ({"momentum.x": [0.1]}, ValueError, "momentum is 0.9, which has no parameter 'x'"),
        ({"momentum": [0.5, 1.5]}, ValueError, r"momentum must be in \[0.0, 1.0\), got 1.5"),
        (
            {"learning_rate.schedule.factor": [0.0]},
            ValueError,
            r"learning_rate.schedule.factor=0.0.*factor must be in \(0.0, 1.0\]",
        ),
        ({"batch_size": [0]}, ValueError, "batch_size must be an integer >= 1, got 0"),
        ({"batch_size": [2.5]}, TypeError, "batch_size must be an integer"),
        ({"momentum": []}, ValueError, r"grid\['momentum'\] must hold at least one value"),
        ({"momentum": 0.5}, TypeError, r"grid\['momentum'\] must be a sequence"),
        ({"optimizer": ["sgd", "nosuch"]}, ValueError, "optimizer must be one of"),
    ],
)
def test_bad_fields_and_values_are_named(axes: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        ml.sweep.grid(BASE, axes)  # type: ignore[arg-type]


def test_combination_errors_are_caught_before_running() -> None:
    # momentum 0.9 is fine alone and adam is fine alone, but not together
    with pytest.raises(ValueError, match="momentum must be None for optimizer 'adam'"):
        ml.sweep.grid(BASE, {"optimizer": ["sgd", "adam"], "momentum": [0.9]})


def test_nested_field_of_a_constant_learning_rate() -> None:
    base = dataclasses.replace(BASE, learning_rate=0.1)
    with pytest.raises(ValueError, match=r"learning_rate\.schedule cannot be swept: learning_rate is 0.1"):
        ml.sweep.grid(base, {"learning_rate.schedule.factor": [0.5]})


def test_seeds_validation() -> None:
    with pytest.raises(ValueError, match="seeds must be distinct"):
        ml.sweep.grid(BASE, {"momentum": [0.5]}, seeds=[1, 1])
    with pytest.raises(ValueError, match="seeds must be None when 'seed' is also a sweep field"):
        ml.sweep.grid(BASE, {"seed": [0, 1]}, seeds=[1])
    with pytest.raises(ValueError, match=r"seeds\[0\] must be an integer >= 0, got -1"):
        ml.sweep.grid(BASE, {"momentum": [0.5]}, seeds=[-1])


def test_random_search_is_reproducible_and_in_bounds() -> None:
    space: dict[str, ml.sweep.Uniform | ml.sweep.IntUniform | list[int]] = {
        "learning_rate": ml.sweep.Uniform(low=1e-3, high=0.5, log=True),
        "momentum": ml.sweep.Uniform(low=0.0, high=0.99),
        "batch_size": [10, 20],
        "epochs": ml.sweep.IntUniform(low=1, high=3),
    }
    base = dataclasses.replace(BASE, period=20)
    a = ml.sweep.random_search(base, space, n_points=30, seed=7, seeds=[0, 1])
    b = ml.sweep.random_search(base, space, n_points=30, seed=7, seeds=[0, 1])
    c = ml.sweep.random_search(base, space, n_points=30, seed=8, seeds=[0, 1])
    assert a == b
    assert a != c
    assert len(a) == 60
    lrs = np.array([p.config.learning_rate for p in a])
    assert lrs.min() >= 1e-3
    assert lrs.max() < 0.5
    assert {p.config.batch_size for p in a} == {10, 20}
    assert {p.config.epochs for p in a} <= {1, 2, 3}
    assert all(isinstance(p.config.epochs, int) for p in a)


def test_log_uniform_spreads_over_decades() -> None:
    rng = np.random.default_rng(0)
    d = ml.sweep.Uniform(low=1e-4, high=1.0, log=True)
    x = np.log10([d.sample(rng) for _ in range(4000)])
    counts = np.histogram(x, bins=4, range=(-4, 0))[0]
    assert counts.min() > 800  # about 1000 per decade; a linear draw puts ~90 % in the last one


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ml.sweep.Uniform(low=0.0, high=1.0, log=True), r"low must be > 0.0"),
        (lambda: ml.sweep.Uniform(low=1.0, high=1.0), r"high must be > 1.0"),
        (lambda: ml.sweep.IntUniform(low=3, high=2), r"high must be an integer >= 3"),
        (lambda: ml.sweep.Choice(()), "values must hold at least one value"),
    ],
)
def test_distribution_validation(make: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()  # type: ignore[operator]


def test_random_search_rejects_bad_space() -> None:
    with pytest.raises(TypeError, match=r"space\['momentum'\] must be a Uniform"):
        ml.sweep.random_search(BASE, {"momentum": 0.5}, n_points=2, seed=0)  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="n_points must be an integer >= 1, got 0"):
        ml.sweep.random_search(BASE, {"momentum": [0.5]}, n_points=0, seed=0)
    with pytest.raises(ValueError, match="momentum must be in"):
        ml.sweep.random_search(BASE, {"momentum": ml.sweep.Uniform(low=0.5, high=2.0)}, n_points=20, seed=0)


def test_int_log_uniform_stays_in_range() -> None:
    rng = np.random.default_rng(1)
    d = ml.sweep.IntUniform(low=1, high=1000, log=True)
    xs = [d.sample(rng) for _ in range(2000)]
    assert min(xs) >= 1
    assert max(xs) <= 1000
    assert math.isclose(np.mean(np.log(xs)), np.log(1000) / 2, rel_tol=0.15)
