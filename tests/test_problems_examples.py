"""The problem-suite examples run top to bottom and write their PNGs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib.image as mpimg
import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("sklearn")


def _run(tmp_path: Path, script: str, *args: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Run the example's ``main`` in this process (saves importing MXNet again)."""
    spec = importlib.util.spec_from_file_location(script.removesuffix(".py"), ROOT / "examples" / script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "fig.png"
    assert module.main(["--out", str(out), *args]) == 0
    stdout = capsys.readouterr().out
    image = mpimg.imread(out)
    assert image.shape[0] > 400
    assert image.shape[1] > 800
    assert image[..., :3].std() > 0.05  # something was drawn
    return stdout


def test_plot_trajectories_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _run(tmp_path, "plot_trajectories.py", "--quick", capsys=capsys)
    assert out.count("steps, final loss") == 12


@pytest.mark.slow
def test_plot_trajectories_full(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _run(tmp_path, "plot_trajectories.py", capsys=capsys)
    assert "diverged" not in out


@pytest.mark.slow
def test_plot_problems_full(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _run(tmp_path, "plot_problems.py", capsys=capsys)
    assert out.count("final loss") == 20


def test_plot_problems_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _run(tmp_path, "plot_problems.py", "--quick", capsys=capsys)
    assert out.count("final loss") >= 20
