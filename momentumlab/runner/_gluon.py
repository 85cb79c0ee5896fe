"""The Gluon engine: the chapter's loop, made exact and fast, for any net, loss and optimizer.

Every epoch visits the examples in the plan's order in mini-batches gathered by index inside
one hybridized net+loss graph (a last short batch is kept and its gradient divided by its own
length); each update is ``trainer.step(len(batch))`` on a ``gluon.Trainer`` built by
:func:`momentumlab.optim.make_trainer` (for plain SGD its kernels are called directly, with
the same arguments and bits), with the plan's learning rate of every update (times the
reduce-on-plateau scale, with ``plateau``). Records stay on the device and are copied to the
host once per epoch, where the one divergence rule (:mod:`momentumlab.runner._divergence`)
decides whether the run goes on.

Two refinements keep that loop's results and change only its speed or its evaluation point:

* For plain SGD on a linear net under ``L2Loss`` (the chapter's case) every update, with its
  record, is one cached graph that calls the same MXNet operators, backward included, in the
  same order (:mod:`momentumlab.runner._gluon_linear`): the same bits in a third of the time.
* Records (losses, held-out metrics, ``record_params`` snapshots and the final loss) are
  taken inside :func:`momentumlab.optim.evaluation_point`, so ``sgd_schedule_free`` reports
  the loss at its evaluation point (the average ``x``); ``result.params`` and the net keep
  the training point ``y``, from which training goes on. Other optimizers are unaffected.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import mxnet as mx
import numpy as np

from momentumlab._src.types import Array
from momentumlab.models import get_params, set_params
from momentumlab.optim import PlateauState, evaluation_point, make_trainer
from momentumlab.problems import Problem
from momentumlab.runner._divergence import all_finite, divergence_reason
from momentumlab.runner._gluon_linear import LinearSGDSteps, linear_sgd_reason
from momentumlab.runner._plan import Plan
from momentumlab.runner._result import EpochInfo, RunResult, build_result, end_epoch
from momentumlab.runner._sgd import FusedSGD


class _LossOf(mx.gluon.HybridBlock):
    """``loss(net(x), y)`` as one block, so the pair hybridizes into one cached graph."""

    def __init__(self, net: mx.gluon.HybridBlock, loss: mx.gluon.loss.Loss, mean: bool) -> None:
        super().__init__(prefix="")
        self.net = net
        self.loss = loss
        self._mean = mean

    def hybrid_forward(self, F: Any, x: Any, y: Any) -> Any:
        out = self.loss(self.net(x), y)
        return F.mean(out) if self._mean else out


class _BatchLossOf(mx.gluon.HybridBlock):
    """``loss(net(X[rows]), y[rows])``: the mini-batch is gathered inside the cached graph.

    Gathering rows by index inside the graph costs no extra engine call and never copies the
    whole data set (the chapter's loop, and slicing a permuted copy, do); the gathered values
    are the same bits as the slices, so the update is unchanged.
    """

    def __init__(self, net: mx.gluon.HybridBlock, loss: mx.gluon.loss.Loss) -> None:
        super().__init__(prefix="")
        self.net = net
        self.loss = loss

    def hybrid_forward(self, F: Any, x: Any, y: Any, rows: Any) -> Any:
        return self.loss(self.net(F.take(x, rows)), F.take(y, rows))


class _MetricOf(mx.gluon.HybridBlock):
    """A held-out metric of ``net`` as one block (see :data:`momentumlab.problems.METRICS`)."""

    def __init__(self, net: mx.gluon.Block, loss: mx.gluon.loss.Loss, metric: str) -> None:
        super().__init__(prefix="")
        self.net = net
        self.loss = loss
        self._metric = metric

    def hybrid_forward(self, F: Any, x: Any, y: Any) -> Any:
        out = self.net(x)
        if self._metric == "loss":
            return F.mean(self.loss(out, y))
        if self._metric == "accuracy":
            return F.mean(F.argmax(out, axis=1) == F.reshape(y, (-1,)))
        return F.mean((F.reshape(out, (-1,)) > 0) == F.reshape(y, (-1,)))


def _to_host(records: list[Any]) -> Array:
    """One host copy of an epoch's scalar records (each of shape ``(1,)`` from ``mean``)."""
    if not records:
        return np.zeros(0)
    try:  # the common case: one concat, no per-record reshape
        out: Array = mx.nd.concat(*records, dim=0).asnumpy()
    except mx.base.MXNetError:
        out = mx.nd.concat(*[r.reshape((1,)) for r in records], dim=0).asnumpy()
    if out.shape != (len(records),):
        out = mx.nd.concat(*[r.reshape((1,)) for r in records], dim=0).asnumpy()
    return out


class _DirectCall:
    """Call a hybridized block's cached graph without Gluon's per-call bookkeeping.

    The first call goes through the block (which builds its ``CachedOp``); later calls hand
    the inputs and the parameters' arrays straight to that ``CachedOp``, which is what
    ``HybridBlock._call_cached_op`` does after checking the argument structure and gathering
    the parameter arrays again. The arrays are the same, so results (and gradients, under
    ``autograd.record``) are identical; it saves about 0.1 ms per call, a large share of a
    tiny model's step. If MXNet's private attributes are not there, every call goes through
    the block.
    """

    def __init__(self, block: mx.gluon.HybridBlock) -> None:
        self._block = block
        self._op: Any = None
        self._spec: list[tuple[bool, Any]] = []

    def __call__(self, *args: Any) -> Any:
        if self._op is not None:
            out = self._op(*[args[v] if is_arg else v for is_arg, v in self._spec])
            return out[0] if isinstance(out, (list, tuple)) else out
        out = self._block(*args)
        op = getattr(self._block, "_cached_op", None)
        pairs = getattr(self._block, "_cached_op_args", None)
        if op is not None and pairs is not None and isinstance(out, mx.nd.NDArray):
            self._spec = [(True, i) if is_arg else (False, i.data()) for is_arg, i in pairs]
            self._op = op
        return out


def _metric_fn(
    problem: Problem, net: mx.gluon.Block, loss: mx.gluon.loss.Loss, hybrid: bool
) -> Callable[[Any, Any], Any] | None:
    if problem.metric is None or problem.heldout is None:
        return None
    block = _MetricOf(net, loss, problem.metric)
    if hybrid:
        block.hybridize(static_alloc=True)
        return _DirectCall(block)
    return block


def check_fit(net: mx.gluon.Block, loss: mx.gluon.loss.Loss, problem: Problem) -> None:
    """Fail before training when the net's output does not fit the loss, labels and problem."""
    data = problem.data
    k = min(2, data.n_samples)
    x, y = data.features[:k], data.labels[:k]
    try:
        out = net(x)
        value = loss(out, y).asnumpy()
    except mx.base.MXNetError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"net output must fit the loss and labels: net(x) for x of shape {x.shape} with labels "
            f"of shape {y.shape} failed in the loss: {first}"
        ) from err
    if value.shape != (k,):
        raise ValueError(
            f"net output must give one loss per example: expected loss shape ({k},), got "
            f"{value.shape} for net output shape {out.shape} and labels shape {y.shape}"
        )
    width = problem.output_size
    if width is not None and (out.ndim > 2 or out.size != k * width):
        raise ValueError(
            f"net output must have {width} value(s) per example for problem {problem.name!r}, "
            f"got output shape {out.shape} for {k} example(s)"
        )


