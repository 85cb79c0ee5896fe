"""``Plan.many``: the plans of K configs equal ``Plan.of`` of each, and share what they share."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import momentumlab as ml
from momentumlab.runner._plan import Plan

N = 50


def same_plan(a: Plan, b: Plan) -> None:
    assert a.config == b.config
    assert (a.n_samples, a.steps_per_epoch, a.record_mask) == (b.n_samples, b.steps_per_epoch, b.record_mask)
    assert a.learning_rates.tobytes() == b.learning_rates.tobytes()
    assert a.learning_rates.dtype == b.learning_rates.dtype == np.float64
    assert (a.momenta is None) == (b.momenta is None)
    if a.momenta is not None and b.momenta is not None:
        assert a.momenta.tobytes() == b.momenta.tobytes()
    assert a.momentum == b.momentum
    assert len(a.orders) == len(b.orders) == a.config.epochs
    assert all(np.array_equal(x, y) for x, y in zip(a.orders, b.orders, strict=True))
    assert a.initial_params.keys() == b.initial_params.keys()
    assert all(np.array_equal(a.initial_params[k], b.initial_params[k]) for k in a.initial_params)
    assert a.noise_seed.entropy == b.noise_seed.entropy
    assert a.noise_seed.spawn_key == b.noise_seed.spawn_key
    for arr in (a.learning_rates, *a.orders, *a.initial_params.values()):
        assert not arr.flags.writeable


def configs() -> list[ml.RunConfig]:
    base = ml.RunConfig(batch_size=8, epochs=3, period=8)
    decay = ml.optim.PerEpoch(ml.optim.EpochDecay(init_value=0.2, factor=0.5, after_epoch=1))
    return [
        base,
        dataclasses.replace(base, learning_rate=0.05, momentum=0.9, seed=3),
        dataclasses.replace(base, learning_rate=0.05, momentum=0.5, seed=3),
        dataclasses.replace(base, learning_rate=decay, momentum=ml.optim.cosine_decay(0.9, 10), seed=1),
        dataclasses.replace(base, learning_rate=decay, shuffle=False, seed=2),
        dataclasses.replace(base, learning_rate=lambda t: 0.1 / (1 + t), momentum=None, optimizer="sgd"),
    ]


def test_many_equals_of_for_every_config() -> None:
    params = {"w": np.arange(3, dtype=np.float32)}
    cs = configs()
    many = Plan.many(cs, N, [params] * len(cs))
    assert len(many) == len(cs)
    for plan, c in zip(many, cs, strict=True):
        same_plan(plan, Plan.of(c, N, params))


def test_many_shares_the_arrays_configs_share() -> None:
    cs = configs()
    params = {"w": np.zeros(2, dtype=np.float32)}
    plans = Plan.many(cs, N, lambda c: params)
    assert plans[1].learning_rates is plans[2].learning_rates  # one learning rate
    assert plans[3].learning_rates is plans[4].learning_rates  # one schedule object
    assert plans[1].orders is plans[2].orders  # one seed
    assert plans[0].initial_params is plans[5].initial_params  # one mapping
    assert plans[1].momenta is not plans[2].momenta
    params["w"][0] = 7.0  # the plans hold their own copy
    assert plans[0].initial_params["w"][0] == 0.0


def test_zero_and_negative_zero_are_not_shared() -> None:
    base = ml.RunConfig(epochs=1, optimizer="sgd")
    a, b = Plan.many(
        [dataclasses.replace(base, momentum=0.0), dataclasses.replace(base, momentum=-0.0)], N, [{}, {}]
    )
    assert a.momenta is not None
    assert b.momenta is not None
    assert np.signbit(b.momenta).all()
    assert not np.signbit(a.momenta).any()


def test_many_raises_for_the_first_config_with_a_bad_value() -> None:
    base = ml.RunConfig(epochs=2, batch_size=10)
    good = dataclasses.replace(base, learning_rate=0.1)
    bad_lr = dataclasses.replace(base, learning_rate=ml.optim.linear_schedule(0.1, -0.1, 4))
    bad_mom = dataclasses.replace(base, momentum=ml.optim.linear_schedule(0.5, 1.5, 4))
    with pytest.raises(
        ValueError, match=r"momentum must be a finite number in \[0.0, 1.0\) at every step, got 1.0 at step 2"
    ):
        Plan.many([good, bad_mom, bad_lr], N, [{}] * 3)
    with pytest.raises(
        ValueError, match=r"learning_rate must be a finite number >= 0.0 at every step, got -0.05 at step 3"
    ):
        Plan.many([good, bad_lr, bad_mom], N, [{}] * 3)
    with pytest.raises(TypeError, match=r"configs\[1\] must be a RunConfig"):
        Plan.many([good, "x"], N, [{}] * 2)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="n_samples"):
        Plan.many([good], 0, [{}])


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**31 - 1])
def test_seed_streams_are_the_spawned_children(seed: int) -> None:
    from momentumlab.runner._plan import seed_streams

    init_ss, shuffle_ss = np.random.SeedSequence(seed).spawn(2)
    init_rng, shuffle_rng = seed_streams(seed)
    assert np.array_equal(init_rng.standard_normal(5), np.random.default_rng(init_ss).standard_normal(5))
    assert np.array_equal(shuffle_rng.permutation(20), np.random.default_rng(shuffle_ss).permutation(20))
    orders = ml.batch_orders(ml.RunConfig(epochs=2, seed=seed), 20)
    rng = np.random.default_rng(shuffle_ss)
    assert [o.tolist() for o in orders] == [rng.permutation(20).tolist() for _ in range(2)]
