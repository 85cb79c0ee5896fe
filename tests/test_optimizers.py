"""Every optimizer MXNet registers: trains the chapter's problem, or is excluded with a reason."""

from __future__ import annotations

import re
from typing import Any

import mxnet as mx
import numpy as np
import pytest

import momentumlab as ml

DATA = ml.data.make_linear_regression(seed=0)  # the chapter's problem: 1000 examples, w=(2,-3.4), b=4.2

# optimizer -> (RunConfig keywords, bound on the final loss). The default RunConfig is the
# chapter's: batch 10, 3 epochs, lr x0.1 from epoch 3. The noise floor of the data is
# 0.5 * 0.01**2 = 5e-5; measured final losses (seed 0) are in the comments.
TABLE: dict[str, tuple[dict[str, Any], float]] = {
    "sgd": ({"learning_rate": 0.2, "momentum": 0.9}, 1e-4),  # 5.0e-5
    "ccsgd": ({"learning_rate": 0.2, "momentum": 0.9}, 1e-4),  # 5.0e-5 (deprecated alias of sgd)
    "nag": ({"learning_rate": 0.2, "momentum": 0.9}, 1e-4),  # 5.0e-5
    "lbsgd": ({"learning_rate": 0.2, "momentum": 0.9}, 1e-4),  # 5.0e-5 (batch_scale=1: plain sgd)
    "dcasgd": ({"learning_rate": 0.2, "momentum": None}, 1e-4),  # 4.8e-5
    "signum": ({"learning_rate": 0.02, "momentum": 0.9}, 2e-4),  # 5.7e-5
    "lars": ({"learning_rate": 20.0, "momentum": 0.9}, 1e-3),  # 2.9e-4 (eta=0.001 scales lr down)
    "adagrad": ({"learning_rate": 0.5, "momentum": None}, 1e-4),  # 4.9e-5
    "adam": ({"learning_rate": 0.05, "momentum": None}, 2e-4),  # 9.1e-5
    "adamax": ({"learning_rate": 0.2, "momentum": None}, 1e-4),  # 4.8e-5
    "nadam": ({"learning_rate": 0.1, "momentum": None}, 1e-4),  # 4.8e-5
    "ftml": ({"learning_rate": 0.5, "momentum": None}, 1e-4),  # 4.8e-5
    "ftrl": ({"learning_rate": 20.0, "momentum": None, "hyperparameters": {"lamda1": 0.0}}, 1e-4),  # 4.9e-5
    "rmsprop": ({"learning_rate": 0.05, "momentum": None}, 2e-4),  # 6.2e-5
    # MXNet's AdaDelta ignores the learning rate
    "adadelta": (
        {"learning_rate": 1.0, "momentum": None, "hyperparameters": {"epsilon": 1e-3}},
        2e-4,
    ),  # 8.3e-5
    "lamb": ({"learning_rate": 0.05, "momentum": None}, 2e-3),  # 7.0e-4
    # the momentum family (momentumlab.optim._family)
    "qhm": ({"learning_rate": 0.2, "momentum": 0.9}, 1e-4),  # 4.8e-5
    "aggmo": ({"learning_rate": 0.02, "momentum": None}, 1e-4),  # 7.5e-5 (betas 0, 0.9, 0.99)
    "demon": (
        {"learning_rate": 0.2, "momentum": 0.9, "hyperparameters": {"total_steps": 300}},
        1e-4,
    ),  # 4.8e-5
    "lookahead": ({"learning_rate": 0.2, "momentum": 0.9}, 1e-4),  # 4.9e-5 (around sgd)
    "sgd_schedule_free": ({"learning_rate": 0.2, "momentum": 0.9}, 2e-4),  # 9.1e-5 (at y)
    "sgd_torch": ({"learning_rate": 0.2, "momentum": 0.9}, 1e-4),  # 5.0e-5
}
# Trained on their own terms below: groupadagrad (2-D parameters only), sgld (noise).
SPECIAL = {"groupadagrad", "sgld"}