class _TrainerSteps:
    """The updates of one run through the cached net+loss graph, ``backward`` and the trainer.

    With ``sgd_schedule_free`` the records are taken at the optimizer's evaluation point.
    """

    def __init__(
        self,
        step_fn: Callable[[Any, Any, Any], Any],
        eval_fn: Callable[[Any, Any], Any],
        metric_fn: Callable[[Any, Any], Any] | None,
        trainer: mx.gluon.Trainer,
        plist: list[mx.gluon.Parameter],
        problem: Problem,
        batch_size: int,
    ) -> None:
        self._step_fn, self._eval_fn, self._metric_fn = step_fn, eval_fn, metric_fn
        self._trainer = trainer
        self._plist = plist
        self._fused = FusedSGD(trainer, plist) if FusedSGD.supports(trainer, plist) else None
        self._current_lr = trainer.learning_rate
        self._X, self._y = problem.data.features, problem.data.labels
        held = problem.heldout
        self._Xh: Any = held.features if held is not None else None
        self._yh: Any = held.labels if held is not None else None
        self._batch = batch_size
        self._index: Any = None

    def begin_epoch(self, order: Array) -> None:
        # each mini-batch is gathered from the epoch's index array inside the step graph
        self._index = mx.nd.array(order, dtype="int32")

    def step(self, i: int, lr: float) -> float:
        """Update ``i`` of the epoch with learning rate ``lr``; returns the rate MXNet used."""
        lo = i * self._batch
        hi = min(lo + self._batch, self._index.shape[0])
        with mx.autograd.record():
            lv = self._step_fn(self._X, self._y, self._index[lo:hi])
        lv.backward()
        if self._fused is not None:
            self._fused.step(lr, hi - lo)
            return lr
        if lr != self._current_lr:
            self._trainer.set_learning_rate(lr)
            self._current_lr = lr
        self._trainer.step(hi - lo)
        return float(self._trainer.learning_rate)

    def record(self) -> tuple[Any, Any]:
        """The full-data loss (and held-out metric) now, at the evaluation point."""
        with evaluation_point(self._trainer):
            loss = self._eval_fn(self._X, self._y)
            metric = self._metric_fn(self._Xh, self._yh) if self._metric_fn is not None else None
        return loss, metric

    def params(self) -> list[Any]:
        with evaluation_point(self._trainer):
            return [p.data().copy() for p in self._plist]


