"""The results store: one SQLite file, one row per run, each row written in one transaction.

The store is the only code that speaks SQL. What it keeps of a run is the run's
:class:`~momentumlab.RunResult` itself, written field by field over
``dataclasses.fields(RunResult)``: arrays as ``.npy`` blobs, dicts of arrays as ``.npz``
blobs (never pickled), the other fields as JSON, the config as its canonical form. Reading
a row gives back an equal ``RunResult``. A few scalar columns (status, final loss, last
held-out metric, steps, wall time, the data's description) answer summaries without
reading any history.

The file runs in WAL mode with ``synchronous=FULL``: a commit is on disk (fsync of the WAL)
before :meth:`Store.put` returns, so a driver killed at any moment (SIGKILL, power loss)
keeps every row it had committed and no partial row.

A store is recognised by ``PRAGMA application_id`` (:data:`APPLICATION_ID`) and its schema
by ``PRAGMA user_version`` (:data:`SCHEMA_VERSION`); both are checked before anything else,
so a file that is not a store is refused and left unchanged. ``Store(path, read_only=True)``
opens the file with SQLite's ``mode=ro``: it writes nothing.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import functools
import io
import json
import logging
import math
import os
import sqlite3
import time
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import numpy as np

from momentumlab._src.checks import check_bool, check_choice, check_float, check_int, check_type
from momentumlab._src.types import Array
from momentumlab.runner import RunConfig, RunResult
from momentumlab.sweep._keys import canonical_config, canonical_json
from momentumlab.sweep._space import field_value
from momentumlab.sweep._worker import DIVERGED, DONE, FAILED, STATUSES, Outcome

logger = logging.getLogger("momentumlab.sweep")

#: Version of the ``runs``/``arrays`` tables (``PRAGMA user_version``); 2 keeps the whole RunResult.
SCHEMA_VERSION = 2

#: ``PRAGMA application_id`` of every momentumlab store (``"MLab"`` in ASCII).
APPLICATION_ID = 0x4D4C6162

#: Seconds a writer keeps trying to open a store another process holds locked (SQLite's own busy
#: timeout covers the rest of its work).
OPEN_TIMEOUT = 60.0

_RUNS = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    data TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'diverged', 'failed')),
    error TEXT,
    final_loss REAL,
    metric REAL,
    metric_name TEXT,
    n_steps INTEGER,
    wall_time REAL,
    worker TEXT NOT NULL,
    started_at REAL,
    finished_at REAL,
    attempts INTEGER NOT NULL,
    result TEXT
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

# One blob per array field of a result: kept apart so that summaries never page through them.
_ARRAYS = """
CREATE TABLE IF NOT EXISTS arrays (
    key TEXT NOT NULL,
    field TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('npy', 'npz')),
    blob BLOB NOT NULL,
    PRIMARY KEY (key, field)
)
"""

_SCHEMA = (_RUNS, _ARRAYS)

_SUMMARY = (
    "key, config, data, status, error, final_loss, metric, metric_name, n_steps, wall_time, "
    "worker, started_at, finished_at, attempts"
)

#: Columns of :meth:`Store.to_csv` and :meth:`Store.to_dataframe` before the config fields.
SCALAR_COLUMNS = (
    "key", "status", "final_loss", "metric", "metric_name", "n_steps", "wall_time", "worker",
    "error", "data",
)  # fmt: skip

#: The field of :class:`~momentumlab.RunResult` stored as the config column.
_CONFIG_FIELD = "config"


class StoreError(OSError):
    """The store file cannot be opened, read or written (missing or read-only directory,
    full disk, damaged file). The message is one line that names the file."""


# ------------------------------------------------------------------------------- encodings


def _config_json(config: RunConfig) -> str:
    """The one place a config becomes stored text."""
    return canonical_json(canonical_config(config))


def _config_from(values: Mapping[str, Any]) -> RunConfig:
    """The one place stored config values become a config again."""
    return RunConfig.from_dict(values)


def _readonly(a: Array) -> Array:
    a.setflags(write=False)
    return a


def _npy(name: str, a: Array) -> bytes:
    if a.dtype.hasobject:
        raise TypeError(f"{name} must be a numeric array to be stored (no pickling), got dtype object")
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def _from_npy(blob: bytes) -> Array:
    """The array of an ``.npy`` blob, read in place (read-only, no copy, never unpickled).

    The header is read with ``ast.literal_eval``: NumPy's own reader tokenizes it, which
    costs more than the data for the arrays of a run.
    """
    if not isinstance(blob, bytes) or blob[:6] != b"\x93NUMPY" or len(blob) < 10:
        raise ValueError("blob must be an .npy file, got other bytes")
    size = 2 if blob[6] == 1 else 4
    start = 8 + size
    header = ast.literal_eval(blob[start : start + int.from_bytes(blob[8:start], "little")].decode("latin1"))
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise ValueError(f"blob must have an .npy header, got {header!r}")
    dtype = np.lib.format.descr_to_dtype(header["descr"])  # type: ignore[no-untyped-call]
    if dtype.hasobject:
        raise ValueError("blob must hold a numeric array, got dtype object")
    shape = tuple(int(n) for n in header["shape"])
    offset = start + int.from_bytes(blob[8:start], "little")
    a = np.frombuffer(blob, dtype=dtype, count=math.prod(shape), offset=offset)
    a = a.reshape(shape[::-1]).T if header["fortran_order"] else a.reshape(shape)
    if offset + a.nbytes != len(blob):
        raise ValueError(f"blob must hold {offset + a.nbytes} bytes for its header, got {len(blob)}")
    return _readonly(a)


def _npz(name: str, arrays: Mapping[str, Any]) -> bytes:
    """A ``.npz`` of ``arrays`` written member by member (so any key, ``"file"`` too, works)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for k, v in arrays.items():
            if not isinstance(k, str) or "\x00" in k:
                raise TypeError(f"{name} keys must be str without NUL to be stored, got {k!r}")
            with zf.open(k + ".npy", "w") as fh:
                fh.write(_npy(f"{name}[{k!r}]", np.asarray(v)))
    return buf.getvalue()


