"""Neutral defaults: any registered optimizer and any batch size train from ``RunConfig()``."""

from __future__ import annotations

import dataclasses

import mxnet as mx
import numpy as np
import pytest

import momentumlab as ml

DATA = ml.data.make_linear_regression(n_samples=96, seed=0)
N = DATA.n_samples


def test_defaults_are_neutral() -> None:
    config = ml.RunConfig()
    assert config.learning_rate == 0.01  # a constant: no hidden decay
    assert config.momentum is None
    assert config.plateau is None
    result = ml.train(dataclasses.replace(config, epochs=10), DATA)
    assert np.all(result.learning_rates == 0.01)  # the same rate in the last epoch as in the first
    assert np.all(result.momenta == 0.0)  # plain SGD: MXNet's own default momentum


@pytest.mark.parametrize("optimizer", ml.optim.trainable_optimizers())
@pytest.mark.parametrize("batch_size", [1, 7, 32, N])
def test_every_optimizer_and_batch_size_trains_from_defaults(optimizer: str, batch_size: int) -> None:
    config = ml.RunConfig(optimizer=optimizer, batch_size=batch_size, epochs=1)
    # groupadagrad needs 2-D parameters: a net without a bias
    net = mx.gluon.nn.Dense(1, in_units=2, use_bias=False) if optimizer == "groupadagrad" else None
    result = ml.train(config, DATA, net=net)
    steps = -(-N // batch_size)
    assert result.n_steps == steps
    assert result.learning_rates.shape == (steps,)
    assert result.losses.size == 1 + min(steps, 100)  # a record after every update (cap 100)
    assert np.isfinite(result.final_loss)


def test_chapter_preset_is_the_chapter() -> None:
    c = ml.RunConfig.chapter()
    assert (c.batch_size, c.momentum, c.epochs, c.period, c.init_sigma) == (10, 0.9, 3, 10, 1.0)
    assert c.max_records_per_epoch is None
    result = ml.train(c, ml.data.make_linear_regression(seed=0))
    lrs = result.learning_rates.reshape(3, 100)
    assert lrs[0, 0] == lrs[1, -1] == 0.2
    assert lrs[2, 0] == 0.2 * 0.1
    assert result.losses.size == 301
    # a number overrides the base of the decay; a schedule replaces the learning rate
    assert ml.RunConfig.chapter(learning_rate=0.5).learning_rate == ml.optim.PerEpoch(
        ml.optim.EpochDecay(init_value=0.5, factor=0.1, after_epoch=2)
    )
    cosine = ml.optim.cosine_decay(0.2, 300)
    assert ml.RunConfig.chapter(learning_rate=cosine).learning_rate == cosine


@pytest.mark.parametrize(("batch_size", "period"), [(7, 10), (32, 100), (3, 2), (10, 10)])
def test_any_period_records_where_a_multiple_of_it_falls(batch_size: int, period: int) -> None:
    mask = ml.RunConfig(batch_size=batch_size, period=period, max_records_per_epoch=None).record_mask(N)
    expected = [
        any(k % period == 0 for k in range(i * batch_size, min((i + 1) * batch_size, N)))
        for i in range(len(mask))
    ]
    assert mask == expected
