"""The NumPy engine: K runs of one problem as one computation, for every problem of the suite.

:func:`momentumlab.train` runs it with K = 1 (``engine="numpy"``), :func:`momentumlab.train_many`
with K configurations (``engine="numpy-batched"``); both consume :class:`Plan` values, so a
configuration gives the same result alone or in a batch. On small problems every MXNet call
costs tens of microseconds, so the Gluon loop is dominated by overhead; this engine runs the
same mathematics on NumPy float32 arrays, K parameter sets stacked along a leading axis:

* the **kernel** of the problem's (net, loss) family (:mod:`momentumlab.runner._kernels`:
  dense stacks under L2, sigmoid or softmax cross-entropy; the 2-D functions with analytic
  gradients) gives the gradient of the summed loss of every mini-batch, the full-dataset loss
  of every record and the held-out metric;
* the update rule of the optimizer (``momentumlab/runner/_update.py``: heavy-ball SGD, or NAG),
  written once as MXNet's kernel orders it in float32, with the plan's learning rate and
  momentum of every update, ``1 / batch length`` as rescale and the config's weight decay.

Configurations that share a seed share their batches: the engine sorts the K plans into
groups of one batch order and computes each group's forward pass on one gathered batch (with
many distinct orders, each model gathers its own rows). The update formula is bit-exact with
MXNet's kernels; the matrix products and transcendental functions are NumPy's, whose rounding
can differ from MXNet's in the last bit, so parameters agree with the Gluon engine to float32
round-off (about 1e-7 relative on a well-conditioned run), not bit for bit. Divergence is
decided by the one rule of :mod:`momentumlab.runner._divergence` at the end of every epoch; a
configuration that diverges keeps its parameters of that moment and its result stops there,
as it would alone.

:func:`numpy_kernel` gives the kernel of a run, or says why the run cannot take this engine;
``train`` then runs the Gluon loop, so anything this engine does not reproduce (other
optimizers, nets or losses, gradient clipping, fields of the config it does not know) still
works.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import mxnet as mx
import numpy as np

from momentumlab._src.types import Array
from momentumlab.problems import Problem
from momentumlab.runner._config import RunConfig
from momentumlab.runner._divergence import divergence_reasons
from momentumlab.runner._kernels import Kernel, kernel_for
from momentumlab.runner._plan import Plan
from momentumlab.runner._result import EpochInfo, RunResult, build_result, end_epoch
from momentumlab.runner._update import REFERENCE_OPTIMIZERS, RULE_OPTIMIZERS, UpdateRule, rule_for

logger = logging.getLogger("momentumlab")

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


def numpy_kernel(config: RunConfig, problem: Problem, net: mx.gluon.Block, loss: Any) -> Kernel | str:
    """The kernel that runs this configuration on the NumPy engine, or why it cannot."""
    why = config_reason(config)
    return why if why is not None else kernel_for(problem, net, loss)


def config_reason(config: RunConfig) -> str | None:
    """Why the NumPy engine cannot run ``config`` whatever the problem, or ``None``."""
    if config.optimizer not in RULE_OPTIMIZERS:
        return f"optimizer is {config.optimizer!r}, not one of {list(RULE_OPTIMIZERS)}"
    own = REFERENCE_OPTIMIZERS.get(config.optimizer, ())
    if config.optimizer in REFERENCE_OPTIMIZERS and (config.momentum is None or callable(config.momentum)):
        return (
            f"optimizer {config.optimizer!r} runs on the NumPy engine with a momentum number, "
            f"got {config.momentum!r}"
        )
    extra = [k for k, _ in config.hyperparameters if k not in _HARMLESS_HYPER and k not in own]
    if extra:
        return f"hyperparameters {extra} are not handled"
    name = _unhandled_field(config)
    if name is not None:
        return f"config field {name!r} is not handled"
    if int(os.getenv("MXNET_OPTIMIZER_AGGREGATION_SIZE", "4")) <= 0:
        return "MXNET_OPTIMIZER_AGGREGATION_SIZE <= 0 selects other SGD kernels"
    return None


def gather_per_batch(n_samples: int, n_features: int, batch_size: int) -> bool:
    """Gather every mini-batch by index rather than copying the permuted data once an epoch.

    Measured with NumPy on the reference machine (``benchmarks/bench_scaling.py``): the
    per-batch gather wins once a batch holds about a thousand values (``batch_size *
    n_features >= 1000``), and always avoids a second copy of a large data set.
    """
    return batch_size * n_features >= 1000 or n_samples * n_features * 4 > (1 << 28)


def _order_groups(plans: Sequence[Plan]) -> list[list[int]]:
    """Indices of the plans grouped by batch order (one seed, or no shuffling: one order)."""
    groups: dict[int, list[int]] = {}
    for k, p in enumerate(plans):
        groups.setdefault(p.config.seed if p.config.shuffle else 0, []).append(k)
    return list(groups.values())


#: Up to this many distinct batch orders, each group's models share one gathered batch;
#: beyond it every model gathers its own rows (one batched product instead of many calls).
MAX_ORDER_GROUPS = 16


def _transposed(rows: Sequence[Array], block: int = 256) -> Array:
    """R arrays of shape ``(K,)`` as one ``(K, R)`` array, transposed in cache-sized blocks."""
    out = np.empty((len(rows[0]), len(rows)), dtype=np.result_type(*rows[:1]))
    for lo in range(0, len(rows), block):
        out[:, lo : lo + block] = np.array(rows[lo : lo + block]).T
    return out


class _Snapshots:
    """The parameters of up to ``rows`` records of K models, copied into one buffer per
    parameter (in the layout of the stacks: models last in memory with ``models_last``), so a
    record pass reads them as ``(count * K, *shape)`` without stacking copies."""

    def __init__(self, params: Sequence[Array], rows: int, models_last: bool) -> None:
        self.K = params[0].shape[0]
        self.models_last = models_last
        size = max(rows, 1) * self.K
        self.buffers = [
            np.empty((*a.shape[1:], size) if models_last else (size, *a.shape[1:]), dtype=a.dtype)
            for a in params
        ]
        self.count = 0

    def _view(self, buffer: Array, lo: int, hi: int) -> Array:
        if self.models_last:
            return np.moveaxis(buffer[..., lo * self.K : hi * self.K], -1, 0)
        return buffer[lo * self.K : hi * self.K]

    def add(self, params: Sequence[Array]) -> None:
        """Copy the K models' parameters as the next record."""
        for buffer, a in zip(self.buffers, params, strict=True):
            self._view(buffer, self.count, self.count + 1)[...] = a
        self.count += 1

    def flat(self) -> list[Array]:
        """Each parameter of the records so far, ``(count * K, *shape)`` (views of the buffers)."""
        return [self._view(buffer, 0, self.count) for buffer in self.buffers]


