"""The chapter's own loop ("Momentum with Gluon"), written out as the chapter has it.

The only changes: the data, the initial parameters and the batch order are passed in, so the
loop can be compared with :func:`momentumlab.train` bit for bit (the chapter reads them from
globals and draws the order from NumPy's global RNG).
"""

from __future__ import annotations

from collections.abc import Sequence

import mxnet as mx
import numpy as np
import numpy.typing as npt
from mxnet import autograd, gluon


class _FixedOrder(gluon.data.Sampler):
    def __init__(self, orders: Sequence[npt.NDArray[np.int64]]) -> None:
        self._orders = list(orders)
        self._epoch = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        order = self._orders[self._epoch]
        self._epoch += 1
        return iter(int(i) for i in order)

    def __len__(self) -> int:
        return len(self._orders[0])


def chapter_train(
    X: mx.nd.NDArray,
    y: mx.nd.NDArray,
    w0: npt.NDArray[np.float32],
    b0: npt.NDArray[np.float32],
    orders: Sequence[npt.NDArray[np.int64]],
    batch_size: int,
    lr: float,
    mom: float,
    epochs: int,
    period: int,
    lines: list[str] | None = None,
) -> tuple[list[float], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Run the chapter's ``train``; return (total_loss, w, b)."""
    dataset = gluon.data.ArrayDataset(X, y)
    net = gluon.nn.Sequential()
    net.add(gluon.nn.Dense(1))
    square_loss = gluon.loss.L2Loss()
    # net.collect_params().initialize(mx.init.Normal(sigma=1), force_reinit=True), with the
    # drawn values passed in:
    net.collect_params().initialize(mx.init.Normal(sigma=1), force_reinit=True)
    net(X[:1])
    net[0].weight.set_data(mx.nd.array(w0))
    net[0].bias.set_data(mx.nd.array(b0))
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr, "momentum": mom})
    data_iter = gluon.data.DataLoader(dataset, batch_size, sampler=_FixedOrder(orders))
    total_loss = [np.mean(square_loss(net(X), y).asnumpy())]
    for epoch in range(1, epochs + 1):
        # Decay learning rate.
        if epoch > 2:
            trainer.set_learning_rate(trainer.learning_rate * 0.1)
        for batch_i, (data, label) in enumerate(data_iter):
            with autograd.record():
                output = net(data)
                loss = square_loss(output, label)
            loss.backward()
            trainer.step(batch_size)
            if batch_i * batch_size % period == 0:
                total_loss.append(np.mean(square_loss(net(X), y).asnumpy()))
        if lines is not None:
            lines.append(
                "Batch size %d, Learning rate %f, Epoch %d, loss %.4e"
                % (batch_size, trainer.learning_rate, epoch, total_loss[-1])
            )
    w = net[0].weight.data().asnumpy()
    b = net[0].bias.data().asnumpy()
    return [float(v) for v in total_loss], w, b
