"""The results store: one SQLite file, one row per run, each row written in one transaction.

The store is the only code that speaks SQL. It runs in WAL mode with ``synchronous=FULL``:
a commit is on disk (fsync of the WAL) before :meth:`Store.put` returns, so a driver killed
at any moment (SIGKILL, power loss) keeps every row it had committed and no partial row; the
fsync costs well under a millisecond of a run that takes tenths of a second.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from momentumlab._src.checks import check_choice, check_float, check_int, check_type
from momentumlab._src.types import Array
from momentumlab.runner import RunConfig, RunResult
from momentumlab.sweep._keys import canonical_json, config_from_canonical
from momentumlab.sweep._space import field_value
from momentumlab.sweep._worker import DIVERGED, DONE, FAILED, STATUSES, Outcome

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    data TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'diverged', 'failed')),
    error TEXT,
    final_loss REAL,
    n_steps INTEGER NOT NULL,
    steps_per_epoch INTEGER NOT NULL,
    epochs_completed INTEGER NOT NULL,
    losses BLOB NOT NULL,
    record_steps BLOB NOT NULL,
    record_epochs BLOB NOT NULL,
    learning_rates BLOB NOT NULL,
    momenta BLOB NOT NULL,
    params BLOB NOT NULL,
    message TEXT NOT NULL,
    path TEXT NOT NULL,
    wall_time REAL,
    started_at REAL,
    finished_at REAL,
    worker TEXT NOT NULL,
    attempts INTEGER NOT NULL
)
"""

#: Claims on runs, so that drivers sharing a store never start the same run twice. A claim
#: lives until ``expires_at`` (Unix time); its driver renews it while it runs. Created on
#: first use by the claim methods, so stores of any age gain it without a schema change.
_CLAIMS_SCHEMA = """
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
)
"""

_COLUMNS = (
    "key", "config", "data", "status", "error", "final_loss", "n_steps", "steps_per_epoch",
    "epochs_completed", "losses", "record_steps", "record_epochs", "learning_rates", "momenta",
    "params", "message", "path", "wall_time", "started_at", "finished_at", "worker", "attempts",
)  # fmt: skip

#: Columns of :meth:`Store.to_csv` and :meth:`Store.to_dataframe` before the config fields.
SCALAR_COLUMNS = ("key", "status", "final_loss", "n_steps", "wall_time", "worker", "error")


def _npy(a: Array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(a), allow_pickle=False)
    return buf.getvalue()


def _from_npy(blob: bytes) -> Array:
    a: Array = np.load(io.BytesIO(blob), allow_pickle=False)
    a.setflags(write=False)
    return a


def _npz(params: Mapping[str, Array]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in params.items()})
    return buf.getvalue()


