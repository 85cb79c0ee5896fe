"""Claims: drivers sharing a store never start the same run twice, and a dead driver's claims expire."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

import momentumlab as ml
from momentumlab.sweep._worker import failed
from tests.sweep_util import PY, TINY, TINY_DATA, env, kill, row_count, wait_for


def test_claim_takes_only_free_unstored_keys_and_release_frees_them(tmp_path: Path) -> None:
    with ml.sweep.Store(tmp_path / "s.sqlite") as store:
        store.put(failed("cc", "boom"), config=TINY, data={})
        assert store.claim(["aa", "bb", "cc"], "A", 60.0) == ["aa", "bb"]  # cc has a row
        assert store.claim(["aa", "cc"], "B", 60.0, retry_failed=True) == ["cc"]  # aa is A's
        assert store.claim(["bb", "aa"], "A", 60.0) == ["bb", "aa"]  # A extends its own
        store.release(["aa"], "B")  # not B's: nothing happens
        assert store.claim(["aa"], "B", 60.0) == []
        store.release(["aa"], "A")
        assert store.claim(["aa", "bb"], "B", 60.0) == ["aa"]


def test_claims_expire_unless_renewed(tmp_path: Path) -> None:
    with ml.sweep.Store(tmp_path / "s.sqlite") as store:
        assert store.claim(["aa"], "A", 0.4) == ["aa"]
        assert store.claim(["bb"], "B", 0.4) == ["bb"]
        for _ in range(4):
            time.sleep(0.2)
            store.renew("A", 0.4)  # A is alive, B is not
        assert store.claim(["aa", "bb"], "C", 60.0) == ["bb"]


def test_claim_argument_checks(tmp_path: Path) -> None:
    with ml.sweep.Store(tmp_path / "s.sqlite") as store:
        with pytest.raises(ValueError, match=r"ttl must be > 0.0, got 0.0"):
            store.claim(["aa"], "A", 0.0)
        with pytest.raises(TypeError, match=r"owner must be a str, got 3"):
            store.renew(3, 1.0)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"keys\[\] must be a str"):
            store.claim([1], "A", 1.0)  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"claim_ttl must be in \(0.0, 1000000.0\], got -1.0"):
        ml.sweep.run_sweep([TINY], TINY_DATA, tmp_path / "t.sqlite", claim_ttl=-1.0)
    with pytest.raises(ValueError, match=r"claim_ttl must be in \(0.0, 1000000.0\], got 1e\+300"):
        ml.sweep.run_sweep([TINY], TINY_DATA, tmp_path / "t.sqlite", claim_ttl=1e300)  # overflowed the timer


#: A driver process: waits for the go file, then runs the sweep and logs every key it stores.
DRIVER = """
import sys, time, os
import momentumlab as ml
from tests.sweep_util import TINY, TINY_DATA
store, log, go, ttl = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
rates = [0.01 * (i + 1) for i in range({n_lr})]
points = ml.sweep.grid(TINY, {{"learning_rate": rates}}, seeds=range({n_seeds}))
while not os.path.exists(go):
    time.sleep(0.01)
with open(log, "w") as fh:
    def note(p):
        if p.key:
            fh.write(p.key + "\\n")
            fh.flush()
    s = ml.sweep.run_sweep(points, TINY_DATA, store, chunk_size=1, progress=note, claim_ttl=ttl)
