"""The Gluon engine's one-graph update (``runner/_gluon_linear.py``) against its general loop.

The general loop (cached net+loss graph, ``backward``, the SGD kernel) is what the chapter's
loop does; the one-graph update must give the same float32 bits: every parameter, loss,
held-out metric, learning rate, momentum and status, on generated runs (shapes, batch sizes
that do and do not divide the data, schedules, momentum 0 and none, weight decay, several
outputs, reduce-on-plateau, runs that diverge).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import mxnet as mx
import numpy as np
import pytest

import momentumlab as ml
from momentumlab.runner import _gluon, _gluon_linear


def _general_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_gluon, "linear_sgd_reason", lambda *args: "forced off by the test")


def _count_fast_steps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = _gluon_linear.LinearSGDSteps.step

    def spy(self: Any, i: int, record: bool) -> Any:
        calls.append(i)
        return original(self, i, record)

    monkeypatch.setattr(_gluon_linear.LinearSGDSteps, "step", spy)
    return calls


def assert_same_run(a: ml.RunResult, b: ml.RunResult) -> None:
    """Equal bits in everything a run produced (timing aside)."""
    assert a.params.keys() == b.params.keys()
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k], err_msg=k)
    for field in ("losses", "record_steps", "learning_rates", "momenta", "metrics"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    assert a.param_history.keys() == b.param_history.keys()
    for k in a.param_history:
        np.testing.assert_array_equal(a.param_history[k], b.param_history[k], err_msg=k)
    assert (a.diverged, a.message, a.n_steps, a.epochs_completed) == (
        b.diverged,
        b.message,
        b.n_steps,
        b.epochs_completed,
    )
    np.testing.assert_array_equal(a.final_loss, b.final_loss)


def _problem(rng: np.random.Generator) -> ml.problems.Problem:
    n = int(rng.integers(20, 300))
    d = int(rng.integers(1, 12))
    o = int(rng.choice([1, 1, 2, 3]))
    weight = rng.standard_normal((o, d)) if o > 1 else rng.standard_normal(d)
    bias = rng.standard_normal(o) if o > 1 else float(rng.standard_normal())
    seed = int(rng.integers(1000))
    data = ml.data.make_linear_regression(n, weight=weight, bias=bias, noise=0.1, seed=seed)
    heldout = None
    if rng.random() < 0.3:
        heldout = ml.data.make_linear_regression(50, weight=weight, bias=bias, noise=0.1, seed=1)
    return ml.problems.linear_problem(data, heldout=heldout, with_optimum=False)


def _config(rng: np.random.Generator, n: int) -> ml.RunConfig:
    batch = int(rng.choice([1, 3, 7, 10, 16, n]))
    base = float(np.exp(rng.uniform(np.log(0.003), np.log(3.0))))
    lr: Any = base
    kind = int(rng.integers(0, 4))
    if kind == 1:
        lr = ml.optim.cosine_decay(base, int(rng.integers(5, 60)), end_value=base * 0.1)
    elif kind == 2:
        lr = ml.optim.PerEpoch(ml.optim.EpochDecay(init_value=base, factor=0.3, after_epoch=1))
    momentum = [None, 0.0, 0.5, 0.9, 0.99][int(rng.integers(0, 5))]
    plateau = ml.optim.ReduceOnPlateau(factor=0.5, patience=0) if rng.random() < 0.2 else None
    return ml.RunConfig(
        batch_size=min(batch, n),
        learning_rate=lr,
        momentum=momentum,
        epochs=int(rng.integers(1, 4)),
        period=int(rng.choice([1, 5, 20])) * min(batch, n),
        weight_decay=float(rng.choice([0.0, 0.0, 1e-3, 0.1])),
        plateau=plateau,
        seed=int(rng.integers(1000)),
        max_records_per_epoch=int(rng.choice([3, 100])),
    )


@pytest.mark.parametrize("seed", range(8))
def test_one_graph_update_gives_the_general_loops_bits(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(5):
        problem = _problem(rng)
        cases.append((problem, _config(rng, problem.data.n_samples), bool(rng.random() < 0.3)))
    calls = _count_fast_steps(monkeypatch)
    fast = [ml.train(c, p, engine="gluon", record_params=h) for p, c, h in cases]
    assert len(calls) == sum(r.n_steps for r in fast)  # every update took the one-graph path
    _general_only(monkeypatch)
    for (problem, config, keep), result in zip(cases, fast, strict=True):
        assert_same_run(result, ml.train(config, problem, engine="gluon", record_params=keep))


def test_diverging_runs_stop_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    data = ml.data.make_linear_regression(60, seed=3)
    for momentum in (None, 0.9):
        config = ml.RunConfig(batch_size=7, learning_rate=50.0, momentum=momentum, epochs=4, period=7, seed=1)
        fast = ml.train(config, data, engine="gluon")
        assert fast.diverged
        with monkeypatch.context() as m:
            _general_only(m)
            assert_same_run(fast, ml.train(config, data, engine="gluon"))


def test_other_runs_take_the_general_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_fast_steps(monkeypatch)
    data = ml.data.make_linear_regression(40, seed=0)
    base = ml.RunConfig(batch_size=10, epochs=1, period=10)
    ml.train(replace(base, optimizer="nag", momentum=0.9), data, engine="gluon")
    ml.train(replace(base, momentum=ml.optim.linear_schedule(0.0, 0.9, 4)), data, engine="gluon")
    ml.train(replace(base, hyperparameters={"clip_gradient": 1.0}), data, engine="gluon")
    ml.train(replace(base, plateau=ml.optim.ReduceOnPlateau(observe="record")), data, engine="gluon")
    ml.train(base, data, engine="gluon", loss=mx.gluon.loss.L1Loss())
    ml.train(base, data, net=ml.models.LinearRegressor(2, train_bias=False), engine="gluon")
    assert calls == []
    ml.train(base, data, engine="gluon")
    assert len(calls) == 4


def test_linear_sgd_reason_names_what_it_does_not_handle() -> None:
    data = ml.data.make_linear_regression(40, seed=0)
    problem = ml.problems.linear_problem(data, with_optimum=False)
    net = ml.models.LinearRegressor(2, initializer=mx.init.Zero())
    sgd = ml.optim.make_trainer(net.collect_params(), optimizer="sgd", learning_rate=0.1, momentum=0.9)
    loss = mx.gluon.loss.L2Loss()
    assert _gluon_linear.linear_sgd_reason(net, loss, sgd, problem, False) is None
    reason = _gluon_linear.linear_sgd_reason(net, mx.gluon.loss.L1Loss(), sgd, problem, False)
    assert reason == "loss is not a plain gluon.loss.L2Loss()"
    reason = _gluon_linear.linear_sgd_reason(net, loss, sgd, problem, True)
    assert reason == "the learning rate follows every record (plateau observing records)"
    mlp = ml.problems.make("quadratic")
    reason = _gluon_linear.linear_sgd_reason(mlp.make_net(), loss, sgd, problem, False)
    assert reason is not None
    assert reason.startswith("net is a MLP")


def test_schedule_free_records_the_loss_at_the_evaluation_point() -> None:
    """Losses are at the average ``x`` (float64 reference), the run itself goes on from ``y``."""
    data = ml.data.make_linear_regression(64, seed=0)
    config = ml.RunConfig(
        optimizer="sgd_schedule_free", learning_rate=0.5, momentum=0.9, batch_size=64, period=64, epochs=20
    )
    result = ml.train(config, data, engine="gluon", record_params=True)
    X, y = data.numpy()
    Xb = np.hstack([X, np.ones((len(X), 1))]).astype(np.float64)
    target = y.reshape(-1).astype(np.float64)

    def loss(w: Any) -> float:
        r = Xb @ w - target
        return 0.5 * float(np.mean(r * r))

    w0 = np.concatenate([result.param_history["dense0_weight"][0, 0], result.param_history["dense0_bias"][0]])
    ref = ml.optim.reference_run(
        "sgd_schedule_free", lambda w: Xb.T @ (Xb @ w - target) / len(Xb), w0, [0.5] * 20, momentum=0.9
    )
    at_x = np.array([loss(w) for w in ref.evaluation_weights])
    at_y = np.array([loss(w) for w in ref.weights])
    assert np.abs(at_x - at_y).max() > 1e-2 * at_y.max()  # the two points differ
    np.testing.assert_allclose(result.losses, at_x, rtol=1e-4)
    np.testing.assert_allclose(result.final_loss, at_x[-1], rtol=1e-4)
    # the parameters (and the net) hold the training point y: training went on from there
    assert result.weight is not None
    assert result.bias is not None
    np.testing.assert_allclose(result.weight[0], ref.weights[-1][:2], rtol=1e-4)
    np.testing.assert_allclose(result.bias, ref.weights[-1][2:], rtol=1e-4)
    assert np.abs(ref.weights[-1] - ref.evaluation_weights[-1]).max() > 1e-2
