"""Models: the Dense wrapper and parameter helpers."""

from __future__ import annotations

import mxnet as mx
import numpy as np
import pytest

import momentumlab as ml


def test_linear_regressor_any_shape_and_hybridizable() -> None:
    net = ml.models.LinearRegressor(5, 3, initializer=mx.init.Normal(0.1))
    x = mx.nd.ones((7, 5))
    eager = net(x).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), eager, rtol=1e-6)
    w, b = ml.models.get_linear_params(net)
    assert (w.shape, b.shape) == ((3, 5), (3,))
    np.testing.assert_allclose(eager, np.ones((7, 5)) @ w.T + b, rtol=1e-5)


def test_get_linear_params_reads_dense_and_sequential() -> None:
    dense = mx.gluon.nn.Dense(1, in_units=2)
    dense.initialize(mx.init.One())
    seq = mx.gluon.nn.Sequential()
    seq.add(dense)
    assert ml.models.get_linear_params(dense)[0].tolist() == [[1.0, 1.0]]
    assert ml.models.get_linear_params(seq)[0].tolist() == [[1.0, 1.0]]
    with pytest.raises(TypeError, match=r"net must be a LinearRegressor, a gluon\.nn\.Dense"):
        ml.models.get_linear_params(mx.gluon.nn.Dropout(0.5))


def test_init_normal_is_seeded_and_keeps_gradients_attached() -> None:
    a, b = ml.models.LinearRegressor(2), ml.models.LinearRegressor(2)
    ml.models.init_normal(a, sigma=2.0, seed=9)
    ml.models.init_normal(b, sigma=2.0, seed=9)
    wa, ba = ml.models.get_linear_params(a)
    np.testing.assert_array_equal(wa, ml.models.get_linear_params(b)[0])
    assert ba.tolist() == [0.0]
    # re-initialising a hybridized, static_alloc block must leave training working
    a.hybridize(static_alloc=True)
    x = mx.nd.ones((3, 2))
    with mx.autograd.record():
        out = a(x).sum()
    out.backward()
    ml.models.init_normal(a, seed=1)
    with mx.autograd.record():
        out = a(x).sum()
    out.backward()
    np.testing.assert_allclose(a.dense.weight.grad().asnumpy(), [[3.0, 3.0]])


def test_set_params_round_trip_and_errors() -> None:
    net = ml.models.LinearRegressor(2, initializer=mx.init.Zero())
    values = {"dense0_weight": np.array([[1.5, -2.0]]), "dense0_bias": np.array([0.25])}
    ml.models.set_params(net, values)
    got = ml.models.get_params(net)
    np.testing.assert_array_equal(got["dense0_weight"], values["dense0_weight"].astype(np.float32))
    with pytest.raises(ValueError, match=r"values has unknown parameter 'w'; valid names are"):
        ml.models.set_params(net, {"w": np.zeros((1, 2))})
    with pytest.raises(ValueError, match=r"values\['dense0_bias'\] must have shape \(1,\), got \(2,\)"):
        ml.models.set_params(net, {"dense0_bias": np.zeros(2)})


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (lambda: ml.models.LinearRegressor(0), ValueError, r"n_features must be an integer >= 1, got 0"),
        (lambda: ml.models.LinearRegressor(2, 0), ValueError, r"n_outputs must be an integer >= 1, got 0"),
        (
            lambda: ml.models.LinearRegressor(2, initializer="normal"),
            TypeError,
            r"initializer must be an mx.init.Initializer",
        ),
        (
            lambda: ml.models.init_normal(ml.models.LinearRegressor(2), sigma=-1.0),
            ValueError,
            r"sigma must be >= 0.0, got -1.0",
        ),
    ],
)
def test_models_reject_bad_arguments(call: object, exc: type[Exception], message: str) -> None:
    with pytest.raises(exc, match=message):
        call()  # type: ignore[operator]


def test_init_normal_needs_known_shapes() -> None:
    net = mx.gluon.nn.Dense(1)  # in_units unknown
    with pytest.raises(ValueError, match="must have a known shape"):
        ml.models.init_normal(net, seed=0)
