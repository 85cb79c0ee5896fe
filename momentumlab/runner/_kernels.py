"""Kernels of the NumPy engine: K stacked models of one (net, loss) family in float32.

A kernel knows the mathematics of one family of problems and nothing of optimizers, plans or
records; :func:`momentumlab.runner._numpy.run_numpy` drives it. Every parameter is stacked
along a leading axis of K configurations (float32), so one call computes K models:

* :meth:`Kernel.grads`: the gradient of the **summed** per-example loss of a mini-batch (what
  Gluon's ``loss.backward()`` leaves in the parameters' gradients before ``trainer.step``
  divides by the batch length), for a batch shared by all K models (``x`` of shape
  ``(b, d)``) or one per model (``(K, b, d)``);
* :meth:`Kernel.losses`: the mean full-dataset loss of M parameter sets (float64);
* :meth:`Kernel.metric`: the problem's held-out metric of M parameter sets.

Two families cover the problem suite:

* :class:`DenseKernel`: a stack of ``gluon.nn.Dense`` layers (a linear net, or an MLP with
  hidden ReLU layers, with or without biases) under ``L2Loss``,
  ``SigmoidBinaryCrossEntropyLoss`` or ``SoftmaxCrossEntropyLoss``. Forward and gradients
  follow the Gluon layers and losses (``mxnet/gluon/loss.py``): ``L2Loss`` is
  ``½ mean_o (z - y)²`` (gradient ``(z - y) / o``); the sigmoid loss is the stable
  ``relu(z) - z y + log(1 + exp(-|z|))`` (gradient ``σ(z) - y``); the softmax loss is
  ``logsumexp(z) - z_y`` (gradient ``softmax(z) - onehot(y)``). Records are computed from the
  float32 outputs with float64 losses and sums; a linear net under ``L2Loss`` takes its
  records from the data's moments (:mod:`momentumlab.runner._moments`) when that is cheaper.
* :class:`FunctionKernel`: a :class:`momentumlab.models.Function2D` (bowl, Rosenbrock, Beale,
  saddle) under :class:`~momentumlab.models.ObjectiveLoss`, with the analytic gradients of
  :data:`GRADIENTS`; its loss is the block's own :meth:`~momentumlab.models.Function2D.value`.

:func:`kernel_for` picks the kernel of a problem, net and loss, or says why there is none
(the run then takes the Gluon engine).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import mxnet as mx
import numpy as np

from momentumlab._src.types import Array
from momentumlab.models import Beale, Bowl, Function2D, ObjectiveLoss, Rosenbrock, Saddle
from momentumlab.problems import Problem
from momentumlab.runner._moments import SquaredMoments, _as_float32_range, direct_loss

f32 = np.float32

#: Floats of activations a record pass may hold at once (chunks of models and rows keep it under
#: this), and the most rows of one chunk (at most 1000: the sigmoid loss multiplies one factor
#: of at most 2 per row in float64).
_EVAL_FLOATS = 1 << 18
_EVAL_ROWS = 512
#: Bytes a record pass holds besides the parameters: the activations, their float64 copies and
#: the per-example losses (measured with tracemalloc: about 10 bytes per activation float).
EVAL_BYTES = 12 * _EVAL_FLOATS


def _stack_names(net: mx.gluon.Block) -> list[str]:
    """Parameter names as :func:`momentumlab.models.get_params` gives them, in the net's order."""
    prefix = net.prefix
    return [k[len(prefix) :] if k.startswith(prefix) else k for k in net.collect_params()]


