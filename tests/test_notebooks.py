"""The example notebooks run top to bottom in a real Jupyter kernel and show what they promise.

Needs nbclient, nbformat and ipykernel (the ``test`` extra); skips, saying so, without them.
The committed notebooks carry no outputs.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))


def _execute(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Run ``examples/name`` in a fresh python3 kernel; return its code cells with outputs."""
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    nbformat = pytest.importorskip("nbformat", reason="the notebook tests need nbformat (the 'test' extra)")
    nbclient = pytest.importorskip("nbclient", reason="the notebook tests need nbclient (the 'test' extra)")
    pytest.importorskip("ipykernel", reason="the notebook tests need ipykernel (the 'test' extra)")
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    # the kernel inherits the environment: this checkout first on its path, the notebook backend
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    return [dict(c) for c in nb.cells if c.cell_type == "code"]


def _text(cell: dict[str, Any]) -> str:
    return "".join(o.get("text", "") for o in cell["outputs"] if o["output_type"] == "stream")


def _kinds(cell: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for o in cell["outputs"]:
        out.update(o.get("data", {}).keys())
    return out


def _source(cells: list[dict[str, Any]], needle: str) -> dict[str, Any]:
    hits = [c for c in cells if needle in c["source"]]
    assert len(hits) == 1, f"{needle!r} should be in exactly one cell"
    return hits[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebooks_have_no_outputs(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code
    for c in code:
        assert c["outputs"] == []
        assert c["execution_count"] is None


def test_there_are_the_three_notebooks() -> None:
    assert {p.name for p in NOTEBOOKS} >= {"momentum_gluon.ipynb", "theory.ipynb", "sweep_heatmap.ipynb"}


def test_chapter_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cells = _execute("momentum_gluon.ipynb", tmp_path, monkeypatch)
    errors = [o for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    assert errors == []
    train = _source(cells, "ml.train(config, data, callback=report)")
    text = _text(train)
    assert len(re.findall(r"Batch size 10, Learning rate 0\.\d+, Epoch \d, loss", text)) == 3
    final = re.search(r"final loss ([0-9.e+-]+)", text)
    assert final is not None
    assert 4e-5 < float(final.group(1)) < 6e-5
    # the live curve: one image, updated in place (not one per epoch)
    assert sum("image/png" in o.get("data", {}) for o in train["outputs"]) == 1
    (shown,) = [c for c in cells if c["source"] == "result"]
    assert "text/html" in _kinds(shown)
    html = "".join(o["data"]["text/html"] for o in shown["outputs"] if "text/html" in o.get("data", {}))
    assert "RunResult" in html
    assert "<svg" in html
    assert "image/png" in _kinds(_source(cells, "ml.viz.plot_loss(result)"))
    exercise = _source(cells, "momentum=0.0")
    assert "image/png" in _kinds(exercise)
    plain = re.search(r"momentum 0\.0: final loss ([0-9.e+-]+)", _text(exercise))
    assert plain is not None
    assert float(plain.group(1)) < 1e-4


@pytest.mark.slow
def test_theory_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cells = _execute("theory.ipynb", tmp_path, monkeypatch)
    assert [o for c in cells for o in c["outputs"] if o["output_type"] == "error"] == []
    assert sum("image/png" in _kinds(c) for c in cells) == 2
    text = "".join(_text(c) for c in cells)
    pairs = re.findall(r"predicted ([0-9.]+)\s+measured ([0-9.]+)", text)
    assert len(pairs) == 2
    for predicted, measured in pairs:
        assert float(measured) == pytest.approx(float(predicted), abs=2e-3)


@pytest.mark.slow
def test_sweep_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cells = _execute("sweep_heatmap.ipynb", tmp_path, monkeypatch)
    assert [o for c in cells for o in c["outputs"] if o["output_type"] == "error"] == []
    html = "".join(
        o["data"]["text/html"] for c in cells for o in c["outputs"] if "text/html" in o.get("data", {})
    )
    assert "SweepSummary" in html
    assert "<b>Store</b>" in html
    assert "120 runs" in "".join(_text(c) for c in cells)
    assert "image/png" in _kinds(_source(cells, "ml.viz.plot_sweep"))
