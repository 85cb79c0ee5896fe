"""``train`` against the chapter's own loop: bit-identical parameters, losses within 1e-6."""

from __future__ import annotations

import numpy as np
import pytest

import momentumlab as ml
from tests.chapter import chapter_train

CASES = [
    # batch_size, lr, momentum, epochs, period, seed
    (10, 0.2, 0.9, 3, 10, 0),
    (5, 0.05, 0.5, 5, 20, 1),
    (20, 0.3, 0.0, 4, 40, 2),
    (25, 0.1, 0.95, 6, 25, 3),
    (8, 0.02, 0.99, 5, 8, 4),
]


@pytest.mark.parametrize(("batch_size", "lr", "mom", "epochs", "period", "seed"), CASES)
def test_train_matches_chapter_loop_bit_for_bit(
    batch_size: int, lr: float, mom: float, epochs: int, period: int, seed: int
) -> None:
    data = ml.data.make_linear_regression(seed=100 + seed)
    config = ml.RunConfig.chapter(
        batch_size=batch_size,
        learning_rate=lr,
        momentum=mom,
        epochs=epochs,
        period=period,
        seed=seed,
    )
    net = ml.models.LinearRegressor(2)
    ml.models.init_normal(net, sigma=1.0, seed=seed)
    w0, b0 = ml.models.get_linear_params(net)
    result = ml.train(config, data, net=net, initialize=False, engine="gluon")
    orders = ml.batch_orders(config, data.n_samples)
    losses, w, b = chapter_train(
        data.features, data.labels, w0, b0, orders, batch_size, lr, mom, epochs, period
    )
    assert result.weight is not None
    assert result.bias is not None
    np.testing.assert_array_equal(result.weight, w)
    np.testing.assert_array_equal(result.bias, b)
    assert len(result.losses) == len(losses)
    np.testing.assert_allclose(result.losses, losses, rtol=1e-6)


def test_shuffle_false_uses_the_data_order() -> None:
    data = ml.data.make_linear_regression(n_samples=200, seed=7)
    config = ml.RunConfig.chapter(batch_size=10, epochs=3, period=10, shuffle=False, seed=0)
    net = ml.models.LinearRegressor(2)
    ml.models.init_normal(net, seed=1)
    w0, b0 = ml.models.get_linear_params(net)
    result = ml.train(config, data, net=net, initialize=False, engine="gluon")
    assert result.weight is not None
    assert result.bias is not None
    identity = [np.arange(200)] * 3
    _, w, b = chapter_train(data.features, data.labels, w0, b0, identity, 10, 0.2, 0.9, 3, 10)
    np.testing.assert_array_equal(result.weight, w)
    np.testing.assert_array_equal(result.bias, b)
