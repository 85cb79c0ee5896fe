"""A linear regressor block and helpers to read, write and seed parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mxnet as mx
import numpy as np

from momentumlab._src.checks import as_generator, check_bool, check_float, check_int, check_type
from momentumlab._src.types import Array, Seed


class LinearRegressor(mx.gluon.HybridBlock):
    """``y = x Wᵀ + b`` as one ``gluon.nn.Dense`` layer, hybridizable.

    The input size is given up front, so the parameters have their shapes at once (no
    deferred initialisation) and can be initialised before the first forward pass.

    Args:
        n_features: number of inputs, >= 1.
        n_outputs: number of outputs, >= 1.
        initializer: an ``mx.init.Initializer`` for the weight (and bias), or ``None`` to leave
            the parameters uninitialised (use :func:`init_normal` for a seeded start).
            MXNet initializers draw from MXNet's global RNG; :func:`init_normal` does not.
        train_bias: ``False`` freezes the bias (its ``grad_req`` is ``'null'``): training
            moves only the weight, so a two-feature regression becomes a two-parameter
            problem whose path can be drawn over the loss contours
            (:func:`momentumlab.viz.plot_trajectory`).

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> net = ml.models.LinearRegressor(3, 2, initializer=mx.init.Zero())
        >>> net(mx.nd.ones((4, 3))).shape
        (4, 2)
        >>> ml.models.LinearRegressor(2, train_bias=False).dense.bias.grad_req
        'null'
    """

    def __init__(
        self,
        n_features: int,
        n_outputs: int = 1,
        *,
        initializer: mx.init.Initializer | None = None,
        train_bias: bool = True,
        **kwargs: Any,
    ) -> None:
        n_in = check_int("n_features", n_features, low=1)
        n_out = check_int("n_outputs", n_outputs, low=1)
        if initializer is not None:
            check_type("initializer", initializer, mx.init.Initializer, "an mx.init.Initializer or None")
        fit_bias = check_bool("train_bias", train_bias)
        super().__init__(**kwargs)
        self.n_features = n_in
        self.n_outputs = n_out
        with self.name_scope():
            self.dense = mx.gluon.nn.Dense(n_out, in_units=n_in)
        if not fit_bias:
            self.dense.bias.grad_req = "null"
        if initializer is not None:
            self.initialize(initializer)

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        """Apply the dense layer."""
        return self.dense(x)


def _dense_of(net: mx.gluon.Block) -> mx.gluon.nn.Dense:
    if isinstance(net, LinearRegressor):
        return net.dense
    if isinstance(net, mx.gluon.nn.Dense):
        return net
    if isinstance(net, (mx.gluon.nn.Sequential, mx.gluon.nn.HybridSequential)) and len(net) == 1:
        inner = net[0]
        if isinstance(inner, mx.gluon.nn.Dense):
            return inner
    raise TypeError(
        "net must be a LinearRegressor, a gluon.nn.Dense, or a (Hybrid)Sequential holding one "
        f"Dense, got {type(net).__name__}"
    )


def get_linear_params(net: mx.gluon.Block) -> tuple[Array, Array]:
    """Read the weight ``(n_outputs, n_features)`` and bias ``(n_outputs,)`` of a linear net.

    Args:
        net: a :class:`LinearRegressor`, a ``gluon.nn.Dense`` or a one-``Dense`` ``Sequential``.

    Returns:
        ``(weight, bias)`` as float32 NumPy copies.

    Raises:
        TypeError: if ``net`` is not one of the linear forms above.

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> net = ml.models.LinearRegressor(2, initializer=mx.init.One())
        >>> w, b = ml.models.get_linear_params(net)
        >>> w.tolist(), b.tolist()  # Dense keeps its own zero bias initializer
        ([[1.0, 1.0]], [0.0])
    """
    dense = _dense_of(net)
    return dense.weight.data().asnumpy(), dense.bias.data().asnumpy()


def get_params(net: mx.gluon.Block) -> dict[str, Array]:
    """Every parameter of ``net`` as a NumPy copy, keyed by its name without the block prefix.

    Example:
        >>> import mxnet as mx, momentumlab as ml
        >>> net = ml.models.LinearRegressor(2, initializer=mx.init.Zero())
        >>> sorted(ml.models.get_params(net))
        ['dense0_bias', 'dense0_weight']
    """
    _check_net(net)
    params = net.collect_params()
    prefix = net.prefix
    return {
        (name[len(prefix) :] if name.startswith(prefix) else name): p.data().asnumpy()
        for name, p in params.items()
    }


def set_params(net: mx.gluon.Block, values: Mapping[str, Array]) -> None:
    """Write parameters by the names :func:`get_params` uses (in place; gradients stay attached).

    Raises:
        ValueError: for an unknown name or a shape mismatch.

    Example:
        >>> import mxnet as mx, numpy as np, momentumlab as ml
        >>> net = ml.models.LinearRegressor(2, initializer=mx.init.Zero())
        >>> ml.models.set_params(net, {'dense0_bias': np.array([4.2])})
        >>> float(ml.models.get_linear_params(net)[1][0])
        4.199999809265137
    """
    _check_net(net)
    check_type("values", values, Mapping, "a mapping of parameter name -> array")
    params = net.collect_params()
    prefix = net.prefix
    by_short = {(name[len(prefix) :] if name.startswith(prefix) else name): p for name, p in params.items()}
    for key, value in values.items():
        if key not in by_short:
            raise ValueError(f"values has unknown parameter {key!r}; valid names are {sorted(by_short)}")
        p = by_short[key]
        arr = np.asarray(value, dtype=p.dtype)
        if arr.shape != p.shape:
            raise ValueError(f"values[{key!r}] must have shape {p.shape}, got {arr.shape}")
        p.set_data(mx.nd.array(arr, dtype=p.dtype))


def init_normal(
    net: mx.gluon.Block,
    *,
    sigma: float = 1.0,
    seed: Seed = None,
    bias: float = 0.0,
) -> None:
    """Seeded initialisation like the chapter's ``mx.init.Normal(sigma)``, without MXNet's RNG.

    Weights (every parameter whose name ends in ``weight``) are drawn from
    ``N(0, sigma²)`` with a NumPy generator made from ``seed``; biases are set to ``bias``
    (``gluon.nn.Dense`` initialises its bias to zero, as in the chapter). Parameters are
    written in place, so a hybridized block keeps its gradient buffers.

    Args:
        net: any Gluon block whose parameters have known shapes.
        sigma: standard deviation, >= 0.
        seed: an int, a ``numpy.random.Generator`` or ``None``.
        bias: constant for every bias.

    Raises:
        ValueError: for a negative ``sigma`` or a parameter of unknown shape.

    Example:
        >>> import momentumlab as ml
        >>> a, b = ml.models.LinearRegressor(2), ml.models.LinearRegressor(2)
        >>> ml.models.init_normal(a, seed=5); ml.models.init_normal(b, seed=5)
        >>> bool((ml.models.get_linear_params(a)[0] == ml.models.get_linear_params(b)[0]).all())
        True
    """
    s = check_float("sigma", sigma, low=0.0)
    b0 = check_float("bias", bias)
    rng = as_generator(seed)

    def draw(shape: tuple[int, ...]) -> Array:
        return s * rng.standard_normal(shape)

    init_weights(net, draw, bias=b0)


def _check_net(net: Any) -> None:
    check_type("net", net, mx.gluon.Block, "a Gluon Block")


def init_weights(net: mx.gluon.Block, draw: Any, *, bias: float = 0.0) -> None:
    """Write ``draw(shape)`` into every weight, ``bias`` into every bias, 0 elsewhere (in place)."""
    _check_net(net)
    for name, p in net.collect_params().items():
        shape = p.shape
        if shape is None or any(int(k) <= 0 for k in shape):
            raise ValueError(
                f"parameter {name!r} must have a known shape to be initialised, got {shape}; "
                "give the input size (e.g. in_units) when building the net"
            )
        if name.endswith("weight"):
            value = np.asarray(draw(tuple(int(k) for k in shape)), dtype=np.float32)
        elif name.endswith("bias"):
            value = np.full(shape, bias, dtype=np.float32)
        else:
            value = np.zeros(shape, dtype=np.float32)
        if p._data is None:
            p.initialize(mx.init.Constant(0.0), force_reinit=True)
        p.set_data(mx.nd.array(value, dtype=p.dtype))
