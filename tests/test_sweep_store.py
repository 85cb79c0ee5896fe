"""The SQLite store: rows round-trip exactly, writes are atomic, exports."""

from __future__ import annotations

import csv
import json
import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import momentumlab as ml
from momentumlab.sweep._worker import from_result
from tests.sweep_util import TINY, TINY_DATA


@pytest.fixture(scope="module")
def result() -> ml.RunResult:
    return ml.train(TINY, TINY_DATA.build())


def _put(store: ml.sweep.Store, outcome: ml.sweep.Outcome, cfg: ml.RunConfig = TINY) -> None:
    store.put(outcome, config=ml.sweep.canonical_config(cfg), data=TINY_DATA.build().description)


def test_row_roundtrip_is_exact(tmp_path: Path, result: ml.RunResult) -> None:
    key = ml.sweep.run_key(TINY, TINY_DATA.build().description)
    with ml.sweep.Store(tmp_path / "s.sqlite") as store:
        _put(store, from_result(key, result, 0.0))
        assert len(store) == 1
        assert key in store
        row = store.get(key[:8])
    assert row.config == TINY
    assert row.status == "done"
    assert row.error is None
    assert row.final_loss == result.final_loss
    for name in ("losses", "record_steps", "record_epochs", "learning_rates", "momenta"):
        assert np.array_equal(getattr(row, name), getattr(result, name))
    again = row.to_result()
    assert again.weight is not None
    assert result.weight is not None
    assert np.array_equal(again.weight, result.weight)
    assert ml.viz.plot_loss(again).get_xlabel() == "epoch"


def test_put_is_one_transaction(
    tmp_path: Path, result: ml.RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.sqlite"
    with ml.sweep.Store(path) as store:
        _put(store, from_result("a" * 64, result, 0.0))
        bad = from_result("b" * 64, result, 0.0)
        object.__setattr__(bad, "status", "weird")
        with pytest.raises(ValueError, match=r"outcome\.status must be one of"):
            _put(store, bad)
        # past the Python check, SQLite's CHECK fails inside the transaction: nothing is kept
        monkeypatch.setattr(ml.sweep._store, "check_choice", lambda *a: None)
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            _put(store, bad)
        assert store.statuses() == {"a" * 64: "done"}
        assert store.check() == ["ok"]
        _put(store, from_result("c" * 64, result, 0.0))  # the connection is still usable
        assert len(store) == 2
    # a second connection (another process) sees only complete rows
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM runs WHERE losses IS NULL").fetchone()[0] == 0
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_failed_row_and_replace(tmp_path: Path, result: ml.RunResult) -> None:
    key = "c" * 64
    with ml.sweep.Store(tmp_path / "s.sqlite") as store:
        _put(store, ml.sweep._worker.failed(key, "ValueError: boom"))
        row = store.get(key)
        assert row.status == "failed"
        assert row.error == "ValueError: boom"
        assert math.isnan(row.final_loss)
        assert key not in store.done_keys()
        with pytest.raises(ValueError, match="row status must be 'done' or 'diverged'"):
            row.to_result()
        _put(store, from_result(key, result, 0.0))
        assert len(store) == 1
        assert store.get(key).status == "done"


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


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(ValueError, match="store schema must be <= 1"):
        ml.sweep.Store(path)


def test_exports(tmp_path: Path) -> None:
    points = ml.sweep.grid(TINY, {"learning_rate": [0.1, 100.0]})
    path = tmp_path / "s.sqlite"
    ml.sweep.run_sweep(points, TINY_DATA, path)
    with ml.sweep.Store(path) as store:
        store.to_csv(tmp_path / "s.csv")
        store.to_json(tmp_path / "s.json")
        pytest.importorskip("pandas")
        df = store.to_dataframe()
        rows = store.rows()
    with open(tmp_path / "s.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert {r["learning_rate"] for r in table} == {"0.1", "100.0"}
    assert {r["status"] for r in table} == {r.status for r in rows}
    assert "momentum" in table[0]
    doc = json.loads((tmp_path / "s.json").read_text())  # strict JSON: no NaN tokens
    assert len(doc) == 2
    assert doc[0]["losses"] == rows[0].losses.tolist()
    assert sorted(df["key"]) == sorted(r.key for r in rows)
    assert list(df.columns[:3]) == ["key", "status", "final_loss"]