class Kernel:
    """The mathematics of one family of problems, for K stacked parameter sets (see the module doc).

    Attributes:
        names: the parameter names (as :func:`momentumlab.models.get_params` gives them).
        shapes: the shape of each parameter of one model.
    """

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    #: Whether the engine stores the K models as the fastest axis of every parameter stack
    #: (Fortran order): for parameters of a few numbers, an update broadcasting a ``(K, 1)``
    #: hyperparameter then runs one long inner loop instead of K loops of a few elements.
    models_last: bool = False

    def __init__(self, problem: Problem) -> None:
        self.problem = problem

    @functools.cached_property
    def features(self) -> Array:
        """The training features, ``(n, d)`` float32."""
        x: Array = self.problem.data.features.asnumpy()
        return x

    @functools.cached_property
    def labels(self) -> Array:
        """The training labels in the form :meth:`grads` takes (first axis: examples)."""
        return self._labels(self.problem.data.labels)

    def _labels(self, labels: mx.nd.NDArray) -> Array:
        y: Array = labels.asnumpy().astype(np.float32, copy=False)
        return y.reshape(y.shape[0], -1)

    def start(self, n_records: int) -> None:
        """Prepare for a run of ``n_records`` records (a kernel may precompute what they share)."""

    def grads(self, params: Sequence[Array], x: Array, y: Array) -> list[Array]:
        """Gradients of the summed loss of a mini-batch, one per parameter, ``(K, *shape)``."""
        raise NotImplementedError

    def losses(self, params: Sequence[Array]) -> Array:
        """Mean full-dataset losses of M parameter sets ``(M, *shape)``: ``(M,)`` float64."""
        raise NotImplementedError

    def metric(self, params: Sequence[Array]) -> Array | None:
        """The held-out metric of M parameter sets, ``(M,)``, or ``None`` without one."""
        return None

    def floats_per_config(self, batch_size: int, own_batches: bool) -> int:
        """Floats one configuration needs besides its parameters (a batch's activations)."""
        return 0

    def shared_bytes(self) -> int:
        """Bytes a batch holds whatever its size (buffers of the record passes)."""
        return 0


# --------------------------------------------------------------------------- dense stacks

_LOSSES: dict[type, str] = {
    mx.gluon.loss.L2Loss: "l2",
    mx.gluon.loss.SigmoidBinaryCrossEntropyLoss: "bce",
    mx.gluon.loss.SoftmaxCrossEntropyLoss: "softmax",
}


def _loss_kind(loss: Any) -> str:
    """``"l2"``, ``"bce"`` or ``"softmax"``, or a reason starting with ``"loss "``."""
    kind = _LOSSES.get(type(loss))
    plain = (
        "loss is not a plain gluon.loss L2Loss(), SigmoidBinaryCrossEntropyLoss() "
        "or SoftmaxCrossEntropyLoss()"
    )
    if kind is None or loss._batch_axis != 0:
        return plain
    if kind == "l2" and loss._weight != 1.0:
        return plain
    if kind != "l2" and loss._weight is not None:
        return plain
    if kind == "bce" and loss._from_sigmoid:
        return plain
    if kind == "softmax" and (loss._axis != -1 or not loss._sparse_label or loss._from_logits):
        return plain
    return kind


def _dense_layers(net: mx.gluon.Block) -> list[mx.gluon.nn.Dense] | None:
    from momentumlab.models import MLP, LinearRegressor

    if isinstance(net, LinearRegressor):
        return [net.dense]
    if isinstance(net, MLP):
        return list(net.layers)
    if isinstance(net, mx.gluon.nn.Dense):
        return [net]
    if isinstance(net, (mx.gluon.nn.Sequential, mx.gluon.nn.HybridSequential)) and len(net) > 0:
        layers = list(net)
        if all(isinstance(layer, mx.gluon.nn.Dense) for layer in layers):
            return layers
    return None


def _params_reason(net: mx.gluon.Block) -> str | None:
    for p in net.collect_params().values():
        if np.dtype(p.dtype) != np.float32 or p.grad_req != "write" or p.lr_mult != 1.0 or p.wd_mult != 1.0:
            return f"parameter {p.name!r} is not float32 with grad_req 'write' and unit multipliers"
    return None


