"""Each family optimizer, run by gluon.Trainer, against its float64 NumPy reference.

Problem: least squares on generated data (``n`` examples, ``d`` features, a bias), mini-batches
in a fixed cyclic order, ``0.5 * mean squared residual``. The MXNet run is made in float64
(``Dense(dtype="float64")``) and compared to :func:`ml.optim.reference_run` at 1e-6 relative
(the optimizers that call MXNet's kernels get their float32 learning rate and momentum,
see ``KERNEL_CASES``); in float32 the bound is 1e-5 (measured below 1e-6).
"""

from __future__ import annotations

from typing import Any

import mxnet as mx
import numpy as np
import numpy.typing as npt
import pytest

import momentumlab as ml

F64 = npt.NDArray[np.float64]
N_STEPS = 40
BATCH = 8


def problem(seed: int, n: int = 24, d: int = 3) -> tuple[F64, F64, F64]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 1.0 + 0.1 * rng.normal(size=n)
    theta0 = rng.normal(size=d + 1)
    return X, y, theta0


def batch(step: int, n: int) -> slice:
    lo = (step * BATCH) % n
    return slice(lo, lo + BATCH)


def oracle(name: str, hyper: dict[str, Any], lrs: F64, wd: float, seed: int) -> ml.optim.ReferenceRun:
    X, y, theta0 = problem(seed)
    A = np.hstack([X, np.ones((len(X), 1))])

    def gradient(theta: F64, step: int) -> F64:
        b = batch(step, len(X))
        return A[b].T @ (A[b] @ theta - y[b]) / len(y[b])

    return ml.optim.reference_run(name, gradient, theta0, lrs, weight_decay=wd, **hyper)


def mxnet_run(
    name: str, hyper: dict[str, Any], schedule: ml.Schedule, wd: float, seed: int, dtype: str
) -> tuple[F64, F64]:
    X, y, theta0 = problem(seed)
    d = X.shape[1]
    net = mx.gluon.nn.Dense(1, in_units=d, dtype=dtype)
    net.initialize()
    net.weight.set_data(mx.nd.array(theta0[:d].reshape(1, d), dtype=dtype))
    net.bias.set_data(mx.nd.array(theta0[d:], dtype=dtype))
    params = {
        "learning_rate": schedule(0),
        "lr_scheduler": ml.optim.as_lr_scheduler(schedule),
        "wd": wd,
        **hyper,
    }
    trainer = mx.gluon.Trainer(net.collect_params(), name, params)
    Xm, ym = mx.nd.array(X, dtype=dtype), mx.nd.array(y.reshape(-1, 1), dtype=dtype)

    def theta() -> F64:
        out: F64 = np.concatenate([net.weight.data().asnumpy().ravel(), net.bias.data().asnumpy()])
        return out.astype(np.float64)

    weights, evals = [theta()], [theta()]
    for step in range(N_STEPS):
        b = batch(step, len(X))
        with mx.autograd.record():
            loss = 0.5 * ((net(Xm[b.start : b.stop]) - ym[b.start : b.stop]) ** 2)
        loss.backward()
        trainer.step(BATCH)
        weights.append(theta())
        with ml.optim.evaluation_point(trainer):
            evals.append(theta())
    return np.array(weights), np.array(evals)


def deviation(a: F64, b: F64) -> float:
    """Largest relative distance of two trajectories, row by row (norm-wise)."""
    return float(np.max(np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)))


CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd_torch": ("sgd_torch", {"momentum": 0.9}),
    "qhm": ("qhm", {"momentum": 0.9, "nu": 0.7}),
    "aggmo": ("aggmo", {"betas": (0.0, 0.5, 0.9)}),
    "demon": ("demon", {"momentum": 0.9, "total_steps": 30}),
    "lookahead-sgd": ("lookahead", {"k": 3, "alpha": 0.5, "momentum": 0.9}),
    "lookahead-nag": ("lookahead", {"k": 4, "alpha": 0.8, "momentum": 0.5, "inner": "nag"}),
    "lookahead-qhm": (
        "lookahead",
        {"k": 2, "alpha": 0.3, "inner": "qhm", "inner_hyperparameters": {"nu": 0.5}},
    ),
    "sgd_schedule_free": ("sgd_schedule_free", {"momentum": 0.9}),
    "sgd_schedule_free-r": ("sgd_schedule_free", {"momentum": 0.5, "r": 1.0, "weight_lr_power": 1.0}),
    "sgd": ("sgd", {"momentum": 0.9}),
    "nag": ("nag", {"momentum": 0.9}),
}
SCHEDULES = {
    "constant": ml.optim.constant_schedule(0.05),
    "warmup-cosine": ml.optim.warmup(ml.optim.cosine_decay(0.1, N_STEPS - 5), 5),
    "step": ml.optim.multistep_decay(0.1, [15, 30], 0.3),
}


#: Cases whose update runs an MXNet kernel (sgd_mom_update, nag_mom_update), which takes its
#: learning rate and momentum as float32: the oracle gets those float32 values.
KERNEL_CASES = {"sgd", "nag", "demon", "lookahead-sgd", "lookahead-nag"}


def learning_rates(case: str, schedule: ml.Schedule) -> F64:
    lrs = np.array([schedule(t) for t in range(N_STEPS)])
    return lrs.astype(np.float32).astype(np.float64) if case in KERNEL_CASES else lrs


def oracle_hyper(case: str) -> dict[str, Any]:
    hyper = dict(CASES[case][1])
    if case in KERNEL_CASES and case != "demon" and "momentum" in hyper:
        hyper["momentum"] = float(np.float32(hyper["momentum"]))
    return hyper


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
@pytest.mark.parametrize("case", sorted(CASES))
def test_float64_mxnet_run_matches_the_reference(case: str, schedule: str) -> None:
    name, hyper = CASES[case]
    s = SCHEDULES[schedule]
    lrs = learning_rates(case, s)
    for seed, wd in ((0, 0.0), (1, 0.01)):
        ref = oracle(name, oracle_hyper(case), lrs, wd, seed)
        weights, evals = mxnet_run(name, hyper, s, wd, seed, "float64")
        assert weights.shape == ref.weights.shape == (N_STEPS + 1, 4)
        assert not np.allclose(ref.weights[-1], ref.weights[0])  # it moved
        assert deviation(weights, ref.weights) < 1e-6, (case, schedule, seed)
        assert deviation(evals, ref.evaluation_weights) < 1e-6, (case, schedule, seed)


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_mxnet_run_matches_the_reference_to_float32_accuracy(case: str) -> None:
    name, hyper = CASES[case]
    s = SCHEDULES["warmup-cosine"]
    lrs = np.array([s(t) for t in range(N_STEPS)])
    ref = oracle(name, hyper, lrs, 0.0, 2)
    weights, evals = mxnet_run(name, hyper, s, 0.0, 2, "float32")
    assert deviation(weights, ref.weights) < 1e-5
    assert deviation(evals, ref.evaluation_weights) < 1e-5


def test_schedule_free_evaluation_point_differs_from_the_training_point() -> None:
    name, hyper = CASES["sgd_schedule_free"]
    ref = oracle(name, hyper, np.full(N_STEPS, 0.05), 0.0, 0)
    assert deviation(ref.evaluation_weights, ref.weights) > 1e-3
