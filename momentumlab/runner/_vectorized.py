"""The vectorised sweep engine: K runs of a linear model as one batched NumPy computation.

Each configuration runs exactly the fast path of :func:`momentumlab.train` (see
``momentumlab/runner/_fast.py``): the same initial weights and batch order (derived from its
own ``seed``), the same float32 update written as MXNet's SGD kernels order it, and records of
the full-dataset loss from the data's moments in float64. The K parameter sets are stacked
into ``(K, outputs, features)`` arrays and every step updates all of them with a few batched
NumPy calls, so the per-call overhead is paid once per step instead of K times.

NumPy rather than MXNet: measured on the reference machine, one MXNet call costs tens of
microseconds whatever its size, which already exceeds NumPy's whole batched step for
K = 1000 on the chapter's problem (``benchmarks/bench_sweep.py``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import cast

import numpy as np

from momentumlab._src.types import Array
from momentumlab.data import LinearData
from momentumlab.problems import Problem, linear_problem
from momentumlab.runner._config import RunConfig
from momentumlab.runner._fast import config_reason, gather_per_batch, model_reason
from momentumlab.runner._moments import SquaredMoments
from momentumlab.runner._result import RunResult, divergence_message, finished_message
from momentumlab.runner._train import _learning_rates, _seed_streams

#: Fields every configuration of one :func:`train_many` call must share (they fix the batch
#: structure and the record positions). ``learning_rate``, ``momentum``, ``seed``,
#: ``schedule``, ``weight_decay`` and ``init_sigma`` may differ.
SHARED_FIELDS = (
    "batch_size",
    "epochs",
    "period",
    "shuffle",
    "max_records_per_epoch",
    "optimizer",
    "hyperparameters",
)


def _as_problem(problem_or_data: Problem | LinearData) -> Problem:
    if isinstance(problem_or_data, LinearData):
        return linear_problem(problem_or_data)
    if not isinstance(problem_or_data, Problem):
        raise TypeError(
            "problem_or_data must be a momentumlab.problems.Problem or LinearData, got "
            f"{problem_or_data!r} of type {type(problem_or_data).__name__}"
        )
    return problem_or_data


def _reason(given: Sequence[object], problem: Problem) -> str | None:
    configs: list[RunConfig]
    if len(given) == 0:
        return "configs is empty"
    for c in given:
        if not isinstance(c, RunConfig):
            return f"configs must hold RunConfig objects, got {c!r}"
    configs = [c for c in given if isinstance(c, RunConfig)]
    first = configs[0]
    for name in SHARED_FIELDS:
        values = {repr(getattr(c, name)) for c in configs}
        if len(values) > 1:
            return f"configs differ in {name!r} ({sorted(values)[:3]}...), which they must share"
    if first.batch_size > problem.data.n_samples:
        return f"batch_size {first.batch_size} exceeds the {problem.data.n_samples} examples"
    if problem.init_params is not None:
        return "the problem has its own init_params"
    for c in configs:
        why = config_reason(c)
        if why is not None:
            return why
    return model_reason(problem, problem.make_net(), problem.make_loss())


def can_train_many(configs: Sequence[RunConfig], problem_or_data: Problem | LinearData) -> bool:
    """Whether :func:`train_many` can run ``configs`` on ``problem_or_data`` as one batch.

    True when every configuration can take the fast path of :func:`momentumlab.train`
    (a linear net under ``L2Loss`` with plain SGD, the problem's default initialiser) and all
    share the fields in :data:`SHARED_FIELDS`.

    Example:
        >>> import dataclasses, momentumlab as ml
        >>> data = ml.data.make_linear_regression(n_samples=100, seed=0)
        >>> base = ml.RunConfig(epochs=1)
        >>> ml.can_train_many([dataclasses.replace(base, momentum=m) for m in (0.0, 0.9)], data)
        True
        >>> ml.can_train_many([base, dataclasses.replace(base, batch_size=20, period=20)], data)
        False
    """
    return _reason(list(configs), _as_problem(problem_or_data)) is None


def train_many(configs: Sequence[RunConfig], problem_or_data: Problem | LinearData) -> list[RunResult]:
    """Train K configurations of a linear model as one batched computation.

    Every result is that of ``momentumlab.train(config, problem_or_data)`` on its fast path:
    the same initial weights and batch order (from each config's own ``seed``; configs with
    different seeds gather their own mini-batches), parameters within about 1e-7 relative and
    the same record positions, with losses (and a held-out ``"loss"`` metric) computed in
    float64 from the data's moments. A configuration that diverges stops at the end of that
    epoch as it would alone. ``result.path`` is ``"vectorized"`` and ``result.wall_time`` is
    the batch's time divided by K.

    Args:
        configs: the configurations; they must share :data:`SHARED_FIELDS`.
        problem_or_data: a :class:`~momentumlab.problems.Problem` or
            :class:`~momentumlab.data.LinearData` (the chapter's linear problem).

    Returns:
        One :class:`RunResult` per configuration, in order.

    Raises:
        ValueError: when :func:`can_train_many` is false; the message says why.
        TypeError: for arguments of the wrong type.

    Example:
        >>> import dataclasses, momentumlab as ml
        >>> data = ml.data.make_linear_regression(n_samples=200, seed=0)
        >>> configs = [dataclasses.replace(ml.RunConfig(), learning_rate=lr) for lr in (0.05, 0.2)]
        >>> [r.path for r in ml.train_many(configs, data)]
        ['vectorized', 'vectorized']
    """
    start = time.perf_counter()
    problem = _as_problem(problem_or_data)
    configs = list(configs)
    why = _reason(configs, problem)
    if why is not None:
        raise ValueError(f"configs must be trainable as one batch (see can_train_many): {why}")
    return _run(configs, problem, start)


def _starts_and_orders(configs: Sequence[RunConfig], n: int, o: int, d: int) -> tuple[Array, Array | None]:
    """Initial weights ``(K, o, d)`` and, when shuffling, every epoch's order ``(epochs, K, n)``.

    The weights are the draws of :func:`momentumlab.models.init_normal` for a
    ``LinearRegressor`` (the weight first, ``sigma`` times a standard normal as float32; the
    bias is set to 0 without drawing) and the orders those of :func:`batch_orders`, both from
    the streams ``train`` derives from each ``seed``; configs sharing a seed share the draws.
    """
    K, epochs = len(configs), configs[0].epochs
    W = np.empty((K, o, d), dtype=np.float32)
    orders = np.empty((epochs, K, n), dtype=np.int64) if configs[0].shuffle else None
    cache: dict[int, tuple[Array, Array | None]] = {}
    for k, c in enumerate(configs):
        if c.seed not in cache:
            init_rng, shuffle_rng = _seed_streams(c.seed)
            z = init_rng.standard_normal((o, d))
            perms = np.stack([shuffle_rng.permutation(n) for _ in range(epochs)]) if c.shuffle else None
            cache[c.seed] = (z, perms)
        z, perms = cache[c.seed]
        W[k] = (float(c.init_sigma) * z).astype(np.float32)
        if orders is not None and perms is not None:
            orders[:, k] = perms
    return W, orders


def _run(configs: list[RunConfig], problem: Problem, start: float) -> list[RunResult]:
    K = len(configs)
    first = configs[0]
    data = problem.data
    X = data.features.asnumpy()
    Y = data.labels.asnumpy().astype(np.float32, copy=False)
    Y = Y.reshape(Y.shape[0], -1)
    n, d = X.shape
    o = Y.shape[1]
    bs = first.batch_size
    spe = math.ceil(n / bs)
    f32 = np.float32
    lrs = np.array([_learning_rates(c, spe) for c in configs], dtype=np.float64)  # (K, total)
    lrs32 = lrs.astype(f32)
    # config_reason sends momentum schedules elsewhere: here each momentum is a number
    moms = np.array([0.0 if c.momentum is None else float(cast(float, c.momentum)) for c in configs])
    mu = moms.astype(f32)[:, None, None]
    has_mom = moms > 0
    all_mom, no_mom = bool(has_mom.all()), not bool(has_mom.any())
    hm3 = has_mom[:, None, None]
    wd = np.array([c.weight_decay for c in configs], dtype=f32)
    inv_o = f32(1.0 / o)
    W, orders = _starts_and_orders(configs, n, o, d)
    shared_order = orders is None or len({c.seed for c in configs}) == 1
    per_batch = gather_per_batch(n, d, bs)
    mask = first.record_mask(n)
    moments = SquaredMoments.of(X, Y)
    held = None
    if problem.metric == "loss" and problem.heldout is not None:
        hY = problem.heldout.labels.asnumpy().astype(np.float32, copy=False)
        held = SquaredMoments.of(problem.heldout.features.asnumpy(), hY.reshape(hY.shape[0], -1))

    B = np.zeros((K, o), dtype=f32)
    mW = np.zeros_like(W)
    mB = np.zeros_like(B)
    thetas: list[tuple[Array, Array]] = [(W.copy(), B.copy())]
    record_steps = [0]
    record_epoch = [0]
    stop_epoch = np.zeros(K, dtype=np.int64)  # epoch in which each config diverged (0 = never)
    final_W, final_B = W.copy(), B.copy()
    step = 0
    with np.errstate(all="ignore"):
        for epoch in range(1, first.epochs + 1):
            if orders is None:
                Xe, Ye = X, Y
            elif shared_order and not per_batch:
                Xe, Ye = X[orders[epoch - 1, 0]], Y[orders[epoch - 1, 0]]
            for i in range(spe):
                lo = i * bs
                hi = min(lo + bs, n)
                b = hi - lo
                if shared_order:
                    if orders is not None and per_batch:
                        rows = orders[epoch - 1, 0, lo:hi]
                        xb, yb = X[rows], Y[rows]
                    else:
                        xb, yb = Xe[lo:hi], Ye[lo:hi]
                    # per-config products (not one big GEMM): the same kernel, and so the same
                    # bits, as the fast path's ``xb @ W.T`` for each config
                    D = np.matmul(xb, W.transpose(0, 2, 1)) + B[:, None, :] - yb[None]
                    if o > 1:
                        D *= inv_o
                    gW = np.matmul(D.transpose(0, 2, 1), xb)
                else:
                    rows_k = orders[epoch - 1, :, lo:hi]  # type: ignore[index]
                    xk, yk = np.take(X, rows_k, axis=0), np.take(Y, rows_k, axis=0)
                    D = np.matmul(xk, W.transpose(0, 2, 1)) + B[:, None, :] - yk
                    if o > 1:
                        D *= inv_o
                    gW = np.matmul(D.transpose(0, 2, 1), xk)
                gB = D.sum(axis=1)
                lr = lrs32[:, step]
                lr_wd = (lr * wd)[:, None]
                lr_rs = (lr * f32(1.0 / b))[:, None]
                if not no_mom:
                    new_mW = mu * mW - lr_wd[:, :, None] * W - lr_rs[:, :, None] * gW
                    new_mB = mu[:, :, 0] * mB - lr_wd * B - lr_rs * gB
                if all_mom:
                    W, B, mW, mB = W + new_mW, B + new_mB, new_mW, new_mB
                else:
                    W_sgd = W - (lr_wd[:, :, None] * W + lr_rs[:, :, None] * gW)
                    B_sgd = B - (lr_wd * B + lr_rs * gB)
                    if no_mom:
                        W, B = W_sgd, B_sgd
                    else:
                        W = np.where(hm3, W + new_mW, W_sgd)
                        B = np.where(hm3[:, :, 0], B + new_mB, B_sgd)
                        mW = np.where(hm3, new_mW, mW)
                        mB = np.where(hm3[:, :, 0], new_mB, mB)
                step += 1
                if mask[i]:
                    thetas.append((W.copy(), B.copy()))
                    record_steps.append(step)
                    record_epoch.append(epoch)
            live = stop_epoch == 0
            loss_now = moments.loss(W, B)
            bad = live & ~(
                np.isfinite(loss_now) & np.isfinite(W).all(axis=(1, 2)) & np.isfinite(B).all(axis=1)
            )
            stop_epoch[bad] = epoch
            keep = stop_epoch == 0
            final_W[keep | bad], final_B[keep | bad] = W[keep | bad], B[keep | bad]
            if not keep.any():
                break
    all_W = np.stack([t[0] for t in thetas])  # (R, K, o, d)
    all_B = np.stack([t[1] for t in thetas])
    losses = moments.loss(all_W, all_B)  # (R, K)
    metrics = held.loss(all_W, all_B) if held is not None else None
    steps_arr = np.asarray(record_steps, dtype=np.int64)
    rec_epoch = np.asarray(record_epoch)
    net = problem.make_net()
    prefix = net.prefix
    names = [k[len(prefix) :] if k.startswith(prefix) else k for k in net.collect_params()]
    wname = next(k for k in names if k.endswith("weight"))
    bname = next(k for k in names if k.endswith("bias"))
    wall = (time.perf_counter() - start) / K
    results: list[RunResult] = []
    for k, c in enumerate(configs):
        last_epoch = int(stop_epoch[k]) or first.epochs
        keep_r = rec_epoch <= last_epoch
        n_steps = min(last_epoch * spe, step)
        diverged = bool(stop_epoch[k])
        done = last_epoch - 1 if diverged else last_epoch
        lk = losses[keep_r, k]
        ok_loss = bool(np.isfinite(lk).all())
        Wk, Bk = final_W[k].copy(), final_B[k].copy()
        final_loss = float(moments.loss(Wk, Bk))
        if diverged:
            message = divergence_message(last_epoch, loss_ok=ok_loss)
        else:
            message = finished_message(done, n_steps, final_loss)
        results.append(
            RunResult(
                config=c,
                losses=np.asarray(lk, dtype=np.float64),
                record_steps=steps_arr[keep_r].copy(),
                learning_rates=lrs[k, :n_steps].copy(),
                momenta=np.full(n_steps, moms[k]),
                params={wname: Wk, bname: Bk},
                weight=Wk.copy(),
                bias=Bk.copy(),
                wall_time=wall,
                diverged=diverged,
                n_steps=n_steps,
                steps_per_epoch=spe,
                epochs_completed=done,
                final_loss=final_loss,
                message=message,
                path="vectorized",
                metrics=(
                    np.asarray(metrics[keep_r, k], dtype=np.float64) if metrics is not None else np.zeros(0)
                ),
                metric_name=problem.metric,
                problem_name=problem.name,
            )
        )
    return results