def test_the_table_covers_every_trainable_registered_optimizer() -> None:
    assert set(TABLE) | SPECIAL == set(ml.optim.trainable_optimizers())
    assert set(ml.optim.trainable_optimizers()) | set(ml.optim.EXCLUDED_OPTIMIZERS) == set(
        mx.optimizer.Optimizer.opt_registry
    )


@pytest.mark.parametrize("name", sorted(TABLE))
def test_each_optimizer_trains_the_chapters_problem(name: str) -> None:
    kwargs, bound = TABLE[name]
    result = ml.train(ml.RunConfig.chapter(optimizer=name, **kwargs), DATA)
    assert not result.diverged
    assert result.final_loss < bound, f"{name}: final loss {result.final_loss:.3e} >= {bound:.0e}"


def test_excluded_optimizers_raise_with_their_reason() -> None:
    for name, reason in ml.optim.EXCLUDED_OPTIMIZERS.items():
        with pytest.raises(ValueError, match="excluded") as info:
            ml.RunConfig.chapter(optimizer=name, momentum=None)
        assert reason in str(info.value)
        net = ml.models.LinearRegressor(2, initializer=mx.init.Zero())
        with pytest.raises(ValueError, match="excluded"):
            ml.optim.make_trainer(net.collect_params(), optimizer=name)


def test_groupadagrad_needs_2d_parameters_and_trains_a_bias_free_net() -> None:
    with pytest.raises(ValueError, match=r"needs every parameter to be 2-D.*shape \(1,\)"):
        ml.train(ml.RunConfig.chapter(optimizer="groupadagrad", momentum=None), DATA)
    data = ml.data.make_linear_regression(bias=0.0, seed=0)
    net = mx.gluon.nn.Dense(1, in_units=2, use_bias=False)
    config = ml.RunConfig.chapter(optimizer="groupadagrad", momentum=None, learning_rate=0.5)
    result = ml.train(config, data, net=net)
    assert result.final_loss < 1e-4  # measured 4.9e-5
    net2 = mx.gluon.nn.Dense(1, in_units=2, use_bias=False)
    net2.initialize()
    with pytest.raises(ValueError, match="weight_decay must be 0 for optimizer 'groupadagrad'"):
        ml.optim.make_trainer(net2.collect_params(), optimizer="groupadagrad", weight_decay=0.1)


SGLD: dict[str, Any] = {
    "learning_rate": 0.05,
    "momentum": None,
    "epochs": 3,
    "batch_size": 10,
    "period": 10,
    "init_sigma": 1.0,
    "max_records_per_epoch": None,
    "optimizer": "sgld",
}


def test_sgld_is_reproducible_from_the_seed_and_samples_near_the_optimum() -> None:
    a = ml.train(ml.RunConfig(seed=1, **SGLD), DATA)
    b = ml.train(ml.RunConfig(seed=1, **SGLD), DATA)
    np.testing.assert_array_equal(np.asarray(a.weight), np.asarray(b.weight))
    assert a.final_loss < 10.0  # one draw of 0.5*chi2_3 (mean 1.5) is below 10 with prob > 0.99


@pytest.mark.slow
def test_sgld_final_loss_matches_its_stationary_distribution_over_seeds() -> None:
    """With mean gradients (rescale 1/batch) SGLD samples exp(-L): the excess loss is 0.5 chi2_3.

    The Hessian of the chapter's loss is E[(x,1)(x,1)^T] ~ I_3, so at stationarity the excess
    loss L - L* has mean 3/2 and standard deviation sqrt(3/2) ~ 1.22. Over 12 seeds the mean
    final loss must lie within 4 standard errors of 1.5 and the spread must be consistent.
    """
    losses = np.array([ml.train(ml.RunConfig(seed=s, **SGLD), DATA).final_loss for s in range(12)])
    se = np.sqrt(1.5) / np.sqrt(len(losses))
    assert abs(losses.mean() - 1.5) < 4 * se, losses
    assert 0.4 < losses.std(ddof=1) < 3.0, losses


