"""The problem-suite examples run top to bottom and write their PNGs."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("sklearn")


def _run(
    tmp_path: Path,
    script: str,
    *args: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> str:
    """Run the script in this process, as sphinx-gallery does (saves importing MXNet again)."""
    out = tmp_path / "fig.png"
    monkeypatch.setattr(sys, "argv", [script, "--out", str(out), *args])
    try:
        runpy.run_path(str(ROOT / "examples" / script), run_name="__main__")
    finally:
        plt.close("all")
    stdout = capsys.readouterr().out
    image = mpimg.imread(out)
    assert image.shape[0] > 400
    assert image.shape[1] > 800
    assert image[..., :3].std() > 0.05  # something was drawn
    return stdout


def test_plot_trajectories_quick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run(tmp_path, "plot_trajectories.py", "--quick", monkeypatch=monkeypatch, capsys=capsys)
    assert out.count("steps, final loss") == 12


@pytest.mark.slow
def test_plot_trajectories_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run(tmp_path, "plot_trajectories.py", monkeypatch=monkeypatch, capsys=capsys)
    assert "diverged" not in out


@pytest.mark.slow
def test_plot_problems_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run(tmp_path, "plot_problems.py", monkeypatch=monkeypatch, capsys=capsys)
    assert out.count("final loss") == 20


def test_plot_problems_quick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run(tmp_path, "plot_problems.py", "--quick", monkeypatch=monkeypatch, capsys=capsys)
    assert out.count("final loss") >= 20
