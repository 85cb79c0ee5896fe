"""A plain Gluon SGD loop, written as users write it, to check ``train`` against.

No momentum key, no hybridization, no helpers from momentumlab beyond the batch order and
reading/writing parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import mxnet as mx
import numpy as np
import numpy.typing as npt
from mxnet import autograd, gluon

import momentumlab as ml


def plain_sgd(
    problem: ml.problems.Problem,
    params0: Mapping[str, npt.NDArray[np.float32]],
    orders: Sequence[npt.NDArray[np.int64]],
    *,
    batch_size: int,
    learning_rates: Sequence[float],
) -> dict[str, npt.NDArray[np.float32]]:
    """Train a fresh ``problem.make_net()`` from ``params0``; epoch ``e`` uses ``learning_rates[e]``."""
    net = problem.make_net()
    ml.models.init_normal(net, seed=0)  # allocate, then overwrite with params0
    ml.models.set_params(net, params0)
    loss_fn = problem.make_loss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": learning_rates[0]})
    X, y = problem.data.features, problem.data.labels
    n = problem.data.n_samples
    for order, lr in zip(orders, learning_rates, strict=True):
        trainer.set_learning_rate(lr)
        idx = mx.nd.array(order, dtype="int64")
        Xe, ye = X.take(idx), y.take(idx)
        for lo in range(0, n, batch_size):
            hi = min(lo + batch_size, n)
            with autograd.record():
                loss = loss_fn(net(Xe[lo:hi]), ye[lo:hi])
            loss.backward()
            trainer.step(hi - lo)
    return ml.models.get_params(net)