def run_gluon(
    plan: Plan,
    problem: Problem,
    net: mx.gluon.Block,
    loss: mx.gluon.loss.Loss,
    *,
    start: float,
    callback: Callable[[EpochInfo], None] | None = None,
    record_params: bool = False,
) -> RunResult:
    """Run ``plan`` with ``net`` and ``loss`` (see the module doc); the net keeps the result.

    The net's parameters are set to ``plan.initial_params`` first. ``result.engine`` is
    ``"gluon"``, or ``"imperative"`` for a net that is not a ``HybridBlock``.
    """
    config = plan.config
    set_params(net, plan.initial_params)
    hybrid = isinstance(net, mx.gluon.HybridBlock)
    if hybrid:
        step_block = _BatchLossOf(net, loss)
        eval_block = _LossOf(net, loss, mean=True)
        step_block.hybridize(static_alloc=True)
        eval_block.hybridize(static_alloc=True)
        step_fn: Callable[[Any, Any, Any], Any] = _DirectCall(step_block)
        eval_fn: Callable[[Any, Any], Any] = _DirectCall(eval_block)
    else:
        net_, loss_ = net, loss

        def step_fn(x: Any, y: Any, rows: Any) -> Any:
            return loss_(net_(x.take(rows)), y.take(rows))

        def eval_fn(x: Any, y: Any) -> Any:
            return loss_(net_(x), y).mean()

    lrs = plan.learning_rates.tolist()
    trainer = make_trainer(
        net.collect_params(),
        optimizer=config.optimizer,
        learning_rate=lrs[0],
        momentum=plan.momentum,
        weight_decay=config.weight_decay,
        hyperparameters=config.hyperparameter_dict(),
        seed=np.random.default_rng(plan.noise_seed),
    )
    plateau = config.plateau
    plateau_state: PlateauState | None = plateau.initial_state() if plateau is not None else None
    per_record = plateau is not None and plateau.observe == "record"
    metric_fn = _metric_fn(problem, net, loss, hybrid)
    plist = list(net.collect_params().values())
    general = _TrainerSteps(step_fn, eval_fn, metric_fn, trainer, plist, problem, config.batch_size)
    linear = None
    if linear_sgd_reason(net, loss, trainer, problem, per_record) is None:
        linear = LinearSGDSteps(net, trainer, problem, config.batch_size)
    first_loss, first_metric = general.record()
    records: list[Any] = [first_loss]
    metric_records: list[Any] = [first_metric] if metric_fn is not None else []
    metrics: list[float] = []
    pnames = list(get_params(net)) if record_params else []
    snapshots: list[list[Any]] = [general.params()] if record_params else []
    losses: list[float] = []
    record_steps: list[int] = [0]
    used_lrs: list[float] = []
    optimizer = trainer.optimizer
    has_momentum = hasattr(optimizer, "momentum")
    used_moms: list[float] = []
    record_after = plan.record_mask
    message = ""
    step = 0
    epochs_done = 0
    for epoch in range(1, config.epochs + 1):
        order = plan.orders[epoch - 1]
        epoch_lrs = lrs[step : step + plan.steps_per_epoch]
        if linear is not None and plateau is not None and plateau_state is not None:
            scale = plateau_state.scale  # fixed within an epoch when plateau observes epochs
            epoch_lrs = [plateau.learning_rate(v, scale) for v in epoch_lrs]
        if linear is not None:
            linear.begin_epoch(order, epoch_lrs)
        else:
            general.begin_epoch(order)
        for i in range(plan.steps_per_epoch):
            if linear is not None:
                loss_now, metric_now = linear.step(i, record_after[i])
                used_lrs.append(epoch_lrs[i])
            else:
                lr = lrs[step]
                if plateau is not None and plateau_state is not None:
                    lr = plateau.learning_rate(lr, plateau_state.scale)
                used_lrs.append(general.step(i, lr))
            # a scheduled momentum is set by the optimizer at each update: read what it used
            used_moms.append(float(optimizer.momentum) if has_momentum else math.nan)
            step += 1
            if record_after[i]:
                if linear is None:
                    loss_now, metric_now = general.record()
                records.append(loss_now)
                if per_record and plateau is not None and plateau_state is not None and step < len(lrs):
                    plateau_state = plateau.update(plateau_state, float(records[-1].asscalar()), lrs[step])
                record_steps.append(step)
                if metric_fn is not None:
                    metric_records.append(metric_now)
                if record_params:
                    snapshots.append(linear.params() if linear is not None else general.params())
        if linear is not None:
            linear.sync()
        host = _to_host(records)
        losses.extend(float(v) for v in host)
        # the epoch's records (after its first update) and the loss at its end
        checked = host[1:] if epoch == 1 else host
        if not record_after[-1]:
            checked = np.append(checked, float(general.record()[0].asnumpy().reshape(-1)[0]))
        records = []
        if metric_fn is not None and metric_records:
            metrics.extend(float(v) for v in _to_host(metric_records))
            metric_records = []
        if plateau is not None and plateau_state is not None and not per_record and step < len(lrs):
            # one observation per epoch: the last loss recorded in it (see ReduceOnPlateau)
            plateau_state = plateau.update(plateau_state, losses[-1], lrs[step])
        reason = divergence_reason(checked, all_finite(*(p.data().asnumpy() for p in plist)))
        message = end_epoch(
            epoch, learning_rate=used_lrs[-1], loss=losses[-1], step=step, reason=reason, callback=callback
        )
        if message:
            break
        epochs_done = epoch
    history: dict[str, Array] = {}
    if record_params:
        for j, pname in enumerate(pnames):
            history[pname] = np.stack([snap[j].asnumpy() for snap in snapshots[: len(losses)]])
    return build_result(
        plan,
        engine="gluon" if hybrid else "imperative",
        problem=problem,
        losses=losses,
        record_steps=record_steps[: len(losses)],
        learning_rates=used_lrs,
        momenta=used_moms,
        params=get_params(net),
        final_loss=float(general.record()[0].asnumpy().reshape(-1)[0]),
        n_steps=step,
        epochs_completed=epochs_done,
        message=message,
        wall_time=time.perf_counter() - start,
        param_history=history,
        metrics=metrics,
    )