@pytest.mark.parametrize(
    ("name", "hyper", "message"),
    [
        ("adam", {"beta1": 1.0}, "beta1 must be in [0.0, 1.0), got 1.0"),
        ("adam", {"beta2": -0.1}, "beta2 must be in [0.0, 1.0), got -0.1"),
        ("adam", {"epsilon": 0.0}, "epsilon must be > 0.0, got 0.0"),
        ("rmsprop", {"gamma1": 1.5}, "gamma1 must be in [0.0, 1.0), got 1.5"),
        ("adadelta", {"rho": 1.0}, "rho must be in [0.0, 1.0), got 1.0"),
        ("lars", {"eta": 0.0}, "eta must be > 0.0, got 0.0"),
        ("lbsgd", {"warmup_strategy": "cubic"}, "warmup_strategy must be one of"),
        ("lamb", {"lower_bound": 2.0, "upper_bound": 1.0}, "lower_bound must be <= upper_bound"),
        ("sgd", {"clip_gradient": -1.0}, "clip_gradient must be > 0.0, got -1.0"),
        (
            "adam",
            {"rho": 0.9},
            "hyperparameters has 'rho', which optimizer 'adam' does not take; valid ones are",
        ),
        ("sgd", {"wd": 0.1}, "use the weight_decay argument"),
        ("qhm", {"nu": 1.5}, "nu must be in [0.0, 1.0], got 1.5"),
        ("aggmo", {"betas": "0,0.9,1.0"}, "betas[2] must be in [0.0, 1.0), got 1.0"),
        ("aggmo", {"betas": ""}, "betas must be a non-empty sequence of values in [0, 1)"),
        ("demon", {"total_steps": 0}, "total_steps must be an integer >= 1, got 0"),
        ("lookahead", {"k": 0}, "k must be an integer >= 1, got 0"),
        ("lookahead", {"alpha": 0.0}, "alpha must be in (0.0, 1.0], got 0.0"),
        ("lookahead", {"inner": "adamw"}, "inner: optimizer must be one of"),
        ("lookahead", {"inner_hyperparameters": "beta1"}, "inner_hyperparameters must be a mapping"),
        (
            "lookahead",
            {"inner": "adam", "inner_hyperparameters": "beta1=1.5"},
            "inner_hyperparameters: beta1 must be in [0.0, 1.0), got 1.5",
        ),
        ("sgd_schedule_free", {"weight_lr_power": -1.0}, "weight_lr_power must be >= 0.0, got -1.0"),
        ("sgd_schedule_free", {"r": -1.0}, "r must be >= 0.0, got -1.0"),
    ],
)
def test_hyperparameters_are_validated(name: str, hyper: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ml.optim.check_hyperparameters(name, hyper)
    with pytest.raises(ValueError, match=re.escape(next(iter(hyper)))):
        ml.RunConfig.chapter(optimizer=name, momentum=None, hyperparameters=hyper)


def test_every_hyperparameter_of_every_registered_optimizer_has_a_range() -> None:
    for name in ml.optim.registered_optimizers():
        for key in ml.optim.optimizer_hyperparameters(name):
            assert key in ml.optim.HYPERPARAMETER_CHECKS, (name, key)


def test_unknown_optimizer_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"optimizer must be one of \['adadelta'.*got 'adamw'"):
        ml.RunConfig.chapter(optimizer="adamw")
    net = ml.models.LinearRegressor(2, initializer=mx.init.Zero())
    with pytest.raises(ValueError, match="momentum must be None for optimizer 'adam'"):
        ml.optim.make_trainer(net.collect_params(), optimizer="adam", momentum=0.9)
