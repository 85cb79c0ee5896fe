"""Every gallery script runs on its own and writes a figure that is not blank."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.image
import numpy as np
import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("plot_*.py"))


def test_gallery_scripts_have_a_sphinx_gallery_header() -> None:
    assert EXAMPLES, "no examples/plot_*.py found"
    for path in EXAMPLES:
        text = path.read_text()
        assert text.startswith('"""\n'), path.name
        title, underline = text.splitlines()[1:3]
        assert title.strip(), path.name
        assert set(underline) == {"="}, path.name
        assert len(underline) >= len(title), path.name


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_gallery_script_writes_its_figure(script: Path, tmp_path: Path) -> None:
    out = tmp_path / "figure.png"
    done = subprocess.run(
        [sys.executable, str(script), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={"MPLBACKEND": "Agg", "PATH": "", "PYTHONPATH": str(script.parent.parent)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    img = np.asarray(matplotlib.image.imread(out))[..., :3]
    assert img.shape[0] > 200
    assert img.shape[1] > 200
    assert img.std() > 0.05
