"""``train``: the chapter's loop, made reusable, exact and fast."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import mxnet as mx
import numpy as np

from momentumlab._src.checks import check_bool, check_choice, check_int, check_type
from momentumlab._src.types import Array
from momentumlab.data import LinearData
from momentumlab.models import get_params, init_normal
from momentumlab.models._linear import _dense_of
from momentumlab.optim import PlateauState, bind_schedule, make_trainer
from momentumlab.problems import Problem, linear_problem
from momentumlab.runner._config import RunConfig
from momentumlab.runner._fast import fast_path_reason, run_fast
from momentumlab.runner._result import EpochInfo, RunResult, end_epoch, finished_message
from momentumlab.runner._sgd import FusedSGD

logger = logging.getLogger("momentumlab")

Callback = Callable[[EpochInfo], None]

#: Values of ``train(..., path=...)``: ``"auto"`` takes the fast path where it gives the same
#: results and the Gluon loop otherwise; ``"gluon"`` always runs the Gluon loop; ``"fast"``
#: requires the fast path (a ``ValueError`` says why when it cannot run).
PATHS = ("auto", "fast", "gluon")


def _seed_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    init_ss, shuffle_ss = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(init_ss), np.random.default_rng(shuffle_ss)


def batch_orders(config: RunConfig, n_samples: int) -> list[Array]:
    """The example order of every epoch that :func:`train` uses for ``config``.

    With ``shuffle=True`` each epoch is a fresh permutation drawn from a stream derived from
    ``config.seed`` (independent of the stream that draws the initial weights); with
    ``shuffle=False`` it is ``0 .. n_samples-1``. Use it to replay a run in your own loop.

    Example:
        >>> import momentumlab as ml
        >>> orders = ml.batch_orders(ml.RunConfig(epochs=2, shuffle=False), 4)
        >>> [o.tolist() for o in orders]
        [[0, 1, 2, 3], [0, 1, 2, 3]]
    """
    n = check_int("n_samples", n_samples, low=1)
    if not config.shuffle:
        return [np.arange(n, dtype=np.int64) for _ in range(config.epochs)]
    _, rng = _seed_streams(config.seed)
    return [rng.permutation(n).astype(np.int64) for _ in range(config.epochs)]


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


def _check_fit(net: mx.gluon.Block, loss: mx.gluon.loss.Loss, problem: Problem) -> None:
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


def _noise_stream(seed: int) -> np.random.Generator:
    """A third stream (for optimizer noise, e.g. sgld), independent of the init and shuffle ones."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])


def _learning_rates(config: RunConfig, steps_per_epoch: int) -> list[float]:
    """The base learning rate of every update (before any plateau reduction)."""
    total = config.epochs * steps_per_epoch
    lr = bind_schedule(config.learning_rate, steps_per_epoch)
    if callable(lr):
        return [float(lr(t)) for t in range(total)]
    return [float(lr)] * total


