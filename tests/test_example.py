"""The chapter example end to end, as a user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "momentum_gluon.py"
LINE = re.compile(r"^Batch size 10, Learning rate (\d+\.\d{6}), Epoch (\d+), loss (\d\.\d{4}e[+-]\d\d)$")
WB = re.compile(r"^w: \[\[ ?(-?\d+\.\d{4}) +(-?\d+\.\d{4})\]\] b: (-?\d+\.\d{4}) ?$")


def _run(tmp_path: Path, *args: str) -> tuple[list[str], Path]:
    out = tmp_path / "fig.png"
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines(), out


def test_example_reproduces_the_chapter(tmp_path: Path) -> None:
    lines, png = _run(tmp_path)
    epochs = [LINE.match(x) for x in lines[:3]]
    assert all(epochs), lines
    assert [m.group(1) for m in epochs if m] == ["0.200000", "0.200000", "0.020000"]
    assert float(epochs[-1].group(3)) < 1e-4  # type: ignore[union-attr]
    wb = WB.match(lines[3])
    assert wb, lines[3]
    w1, w2, b = (float(g) for g in wb.groups())
    assert abs(w1 - 2.0) < 0.01
    assert abs(w2 + 3.4) < 0.01
    assert abs(b - 4.2) < 0.01
    image = mpimg.imread(png)
    assert image.ndim == 3
    assert image.shape[0] > 100
    assert float(np.std(image)) > 0.01


def test_momentum_zero_answers_the_exercise(tmp_path: Path) -> None:
    lines, _ = _run(tmp_path, "--momentum", "0", "--epochs", "2")
    assert len([x for x in lines if LINE.match(x)]) == 2


def test_bad_flag_value_is_reported(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE), "--momentum", "1.5", "--out", str(tmp_path / "x.png")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "momentum must be in [0.0, 1.0), got 1.5" in proc.stderr
