"""The two-way bridge with ``mxnet.lr_scheduler``, checked in real Gluon runs."""

from __future__ import annotations

from collections.abc import Callable

import mxnet as mx
import numpy as np
import pytest

import momentumlab as ml
from momentumlab._src.types import Array
from tests.chapter import chapter_train

N = 60


def _mxnet_sequence(factory: Callable[[], mx.lr_scheduler.LRScheduler], n: int) -> list[float]:
    sched = factory()
    return [float(sched(k)) for k in range(1, n + 1)]  # called once per update, in order


FACTORIES: dict[str, Callable[[], mx.lr_scheduler.LRScheduler]] = {
    "factor": lambda: mx.lr_scheduler.FactorScheduler(step=7, factor=0.5, base_lr=0.3),
    "factor-floor": lambda: mx.lr_scheduler.FactorScheduler(
        step=3, factor=0.1, base_lr=1.0, stop_factor_lr=1e-4
    ),
    "factor-warm-linear": lambda: mx.lr_scheduler.FactorScheduler(
        step=5, factor=0.9, base_lr=0.2, warmup_steps=8, warmup_begin_lr=0.01
    ),
    "multifactor": lambda: mx.lr_scheduler.MultiFactorScheduler(
        step=[4, 10, 11, 30], factor=0.3, base_lr=0.7
    ),
    "multifactor-warm-const": lambda: mx.lr_scheduler.MultiFactorScheduler(
        step=[12, 20], factor=0.5, base_lr=0.4, warmup_steps=6, warmup_begin_lr=0.05, warmup_mode="constant"
    ),
    "poly": lambda: mx.lr_scheduler.PolyScheduler(max_update=40, base_lr=0.5, pwr=2, final_lr=0.01),
    "poly-warm": lambda: mx.lr_scheduler.PolyScheduler(
        max_update=40, base_lr=0.5, pwr=3, warmup_steps=10, warmup_begin_lr=0.1
    ),
    "cosine": lambda: mx.lr_scheduler.CosineScheduler(max_update=45, base_lr=0.2, final_lr=0.02),
    "cosine-warm-linear": lambda: mx.lr_scheduler.CosineScheduler(
        max_update=30, base_lr=0.2, warmup_steps=9, warmup_begin_lr=0.0
    ),
    "cosine-warm-const": lambda: mx.lr_scheduler.CosineScheduler(
        max_update=30, base_lr=0.2, warmup_steps=9, warmup_begin_lr=0.02, warmup_mode="constant"
    ),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_from_mxnet_equals_the_stateful_scheduler_called_in_order(name: str) -> None:
    schedule = ml.optim.from_mxnet(FACTORIES[name]())
    expected = _mxnet_sequence(FACTORIES[name], N)
    got = [schedule(t) for t in range(N)]
    assert got == expected  # bit for bit
    # stateless: any order, twice
    assert [schedule(t) for t in reversed(range(N))] == expected[::-1]


def test_from_mxnet_rejects_other_schedulers() -> None:
    class Mine(mx.lr_scheduler.LRScheduler):
        def __call__(self, num_update: int) -> float:
            return 0.1

    with pytest.raises(TypeError, match=r"scheduler must be an mx\.lr_scheduler FactorScheduler"):
        ml.optim.from_mxnet(Mine())
    with pytest.raises(TypeError, match=r"scheduler must be an mx\.lr_scheduler\.LRScheduler"):
        ml.optim.from_mxnet(0.1)
    s = ml.optim.step_decay(1.0, 2, 0.5)
    assert ml.optim.from_mxnet(ml.optim.as_lr_scheduler(s)) is s


def _mlp() -> mx.gluon.HybridBlock:
    net = mx.gluon.nn.HybridSequential()
    net.add(
        mx.gluon.nn.Dense(4, in_units=2), mx.gluon.nn.Dense(3, in_units=4), mx.gluon.nn.Dense(1, in_units=3)
    )
    net.initialize(mx.init.Constant(0.1))
    return net


def test_schedule_lr_in_a_real_gluon_run_with_several_parameters() -> None:
    """num_update counts from 1 and is shared by all 6 parameters (aggregated in chunks of 4)."""
    schedule = ml.optim.warmup(ml.optim.step_decay(0.05, 3, 0.5), 2, start_value=0.01)
    seen: list[int] = []

    def spy(step: float) -> float:
        seen.append(int(step))
        return schedule(int(step))

    net = _mlp()
    params = list(net.collect_params().values())
    assert len(params) == 6
    trainer = mx.gluon.Trainer(net.collect_params(), "sgd", {"lr_scheduler": ml.optim.as_lr_scheduler(spy)})
    data = ml.data.make_linear_regression(n_samples=40, seed=0)
    loss = mx.gluon.loss.L2Loss()
    assert trainer.learning_rate == schedule(0)  # before any step
    for t in range(10):
        x, y = data.features[4 * t : 4 * t + 4], data.labels[4 * t : 4 * t + 4]
        with mx.autograd.record():
            out = loss(net(x), y)
        out.backward()
        before = [p.data().asnumpy().copy() for p in params]
        grads = [p.grad().asnumpy().copy() for p in params]
        seen.clear()
        trainer.step(4)
        assert set(seen) == {t}, f"update {t + 1} used steps {sorted(set(seen))}"
        assert trainer.learning_rate == schedule(t)
        # the lr actually applied: w_new = w - lr * g / 4 for every parameter
        for b, g, p in zip(before, grads, params, strict=True):
            np.testing.assert_allclose(p.data().asnumpy(), b - schedule(t) * g / 4, rtol=1e-5, atol=1e-7)


def test_make_trainer_with_a_schedule_reads_it_per_update() -> None:
    schedule = ml.optim.cosine_decay(0.1, 5)
    net = ml.models.LinearRegressor(2, initializer=mx.init.Zero())
    trainer = ml.optim.make_trainer(net.collect_params(), learning_rate=schedule, momentum=0.5)
    data = ml.data.make_linear_regression(n_samples=20, seed=1)
    lrs = []
    for t in range(7):
        with mx.autograd.record():
            out = mx.gluon.loss.L2Loss()(net(data.features[t : t + 2]), data.labels[t : t + 2])
        out.backward()
        trainer.step(2)
        lrs.append(trainer.learning_rate)
    assert lrs == [schedule(t) for t in range(7)]


def _chapter_decay_with_multifactor(
    data: ml.data.LinearData, w0: Array, b0: Array, orders: list[Array], bs: int, epochs: int
) -> tuple[Array, Array]:
    """The chapter's loop, with its decay done by MXNet's MultiFactorScheduler."""
    spe = data.n_samples // bs
    net = ml.models.LinearRegressor(2)
    net.initialize(mx.init.Zero())
    net.dense.weight.set_data(mx.nd.array(w0))
    net.dense.bias.set_data(mx.nd.array(b0))
    sched = mx.lr_scheduler.MultiFactorScheduler(
        step=[spe * e for e in range(2, epochs)], factor=0.1, base_lr=0.2
    )
    trainer = mx.gluon.Trainer(
        net.collect_params(), "sgd", {"learning_rate": 0.2, "momentum": 0.9, "lr_scheduler": sched}
    )
    loss = mx.gluon.loss.L2Loss()
    X, y = data.features, data.labels
    for epoch in range(epochs):
        idx = mx.nd.array(orders[epoch], dtype="int64")
        Xe, ye = X.take(idx), y.take(idx)
        for i in range(spe):
            with mx.autograd.record():
                out = loss(net(Xe[i * bs : (i + 1) * bs]), ye[i * bs : (i + 1) * bs])
            out.backward()
            trainer.step(bs)
    return net.dense.weight.data().asnumpy(), net.dense.bias.data().asnumpy()


def test_chapter_decay_with_multifactor_scheduler_equals_momentumlab_schedule_bit_for_bit() -> None:
    data = ml.data.make_linear_regression(seed=3)
    bs, epochs = 10, 4
    spe = data.n_samples // bs
    config = ml.RunConfig(
        batch_size=10,
        momentum=0.9,
        period=10,
        init_sigma=1.0,
        max_records_per_epoch=None,
        learning_rate=ml.optim.multistep_decay(0.2, [spe * e for e in range(2, epochs)], 0.1),
        epochs=epochs,
        seed=3,
    )
    net = ml.models.LinearRegressor(2)
    ml.models.init_normal(net, seed=3)
    w0, b0 = ml.models.get_linear_params(net)
    result = ml.train(config, data, net=net, initialize=False, engine="gluon")
    orders = ml.batch_orders(config, data.n_samples)
    w, b = _chapter_decay_with_multifactor(data, w0, b0, orders, bs, epochs)
    np.testing.assert_array_equal(np.asarray(result.weight), w)
    np.testing.assert_array_equal(np.asarray(result.bias), b)
    # and both equal the chapter's own loop (decay by trainer.set_learning_rate(lr * 0.1))
    _, wc, bc = chapter_train(data.features, data.labels, w0, b0, orders, bs, 0.2, 0.9, epochs, 10)
    np.testing.assert_array_equal(w, wc)
    np.testing.assert_array_equal(b, bc)
    assert list(result.learning_rates[::spe]) == [0.2, 0.2, 0.2 * 0.1, 0.2 * 0.1 * 0.1]


def test_per_epoch_config_equals_the_chapter_default_bit_for_bit() -> None:
    data = ml.data.make_linear_regression(n_samples=200, seed=5)
    default = ml.train(ml.RunConfig.chapter(epochs=4, seed=1), data, engine="gluon")
    per_epoch = ml.RunConfig(
        batch_size=10,
        momentum=0.9,
        period=10,
        init_sigma=1.0,
        max_records_per_epoch=None,
        learning_rate=ml.optim.PerEpoch(ml.optim.multistep_decay(0.2, [2, 3], 0.1)),
        epochs=4,
        seed=1,
    )
    result = ml.train(per_epoch, data, engine="gluon")
    np.testing.assert_array_equal(np.asarray(result.weight), np.asarray(default.weight))
    np.testing.assert_array_equal(result.learning_rates, default.learning_rates)
