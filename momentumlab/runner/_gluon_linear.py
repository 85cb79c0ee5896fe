"""The Gluon engine's update for plain SGD on a linear net under ``L2Loss``: one graph per step.

The general Gluon loop spends a step in four calls into MXNet: the cached net+loss graph under
``autograd.record``, ``backward`` (which rebuilds a backward graph from the tape every time),
the SGD kernel and the cached record graph. For the chapter's case, a ``Dense`` layer with a
bias and no activation, ``gluon.loss.L2Loss()`` and MXNet's ``sgd`` with a constant momentum,
:class:`LinearSGDSteps` does the whole update in one cached graph::

    x, y = X[rows], Y[rows]
    p = FullyConnected(x, W, b)                      # the net's forward
    g = -((2 * (y - p)) * (1 / o * 0.5))             # L2Loss's backward, operation for operation
    dW, db = _backward_FullyConnected(g, x, W)       # the backward operator autograd runs
    v = mu * v - (lr wd) * W - (lr rescale) * dW     # multi_sgd_mom_update's arithmetic
    W = W + v                                        # (the same for b)

and, at a record, the mean full-dataset loss of the new parameters (and the held-out loss) in
the same graph, with the operators of the Gluon loop's record graph.

MXNet's Python API has no symbol for a backward operator, so the graph is written out as
symbol JSON with a ``_backward_FullyConnected`` node wired the way MXNet's gradient pass wires
it: its inputs are the head gradient, the data and the weight, and a control dependency on
its forward node lets the shapes be inferred from the forward node. That operator is MXNet's
(oneDNN) fully-connected backward, the one ``backward()`` runs. The head gradient repeats
``L2Loss``'s backward operations in their order, and the update repeats the kernel's float32
operations in its order (:func:`momentumlab.runner._update.sgd_update`), so with the same
inputs every value is the same float32 bits as the Gluon loop's (``tests/test_gluon_fast.py``
holds parameters and records to equality on generated runs). With momentum 0 the velocity is
not carried (it stays 0, as in ``multi_sgd_update``, which has none).
"""

from __future__ import annotations

import json
from typing import Any

import mxnet as mx
import numpy as np

from momentumlab._src.types import Array
from momentumlab.models._linear import _dense_of
from momentumlab.problems import Problem

S = mx.sym


def linear_sgd_reason(
    net: mx.gluon.Block, loss: Any, trainer: mx.gluon.Trainer, problem: Problem, per_record_lr: bool
) -> str | None:
    """Why :class:`LinearSGDSteps` cannot run this run, or ``None`` when it can.

    ``per_record_lr`` is whether the learning rate can change between the updates of an
    epoch by what the records show (reduce-on-plateau observing every record).
    """
    from momentumlab.runner._sgd import FusedSGD

    if not isinstance(net, mx.gluon.HybridBlock):
        return "the net is not a HybridBlock"
    try:
        dense = _dense_of(net)
    except TypeError:
        return f"net is a {type(net).__name__}, not a linear net"
    params = list(net.collect_params().values())
    if dense.act is not None or dense.bias is None or len(params) != 2:
        return "the net is not one Dense layer with a bias and no activation"
    for p in params:
        if p.lr_mult != 1.0 or p.wd_mult != 1.0:
            return f"parameter {p.name!r} has a learning-rate or weight-decay multiplier"
    if type(loss) is not mx.gluon.loss.L2Loss or loss._weight != 1.0 or loss._batch_axis != 0:
        return "loss is not a plain gluon.loss.L2Loss()"
    if not FusedSGD.supports(trainer, params) or trainer.optimizer.clip_gradient is not None:
        return "the optimizer is not MXNet's sgd with a constant momentum and no gradient clipping"
    if per_record_lr:
        return "the learning rate follows every record (plateau observing records)"
    if problem.metric not in (None, "loss"):
        return f"metric {problem.metric!r} is not handled"
    features = problem.data.features
    if features.ndim != 2 or features.dtype != np.float32:
        return "features are not a 2-D float32 array"
    return None


