"""A multilayer perceptron with known input size, and seeded Glorot/He initialisers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import mxnet as mx

from momentumlab._src.checks import (
    as_generator,
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
)
from momentumlab._src.types import Array, Seed
from momentumlab.models._linear import init_weights

ACTIVATIONS = ("relu", "tanh", "sigmoid", "softrelu")


class MLP(mx.gluon.HybridBlock):
    """A fully connected net from ``n_features`` inputs through hidden layers to ``n_outputs``.

    Every layer is a ``gluon.nn.Dense`` with its ``in_units`` given, so the parameters have
    their shapes at once (no deferred initialisation). Hidden layers use ``activation``; the
    output layer is linear (logits for classification). With ``hidden=()`` it is one linear
    layer. Parameter names are ``dense0_weight``, ``dense0_bias``, ``dense1_weight``, ...

    Args:
        n_features: inputs, >= 1.
        hidden: sizes of the hidden layers, each >= 1.
        n_outputs: outputs, >= 1.
        activation: one of ``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"softrelu"``.
        use_bias: whether the layers have biases.

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> net = ml.models.MLP(64, (32,), 10)
        >>> ml.models.init_he(net, seed=0)
        >>> net(mx.nd.zeros((5, 64))).shape, sorted(ml.models.get_params(net))[:2]
        ((5, 10), ['dense0_bias', 'dense0_weight'])
    """

    def __init__(
        self,
        n_features: int,
        hidden: Sequence[int] = (),
        n_outputs: int = 1,
        *,
        activation: str = "relu",
        use_bias: bool = True,
        **kwargs: Any,
    ) -> None:
        n_in = check_int("n_features", n_features, low=1)
        n_out = check_int("n_outputs", n_outputs, low=1)
        sizes = check_array("hidden", hidden, ndim=1, dtype=int, low=1, allow_empty=True).tolist()
        act = check_choice("activation", activation, ACTIVATIONS)
        bias = check_bool("use_bias", use_bias)
        super().__init__(**kwargs)
        self.n_features = n_in
        self.hidden = tuple(sizes)
        self.n_outputs = n_out
        with self.name_scope():
            self.layers = mx.gluon.nn.HybridSequential()
            width = n_in
            for h in sizes:
                self.layers.add(mx.gluon.nn.Dense(h, in_units=width, activation=act, use_bias=bias))
                width = h
            self.layers.add(mx.gluon.nn.Dense(n_out, in_units=width, use_bias=bias))

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        """Apply the layers."""
        return self.layers(x)


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    fan_out = shape[0]
    fan_in = math.prod(shape[1:]) if len(shape) > 1 else shape[0]
    return fan_in, fan_out


def init_glorot(net: mx.gluon.Block, *, seed: Seed = None, gain: float = 1.0) -> None:
    r"""Seeded Glorot (Xavier) uniform initialisation, without MXNet's RNG.

    Every weight of shape ``(fan_out, fan_in, ...)`` is drawn from
    :math:`U(-a, a)`, :math:`a = \text{gain}\sqrt{6 / (\text{fan\_in} + \text{fan\_out})}`,
    with a NumPy generator made from ``seed``; biases are 0. Suits tanh/sigmoid nets and
    linear models (logistic regression).

    Args:
        net: any Gluon block whose parameters have known shapes.
        seed: an int, a ``numpy.random.Generator`` or ``None``.
        gain: scale factor, > 0.

    Example:
        >>> import momentumlab as ml
        >>> net = ml.models.MLP(4, (3,), 2)
        >>> ml.models.init_glorot(net, seed=0)
        >>> w = ml.models.get_params(net)['dense0_weight']
        >>> bool(abs(w).max() <= (6 / 7) ** 0.5)
        True
    """
    g = check_float("gain", gain, low=0.0, low_open=True)
    rng = as_generator(seed)

    def draw(shape: tuple[int, ...]) -> Array:
        fan_in, fan_out = _fans(shape)
        a = g * math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-a, a, size=shape)

    init_weights(net, draw)


def init_he(net: mx.gluon.Block, *, seed: Seed = None) -> None:
    r"""Seeded He (Kaiming) normal initialisation for ReLU nets, without MXNet's RNG.

    Every weight of shape ``(fan_out, fan_in, ...)`` is drawn from
    :math:`\mathcal N(0, 2/\text{fan\_in})` with a NumPy generator made from ``seed``;
    biases are 0.

    Example:
        >>> import momentumlab as ml
        >>> a, b = ml.models.MLP(8, (16,), 3), ml.models.MLP(8, (16,), 3)
        >>> ml.models.init_he(a, seed=1); ml.models.init_he(b, seed=1)
        >>> bool((ml.models.get_params(a)['dense1_weight'] == ml.models.get_params(b)['dense1_weight']).all())
        True
    """
    rng = as_generator(seed)

    def draw(shape: tuple[int, ...]) -> Array:
        fan_in, _ = _fans(shape)
        return math.sqrt(2.0 / fan_in) * rng.standard_normal(shape)

    init_weights(net, draw)
