"""The driver: validation before running, skipping done runs, diverged and failed points."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import momentumlab as ml
from momentumlab.sweep import _worker
from tests.sweep_util import TINY, TINY_DATA


def test_sweep_stores_one_row_per_point_and_resumes(tmp_path: Path) -> None:
    points = ml.sweep.grid(TINY, {"learning_rate": [0.05, 0.2], "momentum": [0.0, 0.9]}, seeds=[0, 1])
    seen: list[ml.sweep.SweepProgress] = []
    path = tmp_path / "s.sqlite"
    s1 = ml.sweep.run_sweep(points, TINY_DATA, path, progress=seen.append, chunk_size=1)
    assert (s1.n_runs, s1.n_done, s1.n_skipped) == (8, 8, 0)
    assert [p.completed for p in seen] == list(range(9))
    assert seen[0].key == ""
    s2 = ml.sweep.run_sweep(points, TINY_DATA, path)
    assert (s2.n_done, s2.n_skipped) == (0, 8)
    with ml.sweep.Store(path) as store:
        assert len(store) == 8
        assert set(store.statuses()) == set(s1.keys)
        row = store.get(s1.keys[3])
    ref = ml.train(points[3].config, TINY_DATA.build())
    assert np.array_equal(row.to_result().losses, ref.losses)


def test_diverging_and_raising_points_are_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    base = dataclasses.replace(TINY, batch_size=10, period=10)
    # GroupAdaGrad needs 2-D parameters; the linear net's bias is 1-D, so this run fails
    # inside train (when the trainer is built) although its config is valid.
    points = ml.sweep.grid(base, {"learning_rate": [0.1, 50.0]}) + ml.sweep.grid(
        dataclasses.replace(base, momentum=None), {"optimizer": ["groupadagrad"]}
    )
    path = tmp_path / "s.sqlite"
    summary = ml.sweep.run_sweep(points, TINY_DATA, path)
    assert (summary.n_done, summary.n_diverged, summary.n_failed) == (1, 1, 1)
    with ml.sweep.Store(path) as store:
        by = {(r.value("learning_rate"), r.value("optimizer")): r for r in store.rows()}
    assert by[(50.0, "sgd")].status == "diverged"
    assert not np.isfinite(by[(50.0, "sgd")].final_loss)
    assert by[(50.0, "sgd")].to_result().losses.size > 0
    assert by[(0.1, "sgd")].status == "done"
    err = by[(0.2, "groupadagrad")].error
    assert by[(0.2, "groupadagrad")].status == "failed"
    assert err is not None
    assert "groupadagrad" in err
    assert "2-D" in err
    # failed points run again on resume (and fail again), finished ones are skipped
    again = ml.sweep.run_sweep(points, TINY_DATA, path)
    assert (again.n_skipped, again.n_failed) == (2, 1)
    kept = ml.sweep.run_sweep(points, TINY_DATA, path, retry_failed=False)
    assert (kept.n_skipped, kept.n_failed) == (3, 0)


def test_a_hyperparameter_mxnet_cannot_parse_fails_before_anything_runs() -> None:
    with pytest.raises(TypeError, match=r"hyperparameters.clip_gradient='abc'.*must be a real number"):
        ml.sweep.grid(TINY, {"hyperparameters.clip_gradient": ["abc"]})


def test_nothing_runs_when_a_point_is_invalid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(_worker, "train", lambda *a, **k: calls.append(a))
    points = [ml.sweep.Point(TINY), ml.sweep.Point(dataclasses.replace(TINY, batch_size=500, period=500))]
    with pytest.raises(ValueError, match=r"points\[1\]: batch_size must be in \[1, 200\]"):
        ml.sweep.run_sweep(points, TINY_DATA, tmp_path / "s.sqlite")
    assert calls == []
    with pytest.raises(TypeError, match=r"points\[0\] must be a Point or RunConfig"):
        ml.sweep.run_sweep([object()], TINY_DATA, tmp_path / "s.sqlite")  # type: ignore[list-item]
    with pytest.raises(TypeError, match="points must be a sequence"):
        ml.sweep.run_sweep(TINY, TINY_DATA, tmp_path / "s.sqlite")  # type: ignore[arg-type]


def test_a_run_that_raises_python_error_is_failed_with_its_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ml.train

    def flaky(config: ml.RunConfig, data: ml.data.LinearData) -> ml.RunResult:
        if config.momentum == 0.5:
            raise RuntimeError("boom at momentum 0.5")
        return real(config, data)

    monkeypatch.setattr(_worker, "train", flaky)
    points = ml.sweep.grid(TINY, {"momentum": [0.0, 0.5, 0.9]})
    summary = ml.sweep.run_sweep(points, TINY_DATA, tmp_path / "s.sqlite", chunk_size=1)
    assert (summary.n_done, summary.n_failed) == (2, 1)
    with ml.sweep.Store(tmp_path / "s.sqlite") as store:
        (bad,) = store.rows(status="failed")
    assert bad.value("momentum") == 0.5
    assert bad.error is not None
    assert bad.error.startswith("RuntimeError: boom at momentum 0.5")


def test_duplicate_points_share_a_row(tmp_path: Path) -> None:
    points = [ml.sweep.Point(TINY), ml.sweep.Point(dataclasses.replace(TINY, learning_rate=0.2))]
    summary = ml.sweep.run_sweep(points, TINY_DATA, tmp_path / "s.sqlite")
    assert summary.n_points == 2
    assert summary.n_runs == 1
    assert summary.keys[0] == summary.keys[1]


def test_linear_data_and_arrays_spec_are_accepted(tmp_path: Path) -> None:
    data = TINY_DATA.build()
    X, y = data.numpy()
    s1 = ml.sweep.run_sweep([TINY], data, tmp_path / "a.sqlite", executor=ml.sweep.InProcessExecutor())
    s2 = ml.sweep.run_sweep([TINY], ml.sweep.ArraysSpec(X, y, name="mine"), tmp_path / "b.sqlite")
    assert s1.keys != s2.keys  # different descriptions
    with ml.sweep.Store(tmp_path / "a.sqlite") as a, ml.sweep.Store(tmp_path / "b.sqlite") as b:
        assert np.array_equal(a.rows()[0].to_result().losses, b.rows()[0].to_result().losses)
        assert b.rows()[0].data["name"] == "mine"


def test_argument_checks(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chunk_size must be an integer >= 1, got 0"):
        ml.sweep.run_sweep([TINY], TINY_DATA, tmp_path / "s.sqlite", chunk_size=0)
    with pytest.raises(TypeError, match="executor must be an Executor or None"):
        ml.sweep.run_sweep([TINY], TINY_DATA, tmp_path / "s.sqlite", executor="pool")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="data must be a LinearData, a Problem or a data spec"):
        ml.sweep.run_sweep([TINY], {"n": 3}, tmp_path / "s.sqlite")
    with pytest.raises(ValueError, match="workers must be an integer >= 1, got 0"):
        ml.sweep.PoolExecutor(0)


def test_chunks_use_the_vectorised_engine_and_match_point_by_point(tmp_path: Path) -> None:
    base = dataclasses.replace(TINY, batch_size=20, period=20, epochs=2)
    points = ml.sweep.grid(base, {"learning_rate": [0.05, 0.3, 500.0], "momentum": [0.0, 0.9]}, seeds=[0, 1])
    one = ml.sweep.run_sweep(points, TINY_DATA, tmp_path / "one.sqlite", chunk_size=1)
    many = ml.sweep.run_sweep(points, TINY_DATA, tmp_path / "many.sqlite")  # default: batches
    assert one.keys == many.keys
    assert (one.n_done, one.n_diverged) == (many.n_done, many.n_diverged)
    assert one.n_diverged > 0
    with ml.sweep.Store(tmp_path / "one.sqlite") as a, ml.sweep.Store(tmp_path / "many.sqlite") as b:
        ra, rb = {r.key: r.to_result() for r in a.rows()}, {r.key: r.to_result() for r in b.rows()}
    assert {r.engine for r in rb.values()} == {"numpy-batched"}
    assert "numpy-batched" not in {r.engine for r in ra.values()}
    for key, x in ra.items():
        y = rb[key]
        assert x.diverged == y.diverged
        np.testing.assert_array_equal(x.record_steps, y.record_steps)
        np.testing.assert_array_equal(x.learning_rates, y.learning_rates)
        if not x.diverged:
            np.testing.assert_allclose(x.losses, y.losses, rtol=1e-5, atol=1e-12)
            for p in x.params:
                np.testing.assert_allclose(x.params[p], y.params[p], rtol=1e-5, atol=1e-6)