print(s.n_done + s.n_diverged + s.n_failed, s.n_elsewhere, s.n_skipped)
"""


def _driver(tmp_path: Path, name: str, n_lr: int, n_seeds: int, ttl: float = 60.0) -> subprocess.Popen[str]:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(n_lr=n_lr, n_seeds=n_seeds))
    args = [
        PY,
        str(script),
        str(tmp_path / "runs.sqlite"),
        str(tmp_path / f"{name}.log"),
        str(tmp_path / "go"),
    ]
    return subprocess.Popen(
        [*args, str(ttl)], env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _logged(tmp_path: Path, name: str) -> list[str]:
    path = tmp_path / f"{name}.log"
    return path.read_text().split() if path.exists() else []


def test_two_drivers_on_one_store_run_every_key_exactly_once(tmp_path: Path) -> None:
    procs = [_driver(tmp_path, name, n_lr=40, n_seeds=6) for name in ("a", "b")]  # 240 runs
    try:
        time.sleep(0.5)
        (tmp_path / "go").touch()
        start = time.monotonic()
        outs = [p.communicate(timeout=600)[0] for p in procs]
        took = time.monotonic() - start
    finally:
        for p in procs:
            kill(p)
    assert [p.returncode for p in procs] == [0, 0], outs
    a, b = _logged(tmp_path, "a"), _logged(tmp_path, "b")
    assert len(a) > 0, (len(a), len(b), took)  # both drivers worked
    assert len(b) > 0, (len(a), len(b), took)
    assert set(a).isdisjoint(b)  # no run was done twice
    assert len(a) + len(b) == len(set(a) | set(b)) == 240
    done = [tuple(int(x) for x in out.split()[-3:]) for out in outs]
    assert sorted(d[0] for d in done) == sorted([len(a), len(b)])
    with ml.sweep.Store(tmp_path / "runs.sqlite") as store:
        assert set(store.statuses()) == set(a) | set(b)
        assert all(r.attempts == 1 for r in store.rows())
        assert store.claim(sorted(set(a)), "anyone", 1.0) == []  # all stored


def test_claims_of_a_sigkilled_driver_expire_and_a_new_driver_finishes(tmp_path: Path) -> None:
    proc = _driver(tmp_path, "dead", n_lr=10, n_seeds=4, ttl=2.0)  # 40 runs
    store = tmp_path / "runs.sqlite"
    try:
        (tmp_path / "go").touch()
        wait_for(lambda: row_count(store) >= 5, 120, "5 rows", proc)
    finally:
        kill(proc)
    assert proc.returncode == -9
    kept = row_count(store)
    conn = sqlite3.connect(store)
    try:
        left = conn.execute("SELECT key, expires_at FROM claims").fetchall()
    finally:
        conn.close()
    assert len(left) >= 1  # the run it had claimed when it died
    points = ml.sweep.grid(TINY, {"learning_rate": [0.01 * (i + 1) for i in range(10)]}, seeds=range(4))
    start = time.monotonic()
    summary = ml.sweep.run_sweep(points, TINY_DATA, store, chunk_size=1, claim_ttl=2.0)
    took = time.monotonic() - start
    assert summary.n_skipped == kept
    assert summary.n_done + summary.n_diverged == 40 - kept
    assert summary.n_elsewhere == 0
    assert took < 60
    assert row_count(store) == 40
    with ml.sweep.Store(store) as s:
        assert {k for k, _ in left} <= set(s.statuses())


OPENER = """
import os, sys, time
import momentumlab.sweep as sw
path, ready, go = sys.argv[1:4]
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.0005)
with sw.Store(path) as s:
    print(len(s))
"""


def test_processes_opening_one_new_store_at_once_all_get_it(tmp_path: Path) -> None:
    """Drivers started together race to create the file: one creates it, the others wait for
    it and open it (a reader once saw the tables before the application id and refused the
    store; SQLite once answered "database is locked" without waiting)."""
    script = tmp_path / "opener.py"
    script.write_text(OPENER)
    for round_ in range(2):
        folder = tmp_path / f"round{round_}"
        folder.mkdir()
        args = [[PY, str(script), str(folder / "s.sqlite"), str(folder / f"ready{i}"), str(folder / "go")]
                for i in range(6)]  # fmt: skip
        procs = [
            subprocess.Popen(a, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for a in args
        ]
        try:
            wait_for(lambda f=folder: len(list(f.glob("ready*"))) == 6, 120, "six openers ready")
            (folder / "go").touch()
            outs = [p.communicate(timeout=120)[0] for p in procs]
        finally:
            for p in procs:
                kill(p)
        assert [p.returncode for p in procs] == [0] * 6, outs
        assert [o.split()[-1] for o in outs] == ["0"] * 6
        with ml.sweep.Store(folder / "s.sqlite", read_only=True) as store:
            assert len(store) == 0
