"""The batched engine's data layouts (issue 14 speed work) against plain references.

The engine stores per-update rates as ``(n_updates, K)`` rows, transposes records in blocks,
copies record snapshots into one buffer per parameter (models last in memory for the 2-D
functions) and computes record passes with one product for the first layer in a
``(rows, M, o)`` layout. Each is checked here against the obvious NumPy expression, and the
record losses of M dense models against an independent float64 forward pass, model by model,
for every loss and for one and several outputs (the suite's problems only use one of them).
"""

from __future__ import annotations

import mxnet as mx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import momentumlab as ml
from momentumlab._src.types import Array
from momentumlab.runner._kernels import DenseKernel, kernel_for
from momentumlab.runner._numpy import _per_step, _Snapshots, _stacked, _transposed
from momentumlab.runner._vectorized import _plans


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 9), st.integers(1, 7), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_per_step_rows_are_the_transposed_stack_in_float32(k: int, n: int, block: int, seed: int) -> None:
    values = list(np.random.default_rng(seed).standard_normal((k, n)))
    got = _per_step(values, block=block)
    assert got.shape == (n, k)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.stack(values).T.astype(np.float32))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 9), st.integers(1, 7), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_transposed_records_are_the_stack_by_run(r: int, k: int, block: int, seed: int) -> None:
    rows = list(np.random.default_rng(seed).standard_normal((r, k)))
    got = _transposed(rows, block=block)
    assert got.shape == (k, r)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, np.stack(rows, axis=1))


@pytest.mark.parametrize("models_last", [False, True])
@pytest.mark.parametrize("shape", [(2,), (3, 4)])
def test_snapshots_read_back_the_records_in_order(models_last: bool, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    K, rows = 5, 3
    states = [[rng.standard_normal((K, *shape)).astype(np.float32)] for _ in range(rows)]
    if models_last:
        states = [[np.asfortranarray(a) for a in s] for s in states]
    snaps = _Snapshots(states[0], rows, models_last)
    for count, state in enumerate(states[:2], start=1):
        snaps.add(state)
        assert snaps.count == count
    (flat,) = snaps.flat()
    assert flat.shape == (2 * K, *shape)
    np.testing.assert_array_equal(flat, np.concatenate([s[0] for s in states[:2]]))
    snaps.count = 0  # the engine reuses one buffer an epoch
    snaps.add(states[2])
    np.testing.assert_array_equal(snaps.flat()[0], states[2][0])


def test_stacked_parameters_put_the_models_last_in_memory_when_asked() -> None:
    p = ml.problems.make("rosenbrock")
    kernel = kernel_for(p, p.make_net(), p.make_loss())
    assert not isinstance(kernel, str)
    plans = _plans([ml.RunConfig(**p.settings)] * 3, p, kernel)
    last = _stacked(plans, "xy", True)
    first = _stacked(plans, "xy", False)
    np.testing.assert_array_equal(last, first)
    assert last.shape == (3, 2)
    assert last.strides[0] == 4
    assert first.strides[1] == 4


def _reference_loss(kind: str, params: list[Array], X: Array, Y: Array, n_layers: int) -> float:
    """The mean loss of one model in float64, layer by layer (weights then biases)."""
    h = X.astype(np.float64)
    for j in range(n_layers):
        h = h @ params[2 * j].astype(np.float64).T + params[2 * j + 1]
        if j < n_layers - 1:
            h = np.maximum(h, 0.0)
    if kind == "l2":
        return float((0.5 * ((h - Y) ** 2).mean(axis=1)).mean())
    if kind == "bce":
        return float((np.maximum(h, 0) - h * Y + np.log1p(np.exp(-np.abs(h)))).mean(axis=1).mean())
    top = h.max(axis=1, keepdims=True)
    lse = np.log(np.exp(h - top).sum(axis=1)) + top[:, 0]
    return float((lse - h[np.arange(len(h)), Y]).mean())


@pytest.mark.parametrize(("kind", "outputs"), [("l2", 1), ("l2", 3), ("bce", 1), ("bce", 3), ("softmax", 3)])
@pytest.mark.parametrize("hidden", [(), (6,), (5, 4)])
def test_record_losses_of_many_models_match_a_float64_reference(
    kind: str, hidden: tuple[int, ...], outputs: int
) -> None:
    rng = np.random.default_rng(1)
    n, d, M = 37, 7, 9
    problem = ml.problems.make("logistic", n_samples=n, n_heldout=5, n_features=d)
    net = mx.gluon.nn.HybridSequential()
    for width in hidden:
        net.add(mx.gluon.nn.Dense(width, activation="relu", in_units=net[-1]._units if len(net) else d))
    net.add(mx.gluon.nn.Dense(outputs, in_units=hidden[-1] if hidden else d))
    net.initialize()
    kernel = DenseKernel(problem, net, list(net), kind)
    params = [rng.standard_normal((M, *s)).astype(np.float32) for s in kernel.shapes]
    X = rng.standard_normal((n, d)).astype(np.float32)
    if kind == "softmax":
        Y: Array = rng.integers(0, outputs, n)
    elif kind == "bce":
        Y = (rng.random((n, outputs)) > 0.5).astype(np.float32)
    else:
        Y = rng.standard_normal((n, outputs)).astype(np.float32)
    got = kernel._mean_loss(params, X, Y, None)
    want = [_reference_loss(kind, [a[m] for a in params], X, Y, len(hidden) + 1) for m in range(M)]
    assert got.shape == (M,)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=2e-6)
