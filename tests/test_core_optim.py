"""The chapter's decay and the Trainer factory (core parts)."""

from __future__ import annotations

import itertools

import mxnet as mx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import momentumlab as ml


def test_epoch_decay_compounds_like_the_chapter() -> None:
    decay = ml.optim.EpochDecay(factor=0.1, after_epoch=2)
    lr = 0.2
    chapter = []
    for epoch in range(1, 7):
        if epoch > 2:
            lr = lr * 0.1
        chapter.append(lr)
    assert [decay.learning_rate(0.2, e) for e in range(1, 7)] == chapter  # bit-identical floats


@given(
    factor=st.floats(0.01, 1.0),
    after=st.integers(0, 5),
    base=st.floats(1e-4, 10.0),
    spe=st.integers(1, 20),
)
def test_epoch_decay_never_increases_and_is_constant_within_an_epoch(
    factor: float, after: int, base: float, spe: int
) -> None:
    sched = ml.optim.EpochDecay(factor=factor, after_epoch=after).as_schedule(base, steps_per_epoch=spe)
    values = [sched(t) for t in range(8 * spe)]
    assert all(b <= a for a, b in itertools.pairwise(values))
    for e in range(8):
        assert len(set(values[e * spe : (e + 1) * spe])) == 1
    assert values[0] == (base if after >= 1 else base * factor)
    if after >= 1:
        assert values[after * spe - 1] == base  # last step of epoch `after`
    assert values[after * spe] == base * factor  # first decayed step


def test_epoch_decay_attached_to_a_trainer_sets_each_update() -> None:
    net = ml.models.LinearRegressor(1, initializer=mx.init.Zero())
    sched = ml.optim.EpochDecay(factor=0.5, after_epoch=1).as_lr_scheduler(1.0, steps_per_epoch=2)
    trainer = ml.optim.make_trainer(net.collect_params(), learning_rate=1.0, momentum=0.0)
    trainer = mx.gluon.Trainer(net.collect_params(), "sgd", {"lr_scheduler": sched})
    seen = []
    x, y = mx.nd.ones((1, 1)), mx.nd.zeros((1,))
    for _ in range(6):
        with mx.autograd.record():
            lv = mx.gluon.loss.L2Loss()(net(x), y)
        lv.backward()
        trainer.step(1)
        seen.append(trainer.learning_rate)  # MXNet's lr for the update just made
    assert seen == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        ({"factor": 0.0}, ValueError, r"factor must be in \(0.0, 1.0\], got 0.0"),
        ({"factor": 1.5}, ValueError, r"factor must be in \(0.0, 1.0\], got 1.5"),
        ({"after_epoch": -1}, ValueError, r"after_epoch must be an integer >= 0, got -1"),
    ],
)
def test_epoch_decay_rejects_bad_arguments(
    kwargs: dict[str, float], exc: type[Exception], message: str
) -> None:
    with pytest.raises(exc, match=message):
        ml.optim.EpochDecay(**kwargs)  # type: ignore[arg-type]


def test_make_trainer_validates() -> None:
    params = ml.models.LinearRegressor(1, initializer=mx.init.Zero()).collect_params()
    with pytest.raises(ValueError, match=r"optimizer must be one of \[.*\], got 'sgdd'"):
        ml.optim.make_trainer(params, optimizer="sgdd")
    with pytest.raises(
        ValueError, match=r"momentum must be None for optimizer 'adam', which takes no momentum"
    ):
        ml.optim.make_trainer(params, optimizer="adam", momentum=0.9)
    with pytest.raises(ValueError, match=r"hyperparameters has 'beta1', which optimizer 'sgd' does not take"):
        ml.optim.make_trainer(params, hyperparameters={"beta1": 0.9})
    with pytest.raises(ValueError, match=r"learning_rate must be > 0.0, got -0.1"):
        ml.optim.make_trainer(params, learning_rate=-0.1)
    with pytest.raises(ValueError, match=r"momentum must be in \[0.0, 1.0\), got 1.0"):
        ml.optim.make_trainer(params, momentum=1.0)
    trainer = ml.optim.make_trainer(
        params, optimizer="adam", learning_rate=0.01, hyperparameters={"beta1": 0.8}
    )
    assert trainer.optimizer.beta1 == 0.8
