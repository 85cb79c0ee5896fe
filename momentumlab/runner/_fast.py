"""The fast path of :func:`momentumlab.train`: linear net + ``L2Loss`` + MXNet's SGD, in NumPy.

On the chapter's problem every MXNet call (an engine push of a few microseconds of work) costs
tens of microseconds, so the Gluon loop is dominated by overhead. This path runs the same
mathematics as NumPy float32 arrays:

* forward ``P = X_b Wᵀ + b`` and the ``L2Loss`` gradient ``D = P - Y_b`` (float32);
* ``g_W = Dᵀ X_b``, ``g_b = Σ_i D_i``; for several outputs ``D`` is divided by their number,
  as the loss's mean over outputs does;
* the update written exactly as MXNet's ``multi_sgd_mom_update`` kernel orders it, in
  float32: ``m ← μ m − (lr·wd) w − (lr·rescale) g;  w ← w + m``, and without momentum
  ``w ← w − ((lr·wd) w + (lr·rescale) g)`` (``multi_sgd_update``), ``rescale = 1/len(batch)``.

The update formulas are bit-exact with MXNet's kernels; the matrix products use NumPy's BLAS
instead of MXNet's, whose summation order can differ in the last bit, so parameters agree with
the Gluon path to about 1e-7 relative, not bit for bit (``tests/test_fast_path.py`` holds
them within 1e-6). Records of the full-dataset loss come from the data's moments (float64,
O(d²) each) when that is cheaper than passes over the data, else from a pass (float32
residuals summed in float64).

:func:`fast_path_reason` says why a run cannot take this path (``None`` when it can); ``train``
then runs the Gluon loop, so anything this path does not reproduce exactly (other
optimizers, nets or losses, gradient clipping, fields of the config it does not know) still
works.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Callable
from typing import Any, cast

import mxnet as mx
import numpy as np

from momentumlab._src.types import Array
from momentumlab.models import get_params
from momentumlab.models._linear import _dense_of
from momentumlab.problems import Problem
from momentumlab.runner._config import RunConfig
from momentumlab.runner._moments import SquaredMoments, direct_loss
from momentumlab.runner._result import EpochInfo, RunResult, end_epoch, finished_message

logger = logging.getLogger("momentumlab")

# Fields of RunConfig this path implements; any other field must hold its default value, so a
# field added later (say a momentum schedule) sends runs to the Gluon loop until handled here.
_HANDLED = frozenset(
    {
        "batch_size",
        "learning_rate",
        "momentum",
        "epochs",
        "period",
        "optimizer",
        "weight_decay",
        "hyperparameters",
        "seed",
        "shuffle",
        "init_sigma",
        "max_records_per_epoch",
    }
)
_HARMLESS_HYPER = frozenset({"lazy_update", "multi_precision"})


def _unhandled_field(config: RunConfig) -> str | None:
    for f in dataclasses.fields(config):
        if f.name in _HANDLED:
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            return f.name
        if getattr(config, f.name) != default:
            return f.name
    return None


def fast_path_reason(config: RunConfig, problem: Problem, net: mx.gluon.Block, loss: Any) -> str | None:
    """Why the fast path cannot run this configuration, or ``None`` when it can."""
    return config_reason(config) or model_reason(problem, net, loss)


def config_reason(config: RunConfig) -> str | None:
    """The part of :func:`fast_path_reason` that depends on the config alone."""
    if config.optimizer != "sgd":
        return f"optimizer is {config.optimizer!r}, not 'sgd'"
    if config.momentum is not None and not isinstance(config.momentum, (int, float)):
        return "momentum is a schedule"
    extra = [k for k, _ in config.hyperparameters if k not in _HARMLESS_HYPER]
    if extra:
        return f"hyperparameters {extra} are not handled"
    name = _unhandled_field(config)
    if name is not None:
        return f"config field {name!r} is not handled"
    if int(os.getenv("MXNET_OPTIMIZER_AGGREGATION_SIZE", "4")) <= 0:
        return "MXNET_OPTIMIZER_AGGREGATION_SIZE <= 0 selects other SGD kernels"
    return None


def model_reason(problem: Problem, net: mx.gluon.Block, loss: Any) -> str | None:
    """The part of :func:`fast_path_reason` that depends on the problem, net and loss."""
    try:
        dense = _dense_of(net)
    except TypeError:
        return f"net is a {type(net).__name__}, not a linear net"
    if dense.act is not None:
        return "the Dense layer has an activation"
    if dense.bias is None:
        return "the Dense layer has no bias"
    params = list(net.collect_params().values())
    if len(params) != 2:
        return "the net has parameters besides one weight and bias"
    for p in params:
        if np.dtype(p.dtype) != np.float32 or p.grad_req != "write" or p.lr_mult != 1.0 or p.wd_mult != 1.0:
            return f"parameter {p.name!r} is not float32 with grad_req 'write' and unit multipliers"
    if type(loss) is not mx.gluon.loss.L2Loss or loss._weight != 1.0 or loss._batch_axis != 0:
        return "loss is not a plain gluon.loss.L2Loss()"
    if problem.metric not in (None, "loss"):
        return f"metric {problem.metric!r} is not handled"
    if problem.data.features.ndim != 2 or problem.data.features.dtype != np.float32:
        return "features are not a 2-D float32 array"
    return None


def gather_per_batch(n_samples: int, n_features: int, batch_size: int) -> bool:
    """Gather every mini-batch by index rather than copying the permuted data once an epoch.

    Measured with NumPy on the reference machine (``benchmarks/bench_scaling.py``): the
    per-batch gather wins once a batch holds about a thousand values (``batch_size *
    n_features >= 1000``), and always avoids a second copy of a large data set.
    """
    return batch_size * n_features >= 1000 or n_samples * n_features * 4 > (1 << 28)


class _Recorder:
    """Loss of the affine map ``(W, b)``: from moments when cheaper than passes, else direct."""

    def __init__(self, X: Array, Y: Array, n_records: int) -> None:
        d = X.shape[1]
        self._X, self._Y = X, Y
        # moments cost one O(n d²) pass, records by passes O(n d) each
        self._moments = SquaredMoments.of(X, Y) if (d + 1) <= n_records else None

    def __call__(self, W: Array, b: Array) -> float:
        if self._moments is not None:
            return float(self._moments.loss(W, b))
        return direct_loss(self._X, self._Y, W, b)


def _labels2d(labels: mx.nd.NDArray) -> Array:
    y: Array = labels.asnumpy().astype(np.float32, copy=False)
    return y.reshape(y.shape[0], -1)


def run_fast(
    config: RunConfig,
    problem: Problem,
    net: mx.gluon.Block,
    *,
    lrs: list[float],
    orders: list[Array],
    steps_per_epoch: int,
    callback: Callable[[EpochInfo], None] | None,
    record_params: bool,
    start: float,
) -> RunResult:
    """Run ``config`` on the fast path (see the module doc) and write the result into ``net``."""
    data = problem.data
    X = data.features.asnumpy()
    Y = _labels2d(data.labels)
    n, d = X.shape
    o = Y.shape[1]
    bs = config.batch_size
    dense = _dense_of(net)
    W = dense.weight.data().asnumpy().astype(np.float32)
    B = dense.bias.data().asnumpy().astype(np.float32)
    mW = np.zeros_like(W)
    mB = np.zeros_like(B)
    f32 = np.float32
    # config_reason sends momentum schedules to the Gluon loop: here it is a number
    momentum = 0.0 if config.momentum is None else float(cast(float, config.momentum))
    mu = f32(momentum)
    wd = f32(config.weight_decay)
    inv_o = f32(1.0 / o)
    mask = config.record_mask(n)
    n_records = 1 + config.epochs * sum(mask)
    record = _Recorder(X, Y, n_records)
    heldout = None
    if problem.metric == "loss" and problem.heldout is not None:
        hX = problem.heldout.features.asnumpy()
        heldout = _Recorder(hX, _labels2d(problem.heldout.labels), n_records)
    per_batch = gather_per_batch(n, d, bs)
    pnames = list(get_params(net))
    wname = next(k for k in pnames if k.endswith("weight"))
    bname = next(k for k in pnames if k.endswith("bias"))

    losses: list[float] = [record(W, B)]
    metrics: list[float] = [heldout(W, B)] if heldout is not None else []
    snapshots: list[tuple[Array, Array]] = [(W.copy(), B.copy())] if record_params else []
    record_steps = [0]
    step = 0
    epochs_done = 0
    diverged = False
    message = ""
    with np.errstate(all="ignore"):
        for epoch in range(1, config.epochs + 1):
            order = orders[epoch - 1]
            if not config.shuffle:
                Xe, Ye = X, Y
            elif not per_batch:
                Xe, Ye = X[order], Y[order]
            for i in range(steps_per_epoch):
                lo = i * bs
                hi = min(lo + bs, n)
                if config.shuffle and per_batch:
                    rows = order[lo:hi]
                    xb, yb = X[rows], Y[rows]
                else:
                    xb, yb = Xe[lo:hi], Ye[lo:hi]
                D = xb @ W.T + B - yb
                if o > 1:
                    D *= inv_o
                gW = D.T @ xb
                gB = D.sum(axis=0)
                lr = f32(lrs[step])
                lr_wd = lr * wd
                lr_rs = lr * f32(1.0 / (hi - lo))
                if momentum > 0:
                    mW = mu * mW - lr_wd * W - lr_rs * gW
                    mB = mu * mB - lr_wd * B - lr_rs * gB
                    W = W + mW
                    B = B + mB
                else:
                    W = W - (lr_wd * W + lr_rs * gW)
                    B = B - (lr_wd * B + lr_rs * gB)
                step += 1
                if mask[i]:
                    losses.append(record(W, B))
                    record_steps.append(step)
                    if heldout is not None:
                        metrics.append(heldout(W, B))
                    if record_params:
                        snapshots.append((W.copy(), B.copy()))
            ok_loss = math.isfinite(losses[-1]) and all(math.isfinite(v) for v in losses)
            ok_params = bool(np.isfinite(W).all() and np.isfinite(B).all())
            message = end_epoch(
                epoch, learning_rate=lrs[step - 1], loss=losses[-1], step=step,
                loss_ok=ok_loss, params_ok=ok_params, callback=callback,
            )  # fmt: skip
            if message:
                diverged = True
                break
            epochs_done = epoch
    dense.weight.set_data(mx.nd.array(W, dtype=np.float32))
    dense.bias.set_data(mx.nd.array(B, dtype=np.float32))
    final_loss = record(W, B)
    if not message:
        message = finished_message(epochs_done, step, final_loss)
    steps_arr = np.asarray(record_steps, dtype=np.int64)
    history: dict[str, Array] = {}
    if record_params:
        history[wname] = np.stack([s[0] for s in snapshots])
        history[bname] = np.stack([s[1] for s in snapshots])
    return RunResult(
        config=config,
        losses=np.asarray(losses, dtype=np.float64),
        record_steps=steps_arr,
        learning_rates=np.asarray(lrs[:step], dtype=np.float64),
        momenta=np.full(step, momentum, dtype=np.float64),
        params={wname: W.copy(), bname: B.copy()},
        weight=W.copy(),
        bias=B.copy(),
        wall_time=time.perf_counter() - start,
        diverged=diverged,
        n_steps=step,
        steps_per_epoch=steps_per_epoch,
        epochs_completed=epochs_done,
        final_loss=final_loss,
        message=message,
        path="fast",
        param_history=history,
        metrics=np.asarray(metrics, dtype=np.float64),
        metric_name=problem.metric,
        problem_name=problem.name,
    )
