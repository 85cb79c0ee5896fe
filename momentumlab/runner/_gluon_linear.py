"""The Gluon engine's update for plain SGD on a linear net under ``L2Loss``: one graph per step.

The general Gluon loop spends a step in four calls into MXNet: the cached net+loss graph under
``autograd.record``, ``backward`` (which rebuilds a backward graph from the tape every time),
the SGD kernel and the cached record graph. For the chapter's case, a ``Dense`` layer with a
bias and no activation, ``gluon.loss.L2Loss()`` and MXNet's ``sgd`` with a constant momentum,
:class:`LinearSGDSteps` does the whole update in one cached graph::

    x, y = X[rows], Y[rows]
    p = FullyConnected(x, W, b)                      # the net's forward
    g = -((1 / o * 0.5) * (2 * (y - p)))             # L2Loss's backward, operator for operator
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

#: Row indices travel as float32 beside the update's coefficients; exact below 2**24 rows.
_MAX_ROWS = 1 << 24


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
    if features.ndim != 2 or features.dtype != np.float32 or features.shape[0] >= _MAX_ROWS:
        return "features are not a 2-D float32 array of fewer than 2**24 rows"
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
    loss = F.square(F.reshape_like(Y, pred) - pred) * 0.5
    return F.mean(F.mean(loss, axis=0, exclude=True))


def step_symbol(units: int, flatten: bool, *, record: bool, heldout: bool) -> Any:
    """The graph of one update (and a record), inputs by name (see the module doc).

    Inputs: ``X``, ``Y`` (the data), ``W``, ``b``, ``vW``, ``vb`` (parameters and velocities),
    ``t`` (float32: ``mu, lr*wd, lr*rescale`` and then the batch's row indices) and, with
    ``heldout``, ``Xh``, ``Yh``. Outputs: the new ``W, b, vW, vb``, then with ``record`` the
    loss and with ``heldout`` the held-out loss.
    """
    X, Y, W, b, vW, vb, t = (S.var(k) for k in ("X", "Y", "W", "b", "vW", "vb", "t"))
    rows = S.slice_axis(t, axis=0, begin=3, end=None)
    x, y = S.take(X, rows), S.take(Y, rows)
    fc = S.FullyConnected(x, W, b, num_hidden=units, flatten=flatten, no_bias=False, name="fc")
    # L2Loss: square(label - pred) * 0.5, mean over all but the batch axis; backward in order
    head = S.negative((S.ones_like(fc) / units * 0.5) * (2 * (S.reshape_like(y, fc) - fc)))
    X, Y, W, b, vW, vb, t, gW, gb = _with_fc_backward([X, Y, W, b, vW, vb, t], fc, head, x, W)
    mu, lr_wd, lr_rescale = (S.slice_axis(t, axis=0, begin=i, end=i + 1) for i in range(3))

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
        self._arrays: dict[str, Any] = {"X": problem.data.features, "Y": problem.data.labels}
        self._heldout = problem.metric == "loss" and problem.heldout is not None
        if self._heldout and problem.heldout is not None:
            self._arrays.update(Xh=problem.heldout.features, Yh=problem.heldout.labels)
        W, b = self._weight.data(), self._bias.data()
        self._state = [W.copy(), b.copy(), mx.nd.zeros_like(W), mx.nd.zeros_like(b)]
        self._ops: dict[tuple[int, bool], tuple[Any, list[str]]] = {}
        self._tables: list[Any] = []

    def begin_epoch(self, order: Array, learning_rates: list[float]) -> None:
        """Upload the epoch's rows and update coefficients (one table per batch length)."""
        f32 = np.float32
        n, B = len(order), self._batch
        full = n // B
        lr = np.asarray(learning_rates, dtype=f32)
        lengths = np.full(len(lr), B)
        lengths[full:] = n - full * B
        rescale = np.array([f32(self._scale / int(k)) for k in lengths], dtype=f32)
        coef = np.stack([np.full(len(lr), self._mu, dtype=f32), lr * self._wd, lr * rescale], axis=1)
        rows = order.astype(f32)
        tables = [mx.nd.array(np.concatenate([coef[:full], rows[: full * B].reshape(full, B)], axis=1))]
        if full < len(lr):
            tables.append(mx.nd.array(np.concatenate([coef[full:], rows[full * B :][None, :]], axis=1)))
        self._tables = tables

    def step(self, i: int, record: bool) -> tuple[Any, Any]:
        """Update ``i`` of the epoch; with ``record`` the new full-data loss (and held-out loss)."""
        table = self._tables[0]
        if i >= table.shape[0]:
            table, i = self._tables[1], 0
        length = table.shape[1] - 3
        op, names = self._op(length, record)
        arrays = self._arrays
        W, b, vW, vb = self._state
        arrays.update(W=W, b=b, vW=vW, vb=vb, t=table[i])
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

    def _op(self, length: int, record: bool) -> tuple[Any, list[str]]:
        key = (length, record)
        if key not in self._ops:
            sym = step_symbol(self._units, self._flatten, record=record, heldout=record and self._heldout)
            op = mx.nd.CachedOp(sym, flags=[("static_alloc", True), ("static_shape", True)])
            self._ops[key] = (op, sym.list_inputs())
        return self._ops[key]