def _with_fc_backward(outputs: list[Any], fc: Any, head: Any, x: Any, weight: Any) -> list[Any]:
    """``outputs`` followed by ``(dW, db)``: the backward of ``fc`` for head gradient ``head``.

    Written as MXNet's gradient pass writes it (see the module doc), since the Python API has no
    symbol for a backward operator.
    """
    k = len(outputs)
    graph = json.loads(S.Group([*outputs, head, x, weight, fc]).tojson())
    nodes, heads = graph["nodes"], graph["heads"]
    fc_id = heads[k + 3][0]
    nodes.append(
        {
            "op": "_backward_FullyConnected",
            "name": nodes[fc_id]["name"] + "_backward",
            "attrs": dict(nodes[fc_id].get("attrs", {})),
            "inputs": heads[k : k + 3],
            "control_deps": [fc_id],
        }
    )
    grad = len(nodes) - 1
    graph["heads"] = [*heads[:k], [grad, 1, 0], [grad, 2, 0]]
    graph.pop("node_row_ptr", None)
    loaded = S.load_json(json.dumps(graph))
    return [loaded[i] for i in range(k + 2)]


def _mean_l2(F: Any, X: Any, Y: Any, W: Any, b: Any, units: int, flatten: bool) -> Any:
    """``mean(L2Loss()(Dense(X), Y))`` with the operators of the Gluon loop's record graph."""
    pred = F.FullyConnected(X, W, b, num_hidden=units, flatten=flatten, no_bias=False)
    loss = F.square(Y - pred) * 0.5  # Y has pred's shape: L2Loss's reshape_like is a no-op
    return F.mean(F.mean(loss, axis=0, exclude=True))


def step_symbol(units: int, flatten: bool, *, record: bool, heldout: bool) -> Any:
    """The graph of one update (and a record), inputs by name (see the module doc).

    Inputs: ``X``, ``Y`` (the data, ``Y`` shaped like the net's output), ``W``, ``b``, ``vW``,
    ``vb`` (parameters and velocities), ``c`` (float32 ``mu, lr*wd, lr*rescale``), ``rows``
    (the batch's row indices) and, with ``heldout``, ``Xh``, ``Yh``. Outputs: the new ``W, b,
    vW, vb``, then with ``record`` the loss and with ``heldout`` the held-out loss.
    """
    X, Y, W, b, vW, vb, c, rows = (S.var(k) for k in ("X", "Y", "W", "b", "vW", "vb", "c", "rows"))
    x, y = S.take(X, rows), S.take(Y, rows)
    fc = S.FullyConnected(x, W, b, num_hidden=units, flatten=flatten, no_bias=False, name="fc")
    # L2Loss is square(label - pred) * 0.5 averaged over all but the batch axis; its backward
    # from a head of ones: ones / units * 0.5 (one float32 constant), times 2 (label - pred),
    # negated for pred
    half_mean = float(np.float32(1.0) / np.float32(units) * np.float32(0.5))
    head = S.negative((2 * (y - fc)) * half_mean)
    X, Y, W, b, vW, vb, c, gW, gb = _with_fc_backward([X, Y, W, b, vW, vb, c], fc, head, x, W)
    mu, lr_wd, lr_rescale = S.split(c, num_outputs=3, axis=0)

    def update(w: Any, v: Any, g: Any) -> tuple[Any, Any]:
        new_v = S.broadcast_sub(
            S.broadcast_sub(S.broadcast_mul(mu, v), S.broadcast_mul(lr_wd, w)), S.broadcast_mul(lr_rescale, g)
        )
        return w + new_v, new_v

    W2, vW2 = update(W, vW, gW)
    b2, vb2 = update(b, vb, gb)
    outs = [W2, b2, vW2, vb2]
    if record:
        outs.append(_mean_l2(S, X, Y, W2, b2, units, flatten))
    if heldout:
        outs.append(_mean_l2(S, S.var("Xh"), S.var("Yh"), W2, b2, units, flatten))
    return S.Group(outs)