def _stacked(plans: Sequence[Plan], name: str, models_last: bool) -> Array:
    """The initial parameter ``name`` of the K plans, ``(K, *shape)`` float32; with
    ``models_last`` the K models are the fastest axis in memory (Fortran order)."""
    out = np.stack([p.initial_params[name] for p in plans]).astype(np.float32)
    return np.asfortranarray(out) if models_last else out


def _per_step(values: Sequence[Array], block: int = 64) -> Array:
    """K per-update float64 arrays as one ``(n_updates, K)`` float32 array (a row per update:
    the engine reads one contiguous row a step), transposed in blocks of models."""
    K = len(values)
    out = np.empty((len(values[0]), K), dtype=np.float32)
    for lo in range(0, K, block):
        out[:, lo : lo + block] = np.array(values[lo : lo + block], dtype=np.float32).T
    return out


def run_numpy(
    plans: Sequence[Plan],
    problem: Problem,
    kernel: Kernel,
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
    given = list(plans)
    groups = _order_groups(given)
    # sort the plans so that every group of one batch order is a contiguous slice (a view)
    perm = [k for g in groups for k in g]
    plans = [given[k] for k in perm]
    K = len(plans)
    first = plans[0]
    X, Y = kernel.features, kernel.labels
    n, d = X.shape
    spe, epochs = first.steps_per_epoch, first.config.epochs
    f32 = np.float32
    names = kernel.names
    P = [_stacked(plans, name, kernel.models_last) for name in names]
    V = [np.zeros_like(a) for a in P]
    tails = [(slice(None),) + (None,) * (a.ndim - 1) for a in P]
    zeros = np.zeros(first.n_steps)
    moms = [p.momenta if p.momenta is not None else zeros for p in plans]
    lrs32 = _per_step([p.learning_rates for p in plans])  # (total, K): one row per update
    moms32 = _per_step(moms)
    wd = np.array([p.config.weight_decay for p in plans], dtype=f32)
    # the configs of each update rule (one group unless a batch mixes, e.g., nag with and without
    # momentum; a reference rule takes one weight decay, so its groups share one)
    by_rule: dict[tuple[UpdateRule, float], list[int]] = {}
    for k, p in enumerate(plans):
        rule = rule_for(p.config.optimizer, p.momentum, p.config.hyperparameters)
        key = float(p.config.weight_decay) if getattr(rule, "scalar_wd", False) else -1.0
        by_rule.setdefault((rule, key), []).append(k)
    rule_groups = [
        (rule, None if len(idx) == K else np.asarray(idx), None if key < 0 else f32(key))
        for (rule, key), idx in by_rule.items()
    ]
    slices: list[tuple[slice, Plan]] = []
    lo_k = 0
    for members in groups:
        slices.append((slice(lo_k, lo_k + len(members)), plans[lo_k]))
        lo_k += len(members)
    own_rows = len(slices) > MAX_ORDER_GROUPS
    identity_order = not first.config.shuffle
    per_batch = gather_per_batch(n, d, first.config.batch_size)
    mask = first.record_mask
    n_records = 1 + epochs * sum(mask)
    kernel.start(n_records)

    def evaluate(snaps: _Snapshots) -> tuple[Array, Array | None]:
        """Losses and metrics of snapshots, each ``(len(snaps), K)``."""
        flat = snaps.flat()
        shape = (snaps.count, K)
        metric = kernel.metric(flat)
        return kernel.losses(flat).reshape(shape), None if metric is None else metric.reshape(shape)

    snapshots = _Snapshots(P, 1, kernel.models_last)
    snapshots.add(P)
    epoch_snapshots = _Snapshots(P, sum(mask), kernel.models_last)
    history: list[list[Array]] = []
    first_losses, first_metrics = evaluate(snapshots)
    losses: list[Array] = list(first_losses)  # each (K,)
    metrics: list[Array] = [] if first_metrics is None else list(first_metrics)
    record_steps = [0]
    record_epoch = [0]
    messages = [""] * K
    stop_epoch = np.zeros(K, dtype=np.int64)  # epoch in which each config diverged (0 = never)
    final = [np.copy(a) for a in P]
    step = 0
    with np.errstate(all="ignore"):
        for epoch in range(1, epochs + 1):
            if record_params:
                history.append([np.copy(a) for a in snapshots.flat()])
            snapshots = epoch_snapshots
            snapshots.count = 0
            if own_rows:
                orders_k = np.stack([p.orders[epoch - 1] for p in plans])  # (K, n)
            else:
                orders = [p.orders[epoch - 1] for _, p in slices]
                if not identity_order and not per_batch:
                    permuted = [(X[o], Y[o]) for o in orders]
            for i in range(spe):
                lo, hi = first.batch(i)
                if own_rows:
                    rows_k = orders_k[:, lo:hi]
                    G = kernel.grads(P, np.take(X, rows_k, axis=0), np.take(Y, rows_k, axis=0))
                else:
                    parts: list[list[Array]] = []
                    for g, (s, _) in enumerate(slices):
                        if identity_order:
                            xb, yb = X[lo:hi], Y[lo:hi]
                        elif per_batch:
                            rows = orders[g][lo:hi]
                            xb, yb = X[rows], Y[rows]
                        else:
                            xb, yb = permuted[g][0][lo:hi], permuted[g][1][lo:hi]
                        parts.append(kernel.grads([a[s] for a in P] if len(slices) > 1 else P, xb, yb))
                    G = parts[0] if len(parts) == 1 else [np.concatenate(c) for c in zip(*parts, strict=True)]
                lr, mu = lrs32[step], moms32[step]
                rescale = f32(1.0 / (hi - lo))
                for rule, idx, wd_k in rule_groups:
                    for j, tail in enumerate(tails):
                        if idx is None:
                            P[j], V[j] = rule(
                                P[j], V[j], G[j], lr=lr[tail], momentum=mu[tail],
                                wd=wd[tail] if wd_k is None else wd_k, rescale=rescale,
                            )  # fmt: skip
                        else:
                            P[j][idx], V[j][idx] = rule(
                                P[j][idx], V[j][idx], G[j][idx], lr=lr[idx][tail], momentum=mu[idx][tail],
                                wd=wd[idx][tail] if wd_k is None else wd_k, rescale=rescale,
                            )  # fmt: skip
                step += 1
                if mask[i]:
                    snapshots.add(P)
                    record_steps.append(step)
                    record_epoch.append(epoch)
            new: list[Array] = []
            if snapshots.count:  # the epoch's records in one call: (records, K)
                new_losses, new_metrics = evaluate(snapshots)
                new = list(new_losses)
                if new_metrics is not None:
                    metrics.extend(new_metrics)
            losses.extend(new)
            end_loss = new[-1] if mask[-1] else kernel.losses(P)
            checked = np.stack([*new, end_loss], axis=1)  # (K, records of the epoch + 1)
            params_ok = np.ones(K, dtype=bool)
            for a in P:
                params_ok &= np.isfinite(a.reshape(K, -1)).all(axis=1)
            reasons = divergence_reasons(checked, params_ok)
            alive = stop_epoch == 0
            # every epoch of every running config ends in end_epoch when it is reported (a
            # callback or the INFO log); otherwise only the ones that diverged need it
            report = callback is not None or logger.isEnabledFor(logging.INFO)
            for k in np.flatnonzero(alive if report else alive & np.array([bool(r) for r in reasons])):
                last_loss = float(new[-1][k]) if new else float(losses[-1][k])
                messages[k] = end_epoch(
                    epoch, learning_rate=float(plans[k].learning_rates[step - 1]), loss=last_loss,
                    step=step, reason=reasons[k], callback=callback,
                )  # fmt: skip
                if messages[k]:
                    stop_epoch[k] = epoch
            for j in range(len(P)):
                final[j][alive] = P[j][alive]
            if stop_epoch.all():
                break
    if record_params:
        history.append([np.copy(a) for a in snapshots.flat()])
    all_losses = _transposed(losses)  # (K, R): a run's records contiguous
    all_metrics = _transposed(metrics) if metrics else None
    all_params = (
        [np.concatenate([h[j] for h in history]).reshape((-1, *P[j].shape)) for j in range(len(P))]
        if record_params
        else []
    )
    final_losses = kernel.losses(final)
    steps_arr = np.asarray(record_steps, dtype=np.int64)
    rec_epoch = np.asarray(record_epoch)
    wall = (time.perf_counter() - start) / K
    results: list[RunResult] = [None] * K  # type: ignore[list-item]
    for k, plan in enumerate(plans):
        last_epoch = int(stop_epoch[k]) or epochs
        keep = slice(None) if last_epoch == epochs else rec_epoch <= last_epoch
        n_steps = min(last_epoch * spe, step)
        own = {name: final[j][k].copy() for j, name in enumerate(names)}
        hist = {name: all_params[j][keep, k] for j, name in enumerate(names)} if record_params else None
        results[perm[k]] = build_result(
            plan,
            engine=engine,
            problem=problem,
            losses=all_losses[k, keep],
            record_steps=steps_arr[keep],
            learning_rates=plan.learning_rates[:n_steps],
            momenta=np.asarray(moms[k][:n_steps]),
            params=own,
            final_loss=float(final_losses[k]),
            n_steps=n_steps,
            epochs_completed=last_epoch - 1 if stop_epoch[k] else last_epoch,
            message=messages[k],
            wall_time=wall,
            param_history=hist,
            metrics=all_metrics[k, keep] if all_metrics is not None else None,
        )
    return results