def train(
    config: RunConfig,
    problem: Problem | LinearData,
    *,
    net: mx.gluon.Block | None = None,
    initialize: bool = True,
    loss: mx.gluon.loss.Loss | None = None,
    callback: Callback | None = None,
    record_params: bool = False,
    path: str = "auto",
) -> RunResult:
    """Train a net on ``data`` with ``config`` and return everything the run produced.

    Two implementations, reported in ``result.path``:

    * ``"gluon"`` (``"imperative"`` for a net that is not a ``HybridBlock``): the chapter's
      loop, made exact and fast. Every epoch visits the examples in the order of
      :func:`batch_orders` in mini-batches of ``batch_size`` gathered by index inside one
      hybridized net+loss graph (a last short batch is kept and its gradient divided by its
      own length); each update is ``trainer.step(len(batch))`` on a ``gluon.Trainer`` built by
      :func:`momentumlab.optim.make_trainer` (for plain SGD its kernels are called directly,
      with the same arguments and bits), with the learning rate of every step taken from
      ``learning_rate`` and ``schedule`` (a :class:`momentumlab.optim.PerEpoch` schedule is
      bound to the run's updates per epoch) and, with ``plateau``, multiplied by the
      reduce-on-plateau scale fed with the recorded losses (see
      :class:`momentumlab.optim.ReduceOnPlateau` for which records it sees and when a
      reduction takes effect); a momentum schedule is applied by the optimizer at every
      update; the learning rate and momentum of every update are recorded. With the same
      data, initial parameters and batch order, the final weights and bias are bit-identical
      to the chapter's own loop.
    * ``"fast"``: for a linear net under ``L2Loss`` with MXNet's SGD, the same update in
      NumPy float32 (parameters within about 1e-7 relative of the Gluon loop; see
      ``momentumlab/runner/_fast.py``), with records from the data's moments in float64.

    ``path="auto"`` takes the fast path whenever it applies; ``"gluon"`` forces the Gluon loop.

    The mean full-dataset loss is recorded once before training and after every mini-batch
    ``i`` with ``i * batch_size % period == 0`` (at most ``max_records_per_epoch`` of them per
    epoch, see :meth:`RunConfig.record_mask`); records stay on the device and are copied to
    the host once per epoch, where a NaN/inf loss or parameter stops the run and marks it
    diverged. When the problem has a held-out metric it is evaluated at the same positions
    and returned in ``result.metrics``.

    Args:
        config: the run's :class:`RunConfig`.
        problem: a :class:`momentumlab.problems.Problem`, or a
            :class:`momentumlab.data.LinearData`, which means the chapter's problem on that data
            (:func:`momentumlab.problems.linear_problem`).
        net: your own Gluon net; ``None`` builds a fresh one with ``problem.make_net`` (for
            data, a :class:`momentumlab.models.LinearRegressor`). A ``HybridBlock`` is
            hybridized in place.
        initialize: draw the initial parameters from ``config.seed`` (with the problem's
            initialiser; by default weights ``N(0, init_sigma²)`` and biases 0); ``False`` keeps
            the net's current parameters.
        loss: a Gluon loss; ``None`` uses ``problem.make_loss`` (the chapter's ``L2Loss``).
        callback: called with an :class:`EpochInfo` after every epoch.
        record_params: also keep every parameter at every record (for trajectory pictures),
            in ``result.param_history`` as arrays of shape ``(n_records, *param.shape)``.
        path: one of :data:`PATHS`: ``"auto"`` (default), ``"gluon"`` or ``"fast"``.

    Returns:
        A frozen :class:`RunResult`.

    Raises:
        ValueError: if ``batch_size`` exceeds the number of examples, the net's parameters
            are uninitialised and ``initialize`` is ``False``, or ``path="fast"`` is asked for
            a run the fast path cannot do (the message says why).
        TypeError: for arguments of the wrong type.

    Example:
        >>> import momentumlab as ml
        >>> data = ml.data.make_linear_regression(seed=0)
        >>> result = ml.train(ml.RunConfig.chapter(), data)
        >>> result.final_loss < 1e-4
        True
        >>> print(result.weight.round(2), result.bias.round(2))
        [[ 2.  -3.4]] [4.2]
        >>> result.path, ml.train(ml.RunConfig.chapter(), data, path="gluon").path
        ('fast', 'gluon')
    """
    start = time.perf_counter()
    check_type("config", config, RunConfig, "a RunConfig")
    if isinstance(problem, LinearData):
        problem = linear_problem(problem, with_optimum=False)
    check_type("problem", problem, Problem, "a momentumlab.problems.Problem or LinearData")
    data = problem.data
    init = check_bool("initialize", initialize)
    keep_params = check_bool("record_params", record_params)
    route = check_choice("path", path, PATHS)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {callback!r}")
    n = data.n_samples
    bs = config.batch_size
    if bs > n:
        raise ValueError(f"batch_size must be in [1, {n}] (the number of examples), got {bs}")
    if net is None:
        net = problem.make_net()
        init = True
    else:
        check_type("net", net, mx.gluon.Block, "a gluon Block or None")
    if loss is None:
        loss = problem.make_loss()
    else:
        check_type("loss", loss, mx.gluon.loss.Loss, "a gluon.loss.Loss or None")

    init_rng, _ = _seed_streams(config.seed)
    if init and problem.init_params is not None:
        problem.init_params(net, init_rng)
    elif init:
        init_normal(net, sigma=config.init_sigma, seed=init_rng)
    else:
        for name, p in net.collect_params().items():
            if p._data is None:
                raise ValueError(
                    f"net parameter {name!r} must be initialised when initialize=False, "
                    "got an uninitialised parameter"
                )

    steps_per_epoch = math.ceil(n / bs)
    lrs = _learning_rates(config, steps_per_epoch)
    orders = batch_orders(config, n)

    _check_fit(net, loss, problem)
    reason = fast_path_reason(config, problem, net, loss)
    if route == "fast" and reason is not None:
        raise ValueError(f"path must be 'auto' or 'gluon' for this run ({reason}), got 'fast'")
    if route != "gluon" and reason is None:
        return run_fast(
            config,
            problem,
            net,
            lrs=lrs,
            orders=orders,
            steps_per_epoch=steps_per_epoch,
            callback=callback,
            record_params=keep_params,
            start=start,
        )

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

    trainer = make_trainer(
        net.collect_params(),
        optimizer=config.optimizer,
        learning_rate=lrs[0],
        momentum=bind_schedule(config.momentum, steps_per_epoch) if config.momentum is not None else None,
        weight_decay=config.weight_decay,
        hyperparameters=config.hyperparameter_dict(),
        seed=_noise_stream(config.seed),
    )
    plateau = config.plateau
    plateau_state: PlateauState | None = plateau.initial_state() if plateau is not None else None
    per_record = plateau is not None and plateau.observe == "record"
    metric_fn = _metric_fn(problem, net, loss, hybrid)
    X, y = data.features, data.labels
    if problem.heldout is not None:
        Xh, yh = problem.heldout.features, problem.heldout.labels
    records: list[Any] = [eval_fn(X, y)]
    metric_records: list[Any] = [metric_fn(Xh, yh)] if metric_fn is not None else []
    metrics: list[float] = []
    plist = list(net.collect_params().values())
    fused = FusedSGD(trainer, plist) if FusedSGD.supports(trainer, plist) else None
    pnames = list(get_params(net)) if keep_params else []
    snapshots: list[list[Any]] = [[p.data().copy() for p in plist]] if keep_params else []
    losses: list[float] = []
    record_steps: list[int] = [0]
    used_lrs: list[float] = []
    optimizer = trainer.optimizer
    has_momentum = hasattr(optimizer, "momentum")
    used_moms: list[float] = []
    record_after = config.record_mask(n)
    diverged = False
    message = ""
    step = 0
    epochs_done = 0
    current_lr = trainer.learning_rate
    for epoch in range(1, config.epochs + 1):
        # The epoch's example order as an index array; each mini-batch is gathered from it
        # inside the step graph (no permuted copy of the data set).
        index = mx.nd.array(orders[epoch - 1], dtype="int32")
        for i in range(steps_per_epoch):
            lo = i * bs
            hi = min(lo + bs, n)
            lr = lrs[step]
            if plateau is not None and plateau_state is not None:
                lr = plateau.learning_rate(lr, plateau_state.scale)
            with mx.autograd.record():
                lv = step_fn(X, y, index[lo:hi])
            lv.backward()
            if fused is not None:
                fused.step(lr, hi - lo)
                used_lrs.append(lr)
            else:
                if lr != current_lr:
                    trainer.set_learning_rate(lr)
                    current_lr = lr
                trainer.step(hi - lo)
                used_lrs.append(trainer.learning_rate)
            # a scheduled momentum is set by the optimizer at each update: read what it used
            used_moms.append(float(optimizer.momentum) if has_momentum else math.nan)
            step += 1
            if record_after[i]:
                records.append(eval_fn(X, y))
                if per_record and plateau is not None and plateau_state is not None and step < len(lrs):
                    plateau_state = plateau.update(plateau_state, float(records[-1].asscalar()), lrs[step])
                record_steps.append(step)
                if metric_fn is not None:
                    metric_records.append(metric_fn(Xh, yh))
                if keep_params:
                    snapshots.append([p.data().copy() for p in plist])
        host = _to_host(records)
        losses.extend(float(v) for v in host)
        records = []
        if metric_fn is not None and metric_records:
            mhost = _to_host(metric_records)
            metrics.extend(float(v) for v in mhost)
            metric_records = []
        if plateau is not None and plateau_state is not None and not per_record and step < len(lrs):
            # one observation per epoch: the last loss recorded in it (see ReduceOnPlateau)
            plateau_state = plateau.update(plateau_state, losses[-1], lrs[step])
        params_ok = all(bool(np.isfinite(p.data().asnumpy()).all()) for p in plist)
        loss_ok = bool(np.isfinite(host).all())
        message = end_epoch(
            epoch, learning_rate=used_lrs[-1], loss=losses[-1], step=step,
            loss_ok=loss_ok, params_ok=params_ok, callback=callback,
        )  # fmt: skip
        if message:
            diverged = True
            break
        epochs_done = epoch
    final_loss = float(eval_fn(X, y).asnumpy().reshape(-1)[0])
    params = get_params(net)
    try:
        dense = _dense_of(net)
        weight: Array | None = dense.weight.data().asnumpy()
        bias: Array | None = dense.bias.data().asnumpy() if dense.bias is not None else None
    except TypeError:
        weight = bias = None
    if not message:
        message = finished_message(epochs_done, step, final_loss)
    steps_arr = np.asarray(record_steps[: len(losses)], dtype=np.int64)
    history: dict[str, Array] = {}
    if keep_params:
        for j, pname in enumerate(pnames):
            history[pname] = np.stack([snap[j].asnumpy() for snap in snapshots[: len(losses)]])
    return RunResult(
        config=config,
        losses=np.asarray(losses, dtype=np.float64),
        record_steps=steps_arr,
        learning_rates=np.asarray(used_lrs, dtype=np.float64),
        momenta=np.asarray(used_moms, dtype=np.float64),
        params=params,
        weight=weight,
        bias=bias,
        wall_time=time.perf_counter() - start,
        diverged=diverged,
        n_steps=step,
        steps_per_epoch=steps_per_epoch,
        epochs_completed=epochs_done,
        final_loss=final_loss,
        message=message,
        path=("gluon" if hybrid else "imperative"),
        param_history=history,
        metrics=np.asarray(metrics, dtype=np.float64),
        metric_name=problem.metric,
        problem_name=problem.name,
    )
