"""The momentum family as MXNet optimizers: registration, names, checks, evaluation point."""

from __future__ import annotations

import importlib
import re

import mxnet as mx
import numpy as np
import pytest

import momentumlab as ml
from momentumlab.optim import _family

FAMILY = ("aggmo", "demon", "lookahead", "qhm", "sgd_schedule_free", "sgd_torch")


def test_family_is_registered_by_name_and_registration_is_idempotent() -> None:
    registry = mx.optimizer.Optimizer.opt_registry
    assert set(FAMILY) <= set(ml.optim.trainable_optimizers())
    before = {n: registry[n] for n in FAMILY}
    ml.optim.register_family()
    ml.optim.register_family()
    importlib.import_module("momentumlab.optim._trainer")
    assert {n: registry[n] for n in FAMILY} == before
    for name in FAMILY:
        assert registry[name] is ml.optim.FAMILY_OPTIMIZERS[name]
        assert type(mx.optimizer.create(name)) is registry[name]


def test_registration_refuses_to_replace_a_foreign_optimizer() -> None:
    registry = mx.optimizer.Optimizer.opt_registry
    saved = registry["qhm"]
    registry["qhm"] = mx.optimizer.SGD
    try:
        with pytest.raises(ValueError, match=r"optimizer name 'qhm' is already registered by .*SGD"):
            ml.optim.register_family()
    finally:
        registry["qhm"] = saved
    assert registry["qhm"] is _family.QHM


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("qhm", {"momentum": 1.0}, "momentum must be in [0.0, 1.0), got 1.0"),
        ("qhm", {"nu": -0.1}, "nu must be in [0.0, 1.0], got -0.1"),
        ("aggmo", {"betas": ()}, "betas must be a non-empty sequence of values in [0, 1), got ()"),
        ("aggmo", {"betas": "0,x"}, "betas must be a non-empty sequence of values in [0, 1) or a comma"),
        ("demon", {"total_steps": 0}, "total_steps must be an integer >= 1, got 0"),
        ("lookahead", {"inner": "lookahead"}, "inner must not be 'lookahead' itself"),
        ("lookahead", {"inner": "adam", "momentum": 0.9}, "momentum must be None for optimizer 'adam'"),
        ("sgd_torch", {"momentum": -0.5}, "momentum must be in [0.0, 1.0), got -0.5"),
    ],
)
def test_constructors_check_their_arguments(name: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        mx.optimizer.create(name, **kwargs)


def test_betas_keep_their_form_and_runconfig_holds_the_string() -> None:
    assert ml.optim.check_hyperparameters("aggmo", {"betas": (0, 0.5)}) == {"betas": (0.0, 0.5)}
    assert ml.optim.check_hyperparameters("aggmo", {"betas": "0, 0.5"}) == {"betas": "0, 0.5"}
    config = ml.RunConfig(optimizer="aggmo", hyperparameters={"betas": "0,0.5"})
    assert config.hyperparameters == (("betas", "0,0.5"),)
    opt = mx.optimizer.create("aggmo", betas="0,0.5")
    assert opt.betas == (0.0, 0.5)


def test_lookahead_passes_momentum_and_inner_hyperparameters() -> None:
    opt = mx.optimizer.create("lookahead", momentum=0.8, inner="nag")
    assert type(opt.inner) is mx.optimizer.NAG
    assert opt.inner.momentum == 0.8
    assert opt.momentum == 0.8
    adam = mx.optimizer.create("lookahead", inner="adam", inner_hyperparameters="beta1=0.5,epsilon=1e-6")
    assert (adam.inner.beta1, adam.inner.epsilon) == (0.5, 1e-6)
    assert not hasattr(adam, "momentum")  # a run records nan for it


def test_demon_records_its_decayed_momentum_in_a_run() -> None:
    data = ml.data.make_linear_regression(n_samples=40, seed=0)
    config = ml.RunConfig(
        optimizer="demon", momentum=0.9, batch_size=10, epochs=2, hyperparameters={"total_steps": 6}
    )
    result = ml.train(config, data)
    expected = [ml.optim.demon_momentum(t, 0.9, 6) for t in range(8)]
    np.testing.assert_allclose(result.momenta, expected, rtol=1e-12)
    assert result.momenta[0] == 0.9
    assert result.momenta[-1] == 0.0


def _fit_one_weight(trainer: mx.gluon.Trainer, net: mx.gluon.nn.Dense, steps: int) -> None:
    x, y = mx.nd.array([[1.0], [2.0]]), mx.nd.array([[1.0], [3.0]])
    for _ in range(steps):
        with mx.autograd.record():
            loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        trainer.step(1)


def test_schedule_free_evaluation_point_swaps_x_in_and_restores_y() -> None:
    net = mx.gluon.nn.Dense(1, in_units=1)
    net.initialize(mx.init.Zero())
    trainer = mx.gluon.Trainer(net.collect_params(), "sgd_schedule_free", {"learning_rate": 0.1})
    _fit_one_weight(trainer, net, 5)
    opt = trainer._optimizer
    y = [p.data().asnumpy().copy() for p in trainer._params]
    x = [opt.evaluation_weight(i).asnumpy() for i in range(len(y))]
    assert all(not np.allclose(a, b) for a, b in zip(x, y, strict=True))
    with ml.optim.evaluation_point(trainer):
        inside = [p.data().asnumpy().copy() for p in trainer._params]
    after = [p.data().asnumpy() for p in trainer._params]
    for a, b in zip(inside, x, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(after, y, strict=True):
        np.testing.assert_array_equal(a, b)


def test_evaluation_point_leaves_other_optimizers_alone() -> None:
    net = mx.gluon.nn.Dense(1, in_units=1)
    net.initialize(mx.init.Zero())
    trainer = mx.gluon.Trainer(net.collect_params(), "qhm", {"learning_rate": 0.1})
    _fit_one_weight(trainer, net, 2)
    before = net.weight.data().asnumpy().copy()
    with ml.optim.evaluation_point(trainer):
        np.testing.assert_array_equal(net.weight.data().asnumpy(), before)
    assert before[0, 0] != 0.0