def _from_npz(blob: bytes) -> dict[str, Array]:
    out: dict[str, Array] = {}
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                raise ValueError(f"npz member must end with '.npy', got {info.filename!r}")
            out[info.filename[:-4]] = _from_npy(zf.read(info))
    return out


def _plain(name: str, value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(
        f"{name} must be an array, a dict of arrays, or a str/number/bool/None to be stored, "
        f"got {type(value).__name__}"
    )


def _encode(result: RunResult) -> tuple[str, list[tuple[str, str, bytes]]]:
    """``(JSON of the plain fields, [(field, kind, blob)] of the array fields)``."""
    plain: dict[str, Any] = {}
    blobs: list[tuple[str, str, bytes]] = []
    for f in dataclasses.fields(RunResult):
        if f.name == _CONFIG_FIELD:
            continue
        value = getattr(result, f.name)
        where = f"result.{f.name}"
        if isinstance(value, np.ndarray):
            blobs.append((f.name, "npy", _npy(where, value)))
        elif isinstance(value, Mapping):
            blobs.append((f.name, "npz", _npz(where, value)))
        else:
            plain[f.name] = _plain(where, value)
    return json.dumps(plain, sort_keys=True, allow_nan=True), blobs


def _decode(config: RunConfig, plain_json: str, blobs: Iterable[tuple[str, str, bytes]]) -> RunResult:
    plain = json.loads(plain_json)
    if not isinstance(plain, dict):
        raise ValueError(f"result must be a JSON object, got {type(plain).__name__}")
    arrays = {name: (_from_npy(blob) if kind == "npy" else _from_npz(blob)) for name, kind, blob in blobs}
    names = {f.name for f in dataclasses.fields(RunResult)}
    unknown = sorted((set(plain) | set(arrays)) - names)
    if unknown:  # a renamed or removed field: refuse rather than fill in its default
        raise ValueError(f"stored result has field(s) {unknown} that RunResult does not have")
    values: dict[str, Any] = {_CONFIG_FIELD: config}
    for f in dataclasses.fields(RunResult):
        if f.name == _CONFIG_FIELD:
            continue
        if f.name in arrays:
            values[f.name] = arrays[f.name]
        elif f.name in plain:
            values[f.name] = plain[f.name]
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ValueError(f"stored result has no field {f.name!r}")
    return RunResult(**values)


def _last(a: Array) -> float | None:
    if a.size == 0:
        return None
    v = float(np.asarray(a).reshape(-1)[-1])
    return v if math.isfinite(v) else None


def _real(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def _nan(x: Any) -> float:
    return math.nan if x is None else float(x)


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if k != "__type__":
                _flat(f"{prefix}.{k}" if prefix else k, v, out)
    elif isinstance(value, list):
        out[prefix] = canonical_json(value)
    else:
        out[prefix] = value


def _matches(description: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return all(k in description and description[k] == v for k, v in wanted.items())


# ------------------------------------------------------------------------------------ rows


@dataclass(frozen=True, kw_only=True, eq=False)
class Summary:
    """One stored run without its history: what tables, rankings and heatmaps need.

    Attributes:
        key: the run key (see :func:`run_key`).
        status: ``"done"``, ``"diverged"`` or ``"failed"``.
        error: the error text of a failed run, else ``None``.
        config_json: the run's config in its canonical form (as stored); :attr:`config`
            builds the :class:`~momentumlab.RunConfig` from it on first use.
        data: the description of the data or problem it ran on.
        final_loss: the result's final loss (``nan`` for a failed run).
        metric: the last held-out metric (``nan`` when the problem has none).
        metric_name: which metric, or ``None``.
        n_steps: updates done (0 for a failed run).
        wall_time: seconds of training (``nan`` for a failed run).
        worker: ``host:pid`` of the process that ran it.
        started_at, finished_at: Unix times on the worker.
        attempts: how many times the run was started.
    """

    key: str
    status: str
    error: str | None
    config_json: dict[str, Any]
    data: dict[str, Any]
    final_loss: float
    metric: float
    metric_name: str | None
    n_steps: int
    wall_time: float
    worker: str
    started_at: float
    finished_at: float
    attempts: int

    @functools.cached_property
    def config(self) -> RunConfig:
        """The run's :class:`~momentumlab.RunConfig` (built once, when first asked for)."""
        return _config_from(self.config_json)

    def value(self, name: str) -> Any:
        """A config field by path, e.g. ``row.value("learning_rate.decay_steps")``."""
        return field_value(self.config, name)

    def fields(self) -> dict[str, Any]:
        """The config flattened to field paths (``learning_rate.decay_steps`` ...), lists as JSON text."""
        out: dict[str, Any] = {}
        _flat("", self.config_json, out)
        return out

    def scalars(self) -> dict[str, Any]:
        """The scalar columns (:data:`SCALAR_COLUMNS`, ``data`` as JSON text) then :meth:`fields`."""
        out = {c: getattr(self, c) for c in SCALAR_COLUMNS}
        out["data"] = canonical_json(self.data)
        return out | self.fields()


@dataclass(frozen=True, kw_only=True, eq=False)
class Row(Summary):
    """One stored run: its :class:`Summary` columns and the whole :class:`~momentumlab.RunResult`.

    Attributes:
        result: the run's result, equal to the one stored (arrays read-only); ``None`` for a
            failed run.
    """

    result: RunResult | None

    def to_result(self) -> RunResult:
        """The run's :class:`~momentumlab.RunResult` (for ``ml.viz.plot_loss``).

        Raises:
            ValueError: for a failed run, which has no result.
        """
        if self.result is None:
            raise ValueError(f"row status must be 'done' or 'diverged' to give a result, got {self.status!r}")
        return self.result


def _summary(r: Sequence[Any]) -> Summary:
    """A :class:`Summary` from the :data:`_SUMMARY` columns."""
    cfg = json.loads(r[1])
    data = json.loads(r[2])
    if not isinstance(cfg, dict) or not isinstance(data, dict):
        raise ValueError("config and data must be JSON objects")
    check_choice("status", r[3], STATUSES)
    return Summary(
        key=r[0],
        config_json=cfg,
        data=data,
        status=r[3],
        error=r[4],
        final_loss=_nan(r[5]),
        metric=_nan(r[6]),
        metric_name=r[7],
        n_steps=int(r[8] or 0),
        wall_time=_nan(r[9]),
        worker=str(r[10]),
        started_at=_nan(r[11]),
        finished_at=_nan(r[12]),
        attempts=int(r[13]),
    )


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            cells = value.astype(object)
            cells[~np.isfinite(value)] = None
            return cells.tolist()
        return value.tolist()  # finite: Python numbers, written by json's C encoder
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _csv_cell(value: Any) -> Any:
    """Text that a spreadsheet would read as a formula gets a leading ``'``; numbers stay."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def _identify(conn: sqlite3.Connection, path: str) -> bool:
    """Check that ``conn`` is a store of this schema; ``False`` for an empty file (a new store).

    Raises:
        ValueError: for a file that is not a momentumlab store, or of another schema version.
    """
    try:
        # one statement, so one snapshot: read apart, another process's creation of the store
        # could commit between the reads (tables seen, application id not yet)
        row = conn.execute(
            "SELECT (SELECT application_id FROM pragma_application_id),"
            " (SELECT user_version FROM pragma_user_version),"
            " (SELECT json_group_array(name) FROM sqlite_master WHERE type = 'table')"
        ).fetchone()
        app, version, tables = int(row[0]), int(row[1]), set(json.loads(row[2]))
    except sqlite3.DatabaseError as err:
        if "not a database" in str(err) or "encrypted" in str(err):
            raise ValueError(f"store {path!r} is not a momentumlab store (not an SQLite database)") from err
        raise
    if app == APPLICATION_ID:
        if version != SCHEMA_VERSION:
            raise ValueError(
                f"store {path!r} has schema version {version}; this momentumlab reads version "
                f"{SCHEMA_VERSION} only (run the sweep again into a new file)"
            )
        return True
    if app == 0 and version == 1 and "runs" in tables:
        raise ValueError(
            f"store {path!r} has schema version 1 (an older momentumlab, which kept only part of "
            f"each result); this momentumlab reads version {SCHEMA_VERSION} only (run the sweep "
            "again into a new file)"
        )
    if app == 0 and version == 0 and not tables:
        return False
    raise ValueError(
        f"store {path!r} is not a momentumlab store (application_id {app:#x}, expected "
        f"{APPLICATION_ID:#x}); refusing to touch it"
    )


def _read_only_dir(directory: str) -> bool:
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY) or not os.access(directory, os.W_OK)
    except OSError:
        return False


# ----------------------------------------------------------------------------------- store


class Store:
    """A SQLite file of runs, keyed by run key.

    Args:
        path: the database file; created unless ``create=False`` or ``read_only=True``.
        create: create the file and tables when missing; ``False`` raises instead.
        read_only: open with SQLite's ``mode=ro`` and write nothing (not even the journal
            mode); for reports and exports.

    Raises:
        FileNotFoundError: if the file must exist and does not.
        StoreError: if the file or its directory cannot be opened or written.
        ValueError: if the file is not a momentumlab store (it is then left unchanged), or
            was written with another schema version.

    Example:
        >>> import os, tempfile, momentumlab as ml
        >>> path = os.path.join(tempfile.mkdtemp(), "runs.sqlite")
        >>> with ml.sweep.Store(path) as store:
        ...     len(store), store.done_keys()
        (0, set())
        >>> with ml.sweep.Store(path, read_only=True) as store:
        ...     store.summaries()
        []
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True, read_only: bool = False) -> None:
        check_type("path", path, (str, os.PathLike), "a file path (str or os.PathLike)")
        check_bool("create", create)
        self.path = os.fspath(path)
        self.read_only = check_bool("read_only", read_only)
        self._unreadable: dict[str, str] = {}
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.exists(self.path):
            if not create or read_only:
                raise FileNotFoundError(f"store must be an existing file, got {self.path!r}")
            if not os.path.isdir(directory):
                raise StoreError(f"cannot create store {self.path!r}: directory {directory!r} does not exist")
        try:
            self._peek()
            self._conn = self._connect()
        except sqlite3.Error as err:
            raise self._open_error(directory, err) from err
        try:
            self._open_retrying()
        except sqlite3.IntegrityError:
            self._conn.close()
            raise
        except sqlite3.Error as err:
            self._conn.close()
            raise self._open_error(directory, err) from err
        except BaseException:
            self._conn.close()
            raise

    def _open_retrying(self) -> None:
        """:meth:`_open`, tried again while another process holds a lock it cannot wait for.

        SQLite returns "database is locked" without calling the busy handler in some races
        of two processes opening one new file at once (one switching it to WAL while the other
        reads its header); every step of :meth:`_open` can be repeated, so it is, for up to
        :data:`OPEN_TIMEOUT` seconds.
        """
        deadline = time.monotonic() + OPEN_TIMEOUT
        pause = 0.01
        while True:
            try:
                self._open()
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise
                if time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(2 * pause, 0.5)

    def _open_error(self, directory: str, err: sqlite3.Error) -> StoreError:
        why = _one_line(err)
        if not self.read_only and _read_only_dir(directory):
            why += f" (directory {directory!r} is read-only)"
        return StoreError(f"cannot open store {self.path!r}{'' if self.read_only else ' for writing'}: {why}")

    def _uri(self) -> str:
        return "file:" + quote(os.path.abspath(self.path)) + "?mode=ro"

    def _peek(self) -> None:
        """Identify an existing file before SQLite may touch it (and its directory).

        With no ``-wal`` file beside it, no process has the file open in WAL mode, and an
        ``immutable`` read-only connection reads the header and tables without creating,
        locking or writing anything: a file that is not a store is refused unchanged.
        """
        if not os.path.exists(self.path) or os.path.getsize(self.path) == 0:
            return
        if os.path.exists(self.path + "-wal"):
            return  # in use: identified through the connection itself
        conn = sqlite3.connect(self._uri() + "&immutable=1", uri=True, isolation_level=None)
        try:
            _identify(conn, self.path)
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        if not self.read_only:
            return sqlite3.connect(self.path, isolation_level=None, timeout=60.0)
        uri = self._uri()
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=60.0)
        try:
            conn.execute("PRAGMA application_id").fetchone()
        except sqlite3.OperationalError:
            # a WAL file in a directory we cannot write (no -shm can be made): with no -wal
            # file nothing is being written, so the file may be read as immutable
            conn.close()
            if os.path.exists(self.path + "-wal"):
                raise
            conn = sqlite3.connect(uri + "&immutable=1", uri=True, isolation_level=None)
        return conn

    def _open(self) -> None:
        ours = _identify(self._conn, self.path)
        if self.read_only:
            if not ours:
                raise ValueError(f"store {self.path!r} is not a momentumlab store (an empty database)")
            return
        if not ours:
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        with self._transaction():
            # another process may have created it meanwhile; tables missing from an existing
            # store of this schema version are added (a no-op write when all are there)
            ours = _identify(self._conn, self.path)
            for statement in _SCHEMA:
                self._conn.execute(statement)
            if not ours:
                self._conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)

    def _fail(self, what: str, err: sqlite3.Error) -> StoreError:
        return StoreError(f"cannot {what} store {self.path!r}: {_one_line(err)}")

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
        return f"Store({self.path!r}{', read_only=True' if self.read_only else ''})"

    # ------------------------------------------------------------------------------ writing

    def put(self, outcome: Outcome, *, config: RunConfig, data: Mapping[str, Any]) -> None:
        """Write (or replace) one run's row in one transaction.

        Args:
            outcome: what the worker returned (its ``result``, when there is one, ran ``config``).
            config: the run's config (also the config of a failed run, which has no result).
            data: the description of the data or problem.

        Raises:
            StoreError: if the file cannot be written (read-only, full disk); the rows
                committed before are intact.
        """
        check_type("outcome", outcome, Outcome, "an Outcome")
        check_type("config", config, RunConfig, "a RunConfig")
        check_choice("outcome.status", outcome.status, STATUSES)
        result = outcome.result
        if result is not None:
            check_type("outcome.result", result, RunResult, "a RunResult or None")
            if result.config != config:
                raise ValueError(
                    f"outcome.result.config must be config, got {result.config!r} and {config!r}"
                )
        if (result is None) != (outcome.status == FAILED):
            raise ValueError(
                f"outcome.result must be None exactly when outcome.status is 'failed', got status "
                f"{outcome.status!r} with {'no ' if result is None else 'a '}result"
            )
        plain, blobs = _encode(result) if result is not None else (None, [])
        metrics = getattr(result, "metrics", None)
        values = (
            outcome.key,
            _config_json(config),
            canonical_json(dict(data)),
            outcome.status,
            outcome.error,
            _real(outcome.final_loss),
            _last(metrics) if isinstance(metrics, np.ndarray) else None,
            getattr(result, "metric_name", None),
            None if result is None else int(result.n_steps),
            None if result is None else _real(result.wall_time),
            outcome.worker,
            _real(outcome.started_at),
            _real(outcome.finished_at),
            int(outcome.attempts),
            plain,
        )
        columns = _SUMMARY + ", result"
        try:
            with self._transaction():
                self._conn.execute(
                    f"INSERT OR REPLACE INTO runs ({columns}) VALUES ({', '.join('?' * 15)})", values
                )
                self._conn.execute("DELETE FROM arrays WHERE key = ?", (outcome.key,))
                self._conn.executemany(
                    "INSERT INTO arrays (key, field, kind, blob) VALUES (?, ?, ?, ?)",
                    [(outcome.key, name, kind, blob) for name, kind, blob in blobs],
                )
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as err:
            raise self._fail("write to", err) from err

    # ------------------------------------------------------------------------------ reading

    def _skip(self, key: Any, err: BaseException) -> None:
        self._unreadable[str(key)] = f"{type(err).__name__}: {_one_line(err)}"

    @property
    def unreadable(self) -> dict[str, str]:
        """``key -> reason`` of every damaged row this object skipped so far (logged too)."""
        return dict(self._unreadable)

    def _report_skipped(self, keys: list[str]) -> None:
        if keys:
            shown = ", ".join(k[:12] for k in keys[:10]) + (", ..." if len(keys) > 10 else "")
            logger.warning("store %s: skipped %d unreadable row(s): %s", self.path, len(keys), shown)

    def _query(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, tuple(args))
        except sqlite3.Error as err:
            raise self._fail("read", err) from err

    def statuses(self) -> dict[str, str]:
        """``key -> status`` of every row."""
        return {k: s for k, s in self._query("SELECT key, status FROM runs")}

    def done_keys(self) -> set[str]:
        """Keys of finished runs (``done`` or ``diverged``): a rerun skips these."""
        rows = self._query("SELECT key FROM runs WHERE status IN (?, ?)", (DONE, DIVERGED))
        return {k for (k,) in rows}

    def descriptions(self, *, data: Mapping[str, Any] | None = None) -> list[tuple[dict[str, Any], int]]:
        """Every distinct data description with its number of rows (most rows first).

        Args:
            data: only descriptions that have these entries, e.g. ``{"problem": "logistic"}``.

        Example:
            >>> import os, tempfile, momentumlab as ml
            >>> path = os.path.join(tempfile.mkdtemp(), "s.sqlite")
            >>> spec = ml.sweep.LinearRegressionSpec(n_samples=100)
            >>> _ = ml.sweep.run_sweep([ml.RunConfig(epochs=1, batch_size=50, period=50)], spec, path)
            >>> with ml.sweep.Store(path) as store:
            ...     [(d["n_samples"], n) for d, n in store.descriptions()]
            [(100, 1)]
        """
        out = []
        for text, n in self._query(
            "SELECT data, COUNT(*) FROM runs GROUP BY data ORDER BY COUNT(*) DESC, data"
        ):
            try:
                description = json.loads(text)
                if not isinstance(description, dict):
                    raise ValueError(f"data must be a JSON object, got {type(description).__name__}")
            except (TypeError, ValueError) as err:
                for (key,) in self._query("SELECT key FROM runs WHERE data = ?", (text,)):
                    self._skip(key, err)
                continue
            if data is None or _matches(description, data):
                out.append((description, int(n)))
        return out

    def _where(
        self, status: str | Sequence[str] | None, data: Mapping[str, Any] | None
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if status is not None:
            wanted = (status,) if isinstance(status, str) else tuple(status)
            for s in wanted:
                check_choice("status", s, STATUSES)
            clauses.append(f"status IN ({', '.join('?' * len(wanted))})")
            args.extend(wanted)
        if data is not None:
            check_type("data", data, Mapping, "a mapping of description entries or None")
            texts = [canonical_json(d) for d, _ in self.descriptions(data=data)]
            clauses.append(f"data IN ({', '.join('?' * len(texts))})")
            args.extend(texts)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args

    def one_description(self, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The one data description of the rows that ``data`` selects (all rows when ``None``).

        Args:
            data: description entries the rows must have, e.g. ``{"problem": "logistic"}``.

        Raises:
            ValueError: when the selection holds rows of several descriptions (the message
                names them) or none.
        """
        found = self.descriptions(data=data)
        if len(found) == 1:
            return found[0][0]
        if not found:
            raise ValueError(
                f"data must select rows of {self.path!r}, got {dict(data or {})!r}, which matches none"
            )
        listed = "; ".join(f"{canonical_json(d)} ({n} runs)" for d, n in found)
        raise ValueError(
            f"data must select one data description, got {len(found)} in {self.path!r}: {listed}"
        )

    def count(
        self, *, status: str | Sequence[str] | None = None, data: Mapping[str, Any] | None = None
    ) -> int:
        """Number of rows with these statuses and description entries."""
        where, args = self._where(status, data)
        return int(self._query("SELECT COUNT(*) FROM runs" + where, args).fetchone()[0])

    def iter_summaries(
        self,
        *,
        status: str | Sequence[str] | None = None,
        data: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[Summary]:
        """Rows without their histories, by ascending final loss (NaN last), then key.

        Args:
            status: only these statuses.
            data: only rows whose data description has these entries.
            limit: at most this many (>= 1).

        Damaged rows are skipped, logged and listed in :attr:`unreadable`.
        """
        where, args = self._where(status, data)
        sql = f"SELECT {_SUMMARY} FROM runs{where} ORDER BY final_loss IS NULL, final_loss, key"
        if limit is not None:
            sql += f" LIMIT {check_int('limit', limit, low=1)}"
        skipped: list[str] = []
        for r in self._query(sql, args):
            try:
                s = _summary(r)
            except Exception as err:  # a damaged row: report it, read the others
                self._skip(r[0], err)
                skipped.append(str(r[0]))
                continue
            yield s
        self._report_skipped(skipped)

    def summaries(
        self,
        *,
        status: str | Sequence[str] | None = None,
        data: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> list[Summary]:
        """:meth:`iter_summaries` as a list."""
        return list(self.iter_summaries(status=status, data=data, limit=limit))

    def _row(self, s: Summary, plain: str | None) -> Row:
        result = None
        if plain is not None:
            blobs = self._query("SELECT field, kind, blob FROM arrays WHERE key = ?", (s.key,)).fetchall()
            result = _decode(s.config, plain, blobs)
        elif s.status != FAILED:
            raise ValueError(f"row of status {s.status!r} has no result")
        base = {f.name: getattr(s, f.name) for f in dataclasses.fields(Summary)}
        row = Row(**base, result=result)
        if result is not None:  # the config is built: keep it (the dataclass is frozen)
            object.__setattr__(row, "config", result.config)
        return row

    def iter_rows(
        self,
        *,
        status: str | Sequence[str] | None = None,
        data: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[Row]:
        """Whole rows, one at a time, in the order of :meth:`iter_summaries`.

        Damaged rows (unreadable blobs or text) are skipped, logged and listed in
        :attr:`unreadable`; the others are read.
        """
        where, args = self._where(status, data)
        sql = f"SELECT {_SUMMARY}, result FROM runs{where} ORDER BY final_loss IS NULL, final_loss, key"
        if limit is not None:
            sql += f" LIMIT {check_int('limit', limit, low=1)}"
        skipped: list[str] = []
        for r in self._query(sql, args):
            try:
                row = self._row(_summary(r), r[14])
            except StoreError:
                raise
            except Exception as err:  # a damaged row: report it, read the others
                self._skip(r[0], err)
                skipped.append(str(r[0]))
                continue
            yield row
        self._report_skipped(skipped)

    def rows(
        self, *, status: str | Sequence[str] | None = None, data: Mapping[str, Any] | None = None
    ) -> list[Row]:
        """Every row (optionally only these statuses and data), by ascending final loss (NaN
        last), then key. Damaged rows are skipped (see :attr:`unreadable`)."""
        return list(self.iter_rows(status=status, data=data))

    def __iter__(self) -> Iterator[Row]:
        return self.iter_rows()

    def get(self, key: str) -> Row:
        """The row of ``key``, which may be a unique prefix of at least 4 characters.

        Raises:
            KeyError: for no match or an ambiguous prefix.
            ValueError: for a damaged row.
        """
        check_type("key", key, str, "a str")
        if len(key) < 4:
            raise KeyError(f"key must have at least 4 characters, got {key!r}")
        if any(c not in "0123456789abcdef" for c in key):
            raise KeyError(f"key must be lowercase hex (a run key or its prefix), got {key!r}")
        found = self._query(
            f"SELECT {_SUMMARY}, result FROM runs WHERE key LIKE ? LIMIT 2", (key + "%",)
        ).fetchall()
        if not found:
            raise KeyError(f"no run with key {key!r} in {self.path!r}")
        if len(found) > 1:
            raise KeyError(f"key prefix {key!r} is ambiguous in {self.path!r}; give more characters")
        try:
            return self._row(_summary(found[0]), found[0][14])
        except StoreError:
            raise
        except Exception as err:
            self._skip(found[0][0], err)
            raise ValueError(f"row {found[0][0]!r} of {self.path!r} is unreadable: {_one_line(err)}") from err

    def best(self, n: int = 10, *, data: Mapping[str, Any] | None = None) -> list[Row]:
        """The ``n`` finished runs with the lowest final loss (diverged and failed ones left out).

        Args:
            n: how many, >= 1.
            data: description entries selecting one data description; needed when the
                store holds runs on several (losses on different data do not rank).

        Raises:
            ValueError: when the rows selected have more than one data description.

        Example:
            >>> import os, tempfile, momentumlab as ml
            >>> with ml.sweep.Store(os.path.join(tempfile.mkdtemp(), "s.sqlite")) as store:
            ...     store.best(3)
            []
        """
        k = check_int("n", n, low=1)
        if len(self) == 0:
            return []
        one = self.one_description(data)
        return list(self.iter_rows(status=DONE, data=one, limit=k))

    def varying(self, *, data: Mapping[str, Any] | None = None) -> list[str]:
        """Config fields (paths) whose value differs between the rows selected, in config order."""
        where, args = self._where(None, data)
        seen: dict[str, set[str]] = {}
        for (text,) in self._query(f"SELECT DISTINCT config FROM runs{where}", args):
            flat: dict[str, Any] = {}
            try:
                _flat("", json.loads(text), flat)
            except (TypeError, ValueError):
                continue  # a damaged row: the readers report it
            for name, value in flat.items():
                seen.setdefault(name, set()).add(repr(value))
        return [name for name, values in seen.items() if len(values) > 1]

    def check(self) -> list[str]:
        """SQLite's own integrity check (``["ok"]`` for a sound file)."""
        return [r[0] for r in self._query("PRAGMA integrity_check")]

    # ------------------------------------------------------------------------------ exports

    def table(self) -> list[dict[str, Any]]:
        """One dict per row: :data:`SCALAR_COLUMNS` then the flattened config fields."""
        return [s.scalars() for s in self.iter_summaries()]

    def to_csv(self, path: str | os.PathLike[str], *, data: Mapping[str, Any] | None = None) -> int:
        """Write the scalar columns and config fields (no histories) as CSV, row by row.

        Text cells that a spreadsheet would take for a formula (starting with ``= + - @``, a
        tab or a carriage return) get a leading ``'``; numbers are written as numbers.

        Returns:
            The number of rows written.
        """
        names: list[str] = list(SCALAR_COLUMNS)
        names.extend(f for f in self._field_names(data) if f not in names)
        n = 0
        with _Replacing(path, newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=names)
            writer.writeheader()
            for s in self.iter_summaries(data=data):
                writer.writerow({k: _csv_cell(v) for k, v in s.scalars().items()})
                n += 1
        return n

    def _field_names(self, data: Mapping[str, Any] | None) -> list[str]:
        where, args = self._where(None, data)
        names: dict[str, None] = {}
        for (text,) in self._query(f"SELECT DISTINCT config FROM runs{where}", args):
            flat: dict[str, Any] = {}
            try:
                _flat("", json.loads(text), flat)
            except (TypeError, ValueError):
                continue
            names.update(dict.fromkeys(flat))
        return list(names)

    def to_json(self, path: str | os.PathLike[str], *, data: Mapping[str, Any] | None = None) -> int:
        """Write every row with its whole result as strict JSON (non-finite numbers as
        ``null``), one row at a time: a list of ``{scalar columns..., "config", "data",
        "result"}`` objects, ``"result"`` holding every field of the RunResult (``null`` for
        a failed run).

        Returns:
            The number of rows written.
        """
        n = 0
        with _Replacing(path) as fh:
            fh.write("[")
            for row in self.iter_rows(data=data):
                rec = row.scalars()
                rec["config"] = row.config_json
                rec["data"] = row.data
                rec["result"] = None
                if row.result is not None:
                    rec["result"] = {
                        f.name: getattr(row.result, f.name)
                        for f in dataclasses.fields(RunResult)
                        if f.name != _CONFIG_FIELD
                    }
                fh.write(",\n" if n else "\n")
                fh.write(json.dumps(_json_safe(rec), allow_nan=False))
                n += 1
            fh.write("\n]\n")
        return n

    def to_dataframe(self) -> Any:
        """A ``pandas.DataFrame``: the scalar and config columns, plus ``losses`` and
        ``record_epochs`` arrays per row (empty for a failed run).

        Raises:
            ImportError: if pandas is missing (``pip install -e ".[pandas]"`` in the checkout).
        """
        try:
            import pandas as pd
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError(
                "Store.to_dataframe needs pandas: pip install -e '.[pandas]' in the momentumlab checkout"
            ) from err
        empty = np.zeros(0)
        table = [
            row.scalars()
            | {
                "losses": empty if row.result is None else row.result.losses,
                "record_epochs": empty if row.result is None else row.result.record_epochs,
            }
            for row in self.iter_rows()
        ]
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

    def to_parquet(self, path: str | os.PathLike[str], *, data: Mapping[str, Any] | None = None) -> int:
        """Write one Parquet row per record of every done or diverged run; return the row count.

        Each row holds the run's scalar and config columns (:meth:`Summary.scalars`) and its
        record: ``record`` (index), ``step``, ``epoch``, ``loss`` and ``metric`` (NaN when the
        problem has none). Failed runs have no record and no row. A column whose values mix
        types (a float learning rate here, a schedule there) holds them as JSON text. The file
        is written beside ``path`` and moved over it when complete.

        Raises:
            ImportError: if pyarrow is missing (``pip install -e '.[parquet]'`` in the checkout).

        Example:
            >>> import os, tempfile, momentumlab as ml
            >>> d = tempfile.mkdtemp()
            >>> base = ml.RunConfig(epochs=1, batch_size=50, period=50)
            >>> pts = ml.sweep.grid(base, {"momentum": [0.0, 0.9]})
            >>> spec = ml.sweep.LinearRegressionSpec(n_samples=100)
            >>> _ = ml.sweep.run_sweep(pts, spec, os.path.join(d, "s.sqlite"))
            >>> with ml.sweep.Store(os.path.join(d, "s.sqlite")) as store:
            ...     store.to_parquet(os.path.join(d, "runs.parquet"))
            6
        """
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError(
                "Store.to_parquet needs pyarrow: pip install -e '.[parquet]' in the momentumlab checkout"
            ) from err
        records: list[dict[str, Any]] = []
        for row in self.iter_rows(data=data):
            r = row.result
            if r is None:
                continue
            base = row.scalars()
            metrics = np.asarray(r.metrics, dtype=float)
            for i, (step, epoch, loss) in enumerate(
                zip(r.record_steps, r.record_epochs, r.losses, strict=False)
            ):
                metric = float(metrics[i]) if i < metrics.size else math.nan
                records.append(
                    base
                    | {
                        "record": i,
                        "step": int(step),
                        "epoch": float(epoch),
                        "loss": float(loss),
                        "metric": metric,
                    }
                )
        names = list(dict.fromkeys(k for rec in records for k in rec))
        columns: dict[str, list[Any]] = {}
        for name in names:
            values = [rec.get(name) for rec in records]
            kinds = {type(v) for v in values if v is not None}
            if len(kinds) > 1 and not kinds <= {int, float}:
                values = [None if v is None else json.dumps(v, default=str) for v in values]
            columns[name] = values
        tmp = f"{os.fspath(path)}.tmp"
        pq.write_table(pa.table(columns), tmp)
        os.replace(tmp, path)
        return len(records)

    def _repr_html_(self) -> str:
        """A notebook summary: the path and how many runs have each status."""
        from collections import Counter

        from momentumlab._src.html import table

        counts = Counter(self.statuses().values())
        rows: list[tuple[str, Any]] = [("path", self.path), ("runs", sum(counts.values()))]
        rows += [(status, n) for status, n in sorted(counts.items())]
        if self.read_only:
            rows.append(("read_only", True))
        return table("Store", rows)


class _Replacing:
    """A text file written beside ``path`` and moved over it only when complete."""

    def __init__(self, path: str | os.PathLike[str], newline: str | None = None) -> None:
        self._path = os.fspath(path)
        self._part = self._path + ".part"
        self._newline = newline

    def __enter__(self) -> io.TextIOWrapper:
        self._fh = open(self._part, "w", newline=self._newline, encoding="utf-8")
        return self._fh

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            self._fh.close()
        except OSError:
            if exc_type is None:
                os.unlink(self._part)
                raise
        if exc_type is None:
            os.replace(self._part, self._path)
        else:
            try:
                os.unlink(self._part)
            except OSError:
                pass


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            try:
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        else:
            self._rollback()

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:  # SQLite may have rolled back already (e.g. on a full disk)
                pass
