"""``train_many`` against one ``train`` run per configuration."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import momentumlab as ml
from tests.test_fast_path import assert_close_params


def _configs(base: ml.RunConfig, k: int, *, seeds: int, rng_seed: int = 0) -> list[ml.RunConfig]:
    rng = np.random.default_rng(rng_seed)
    return [
        dataclasses.replace(
            base,
            learning_rate=ml.optim.PerEpoch(
                ml.optim.EpochDecay(
                    init_value=float(rng.uniform(0.01, 0.4)),
                    factor=float(rng.uniform(0.05, 1.0)),
                    after_epoch=int(rng.integers(0, 3)),
                )
            ),
            momentum=float(rng.choice([0.0, 0.5, 0.9, 0.99])),
            seed=int(rng.integers(0, seeds)),
            weight_decay=float(rng.choice([0.0, 0.01])),
        )
        for _ in range(k)
    ]


def _check_against_train(
    configs: list[ml.RunConfig], problem: ml.problems.Problem | ml.data.LinearData
) -> None:
    many = ml.train_many(configs, problem)
    assert len(many) == len(configs)
    for config, result in zip(configs, many, strict=True):
        alone = ml.train(config, problem)
        assert result.engine == "numpy-batched"
        assert alone.engine == "numpy"
        assert result.config is config
        assert result.weight is not None
        assert alone.weight is not None
        assert result.bias is not None
        assert alone.bias is not None
        assert_close_params(result.weight, alone.weight)
        assert_close_params(result.bias, alone.bias)
        assert result.diverged == alone.diverged
        assert result.n_steps == alone.n_steps
        assert result.epochs_completed == alone.epochs_completed
        np.testing.assert_array_equal(result.record_steps, alone.record_steps)
        np.testing.assert_array_equal(result.learning_rates, alone.learning_rates)
        np.testing.assert_array_equal(result.momenta, alone.momenta)
        if not alone.diverged:
            np.testing.assert_allclose(result.losses, alone.losses, rtol=5e-4)
            np.testing.assert_allclose(result.metrics, alone.metrics, rtol=5e-4)


def test_train_many_matches_train_with_distinct_seeds() -> None:
    data = ml.data.make_linear_regression(n_samples=300, seed=0)
    _check_against_train(_configs(ml.RunConfig.chapter(epochs=3), 12, seeds=50), data)


def test_train_many_matches_train_with_a_shared_seed_and_a_record_cap() -> None:
    data = ml.data.make_linear_regression(n_samples=250, seed=1)
    _check_against_train(_configs(ml.RunConfig.chapter(epochs=2, max_records_per_epoch=5), 8, seeds=1), data)


def test_train_many_without_shuffling_and_with_a_heldout_metric() -> None:
    problem = ml.problems.linear_problem(
        ml.data.make_linear_regression(n_samples=200, seed=2),
        heldout=ml.data.make_linear_regression(n_samples=60, seed=3),
    )
    _check_against_train(
        _configs(ml.RunConfig.chapter(epochs=2, shuffle=False, batch_size=8, period=16), 6, seeds=4), problem
    )


def test_train_many_multi_output_and_wide_batches() -> None:
    rng = np.random.default_rng(5)
    data = ml.data.make_linear_regression(
        n_samples=150, weight=rng.standard_normal((2, 60)), bias=[0.3, -0.2], seed=6
    )
    base = ml.RunConfig.chapter(epochs=2, batch_size=20, period=40)
    configs = [
        ml.sweep.apply_changes(
            c,
            {
                "learning_rate.schedule.init_value": 0.05
                * ml.sweep.field_value(c, "learning_rate.schedule.init_value")
            },
        )
        for c in _configs(base, 5, seeds=3)
    ]
    _check_against_train(configs, data)


def test_train_many_matches_the_gluon_path() -> None:
    data = ml.data.make_linear_regression(n_samples=200, seed=7)
    configs = _configs(ml.RunConfig.chapter(epochs=2), 3, seeds=10, rng_seed=3)
    for config, result in zip(configs, ml.train_many(configs, data), strict=True):
        gluon = ml.train(config, data, engine="gluon")
        assert result.weight is not None
        assert gluon.weight is not None
        assert_close_params(result.weight, gluon.weight)
        np.testing.assert_allclose(result.losses, gluon.losses, rtol=5e-4)


def test_one_diverging_config_stops_alone() -> None:
    data = ml.data.make_linear_regression(n_samples=100, seed=1)
    base = ml.RunConfig(
        batch_size=10,
        learning_rate=0.2,
        momentum=0.9,
        period=10,
        init_sigma=1.0,
        max_records_per_epoch=None,
        epochs=4,
    )
    configs = [base, dataclasses.replace(base, learning_rate=50.0), dataclasses.replace(base, seed=3)]
    results = ml.train_many(configs, data)
    assert [r.diverged for r in results] == [False, True, False]
    _check_against_train(configs, data)


@pytest.mark.parametrize(
    ("configs", "reason"),
    [
        ([], "configs is empty"),
        ([ml.RunConfig.chapter(), ml.RunConfig.chapter(batch_size=20, period=20)], "batch_size"),
        ([ml.RunConfig.chapter(), ml.RunConfig.chapter(epochs=2)], "epochs"),
        ([ml.RunConfig.chapter(optimizer="adam", momentum=None)], "optimizer"),
        ([ml.RunConfig.chapter(batch_size=200, period=200)], "exceeds"),
    ],
)
def test_can_train_many_refuses_with_a_reason(configs: list[ml.RunConfig], reason: str) -> None:
    data = ml.data.make_linear_regression(n_samples=100, seed=0)
    assert not ml.can_train_many(configs, data)
    with pytest.raises(ValueError, match=f"configs must be trainable as one batch.*{reason}"):
        ml.train_many(configs, data)


def test_train_many_type_errors() -> None:
    with pytest.raises(TypeError, match="problem_or_data must be"):
        ml.train_many([ml.RunConfig.chapter()], "data")  # type: ignore[arg-type]
    data = ml.data.make_linear_regression(n_samples=20, seed=0)
    assert not ml.can_train_many(["x"], data)  # type: ignore[list-item]


def test_custom_initialiser_is_drawn_per_seed_as_train_draws_it() -> None:
    data = ml.data.make_linear_regression(n_samples=50, seed=0)
    base = ml.problems.linear_problem(data)
    problem = dataclasses.replace(
        base, init_params=lambda net, rng: ml.models.init_normal(net, sigma=3.0, seed=rng)
    )
    configs = [ml.RunConfig.chapter(seed=s, epochs=1) for s in (0, 1, 0)]
    assert ml.can_train_many(configs, problem)
    many = ml.train_many(configs, problem)
    for config, result in zip(configs, many, strict=True):
        alone = ml.train(config, problem)
        np.testing.assert_array_equal(result.params["dense0_weight"], alone.params["dense0_weight"])
    assert not np.array_equal(many[0].params["dense0_weight"], many[1].params["dense0_weight"])
