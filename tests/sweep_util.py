"""Helpers shared by the sweep, fault and CLI tests (importable by spawned workers)."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import momentumlab as ml

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

#: Tiny runs (2 updates each): the driver spends its time writing, good for kill tests.
TINY = ml.RunConfig(epochs=1, batch_size=100, period=100, learning_rate=0.2, momentum=0.9, init_sigma=1.0)
TINY_DATA = ml.sweep.LinearRegressionSpec(n_samples=200, seed=0)


def env() -> dict[str, str]:
    """The environment of a child process: this checkout first on the path, headless."""
    out = dict(os.environ)
    out["PYTHONPATH"] = str(ROOT) + os.pathsep + out.get("PYTHONPATH", "")
    out["MPLBACKEND"] = "Agg"
    out["PYTHONWARNINGS"] = "ignore"
    return out


def row_count(path: Path) -> int:
    """Rows in a store being written by another process (0 while it does not exist yet)."""
    if not path.exists():
        return 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    except sqlite3.OperationalError:  # table not created yet
        return 0
    finally:
        conn.close()


def wait_for(pred: Any, timeout: float, what: str, proc: subprocess.Popen[Any] | None = None) -> None:
    """Poll ``pred()`` every 20 ms until true; fail after ``timeout`` s or if ``proc`` exits."""
    end = time.monotonic() + timeout
    while not pred():
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"process exited ({proc.returncode}) before {what}: {out}")
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def kill(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL ``proc`` (if still running) and reap it."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def same_rows(a: ml.sweep.Store, b: ml.sweep.Store) -> None:
    """Assert two stores hold the same keys with bit-identical histories and parameters."""
    ra = {r.key: r for r in a.rows()}
    rb = {r.key: r for r in b.rows()}
    assert set(ra) == set(rb)
    for key, x in ra.items():
        y = rb[key]
        assert x.status == y.status, key
        if x.result is None or y.result is None:
            assert x.result is y.result, key
            continue
        xr, yr = x.result, y.result
        for name in ("losses", "record_steps", "record_epochs", "learning_rates", "momenta"):
            assert np.array_equal(getattr(xr, name), getattr(yr, name), equal_nan=True), (key, name)
        assert xr.params.keys() == yr.params.keys()
        for p in xr.params:
            assert np.array_equal(xr.params[p], yr.params[p], equal_nan=True), (key, p)


class DieOnceSpec:
    """A data spec whose first ``build`` kills its own process (a lost worker), then works.

    The first build anywhere creates ``flag`` and SIGKILLs the building process; later
    builds see the flag and build the tiny data normally.
    """

    def __init__(self, flag: str) -> None:
        self.flag = flag

    def build(self) -> ml.data.LinearData:
        try:
            fd = os.open(self.flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return TINY_DATA.build()
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")  # pragma: no cover


class AlwaysDieSpec:
    """A data spec whose every ``build`` SIGKILLs the building process."""

    def build(self) -> ml.data.LinearData:
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")  # pragma: no cover


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m momentumlab.cli ARGS`` to the end."""
    return subprocess.run(
        [PY, "-m", "momentumlab.cli", *args],
        env=env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_cli(*args: str) -> subprocess.Popen[str]:
    """Start ``python -m momentumlab.cli ARGS`` in the background."""
    return subprocess.Popen(
        [PY, "-m", "momentumlab.cli", *args],
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def write_spec(path: Path, text: str) -> Path:
    """Write a TOML spec and return its path."""
    path.write_text(text, encoding="utf-8")
    return path


class deadline:  # noqa: N801 - used like a function in ``with``
    """Fail with ``TimeoutError`` if the block takes longer than ``seconds`` (main thread)."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds

    def _fire(self, *_: object) -> None:
        raise TimeoutError(f"test block took longer than {self.seconds} s")

    def __enter__(self) -> None:
        self._old = signal.signal(signal.SIGALRM, self._fire)
        signal.alarm(self.seconds)

    def __exit__(self, *exc: object) -> None:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self._old)


class PoisonRate:
    """A learning-rate schedule whose first call ends the calling process (``os._exit``).

    A run configured with it kills the worker that runs it, like a segfault inside a run;
    used to check that a lost worker is charged only to the run it was running.
    """

    def __call__(self, step: int) -> float:
        os._exit(17)
