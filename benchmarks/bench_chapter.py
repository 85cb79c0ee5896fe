"""One run of the chapter's workload, five ways, timed side by side in one process.

Workload ("Momentum with Gluon"): 1000 x 2 data, batch 10, lr 0.2 (x0.1 from epoch 3),
momentum 0.9, 3 epochs, the full-dataset loss recorded every 10 examples (301 records).

Rows: the chapter's own loop (DataLoader, un-hybridized loss, a host sync per record, written
out below in plain MXNet), ``ml.train(engine="gluon")`` (the Gluon engine, bit-identical to the
chapter's loop; on this workload every update is one cached graph call), ``ml.train()`` (auto:
the NumPy engine), a NumPy loop of the same math (the floor on this CPU) and a PyTorch loop
when torch is importable (target: the Gluon engine >= 6x the chapter's loop). Each is run
``--repeats`` times, interleaved, and the table gives medians and the chapter loop's median
divided by each row's.

Usage: ``python benchmarks/bench_chapter.py [--repeats 7]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

import momentumlab as ml

BATCH, LR, MOM, EPOCHS, PERIOD = 10, 0.2, 0.9, 3, 10


class _FixedOrder(gluon.data.Sampler):
    """The batch order ``ml.train`` uses, fed to the chapter's DataLoader."""

    def __init__(self, orders: Sequence[Any]) -> None:
        self._orders = list(orders)
        self._epoch = 0

    def __iter__(self) -> Any:
        order = self._orders[self._epoch % len(self._orders)]
        self._epoch += 1
        return iter(int(i) for i in order)

    def __len__(self) -> int:
        return len(self._orders[0])


def chapter_loop(data: ml.data.LinearData, w0: Any, b0: Any, orders: Sequence[Any]) -> Any:
    """The chapter's ``train`` (plain MXNet), given the start and the batch order."""
    X, y = data.features, data.labels
    net = gluon.nn.Sequential()
    net.add(gluon.nn.Dense(1))
    square_loss = gluon.loss.L2Loss()
    net.collect_params().initialize(mx.init.Normal(sigma=1), force_reinit=True)
    net(X[:1])
    net[0].weight.set_data(mx.nd.array(w0))
    net[0].bias.set_data(mx.nd.array(b0))
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": LR, "momentum": MOM})
    data_iter = gluon.data.DataLoader(gluon.data.ArrayDataset(X, y), BATCH, sampler=_FixedOrder(orders))
    total_loss = [np.mean(square_loss(net(X), y).asnumpy())]
    for epoch in range(1, EPOCHS + 1):
        if epoch > 2:
            trainer.set_learning_rate(trainer.learning_rate * 0.1)
        for batch_i, (xb, yb) in enumerate(data_iter):
            with autograd.record():
                loss = square_loss(net(xb), yb)
            loss.backward()
            trainer.step(BATCH)
            if batch_i * BATCH % PERIOD == 0:
                total_loss.append(np.mean(square_loss(net(X), y).asnumpy()))
    return net[0].weight.data().asnumpy()


def numpy_loop(X: Any, y: Any, w0: Any, b0: Any, orders: Sequence[Any]) -> Any:
    """The same math in NumPy float32 with a float64 full-dataset loss per record."""
    w, b = w0.copy(), b0.copy()
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    y2 = y.reshape(-1, 1)
    lr = LR
    losses = []
    for epoch in range(1, EPOCHS + 1):
        if epoch > 2:
            lr *= 0.1
        Xe, ye = X[orders[epoch - 1]], y2[orders[epoch - 1]]
        for i in range(0, len(X), BATCH):
            xb, yb = Xe[i : i + BATCH], ye[i : i + BATCH]
            d = xb @ w.T + b - yb
            vw = MOM * vw - (lr / BATCH) * (d.T @ xb)
            vb = MOM * vb - (lr / BATCH) * d.sum(axis=0)
            w, b = w + vw, b + vb
            if i % PERIOD == 0:
                r = X @ w.T + b - y2
                losses.append(0.5 * float(np.mean(r * r)))
    return w


def torch_loop(X: Any, y: Any, w0: Any, b0: Any, orders: Sequence[Any]) -> Callable[[], Any] | None:
    """A PyTorch loop of the same math, or ``None`` when torch is not importable."""
    try:
        import torch
    except ImportError:
        return None

    def run() -> Any:
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y.reshape(-1, 1))
        lin = torch.nn.Linear(X.shape[1], 1)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w0))
            lin.bias.copy_(torch.from_numpy(b0))
        opt = torch.optim.SGD(lin.parameters(), lr=LR, momentum=MOM)
        losses = []
        for epoch in range(1, EPOCHS + 1):
            if epoch > 2:
                for g in opt.param_groups:
                    g["lr"] *= 0.1
            idx = torch.from_numpy(orders[epoch - 1])
            Xe, ye = Xt[idx], yt[idx]
            for i in range(0, len(X), BATCH):
                opt.zero_grad()
                loss = 0.5 * ((lin(Xe[i : i + BATCH]) - ye[i : i + BATCH]) ** 2).mean()
                loss.backward()
                opt.step()
                if i % PERIOD == 0:
                    with torch.no_grad():
                        losses.append(0.5 * ((lin(Xt) - yt) ** 2).mean())
        return [float(v) for v in losses]

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    data = ml.data.make_linear_regression(seed=0)
    config = ml.RunConfig.chapter(
        batch_size=BATCH, learning_rate=LR, momentum=MOM, epochs=EPOCHS, period=PERIOD
    )
    orders = ml.batch_orders(config, data.n_samples)
    net = ml.models.LinearRegressor(2)
    ml.models.init_normal(net, seed=0)
    w0, b0 = ml.models.get_linear_params(net)
    X, y = data.numpy()
    candidates: dict[str, Callable[[], Any]] = {
        "chapter loop (DataLoader)": lambda: chapter_loop(data, w0, b0, orders),
        "ml.train engine='gluon'": lambda: ml.train(config, data, engine="gluon"),
        "ml.train (auto: numpy)": lambda: ml.train(config, data),
        "NumPy loop (floor)": lambda: numpy_loop(X, y, w0, b0, orders),
    }
    torch_run = torch_loop(X, y, w0, b0, orders)
    if torch_run is not None:
        candidates["PyTorch loop"] = torch_run
    for fn in candidates.values():  # warm-up (graph building, imports)
        fn()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(args.repeats):
        for name, fn in candidates.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["chapter loop (DataLoader)"])
    print(f"chapter workload, {args.repeats} repeats, medians (ratio = chapter loop / row)")
    print(f"{'implementation':30s} {'median s':>10s} {'min s':>10s} {'speed-up':>9s}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:30s} {med:10.4f} {min(ts):10.4f} {base / med:8.1f}x")
    if torch_run is None:
        print("(PyTorch loop skipped: torch is not importable)")


if __name__ == "__main__":
    main()
