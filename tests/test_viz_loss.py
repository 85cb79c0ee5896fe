"""plot_loss on real runs."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import numpy.typing as npt
import pytest

import momentumlab as ml

matplotlib.use("Agg")

DATA = ml.data.make_linear_regression(n_samples=200, seed=0)


def _pixels(ax: object) -> npt.NDArray[np.float32]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = ax.get_figure(root=True)  # type: ignore[attr-defined]
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    buf.seek(0)
    import matplotlib.image as mpimg

    return np.asarray(mpimg.imread(buf))


def test_plot_loss_draws_the_records_on_a_log_axis() -> None:
    result = ml.train(ml.RunConfig.chapter(epochs=2), DATA)
    ax = ml.viz.plot_loss(result)
    assert ax.get_yscale() == "log"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss")
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_xdata(), result.record_epochs)
    np.testing.assert_array_equal(line.get_ydata(), result.losses)
    assert ax.get_xlim() == (0.0, 2.0)
    assert _pixels(ax).std() > 0.01  # not blank


def test_plot_loss_on_a_given_axes_and_diverged_run() -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    given_ax = fig.add_subplot()
    result = ml.train(ml.RunConfig.chapter(learning_rate=50.0, epochs=3), DATA)
    assert result.diverged
    ax = ml.viz.plot_loss(result, ax=given_ax)
    assert ax is given_ax
    assert "diverged" in ax.get_title()
    markers = [ln for ln in ax.lines if ln.get_marker() == "x"]
    assert len(markers) == 1


def test_plot_loss_rejects_non_results() -> None:
    with pytest.raises(TypeError, match="result must be a RunResult, got list"):
        ml.viz.plot_loss([1.0, 2.0])  # type: ignore[arg-type]


def test_plot_loss_does_not_touch_pyplot_state() -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    rc = dict(matplotlib.rcParams)
    ml.viz.plot_loss(ml.train(ml.RunConfig.chapter(epochs=1), DATA))
    assert plt.get_fignums() == before
    assert dict(matplotlib.rcParams) == rc