class DenseKernel(Kernel):
    """A stack of Dense layers (hidden ReLU, linear output) under one of three losses."""

    def __init__(
        self, problem: Problem, net: mx.gluon.Block, layers: list[mx.gluon.nn.Dense], kind: str
    ) -> None:
        super().__init__(problem)
        names = _stack_names(net)
        full = list(net.collect_params())
        self.names = tuple(names)
        self.shapes = tuple(tuple(int(s) for s in p.shape) for p in net.collect_params().values())
        self.kind = kind
        # (weight index, bias index or None) of every layer, in order
        self.layers: list[tuple[int, int | None]] = []
        for layer in layers:
            w = full.index(layer.weight.name)
            b = None if layer.bias is None else full.index(layer.bias.name)
            self.layers.append((w, b))
        self.widths = [self.shapes[w][0] for w, _ in self.layers]
        self._moments: SquaredMoments | None = None

    def _labels(self, labels: mx.nd.NDArray) -> Array:
        if self.kind == "softmax":
            out: Array = labels.asnumpy().reshape(-1).astype(np.int64)
            return out
        return super()._labels(labels)

    # ------------------------------------------------------------------ forward and gradient

    def _forward(self, params: Sequence[Array], x: Array) -> list[Array]:
        """Inputs and outputs of every layer: ``[x, h_1, ..., z]`` (each ``(K, b, width)``).

        Every model has its own product, so a model's bits do not depend on the batch it is
        in (record passes take one product for all models: :meth:`_outputs`).
        """
        acts = [x]
        h = x
        last = len(self.layers) - 1
        for j, (wi, bi) in enumerate(self.layers):
            z = np.matmul(h, params[wi].transpose(0, 2, 1))
            if bi is not None:
                z += params[bi][:, None, :]
            if j < last:
                np.maximum(z, f32(0.0), out=z)
            acts.append(z)
            h = z
        return acts

    def _output_grad(self, z: Array, y: Array) -> Array:
        """``d(summed loss)/dz`` per example (``(K, b, o)``)."""
        o = z.shape[-1]
        if self.kind == "l2":
            D: Array = z - y
            if o > 1:
                D *= f32(1.0 / o)
            return D
        if self.kind == "bce":
            D = f32(1.0) / (f32(1.0) + np.exp(-z)) - y
            if o > 1:
                D *= f32(1.0 / o)
            return D
        D = np.exp(z - z.max(axis=-1, keepdims=True))
        D /= D.sum(axis=-1, keepdims=True)
        K, b = D.shape[0], D.shape[1]
        if y.ndim == 1:
            D[:, np.arange(b), y] -= f32(1.0)
        else:
            D[np.arange(K)[:, None], np.arange(b)[None, :], y] -= f32(1.0)
        return D

    def grads(self, params: Sequence[Array], x: Array, y: Array) -> list[Array]:
        """See :meth:`Kernel.grads`; ``y`` is ``(b, o)`` (``(b,)`` class indices for softmax)."""
        acts = self._forward(params, x)
        D = self._output_grad(acts[-1], y)
        out: list[Array] = [np.empty(0, dtype=f32)] * len(self.names)
        for j in range(len(self.layers) - 1, -1, -1):
            wi, bi = self.layers[j]
            out[wi] = np.matmul(D.transpose(0, 2, 1), acts[j])
            if bi is not None:
                out[bi] = D.sum(axis=1)
            if j > 0:
                D = np.matmul(D, params[wi])
                D *= acts[j] > 0
        return out

    # ------------------------------------------------------------------ records

    def start(self, n_records: int) -> None:
        """Use the data's moments for an affine net under ``L2Loss`` when cheaper than passes."""
        d = self.features.shape[1]
        if self.kind == "l2" and len(self.layers) == 1 and (d + 1) <= n_records and self._moments is None:
            self._moments = SquaredMoments.of(self.features, self.labels)

    def _affine(self, params: Sequence[Array]) -> tuple[Array, Array]:
        wi, bi = self.layers[0]
        W = params[wi]
        B = params[bi] if bi is not None else np.zeros(W.shape[:-1], dtype=f32)
        return W, B

    def _mean_loss(
        self, params: Sequence[Array], X: Array, Y: Array, moments: SquaredMoments | None
    ) -> Array:
        if self.kind == "l2" and len(self.layers) == 1:
            W, B = self._affine(params)
            if moments is not None:
                return np.asarray(moments.loss(W, B), dtype=np.float64)
            return np.asarray([direct_loss(X, Y, w, b) for w, b in zip(W, B, strict=True)], dtype=np.float64)
        return _as_float32_range(self._reduce(params, X, Y, self._summed_losses) / X.shape[0])

    def _summed_losses(self, z: Array, y: Array, axis: int) -> Array:
        """Per-example losses of float32 outputs ``z`` (``(..., o)``) against labels ``y``
        broadcasting against them (class indices: against ``z[..., 0]``), summed over the rows
        ``axis`` in float64: ``(M,)``. The per-example terms are float32 like Gluon's; the
        sigmoid loss sums its ``log(1 + e^{-|z|})`` terms as the log of their float64 product
        (one ``log`` per model instead of one per example; at most :data:`_EVAL_ROWS` factors
        of at most 2, so the product stays finite)."""
        o = z.shape[-1]
        if self.kind == "l2":
            r = z - y
            r *= r
            sq: Array = r.sum(axis=axis, dtype=np.float64)  # (M, o)
            half: Array = 0.5 * (sq[:, 0] if o == 1 else sq.mean(axis=-1))
            return half
        if self.kind == "bce":
            # log(1 + e) rather than log1p(e): 3x faster in float32, and its absolute error
            # (below 1e-7 per example) is far under the records' tolerance
            tail = np.abs(z)
            np.negative(tail, out=tail)
            np.exp(tail, out=tail)
            tail += f32(1.0)
            logs = np.log(np.multiply.reduce(tail, axis=axis, dtype=np.float64))  # (M, o)
            bce = np.maximum(z, f32(0.0))
            bce -= z * y
            total: Array = bce.sum(axis=axis, dtype=np.float64)
            total += logs
            summed: Array = total[:, 0] if o == 1 else total.mean(axis=-1)
            return summed
        top = z.max(axis=-1, keepdims=True)
        shifted = z - top
        lse: Array = np.log(np.exp(shifted).sum(axis=-1))
        lse -= np.take_along_axis(shifted, y[..., None], axis=-1)[..., 0]
        out: Array = lse.sum(axis=axis, dtype=np.float64)
        return out

    def _outputs(self, params: Sequence[Array], x: Array) -> tuple[Array, int]:
        """The outputs of M models on shared rows ``x`` for a record pass, and their rows axis.

        The first layer is one product ``(rows, d) x (d, M o)`` (2-3 times faster than M
        products, but its rounding depends on M); one layer gives ``(rows, M, o)`` (rows
        axis 0: every later operation runs along the long, contiguous models axis), more
        layers continue with one product per model and give ``(M, rows, o)`` (rows axis 1).
        """
        rows = x.shape[0]
        wi, bi = self.layers[0]
        W = params[wi]
        M, o = W.shape[0], W.shape[1]
        z = x @ W.reshape(M * o, -1).T  # (rows, M o)
        if bi is not None:
            z += params[bi].reshape(M * o)
        if len(self.layers) == 1:
            return z.reshape(rows, M, o), 0
        np.maximum(z, f32(0.0), out=z)
        h = z.reshape(rows, M, o).transpose(1, 0, 2)
        last = len(self.layers) - 1
        for j in range(1, len(self.layers)):
            wi, bi = self.layers[j]
            h = np.matmul(h, params[wi].transpose(0, 2, 1))
            if bi is not None:
                h += params[bi][:, None, :]
            if j < last:
                np.maximum(h, f32(0.0), out=h)
        return h, 1

    def _reduce(
        self, params: Sequence[Array], X: Array, Y: Array, summed: Callable[[Array, Array, int], Array]
    ) -> Array:
        """``Σ_chunks summed(z, y, rows axis)`` for M models over ``X`` (float64), in chunks of
        rows and models whose activations hold at most :data:`_EVAL_FLOATS` floats; ``y``
        broadcasts against the outputs ``z`` (see :meth:`_outputs` for their layout)."""
        M, n = params[0].shape[0], X.shape[0]
        width = sum(self.widths)
        rows = max(1, min(n, _EVAL_ROWS, _EVAL_FLOATS // width))
        models = max(1, _EVAL_FLOATS // (rows * width))
        total = np.zeros(M)
        for m0 in range(0, M, models):
            part = [a[m0 : m0 + models] for a in params]
            for lo in range(0, n, rows):
                z, axis = self._outputs(part, X[lo : lo + rows])
                y = Y[lo : lo + rows]
                y = y[:, None] if axis == 0 else y[None]
                total[m0 : m0 + models] += summed(z, y, axis)
        return total

    def losses(self, params: Sequence[Array]) -> Array:
        """See :meth:`Kernel.losses`."""
        with np.errstate(all="ignore"):
            return self._mean_loss(params, self.features, self.labels, self._moments)

    @functools.cached_property
    def _held(self) -> tuple[Array, Array] | None:
        held = self.problem.heldout
        if held is None or self.problem.metric is None:
            return None
        return held.features.asnumpy(), self._labels(held.labels)

    def metric(self, params: Sequence[Array]) -> Array | None:
        """See :meth:`Kernel.metric`: held-out loss, accuracy or binary accuracy."""
        if self._held is None:
            return None
        X, Y = self._held
        m = self.problem.metric
        with np.errstate(all="ignore"):
            if m == "loss":
                return self._mean_loss(params, X, Y, None)
            if m == "accuracy":
                hits = self._reduce(params, X, Y, lambda z, y, ax: (z.argmax(axis=-1) == y).sum(axis=ax))
            else:
                hits = self._reduce(
                    params, X, Y, lambda z, y, ax: ((z[..., 0] > 0) == y[..., 0]).sum(axis=ax)
                )
        return hits / X.shape[0]

    def shared_bytes(self) -> int:
        """The record passes' buffers (:data:`EVAL_BYTES`)."""
        return EVAL_BYTES

    def floats_per_config(self, batch_size: int, own_batches: bool) -> int:
        """A batch's activations and output gradients (and its gathered inputs when own)."""
        d = self.features.shape[1] if own_batches else 0
        return batch_size * (d + 3 * sum(self.widths))


# --------------------------------------------------------------------------- 2-D functions


def _bowl(block: Bowl, x: Array, y: Array) -> tuple[Array, Array]:
    return f32(2.0 * block.a) * x, f32(2.0 * block.b) * y


def _rosenbrock(block: Rosenbrock, x: Array, y: Array) -> tuple[Array, Array]:
    r: Array = y - x * x
    gy: Array = f32(200.0) * r
    return f32(-2.0) * (f32(1.0) - x) - f32(400.0) * x * r, gy


def _beale(block: Beale, x: Array, y: Array) -> tuple[Array, Array]:
    y2 = y * y
    y3 = y2 * y
    t1 = f32(1.5) - x + x * y
    t2 = f32(2.25) - x + x * y2
    t3 = f32(2.625) - x + x * y3
    gx = f32(2.0) * (t1 * (y - f32(1.0)) + t2 * (y2 - f32(1.0)) + t3 * (y3 - f32(1.0)))
    gy = f32(2.0) * x * (t1 + f32(2.0) * t2 * y + f32(3.0) * t3 * y2)
    return gx, gy


def _saddle(block: Saddle, x: Array, y: Array) -> tuple[Array, Array]:
    gy: Array = (y * y - f32(1.0)) * y
    return x.copy(), gy


#: The analytic gradient ``(∂f/∂x, ∂f/∂y)`` of each 2-D function, in float32 (checked against
#: MXNet's autograd of :meth:`~momentumlab.models.Function2D.formula` by the tests).
GRADIENTS: dict[type, Callable[[Any, Array, Array], tuple[Array, Array]]] = {
    Bowl: _bowl,
    Rosenbrock: _rosenbrock,
    Beale: _beale,
    Saddle: _saddle,
}


#: Points of a 2-D function evaluated at once by :meth:`FunctionKernel.losses`.
_VALUE_CHUNK = 1 << 14


class FunctionKernel(Kernel):
    """A :class:`~momentumlab.models.Function2D` under :class:`~momentumlab.models.ObjectiveLoss`."""

    models_last = True

    def __init__(self, problem: Problem, net: Function2D) -> None:
        super().__init__(problem)
        self.names = tuple(_stack_names(net))
        self.shapes = ((2,),)
        self.block = net
        self._gradient = GRADIENTS[type(net)]

    def grads(self, params: Sequence[Array], x: Array, y: Array) -> list[Array]:
        """Every example of a batch has the loss ``f(xy)``: the summed gradient is ``b ∇f``."""
        xy = params[0]
        gx, gy = self._gradient(self.block, xy[:, 0], xy[:, 1])
        g = np.empty((2, len(gx)), dtype=f32)  # models last in memory like the parameters
        g[0], g[1] = gx, gy
        g = g.T
        b = x.shape[-2]
        if b != 1:
            g *= f32(b)
        return [g]

    def losses(self, params: Sequence[Array]) -> Array:
        """``f`` of every point, in float64 (past float32's range: ``inf``)."""
        xy = params[0]
        out = np.empty(xy.shape[0])
        with np.errstate(all="ignore"):
            # in chunks whose float64 temporaries stay in the cache
            for lo in range(0, len(out), _VALUE_CHUNK):
                part = xy[lo : lo + _VALUE_CHUNK]
                out[lo : lo + _VALUE_CHUNK] = _as_float32_range(self.block.value(part[:, 0], part[:, 1]))
        return out


# --------------------------------------------------------------------------- choosing


def kernel_for(problem: Problem, net: mx.gluon.Block, loss: Any) -> Kernel | str:
    """The kernel that computes ``problem`` with ``net`` and ``loss``, or why there is none.

    Example:
        >>> import momentumlab as ml
        >>> p = ml.problems.make("rosenbrock")
        >>> type(kernel_for(p, p.make_net(), p.make_loss())).__name__
        'FunctionKernel'
        >>> import mxnet as mx
        >>> kernel_for(p, p.make_net(), mx.gluon.loss.L2Loss())
        'loss is L2Loss, not an ObjectiveLoss'
    """
    data = problem.data
    if data.features.ndim != 2 or data.features.dtype != np.float32:
        return "features are not a 2-D float32 array"
    why = _params_reason(net)
    if why is not None:
        return why
    if isinstance(net, Function2D):
        if type(net) not in GRADIENTS:
            return f"net is a {type(net).__name__}, a Function2D without an analytic gradient"
        if type(loss) is not ObjectiveLoss:
            return f"loss is {type(loss).__name__}, not an ObjectiveLoss"
        if len(list(net.collect_params())) != 1:
            return "the Function2D has parameters besides xy"
        return FunctionKernel(problem, net)
    layers = _dense_layers(net)
    if layers is None:
        return f"net is a {type(net).__name__}, not a linear net, an MLP or a Function2D"
    for j, layer in enumerate(layers):
        act = None if layer.act is None else layer.act._act_type
        if j == len(layers) - 1 and act is not None:
            return "the output Dense layer has an activation"
        if j < len(layers) - 1 and act != "relu":
            return f"hidden Dense layer {j} has activation {act!r}, not 'relu'"
    if len(list(net.collect_params())) != sum(1 + (layer.bias is not None) for layer in layers):
        return "the net has parameters besides its Dense layers' weights and biases"
    kind = _loss_kind(loss)
    if kind.startswith("loss "):
        return kind
    width = int(layers[-1].weight.shape[0])
    if kind == "softmax" and data.n_classes != width:
        return f"SoftmaxCrossEntropyLoss needs n_classes outputs, got {width} for {data.n_classes} classes"
    if problem.metric == "binary_accuracy" and width != 1:
        return f"metric 'binary_accuracy' needs one output, got {width}"
    if problem.metric == "accuracy" and data.n_classes != width:
        return f"metric 'accuracy' needs n_classes outputs, got {width}"
    return DenseKernel(problem, net, layers, kind)