def _from_npz(blob: bytes) -> dict[str, Array]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _real(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if k != "__type__":
                _flat(f"{prefix}.{k}" if prefix else k, v, out)
    elif isinstance(value, list):
        out[prefix] = canonical_json(value)
    else:
        out[prefix] = value


@dataclass(frozen=True, kw_only=True, eq=False)
class Row(Outcome):
    """One stored run. Arrays are read-only.

    Attributes:
        key: the run key (see :func:`run_key`).
        config: the run's :class:`~momentumlab.RunConfig`.
        config_json: its canonical form (as stored).
        data: the data's description.
        status: ``"done"``, ``"diverged"`` or ``"failed"``.
        error: the error text of a failed run, else ``None``.
        final_loss: loss of the final parameters (``nan`` for a failed run).
        losses, record_steps, record_epochs, learning_rates, momenta: the run's history, as in
            :class:`~momentumlab.RunResult` (empty for a failed run).
        params: final parameters by name.
        n_steps, steps_per_epoch, epochs_completed, message, path: as in ``RunResult``.
        wall_time: seconds of training (``nan`` for a failed run).
        started_at, finished_at: Unix times on the worker.
        worker: ``host:pid`` of the process that ran it.
        attempts: how many times the run was started (more than 1 after a lost worker).
    """

    config: RunConfig
    config_json: dict[str, Any]
    data: dict[str, Any]

    def value(self, name: str) -> Any:
        """A config field by path, e.g. ``row.value("schedule.factor")``."""
        return field_value(self.config, name)

    def fields(self) -> dict[str, Any]:
        """The config flattened to field paths (``schedule.factor`` ...), lists as JSON text."""
        out: dict[str, Any] = {}
        _flat("", self.config_json, out)
        return out

    def scalars(self) -> dict[str, Any]:
        """The scalar columns (:data:`SCALAR_COLUMNS`) then :meth:`fields`."""
        return {c: getattr(self, c) for c in SCALAR_COLUMNS} | self.fields()

    def to_result(self) -> RunResult:
        """The run as a :class:`~momentumlab.RunResult` (for ``ml.viz.plot_loss``).

        Raises:
            ValueError: for a failed run, which has no result.
        """
        if self.status not in (DONE, DIVERGED):
            raise ValueError(f"row status must be 'done' or 'diverged' to give a result, got {self.status!r}")
        dense_w = [v for k, v in self.params.items() if k.endswith("weight")]
        dense_b = [v for k, v in self.params.items() if k.endswith("bias")]
        return RunResult(
            config=self.config,
            losses=np.array(self.losses),
            record_steps=np.array(self.record_steps),
            learning_rates=np.array(self.learning_rates),
            momenta=np.array(self.momenta),
            params=dict(self.params),
            weight=dense_w[0] if len(dense_w) == 1 else None,
            bias=dense_b[0] if len(dense_b) == 1 else None,
            wall_time=self.wall_time,
            diverged=self.status == DIVERGED,
            n_steps=self.n_steps,
            steps_per_epoch=self.steps_per_epoch,
            epochs_completed=self.epochs_completed,
            message=self.message,
            path=self.path,
        )


def _row(r: sqlite3.Row) -> Row:
    cfg = json.loads(r["config"])
    fl = r["final_loss"]
    return Row(
        key=r["key"],
        config=config_from_canonical(cfg),
        config_json=cfg,
        data=json.loads(r["data"]),
        status=r["status"],
        error=r["error"],
        final_loss=math.nan if fl is None else float(fl),
        losses=_from_npy(r["losses"]),
        record_steps=_from_npy(r["record_steps"]),
        record_epochs=_from_npy(r["record_epochs"]),
        learning_rates=_from_npy(r["learning_rates"]),
        momenta=_from_npy(r["momenta"]),
        params=_from_npz(r["params"]),
        n_steps=r["n_steps"],
        steps_per_epoch=r["steps_per_epoch"],
        epochs_completed=r["epochs_completed"],
        message=r["message"],
        path=r["path"],
        wall_time=math.nan if r["wall_time"] is None else float(r["wall_time"]),
        started_at=math.nan if r["started_at"] is None else float(r["started_at"]),
        finished_at=math.nan if r["finished_at"] is None else float(r["finished_at"]),
        worker=r["worker"],
        attempts=r["attempts"],
    )


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


class Store:
    """A SQLite file of runs, keyed by run key.

    Args:
        path: the database file; created (with its directory's permission) unless
            ``create=False``.
        create: create the file and table when missing; ``False`` raises instead.

    Raises:
        FileNotFoundError: if ``create=False`` and the file does not exist.
        ValueError: if the file was written by a newer schema.

    Example:
        >>> import os, tempfile, momentumlab as ml
        >>> path = os.path.join(tempfile.mkdtemp(), "runs.sqlite")
        >>> with ml.sweep.Store(path) as store:
        ...     len(store), store.done_keys()
        (0, set())
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True) -> None:
        self.path = os.fspath(path)
        if not create and not os.path.exists(self.path):
            raise FileNotFoundError(f"store must be an existing file, got {self.path!r}")
        self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=60.0)
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise ValueError(
                    f"store schema must be <= {SCHEMA_VERSION} for this momentumlab, got {version} "
                    f"in {self.path!r}"
                )
            with self._transaction():
                self._conn.execute(_SCHEMA)
                self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            self._conn.close()
            raise

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)

    def close(self) -> None:
        """Close the connection (the file stays consistent whether or not this is called)."""
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def __contains__(self, key: object) -> bool:
        return self._conn.execute("SELECT 1 FROM runs WHERE key = ?", (key,)).fetchone() is not None

    def __repr__(self) -> str:
        return f"Store({self.path!r})"

    def put(self, outcome: Outcome, *, config: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        """Write (or replace) one run's row in one transaction.

        Args:
            outcome: what the worker returned.
            config: the run's canonical config (:func:`canonical_config`).
            data: the data's description.
        """
        check_type("outcome", outcome, Outcome, "an Outcome")
        check_choice("outcome.status", outcome.status, STATUSES)
        values = (
            outcome.key,
            canonical_json(dict(config)),
            canonical_json(dict(data)),
            outcome.status,
            outcome.error,
            _real(outcome.final_loss),
            int(outcome.n_steps),
            int(outcome.steps_per_epoch),
            int(outcome.epochs_completed),
            _npy(outcome.losses),
            _npy(outcome.record_steps),
            _npy(outcome.record_epochs),
            _npy(outcome.learning_rates),
            _npy(outcome.momenta),
            _npz(outcome.params),
            outcome.message,
            outcome.path,
            _real(outcome.wall_time),
            _real(outcome.started_at),
            _real(outcome.finished_at),
            outcome.worker,
            int(outcome.attempts),
        )
        sql = f"INSERT OR REPLACE INTO runs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
        with self._transaction():
            self._conn.execute(sql, values)

    def statuses(self) -> dict[str, str]:
        """``key -> status`` of every row."""
        return {k: s for k, s in self._conn.execute("SELECT key, status FROM runs")}

    def done_keys(self) -> set[str]:
        """Keys of finished runs (``done`` or ``diverged``): a rerun skips these."""
        rows = self._conn.execute("SELECT key FROM runs WHERE status IN (?, ?)", (DONE, DIVERGED))
        return {k for (k,) in rows}

    def get(self, key: str) -> Row:
        """The row of ``key``, which may be a unique prefix of at least 4 characters.

        Raises:
            KeyError: for no match or an ambiguous prefix.
        """
        check_type("key", key, str, "a str")
        if len(key) < 4:
            raise KeyError(f"key must have at least 4 characters, got {key!r}")
        if any(c not in "0123456789abcdef" for c in key):
            raise KeyError(f"key must be lowercase hex (a run key or its prefix), got {key!r}")
        found = self._conn.execute("SELECT * FROM runs WHERE key LIKE ? LIMIT 2", (key + "%",)).fetchall()
        if not found:
            raise KeyError(f"no run with key {key!r} in {self.path!r}")
        if len(found) > 1:
            raise KeyError(f"key prefix {key!r} is ambiguous in {self.path!r}; give more characters")
        return _row(found[0])

    def rows(self, *, status: str | Sequence[str] | None = None) -> list[Row]:
        """Every row (optionally only these statuses), by ascending final loss (NaN last), then key."""
        query = "SELECT * FROM runs"
        args: tuple[str, ...] = ()
        if status is not None:
            wanted = (status,) if isinstance(status, str) else tuple(status)
            for s in wanted:
                check_choice("status", s, STATUSES)
            query += f" WHERE status IN ({', '.join('?' * len(wanted))})"
            args = wanted
        query += " ORDER BY final_loss IS NULL, final_loss, key"
        return [_row(r) for r in self._conn.execute(query, args)]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows())

    def best(self, n: int = 10) -> list[Row]:
        """The ``n`` finished runs with the lowest final loss (diverged and failed ones left out).

        Example:
            >>> import os, tempfile, momentumlab as ml
            >>> with ml.sweep.Store(os.path.join(tempfile.mkdtemp(), "s.sqlite")) as store:
            ...     store.best(3)
            []
        """
        k = check_int("n", n, low=1)
        return self.rows(status=DONE)[:k]

    def check(self) -> list[str]:
        """SQLite's own integrity check (``["ok"]`` for a sound file)."""
        return [r[0] for r in self._conn.execute("PRAGMA integrity_check")]

    def table(self) -> list[dict[str, Any]]:
        """One dict per row: :data:`SCALAR_COLUMNS` then the flattened config fields."""
        return [row.scalars() for row in self.rows()]

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write the scalar columns and config fields (no histories) as CSV."""
        table = self.table()
        names: list[str] = list(SCALAR_COLUMNS)
        for rec in table:
            names.extend(k for k in rec if k not in names)
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=names)
            writer.writeheader()
            writer.writerows(table)

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Write every row with its full history as strict JSON (non-finite numbers as ``null``)."""
        out = []
        for row in self.rows():
            rec = row.scalars()
            rec["config"] = row.config_json
            rec["data"] = row.data
            for name in ("losses", "record_steps", "record_epochs", "learning_rates", "momenta"):
                rec[name] = getattr(row, name)
            rec["params"] = row.params
            out.append(_json_safe(rec))
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(out, fh, allow_nan=False, indent=1)

    def to_dataframe(self) -> Any:
        """A ``pandas.DataFrame``: the scalar and config columns, plus ``losses`` and
        ``record_epochs`` arrays per row.

        Raises:
            ImportError: if pandas is missing (``pip install 'momentumlab[pandas]'``).
        """
        try:
            import pandas as pd
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError("Store.to_dataframe needs pandas: pip install 'momentumlab[pandas]'") from err
        rows = self.rows()
        table = [row.scalars() | {"losses": row.losses, "record_epochs": row.record_epochs} for row in rows]
        return pd.DataFrame(table)

    def claim(self, keys: Sequence[str], owner: str, ttl: float, *, retry_failed: bool = False) -> list[str]:
        """Claim the runs of ``keys`` for ``owner`` for ``ttl`` seconds, atomically.

        A key is claimed when it has no stored row (or a ``failed`` one, with
        ``retry_failed``) and no live claim of another owner; ``owner``'s own claims are
        extended. Expired claims (of a driver that died) are dropped first. Drivers sharing a
        store claim a run before starting it, so no run is started twice.

        Args:
            keys: run keys.
            owner: who claims, unique per driver (e.g. ``host:pid:random``).
            ttl: seconds until the claims expire unless renewed, > 0.
            retry_failed: also claim keys whose stored row is ``failed``.

        Returns:
            The keys claimed, in the order given.

        Example:
            >>> import os, tempfile, momentumlab as ml
            >>> with ml.sweep.Store(os.path.join(tempfile.mkdtemp(), "s.sqlite")) as store:
            ...     store.claim(["a1", "b2"], "me", 60.0), store.claim(["a1", "c3"], "you", 60.0)
            (['a1', 'b2'], ['c3'])
        """
        check_type("owner", owner, str, "a str")
        seconds = check_float("ttl", ttl, low=0.0, low_open=True)
        now = time.time()
        got: list[str] = []
        with self._transaction():
            self._conn.execute(_CLAIMS_SCHEMA)
            self._conn.execute("DELETE FROM claims WHERE expires_at <= ?", (now,))
            for key in keys:
                check_type("keys[]", key, str, "a str")
                row = self._conn.execute("SELECT status FROM runs WHERE key = ?", (key,)).fetchone()
                if row is not None and not (retry_failed and row[0] == FAILED):
                    continue
                held = self._conn.execute("SELECT owner FROM claims WHERE key = ?", (key,)).fetchone()
                if held is not None and held[0] != owner:
                    continue
                self._conn.execute(
                    "INSERT OR REPLACE INTO claims VALUES (?, ?, ?)", (key, owner, now + seconds)
                )
                got.append(key)
        return got

    def renew(self, owner: str, ttl: float) -> None:
        """Extend every live claim of ``owner`` to ``ttl`` seconds from now (a heartbeat).

        Example:
            >>> import os, tempfile, momentumlab as ml
            >>> with ml.sweep.Store(os.path.join(tempfile.mkdtemp(), "s.sqlite")) as store:
            ...     store.renew("me", 60.0)
        """
        check_type("owner", owner, str, "a str")
        seconds = check_float("ttl", ttl, low=0.0, low_open=True)
        now = time.time()
        with self._transaction():
            self._conn.execute(_CLAIMS_SCHEMA)
            self._conn.execute(
                "UPDATE claims SET expires_at = ? WHERE owner = ? AND expires_at > ?",
                (now + seconds, owner, now),
            )

    def release(self, keys: Sequence[str], owner: str) -> None:
        """Drop ``owner``'s claims on ``keys`` (other owners' claims are left alone).

        Example:
            >>> import os, tempfile, momentumlab as ml
            >>> with ml.sweep.Store(os.path.join(tempfile.mkdtemp(), "s.sqlite")) as store:
            ...     _ = store.claim(["a1"], "me", 60.0)
            ...     store.release(["a1"], "me")
            ...     store.claim(["a1"], "you", 60.0)
            ['a1']
        """
        check_type("owner", owner, str, "a str")
        with self._transaction():
            self._conn.execute(_CLAIMS_SCHEMA)
            self._conn.executemany(
                "DELETE FROM claims WHERE key = ? AND owner = ?", [(k, owner) for k in keys]
            )


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self._conn.execute("COMMIT")
        else:
            self._conn.execute("ROLLBACK")
