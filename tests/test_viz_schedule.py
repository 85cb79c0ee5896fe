"""plot_schedule and the schedules example."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import matplotlib
import matplotlib.pyplot
import numpy as np
import pytest

matplotlib.use("Agg")

import momentumlab as ml


def test_plot_schedule_draws_the_values_and_reuses_an_axes() -> None:
    s = ml.optim.cosine_decay(1.0, 10)
    ax = ml.viz.plot_schedule(s, 12, label="cos")
    np.testing.assert_array_equal(np.asarray(ax.lines[0].get_ydata()), [s(t) for t in range(12)])
    ax2 = ml.viz.plot_schedule(ml.optim.constant_schedule(0.5), 24, ax=ax, steps_per_epoch=12, logy=True)
    assert ax2 is ax
    assert len(ax.lines) == 2
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "epoch"
    assert np.asarray(ax.lines[1].get_xdata())[-1] == pytest.approx(23 / 12)


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        ({"schedule": 0.1, "n_steps": 3}, TypeError, "schedule must be a schedule"),
        ({"n_steps": 0}, ValueError, "n_steps must be an integer >= 1, got 0"),
        (
            {"n_steps": 3, "logy": True, "schedule": ml.optim.constant_schedule(0.0)},
            ValueError,
            "logy needs positive",
        ),
    ],
)
def test_plot_schedule_bad_arguments(kwargs: dict[str, object], exc: type, message: str) -> None:
    kwargs.setdefault("schedule", ml.optim.constant_schedule(1.0))
    with pytest.raises(exc, match=message):
        ml.viz.plot_schedule(**kwargs)  # type: ignore[arg-type]


def test_plot_schedules_example_writes_a_png(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "schedules.png"
    example = Path(__file__).resolve().parents[1] / "examples" / "plot_schedules.py"
    monkeypatch.setattr(sys, "argv", [str(example), "--out", str(out)])
    # returns normally: sphinx-gallery runs it as __main__, and a SystemExit would end the docs build
    namespace = runpy.run_path(str(example), run_name="__main__")
    assert namespace["__name__"] == "__main__"
    matplotlib.pyplot.close("all")  # the gallery's pyplot figure
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 20_000
