"""Notebook display: HTML summaries, the live loss callback, the progress bar, pyplot in a kernel."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest

import momentumlab as ml
from momentumlab._src.html import sparkline, table
from momentumlab.viz import _common

matplotlib.use("Agg")

DATA = ml.data.make_linear_regression(n_samples=200, seed=0)


@pytest.fixture(scope="module")
def result() -> ml.RunResult:
    return ml.train(ml.RunConfig.chapter(), DATA)


def test_run_result_html_names_the_numbers(result: ml.RunResult) -> None:
    html = result._repr_html_()
    assert html.startswith("<div><b>RunResult</b><svg")
    assert f"{result.final_loss:.4e}" in html
    assert "<th style='text-align:left'>momentum</th><td style='text-align:left'>0.9</td>" in html
    assert f"{result.n_steps}" in html
    assert "3 of 3" in html
    points = re.search(r"points='([^']*)'", html)
    assert points is not None
    assert len(points.group(1).split()) == int(np.sum(np.isfinite(result.losses)))


def test_diverged_result_html_says_so() -> None:
    r = ml.train(ml.RunConfig(learning_rate=50.0, momentum=0.9, epochs=2), DATA)
    assert r.diverged
    html = r._repr_html_()
    assert "<th style='text-align:left'>diverged</th><td style='text-align:left'>True</td>" in html
    assert "diverged in epoch" in html


def test_sweep_summary_and_store_html(tmp_path: Path) -> None:
    points = ml.sweep.grid(ml.RunConfig(epochs=1), {"momentum": [0.0, 0.5, 0.9]})
    path = tmp_path / "s.sqlite"
    summary = ml.sweep.run_sweep(points, DATA, path)
    html = summary._repr_html_()
    assert "<b>SweepSummary</b>" in html
    assert "<th style='text-align:left'>done</th><td style='text-align:left'>3</td>" in html
    with ml.sweep.Store(path) as store:
        shtml = store._repr_html_()
    assert "<b>Store</b>" in shtml
    assert "<th style='text-align:left'>runs</th><td style='text-align:left'>3</td>" in shtml
    assert str(path) in shtml


def test_table_escapes_html() -> None:
    out = table("<x>", [("a<b", "<script>")])
    assert "<script>" not in out
    assert "&lt;script&gt;" in out
    assert "&lt;x&gt;" in out


def test_sparkline_spans_the_box() -> None:
    svg = sparkline([1.0, 0.1, 0.01, float("nan")], width=100, height=20)
    pts = [tuple(map(float, p.split(","))) for p in re.findall(r"[\d.]+,[\d.]+", svg)]
    assert len(pts) == 3
    assert pts[0] == (2.0, 2.0)
    assert pts[-1] == (98.0, 18.0)


def test_live_loss_writes_a_png_per_epoch(tmp_path: Path) -> None:
    png = tmp_path / "live.png"
    live = ml.viz.LiveLoss(path=png, title="chapter")
    r = ml.train(ml.RunConfig.chapter(), DATA, callback=live)
    assert live.epochs == [1, 2, 3]
    assert live.losses[-1] == pytest.approx(r.epoch_loss(3), rel=1e-6)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "live.png.part").exists()
    assert live.figure is not None
    ax = live.figure.axes[0]
    assert ax.get_yscale() == "log"
    assert "epoch 3" in ax.get_title()
    np.testing.assert_allclose(np.asarray(ax.lines[0].get_ydata(), dtype=float), live.losses)


def test_live_loss_updates_one_display_handle(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[Any] = []
    updates: list[Any] = []

    class Handle:
        def update(self, obj: Any) -> None:
            updates.append(obj)

    def display(obj: Any, display_id: bool = False) -> Handle:
        assert display_id is True
        shown.append(obj)
        return Handle()

    fake = types.ModuleType("IPython.display")
    fake.display = display  # type: ignore[attr-defined]
    fake.Image = lambda data, format: ("image", format, data)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython.display", fake)
    live = ml.viz.LiveLoss(display=True)
    ml.train(ml.RunConfig.chapter(), DATA, callback=live)
    assert len(shown) == 1
    assert len(updates) == 2
    assert updates[-1][2][:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path": 3}, "path must be"),
        ({"title": None}, "title must be"),
        ({"display": "yes"}, "display must be a bool"),
    ],
)
def test_live_loss_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        ml.viz.LiveLoss(**kwargs)


def test_progress_bar_counts_rows(tmp_path: Path) -> None:
    points = ml.sweep.grid(ml.RunConfig(epochs=1), {"momentum": [0.0, 0.5]})
    with ml.viz.ProgressBar(disable=True) as bar:
        ml.sweep.run_sweep(points, DATA, tmp_path / "s.sqlite", progress=bar)
    assert bar.completed == 2
    with pytest.raises(TypeError, match="desc must be a str"):
        ml.viz.ProgressBar(desc=1)  # type: ignore[arg-type]


def test_plots_use_plain_figures_outside_a_kernel(result: ml.RunResult) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    ax = ml.viz.plot_loss(result)
    assert plt.get_fignums() == before
    assert ax.get_figure() is not None


def test_plots_use_pyplot_inside_a_kernel(result: ml.RunResult, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.pyplot as plt

    monkeypatch.setattr(_common, "in_notebook", lambda: True)
    ax = ml.viz.plot_loss(result)
    fig: Any = ax.get_figure(root=True)
    try:
        assert fig.number in plt.get_fignums()
    finally:
        plt.close(fig)


def test_in_notebook_is_false_here() -> None:
    assert _common.in_notebook() is False


def test_plot_rate_rejects_a_non_axes(result: ml.RunResult) -> None:
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        ml.viz.plot_rate(result, 0.5, optimal_loss=0.0, ax="no")  # type: ignore[arg-type]
