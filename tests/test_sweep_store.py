"""The SQLite store: the whole RunResult round-trips, writes are atomic, files that are not
stores are refused unchanged, damaged rows are skipped and named, exports stream."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import itertools
import json
import logging
import math
import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import momentumlab as ml
from momentumlab._src.types import Array
from momentumlab.sweep import _store
from momentumlab.sweep._worker import failed, from_result
from tests.sweep_util import TINY, TINY_DATA

DESCRIPTION = TINY_DATA.build().description


# ----------------------------------------------------------------------------- helpers


def _same_value(a: Any, b: Any, where: str) -> None:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray), where
        assert isinstance(b, np.ndarray), where
        assert a.dtype == b.dtype, (where, a.dtype, b.dtype)
        assert a.shape == b.shape, (where, a.shape, b.shape)
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), where
    elif isinstance(a, dict) or isinstance(b, dict):
        assert isinstance(a, dict), where
        assert isinstance(b, dict), where
        assert list(a) == list(b), where
        for k in a:
            _same_value(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert type(a) is type(b), (where, type(a), type(b))
        assert a == b, (where, a, b)


def assert_same_result(a: ml.RunResult, b: ml.RunResult, *, skip: tuple[str, ...] = ()) -> None:
    """Field by field over ``dataclasses.fields(RunResult)``: exact, NaN equal to NaN."""
    for f in dataclasses.fields(ml.RunResult):
        if f.name in skip:
            continue
        _same_value(getattr(a, f.name), getattr(b, f.name), f.name)


def synthetic(*, n: int = 50, seed: int = 0, final_loss: float = 0.5, **changes: Any) -> ml.RunResult:
    """A RunResult made without training (fast), with ``n`` records and updates."""
    rng = np.random.default_rng(seed)
    values: dict[str, Any] = dict(
        config=dataclasses.replace(TINY, seed=seed),
        losses=rng.random(n),
        record_steps=np.arange(n, dtype=np.int64),
        learning_rates=np.full(n, 0.1),
        momenta=np.full(n, 0.9),
        params={"dense0_weight": rng.random((1, 2)), "dense0_bias": rng.random(1)},
        weight=None,
        bias=None,
        wall_time=0.01,
        diverged=False,
        n_steps=n,
        steps_per_epoch=n,
        epochs_completed=1,
        final_loss=final_loss,
    )
    values.update(changes)
    return ml.RunResult(**values)


def _key(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def _put(store: ml.sweep.Store, outcome: ml.sweep.Outcome, data: dict[str, Any] | None = None) -> None:
    config = outcome.result.config if outcome.result is not None else TINY
    store.put(outcome, config=config, data=DESCRIPTION if data is None else data)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def result() -> ml.RunResult:
    return ml.train(TINY, TINY_DATA.build())


# --------------------------------------------------------------------- the result is the row

_floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
_dtypes = st.sampled_from([np.float64, np.float32, np.int64, np.int32, np.bool_])
_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)


def _arrays(dtype: Any = None) -> st.SearchStrategy[Array]:
    dt = _dtypes if dtype is None else st.just(dtype)
    return dt.flatmap(lambda d: hnp.arrays(d, _shapes))


_names = st.text(min_size=0, max_size=10).filter(lambda s: "\x00" not in s)
_array_dicts = st.dictionaries(_names, _arrays(), max_size=4)


def _vectors(n: int, dtype: Any) -> st.SearchStrategy[Array]:
    return hnp.arrays(dtype, (n,))


@st.composite
def run_results(draw: st.DrawFn) -> ml.RunResult:
    """Results of any shape and content that RunResult accepts (lengths agree as it checks)."""
    config = dataclasses.replace(
        TINY,
        learning_rate=draw(st.floats(1e-4, 10.0)),
        momentum=draw(st.none() | st.just(0.0) | st.floats(1e-6, 0.99)),
        seed=draw(st.integers(0, 2**31)),
    )
    n_records = draw(st.integers(0, 6))
    n_steps = draw(st.integers(0, 6))
    history = st.dictionaries(
        _names,
        _dtypes.flatmap(
            lambda d: hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3).flatmap(
                lambda shape: hnp.arrays(d, (n_records, *shape))
            )
        ),
        max_size=3,
    )
    return ml.RunResult(
        config=config,
        losses=draw(_vectors(n_records, np.float64) | _vectors(n_records, np.float32)),
        record_steps=draw(_vectors(n_records, np.int64)),
        learning_rates=draw(_vectors(n_steps, np.float64)),
        momenta=draw(_vectors(n_steps, np.float64)),
        params=draw(_array_dicts),
        weight=draw(st.none() | _arrays()),
        bias=draw(st.none() | _arrays()),
        wall_time=draw(_floats),
        diverged=draw(st.booleans()),
        n_steps=n_steps,
        steps_per_epoch=draw(st.integers(0, 10**6)),
        epochs_completed=draw(st.integers(0, 1000)),
        final_loss=draw(_floats),
        message=draw(st.text(max_size=30)),
        engine=draw(st.sampled_from(["gluon", "numpy", "numpy-batched", "imperative"])),
        param_history=draw(history),
        metrics=draw(st.just(np.zeros(0)) | _vectors(n_records, np.float64)),
        metric_name=draw(st.none() | _names),
        problem_name=draw(st.text(max_size=12)),
    )


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ml.sweep.Store]:
    with ml.sweep.Store(tmp_path_factory.mktemp("hyp") / "s.sqlite") as store:
        store._conn.execute("PRAGMA synchronous=OFF")  # speed only: no crash is simulated here
        yield store


_COUNTER = itertools.count(1000)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(results=st.lists(run_results(), min_size=1, max_size=3))
def test_any_run_result_round_trips_equal(shared_store: ml.sweep.Store, results: list[ml.RunResult]) -> None:
    store = shared_store
    keys = [_key(next(_COUNTER)) for _ in results]
    for k, r in zip(keys, results, strict=True):
        _put(store, from_result(k, r, 0.0))
    for k, r in zip(keys, results, strict=True):
        row = store.get(k)
        assert row.status == ("diverged" if r.diverged else "done")
        assert_same_result(row.to_result(), r)
        assert row.to_result() == r  # RunResult.__eq__ says the same
        _same_value(row.final_loss, float(r.final_loss), "final_loss column")
    assert all(k in store for k in keys)


def test_the_comparison_helper_can_fail(result: ml.RunResult) -> None:
    for change in (
        {"final_loss": result.final_loss + 1e-12},
        {"losses": np.asarray(result.losses, dtype=np.float32)},
        {"params": {**result.params, "extra": np.zeros(1)}},
        {"metric_name": "accuracy"},
        {"weight": None},
    ):
        other = dataclasses.replace(result, **change)
        with pytest.raises(AssertionError):
            assert_same_result(result, other)


def test_a_trained_run_round_trips_and_plots(tmp_path: Path, result: ml.RunResult) -> None:
    key = ml.sweep.run_key(TINY, DESCRIPTION)
    with ml.sweep.Store(tmp_path / "s.sqlite") as store:
        _put(store, from_result(key, result, 0.0))
        assert len(store) == 1
        assert key in store
        row = store.get(key[:8])
    assert row.config == TINY
    assert row.status == "done"
    assert row.error is None
    assert row.final_loss == result.final_loss
    assert row.n_steps == result.n_steps
    assert row.data == DESCRIPTION
    assert_same_result(row.to_result(), result)
    assert ml.viz.plot_loss(row.to_result()).get_xlabel() == "epoch"


def test_a_stored_logistic_sweep_keeps_its_held_out_accuracy(tmp_path: Path) -> None:
    spec = ml.sweep.ProblemSpec(name="logistic")
    problem = spec.build()
    base = ml.RunConfig(**{**problem.settings, "epochs": 1})
    points = ml.sweep.grid(base, {"momentum": [0.0, 0.9]})
    ml.sweep.run_sweep(points, spec, tmp_path / "s.sqlite", chunk_size=1)
    with ml.sweep.Store(tmp_path / "s.sqlite", read_only=True) as store:
        rows = {r.value("momentum"): r for r in store.rows()}
        summaries = store.summaries()
    assert set(rows) == {0.0, 0.9}
    for p in points:
        ref = ml.train(p.config, problem)
        row = rows[p.config.momentum]
        assert ref.metric_name == "binary_accuracy"
        assert ref.metrics.size > 0
        assert_same_result(row.to_result(), ref, skip=("wall_time",))  # trained twice
        assert row.metric == ref.metrics[-1]
        assert row.metric_name == "binary_accuracy"
        assert 0.5 < row.metric <= 1.0
    assert {s.metric for s in summaries} == {r.metric for r in rows.values()}


def _cells(ax: Any) -> tuple[Array, list[tuple[float, float]]]:
    from matplotlib.patches import Rectangle

    mesh = ax.collections[0].get_array()
    hatched = sorted(p.get_xy() for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch())
    return np.ma.filled(mesh.astype(np.float64), np.nan), hatched  # type: ignore[no-untyped-call]


def test_plot_sweep_of_a_stored_sweep_draws_the_same_cells(tmp_path: Path) -> None:
    base = dataclasses.replace(TINY, batch_size=20, period=20)
    points = ml.sweep.grid(base, {"learning_rate": [0.05, 0.3, 500.0], "momentum": [0.0, 0.9]})
    ml.sweep.run_sweep(points, TINY_DATA, tmp_path / "s.sqlite", chunk_size=1)
    memory = [ml.train(p.config, TINY_DATA.build()) for p in points]
    with ml.sweep.Store(tmp_path / "s.sqlite", read_only=True) as store:
        stored = [r.to_result() for r in store.rows()]
    z_mem, hatch_mem = _cells(ml.viz.plot_sweep(memory))
    z_st, hatch_st = _cells(ml.viz.plot_sweep(stored))
    np.testing.assert_array_equal(z_st, z_mem)
    assert hatch_st == hatch_mem
    n_div = sum(r.diverged for r in memory)
    assert 0 < n_div < len(memory)  # some cells hatched, not all
    assert len(hatch_st) == n_div
    assert np.isfinite(z_st).sum() == len(memory) - n_div


# ----------------------------------------------------------------------- failed rows, writes


def test_failed_row_keeps_error_attempts_and_worker(tmp_path: Path, result: ml.RunResult) -> None:
    key = "c" * 64
    with ml.sweep.Store(tmp_path / "s.sqlite") as store:
        _put(store, failed(key, "ValueError: boom\n\ntraceback", started_at=5.0, attempts=3))
        row = store.get(key)
        assert (row.status, row.error, row.attempts) == ("failed", "ValueError: boom\n\ntraceback", 3)
        assert row.result is None
        assert row.worker == ml.sweep._worker.worker_name()
        assert row.started_at == 5.0
        assert math.isnan(row.final_loss)
        assert key not in store.done_keys()
        with pytest.raises(ValueError, match="row status must be 'done' or 'diverged'"):
            row.to_result()
        _put(store, from_result(key, result, 0.0))  # a retry replaces the row
        assert len(store) == 1
        assert_same_result(store.get(key).to_result(), result)


def test_put_checks_and_is_one_transaction(
    tmp_path: Path, result: ml.RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.sqlite"
    with ml.sweep.Store(path) as store:
        _put(store, from_result("a" * 64, result, 0.0))
        bad = dataclasses.replace(from_result("b" * 64, result, 0.0), status="weird")
        with pytest.raises(ValueError, match=r"outcome\.status must be one of"):
            _put(store, bad)
        with pytest.raises(ValueError, match=r"outcome\.result must be None exactly when"):
            _put(store, dataclasses.replace(bad, status="failed"))
        with pytest.raises(ValueError, match=r"outcome\.result\.config must be config"):
            store.put(from_result("b" * 64, result, 0.0), config=dataclasses.replace(TINY, seed=9), data={})
        with pytest.raises(TypeError, match="config must be a RunConfig"):
            store.put(from_result("b" * 64, result, 0.0), config={"seed": 0}, data={})  # type: ignore[arg-type]
        # past the Python check, SQLite's CHECK fails inside the transaction: nothing is kept
        monkeypatch.setattr(_store, "check_choice", lambda *a: None)
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            _put(store, bad)
        assert store.statuses() == {"a" * 64: "done"}
        assert store.check() == ["ok"]
        _put(store, from_result("c" * 64, result, 0.0))  # the connection is still usable
        assert len(store) == 2
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM arrays WHERE key = ?", ("b" * 64,)).fetchone()[0] == 0
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == ml.sweep._store.APPLICATION_ID
    conn.close()


def test_no_pickle_and_unstorable_fields_are_refused(tmp_path: Path) -> None:
    with ml.sweep.Store(tmp_path / "s.sqlite") as store:
        obj = synthetic(params={"w": np.array([object()], dtype=object)})
        with pytest.raises(TypeError, match=r"result.params\['w'\] must be a numeric array"):
            _put(store, from_result(_key(1), obj, 0.0))
        with pytest.raises(TypeError, match=r"message must be a str, got \['not', 'text'\]"):
            synthetic(message=["not", "text"])  # refused by RunResult itself, before any store
        assert len(store) == 0


def test_get_errors(tmp_path: Path) -> None:
    with ml.sweep.Store(tmp_path / "s.sqlite") as store:
        with pytest.raises(KeyError, match="at least 4 characters"):
            store.get("ab")
        with pytest.raises(KeyError, match="lowercase hex"):
            store.get("zzzz%")
        with pytest.raises(KeyError, match="no run with key"):
            store.get("abcd")
    with pytest.raises(FileNotFoundError, match="store must be an existing file"):
        ml.sweep.Store(tmp_path / "missing.sqlite", create=False)
    with pytest.raises(FileNotFoundError, match="store must be an existing file"):
        ml.sweep.Store(tmp_path / "missing.sqlite", read_only=True)
    assert not (tmp_path / "missing.sqlite").exists()


# ------------------------------------------------------------------- refusing foreign files


def _foreign(path: Path, *, wal: bool = False, version: int = 0) -> str:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO accounts (name) VALUES ('ada'), ('bob')")
    if version:
        conn.execute(f"PRAGMA user_version={version}")
    conn.commit()
    conn.close()
    return _sha(path)


@pytest.mark.parametrize("wal", [False, True])
@pytest.mark.parametrize("read_only", [True, False])
def test_a_foreign_sqlite_file_is_refused_and_left_unchanged(
    tmp_path: Path, wal: bool, read_only: bool
) -> None:
    path = tmp_path / "theirs.db"
    before = _foreign(path, wal=wal)
    listing = sorted(os.listdir(tmp_path))
    with pytest.raises(ValueError, match=r"is not a momentumlab store \(application_id 0x0") as err:
        ml.sweep.Store(path, read_only=read_only)
    assert "\n" not in str(err.value)
    assert _sha(path) == before
    assert sorted(os.listdir(tmp_path)) == listing  # no journal, no -wal/-shm
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["accounts"]
    conn.close()


def test_report_on_a_foreign_file_is_one_line_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from momentumlab import cli

    path = tmp_path / "theirs.db"
    before = _foreign(path)
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all\n" * 20)
    for target, message in ((path, "is not a momentumlab store"), (text, "not an SQLite database")):
        status = cli.main(["report", "--store", str(target)], out=io.StringIO())
        err = capsys.readouterr().err
        assert status == 1
        assert err.count("\n") == 1
        assert message in err
        assert str(target) in err
    assert _sha(path) == before
    assert sorted(os.listdir(tmp_path)) == ["notes.txt", "theirs.db"]


def test_other_schema_versions_are_refused_in_one_line(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    conn = sqlite3.connect(old)
    conn.execute("CREATE TABLE runs (key TEXT PRIMARY KEY, losses BLOB)")
    conn.execute("PRAGMA user_version=1")
    conn.close()
    before = _sha(old)
    for ro in (True, False):
        with pytest.raises(ValueError, match=r"has schema version 1 \(an older momentumlab") as err:
            ml.sweep.Store(old, read_only=ro)
        assert "\n" not in str(err.value)
    assert _sha(old) == before
    newer = tmp_path / "newer.sqlite"
    ml.sweep.Store(newer).close()
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(ValueError, match=r"has schema version 99; this momentumlab reads version 2 only"):
        ml.sweep.Store(newer, read_only=True)


def test_read_only_opening_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with ml.sweep.Store(path) as store:
        for i in range(3):
            _put(store, from_result(_key(i), synthetic(seed=i), 0.0))
    before = _sha(path)
    with ml.sweep.Store(path, read_only=True) as store:
        assert len(store.rows()) == 3
        assert len(store.summaries()) == 3
        store.to_csv(tmp_path / "s.csv")
        with pytest.raises(ml.sweep.StoreError, match=r"cannot write to store .*s\.sqlite.*readonly"):
            _put(store, from_result(_key(9), synthetic(), 0.0))
    assert _sha(path) == before
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 3
    conn.close()


# ----------------------------------------------------------------- I/O failures, one line


def test_missing_directory_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "s.sqlite"
    with pytest.raises(ml.sweep.StoreError, match=r"directory .* does not exist") as err:
        ml.sweep.Store(path)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)
    assert isinstance(err.value, OSError)


def _fill(store: ml.sweep.Store, start: int) -> int:
    """Put rows until the store is full; return how many went in."""
    message = f"cannot write to store {store.path!r}: database or disk is full"
    with pytest.raises(ml.sweep.StoreError, match=re.escape(message)):  # noqa: PT012
        for i in itertools.count(start):
            _put(store, from_result(_key(i), synthetic(n=400, seed=i), 0.0))
    return len(store)


def test_a_full_disk_keeps_every_committed_row(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with ml.sweep.Store(path) as store:
        store._conn.execute("PRAGMA max_page_count=60")  # a disk of 60 pages
        n = _fill(store, 0)
        assert n > 3
        assert len(store) == n  # the connection is still usable after the failure
    with ml.sweep.Store(path, read_only=True) as store:
        assert store.check() == ["ok"]
        rows = store.rows()
        assert len(rows) == n
        assert store.unreadable == {}
        assert_same_result(store.get(_key(0)).to_result(), synthetic(n=400, seed=0))


# ------------------------------------------------------------------------- damaged rows


def test_damaged_rows_are_skipped_and_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "s.sqlite"
    keys = [_key(i) for i in range(30)]
    with ml.sweep.Store(path) as store:
        for i, k in enumerate(keys):
            _put(store, from_result(k, synthetic(seed=i), 0.0))
    rng = np.random.default_rng(0)
    bad_blob, bad_text = keys[:18], keys[18:20]
    conn = sqlite3.connect(path)
    for k in bad_blob:
        conn.execute("UPDATE arrays SET blob = ? WHERE key = ?", (rng.bytes(80), k))
    for k in bad_text:
        conn.execute(
            "UPDATE runs SET config = ?, result = ? WHERE key = ?", (rng.bytes(40), rng.bytes(40), k)
        )
    conn.commit()
    conn.close()
    renamed = keys[20]  # a field RunResult does not have (a rename): unreadable, not defaulted
    conn = sqlite3.connect(path)
    (plain,) = conn.execute("SELECT result FROM runs WHERE key = ?", (renamed,)).fetchone()
    doc = json.loads(plain)
    doc["path"] = doc.pop("engine")
    conn.execute("UPDATE runs SET result = ? WHERE key = ?", (json.dumps(doc), renamed))
    conn.commit()
    conn.close()
    bad_text = [*bad_text, renamed]
    with ml.sweep.Store(path, read_only=True) as store, caplog.at_level(logging.WARNING, "momentumlab"):
        rows = store.rows()
        assert sorted(r.key for r in rows) == sorted(keys[21:])
        for r in rows:
            assert_same_result(r.to_result(), synthetic(seed=keys.index(r.key)))
        assert sorted(store.unreadable) == sorted(bad_blob + bad_text)
        assert "skipped 21 unreadable row(s)" in caplog.text
        assert "['path'] that RunResult does not have" in store.unreadable[renamed]
        # summaries read no blob: only the rows with damaged text are left out
        assert len(store.summaries()) == 28  # the renamed field's row has sound columns
        with pytest.raises(ValueError, match=f"row '{bad_blob[0]}' of .* is unreadable"):
            store.get(bad_blob[0])
        assert store.to_json(tmp_path / "s.json") == 9
    assert len(json.loads((tmp_path / "s.json").read_text())) == 9


# ------------------------------------------------------------------- data descriptions


def test_rows_of_different_data_are_never_ranked_together(tmp_path: Path) -> None:
    other = dict(DESCRIPTION, seed=7)
    with ml.sweep.Store(tmp_path / "s.sqlite") as store:
        for i in range(4):
            _put(store, from_result(_key(i), synthetic(seed=i, final_loss=float(i)), 0.0))
            _put(store, from_result(_key(10 + i), synthetic(seed=i, final_loss=i - 10.0), 0.0), data=other)
        assert [n for _, n in store.descriptions()] == [4, 4]
        assert store.descriptions(data={"seed": 7}) == [(other, 4)]
        with pytest.raises(ValueError, match=r"data must select one data description, got 2 .*\(4 runs\)"):
            store.best(2)
        best = store.best(2, data={"seed": 7})
        assert [r.final_loss for r in best] == [-10.0, -9.0]
        assert all(r.data == other for r in best)
        assert store.count(data={"seed": 0}) == 4
        assert {s.data["seed"] for s in store.summaries(data={"seed": 0})} == {0}
        with pytest.raises(ValueError, match="which matches none"):
            store.one_description({"seed": 3})


def test_plot_sweep_refuses_runs_of_other_problems_or_settings(result: ml.RunResult) -> None:
    a = dataclasses.replace(result, problem_name="bowl")
    b = dataclasses.replace(
        result, config=dataclasses.replace(result.config, learning_rate=0.5), problem_name="saddle"
    )
    with pytest.raises(ValueError, match=r"results must come from one problem .* \['bowl', 'saddle'\]"):
        ml.viz.plot_sweep([a, b])
    c = dataclasses.replace(
        result, config=dataclasses.replace(result.config, learning_rate=0.5, batch_size=5)
    )
    with pytest.raises(ValueError, match="also differ in 'batch_size'"):
        ml.viz.plot_sweep([result, c])


# ------------------------------------------------------------------------------ exports


def test_exports_stream_and_escape_formulas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.sqlite"
    with ml.sweep.Store(path) as store:
        _put(store, from_result(_key(0), synthetic(final_loss=-1.5), 0.0))
        _put(store, failed(_key(1), '=HYPERLINK("http://x")\x1b[31m'))
        _put(store, from_result(_key(2), synthetic(seed=2, final_loss=float("nan"), diverged=True), 0.0))

    def no_lists(*a: Any, **k: Any) -> Any:
        raise AssertionError("exports must stream, not build lists of rows")

    monkeypatch.setattr(ml.sweep.Store, "rows", no_lists)
    monkeypatch.setattr(ml.sweep.Store, "summaries", no_lists)
    monkeypatch.setattr(ml.sweep.Store, "table", no_lists)
    with ml.sweep.Store(path, read_only=True) as store:
        assert store.to_csv(tmp_path / "s.csv") == 3
        assert store.to_json(tmp_path / "s.json") == 3
        pytest.importorskip("pandas")
        df = store.to_dataframe()
    with open(tmp_path / "s.csv", newline="") as fh:
        table = {r["key"]: r for r in csv.DictReader(fh)}
    assert table[_key(1)]["error"] == '\'=HYPERLINK("http://x")\x1b[31m'
    assert table[_key(0)]["final_loss"] == "-1.5"  # a number: no quote
    assert table[_key(0)]["learning_rate"] == str(TINY.learning_rate)
    assert json.loads(table[_key(0)]["data"]) == DESCRIPTION
    assert "momentum" in table[_key(0)]
    doc = json.loads((tmp_path / "s.json").read_text())  # strict JSON: no NaN tokens
    by = {r["key"]: r for r in doc}
    assert by[_key(1)]["result"] is None
    assert by[_key(0)]["result"]["losses"] == synthetic(final_loss=-1.5).losses.tolist()
    assert by[_key(0)]["result"]["params"]["dense0_bias"] == synthetic().params["dense0_bias"].tolist()
    assert by[_key(2)]["final_loss"] is None
    assert set(by[_key(0)]["result"]) == {f.name for f in dataclasses.fields(ml.RunResult)} - {"config"}
    assert list(df.columns[:3]) == ["key", "status", "final_loss"]
    assert sorted(df["key"]) == sorted(table)


def test_a_failed_export_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.sqlite"
    with ml.sweep.Store(path) as store:
        _put(store, from_result(_key(0), synthetic(), 0.0))

    def broken(self: ml.sweep.Store, **k: Any) -> Iterator[Any]:
        yield from ()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ml.sweep.Store, "iter_rows", broken)
    with ml.sweep.Store(path, read_only=True) as store, pytest.raises(OSError, match="No space left"):
        store.to_json(tmp_path / "out.json")
    assert not [f for f in os.listdir(tmp_path) if f.startswith("out")]


def test_run_result_equality_sees_every_field_and_validates_lengths() -> None:
    a = synthetic(seed=1)
    assert a == synthetic(seed=1)
    assert a != dataclasses.replace(a, wall_time=a.wall_time + 1.0)
    assert a != dataclasses.replace(a, losses=a.losses.astype(np.float32))  # dtype counts
    nan = dataclasses.replace(a, final_loss=float("nan"))
    assert nan == dataclasses.replace(a, final_loss=float("nan"))  # NaN equals NaN
    with pytest.raises(ValueError, match=r"record_steps must have len\(losses\) = 50 entries, got 3"):
        dataclasses.replace(a, record_steps=np.arange(3))
    with pytest.raises(ValueError, match=r"learning_rates must have n_steps = 50 entries, got 2"):
        dataclasses.replace(a, learning_rates=np.ones(2))
