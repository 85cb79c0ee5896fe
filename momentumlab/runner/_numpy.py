"""The NumPy engine: K runs of a linear net under ``L2Loss`` with SGD or NAG, batched.

:func:`momentumlab.train` runs it with K = 1 (``engine="numpy"``), :func:`momentumlab.train_many`
with K configurations (``engine="numpy-batched"``); both consume :class:`Plan` values, so a
configuration gives the same result alone or in a batch. On the chapter's problem every
MXNet call costs tens of microseconds, so the Gluon loop is dominated by overhead; this
engine runs the same mathematics on NumPy float32 arrays:

* forward ``P = X_b Wᵀ + b`` and the ``L2Loss`` gradient ``D = P - Y_b`` (float32); for
  several outputs ``D`` is divided by their number, as the loss's mean over outputs does;
* ``g_W = Dᵀ X_b``, ``g_b = Σ_i D_i`` (one product per configuration: the same kernel, and
  so the same bits, for every K);
* the update rule of the optimizer (``momentumlab/runner/_update.py``: heavy-ball SGD, or NAG),
  written once as MXNet's kernel orders it in float32, with the plan's learning rate and
  momentum of every update.

The update formula is bit-exact with MXNet's kernels; the matrix products use NumPy's BLAS
instead of MXNet's, whose summation order can differ in the last bit, so parameters agree with
the Gluon engine to about 1e-7 relative, not bit for bit. Records of the full-dataset loss come
from the data's moments (float64, O(d²) each) when that is cheaper than passes over the data,
else from a pass (float32 residuals summed in float64). Divergence is decided by the one rule
of :mod:`momentumlab.runner._divergence` at the end of every epoch; a configuration that
diverges keeps its parameters of that moment and its result stops there, as it would alone.

:func:`numpy_reason` says why a run cannot take this engine (``None`` when it can); ``train``
then runs the Gluon loop, so anything this engine does not reproduce (other optimizers, nets
or losses, gradient clipping, fields of the config it does not know) still works.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import mxnet as mx
import numpy as np

from momentumlab._src.types import Array
from momentumlab.models._linear import _dense_of
from momentumlab.problems import Problem
from momentumlab.runner._config import RunConfig
from momentumlab.runner._divergence import divergence_reasons
from momentumlab.runner._moments import SquaredMoments, direct_loss
from momentumlab.runner._plan import Plan
from momentumlab.runner._result import EpochInfo, RunResult, build_result, end_epoch
from momentumlab.runner._update import RULE_OPTIMIZERS, UpdateRule, rule_for

# Fields of RunConfig this engine implements; any other field must hold its default value, so a
# field added later sends runs to the Gluon loop until handled here.
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


def numpy_reason(config: RunConfig, problem: Problem, net: mx.gluon.Block, loss: Any) -> str | None:
    """Why the NumPy engine cannot run this configuration, or ``None`` when it can."""
    return config_reason(config) or model_reason(problem, net, loss)


def config_reason(config: RunConfig) -> str | None:
    """The part of :func:`numpy_reason` that depends on the config alone."""
    if config.optimizer not in RULE_OPTIMIZERS:
        return f"optimizer is {config.optimizer!r}, not one of {list(RULE_OPTIMIZERS)}"
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
    """The part of :func:`numpy_reason` that depends on the problem, net and loss."""
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
    """Losses of K affine maps ``(W, b)``: from moments when cheaper than passes, else direct."""

    def __init__(self, X: Array, Y: Array, n_records: int) -> None:
        d = X.shape[1]
        self._X, self._Y = X, Y
        # moments cost one O(n d²) pass, records by passes O(n d) each
        self._moments = SquaredMoments.of(X, Y) if (d + 1) <= n_records else None

    def __call__(self, W: Array, b: Array) -> Array:
        """Losses of ``W`` (..., o, d) and ``b`` (..., o), shape ``W.shape[:-2]``, float64."""
        if self._moments is not None:
            return np.asarray(self._moments.loss(W, b), dtype=np.float64)
        flat_W = W.reshape((-1, *W.shape[-2:]))
        flat_b = b.reshape((-1, b.shape[-1]))
        values = [direct_loss(self._X, self._Y, w, c) for w, c in zip(flat_W, flat_b, strict=True)]
        return np.asarray(values, dtype=np.float64).reshape(W.shape[:-2])


def _labels2d(labels: mx.nd.NDArray) -> Array:
    y: Array = labels.asnumpy().astype(np.float32, copy=False)
    return y.reshape(y.shape[0], -1)


def _param_names(plan: Plan) -> tuple[str, str]:
    names = list(plan.initial_params)
    return next(k for k in names if k.endswith("weight")), next(k for k in names if k.endswith("bias"))


def run_numpy(
    plans: Sequence[Plan],
    problem: Problem,
    *,
    engine: str,
    start: float,
    callback: Callable[[EpochInfo], None] | None = None,
    record_params: bool = False,
) -> list[RunResult]:
    """Run the K ``plans`` (sharing batch size, epochs and record positions) on ``problem``.

    ``callback`` is called for every configuration's epochs; ``result.wall_time`` is the
    batch's time divided by K.
    """
    K = len(plans)
    first = plans[0]
    data = problem.data
    X = data.features.asnumpy()
    Y = _labels2d(data.labels)
    n, d = X.shape
    o = Y.shape[1]
    spe, epochs = first.steps_per_epoch, first.config.epochs
    f32 = np.float32
    wname, bname = _param_names(first)
    W = np.stack([p.initial_params[wname] for p in plans]).astype(f32)  # (K, o, d)
    B = np.stack([p.initial_params[bname] for p in plans]).astype(f32)  # (K, o)
    vW, vB = np.zeros_like(W), np.zeros_like(B)
    lrs32 = np.stack([p.learning_rates for p in plans]).astype(f32)  # (K, total)
    moms = np.stack([p.momenta if p.momenta is not None else np.zeros(p.n_steps) for p in plans])
    moms32 = moms.astype(f32)
    wd = np.array([p.config.weight_decay for p in plans], dtype=f32)
    wd3, wd2 = wd[:, None, None], wd[:, None]
    # the configs of each update rule (one group unless a batch mixes, e.g., nag with and without momentum)
    by_rule: dict[UpdateRule, list[int]] = {}
    for k, p in enumerate(plans):
        by_rule.setdefault(rule_for(p.config.optimizer, p.momentum), []).append(k)
    groups = [(rule, None if len(idx) == K else np.asarray(idx)) for rule, idx in by_rule.items()]
    inv_o = f32(1.0 / o)
    shared_order = all(
        all(np.array_equal(a, b) for a, b in zip(p.orders, first.orders, strict=True)) for p in plans
    )
    identity_order = not first.config.shuffle
    per_batch = gather_per_batch(n, d, first.config.batch_size)
    mask = first.record_mask
    n_records = 1 + epochs * sum(mask)
    record = _Recorder(X, Y, n_records)
    held = None
    if problem.metric == "loss" and problem.heldout is not None:
        held = _Recorder(problem.heldout.features.asnumpy(), _labels2d(problem.heldout.labels), n_records)

    thetas: list[tuple[Array, Array]] = [(W.copy(), B.copy())]
    losses: list[Array] = [record(W, B)]  # each (K,)
    record_steps = [0]
    record_epoch = [0]
    messages = [""] * K
    stop_epoch = np.zeros(K, dtype=np.int64)  # epoch in which each config diverged (0 = never)
    final_W, final_B = W.copy(), B.copy()
    step = 0
    with np.errstate(all="ignore"):
        for epoch in range(1, epochs + 1):
            first_record = len(thetas)
            if shared_order:
                order = first.orders[epoch - 1]
                if not identity_order and not per_batch:
                    Xe, Ye = X[order], Y[order]
            else:
                orders_k = np.stack([p.orders[epoch - 1] for p in plans])  # (K, n)
            for i in range(spe):
                lo, hi = first.batch(i)
                if not shared_order:
                    rows_k = orders_k[:, lo:hi]
                    xb, yb = np.take(X, rows_k, axis=0), np.take(Y, rows_k, axis=0)  # (K, b, ·)
                    D = np.matmul(xb, W.transpose(0, 2, 1)) + B[:, None, :] - yb
                else:
                    if identity_order:
                        xb, yb = X[lo:hi], Y[lo:hi]
                    elif per_batch:
                        rows = order[lo:hi]
                        xb, yb = X[rows], Y[rows]
                    else:
                        xb, yb = Xe[lo:hi], Ye[lo:hi]
                    D = np.matmul(xb, W.transpose(0, 2, 1)) + B[:, None, :] - yb[None]
                if o > 1:
                    D *= inv_o
                gW = np.matmul(D.transpose(0, 2, 1), xb)
                gB = D.sum(axis=1)
                lr, mu = lrs32[:, step], moms32[:, step]
                rescale = f32(1.0 / (hi - lo))
                for rule, idx in groups:
                    if idx is None:
                        W, vW = rule(
                            W,
                            vW,
                            gW,
                            lr=lr[:, None, None],
                            momentum=mu[:, None, None],
                            wd=wd3,
                            rescale=rescale,
                        )
                        B, vB = rule(B, vB, gB, lr=lr[:, None], momentum=mu[:, None], wd=wd2, rescale=rescale)
                    else:
                        l3, m3 = lr[idx, None, None], mu[idx, None, None]
                        W[idx], vW[idx] = rule(
                            W[idx], vW[idx], gW[idx], lr=l3, momentum=m3, wd=wd3[idx], rescale=rescale
                        )
                        B[idx], vB[idx] = rule(
                            B[idx],
                            vB[idx],
                            gB[idx],
                            lr=l3[:, 0],
                            momentum=m3[:, 0],
                            wd=wd2[idx],
                            rescale=rescale,
                        )
                step += 1
                if mask[i]:
                    thetas.append((W.copy(), B.copy()))
                    record_steps.append(step)
                    record_epoch.append(epoch)
            epoch_thetas = thetas[first_record:]
            new: list[Array] = []
            if epoch_thetas:  # the epoch's records in one call: (records, K)
                new = list(
                    record(np.stack([t[0] for t in epoch_thetas]), np.stack([t[1] for t in epoch_thetas]))
                )
            losses.extend(new)
            end_loss = new[-1] if mask[-1] else record(W, B)
            checked = np.stack([*new, end_loss], axis=1)  # (K, records of the epoch + 1)
            params_ok = np.isfinite(W).all(axis=(1, 2)) & np.isfinite(B).all(axis=1)
            reasons = divergence_reasons(checked, params_ok)
            for k in range(K):
                if stop_epoch[k]:
                    continue
                last_loss = float(new[-1][k]) if new else float(losses[-1][k])
                messages[k] = end_epoch(
                    epoch, learning_rate=float(plans[k].learning_rates[step - 1]), loss=last_loss,
                    step=step, reason=reasons[k], callback=callback,
                )  # fmt: skip
                if messages[k]:
                    stop_epoch[k] = epoch
                final_W[k], final_B[k] = W[k], B[k]
            if stop_epoch.all():
                break
    all_losses = np.stack(losses)  # (R, K)
    all_W = np.stack([t[0] for t in thetas])  # (R, K, o, d)
    all_B = np.stack([t[1] for t in thetas])
    metrics = held(all_W, all_B) if held is not None else None
    steps_arr = np.asarray(record_steps, dtype=np.int64)
    rec_epoch = np.asarray(record_epoch)
    wall = (time.perf_counter() - start) / K
    results: list[RunResult] = []
    for k, plan in enumerate(plans):
        last_epoch = int(stop_epoch[k]) or epochs
        keep = rec_epoch <= last_epoch
        n_steps = min(last_epoch * spe, step)
        Wk, Bk = final_W[k].copy(), final_B[k].copy()
        history = {wname: all_W[keep, k], bname: all_B[keep, k]} if record_params else None
        results.append(
            build_result(
                plan,
                engine=engine,
                problem=problem,
                losses=all_losses[keep, k],
                record_steps=steps_arr[keep],
                learning_rates=plan.learning_rates[:n_steps],
                momenta=moms[k, :n_steps],
                params={wname: Wk, bname: Bk},
                final_loss=float(record(Wk, Bk)),
                n_steps=n_steps,
                epochs_completed=last_epoch - 1 if stop_epoch[k] else last_epoch,
                message=messages[k],
                wall_time=wall,
                param_history=history,
                metrics=metrics[keep, k] if metrics is not None else None,
            )
        )
    return results