class LinearSGDSteps:
    """The updates of one run, one cached graph call each (see the module doc).

    Args:
        net: the linear net (:func:`linear_sgd_reason` returned ``None``); it is written only
            by :meth:`sync`.
        trainer: its ``gluon.Trainer`` (MXNet's ``sgd``), for the momentum, weight decay and
            gradient scale.
        problem: the problem (data, and the held-out data when its metric is ``"loss"``).
        batch_size: the run's batch size.
    """

    def __init__(
        self, net: mx.gluon.Block, trainer: mx.gluon.Trainer, problem: Problem, batch_size: int
    ) -> None:
        dense = _dense_of(net)
        self._weight, self._bias = dense.weight, dense.bias
        self._units = int(dense._units)
        self._flatten = bool(dense._flatten)
        opt = trainer.optimizer
        self._mu = np.float32(opt.momentum)
        self._wd = np.float32(opt.wd)
        self._scale = float(trainer._scale)
        self._batch = batch_size
        labels = problem.data.labels
        self._arrays: dict[str, Any] = {"X": problem.data.features, "Y": labels.reshape((-1, self._units))}
        self._heldout = problem.metric == "loss" and problem.heldout is not None
        if self._heldout and problem.heldout is not None:
            held = problem.heldout
            self._arrays.update(Xh=held.features, Yh=held.labels.reshape((-1, self._units)))
        W, b = self._weight.data(), self._bias.data()
        self._state = [W.copy(), b.copy(), mx.nd.zeros_like(W), mx.nd.zeros_like(b)]
        self._ops: dict[tuple[bool, bool], tuple[Any, list[str]]] = {}
        self._tables: list[tuple[Any, Any]] = []
        self._full = 0

    def begin_epoch(self, order: Array, learning_rates: list[float]) -> None:
        """Upload the epoch's update coefficients and rows (full batches, then a short one)."""
        f32 = np.float32
        n, B = len(order), self._batch
        full = n // B
        lr = np.asarray(learning_rates, dtype=f32)
        lengths = np.full(len(lr), B)
        lengths[full:] = n - full * B
        rescale = np.array([f32(self._scale / int(k)) for k in lengths], dtype=f32)
        coef = np.stack([np.full(len(lr), self._mu, dtype=f32), lr * self._wd, lr * rescale], axis=1)
        rows = order.astype(np.int32)
        tables = [(mx.nd.array(coef[:full]), mx.nd.array(rows[: full * B].reshape(full, B), dtype="int32"))]
        if full < len(lr):
            short = rows[full * B :][None, :]
            tables.append((mx.nd.array(coef[full:]), mx.nd.array(short, dtype="int32")))
        self._tables = tables
        self._full = full

    def step(self, i: int, record: bool) -> tuple[Any, Any]:
        """Update ``i`` of the epoch; with ``record`` the new full-data loss (and held-out loss)."""
        short = i >= self._full
        coef, rows = self._tables[1] if short else self._tables[0]
        j = 0 if short else i
        op, names = self._op(short, record)
        arrays = self._arrays
        W, b, vW, vb = self._state
        arrays.update(W=W, b=b, vW=vW, vb=vb, c=coef[j], rows=rows[j])
        out = op(*[arrays[k] for k in names])
        if self._mu != 0:
            self._state = list(out[:4])
        else:  # multi_sgd_update has no velocity: keep it 0
            self._state = [out[0], out[1], vW, vb]
        if not record:
            return None, None
        return out[4], (out[5] if self._heldout else None)

    def params(self) -> list[Any]:
        """The current ``[weight, bias]`` arrays (not copies; the next update makes new ones)."""
        return self._state[:2]

    def sync(self) -> None:
        """Write the current parameters into the net."""
        self._state[0].copyto(self._weight.data())
        self._state[1].copyto(self._bias.data())

    def _op(self, short: bool, record: bool) -> tuple[Any, list[str]]:
        key = (short, record)
        if key not in self._ops:
            sym = step_symbol(self._units, self._flatten, record=record, heldout=record and self._heldout)
            op = mx.nd.CachedOp(sym, flags=[("static_alloc", True), ("static_shape", True)])
            self._ops[key] = (op, sym.list_inputs())
        return self._ops[key]
