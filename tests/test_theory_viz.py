"""viz.plot_rate: the predicted line over a run's excess loss."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

import momentumlab as ml

matplotlib.use("Agg")


def test_plot_rate_draws_the_run_and_a_line_with_the_predicted_slope() -> None:
    data = ml.data.make_conditioned_regression(100, 2, condition_number=10.0, seed=0)
    q = ml.theory.least_squares(data)
    gd = ml.theory.optimal_gd(q)
    config = ml.RunConfig(init_sigma=1.0, max_records_per_epoch=None,
        batch_size=100,
        period=100,
        shuffle=False,
        learning_rate=gd.learning_rate,
        momentum=0.0,
        epochs=60,
    )
    result = ml.train(config, data)
    ax = ml.viz.plot_rate(result, gd.rate, optimal_loss=q.optimal_loss, label="GD")
    assert ax.get_yscale() == "log"
    measured, predicted = ax.lines
    assert measured.get_label() == "GD"
    assert str(predicted.get_label()).startswith("predicted ρ=0.8182")  # noqa: RUF001
    t, y = (np.asarray(a, dtype=float) for a in predicted.get_data())
    slope = np.diff(np.log(y)) / np.diff(t)
    np.testing.assert_allclose(slope, 2 * math.log(gd.rate), rtol=1e-9)
    assert ax.figure is not None


def test_plot_rate_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"rate must be > 0.0"):
        ml.viz.plot_rate(np.arange(3), 0.0, optimal_loss=0.0, losses=np.ones(3))
    with pytest.raises(ValueError, match="at least one record above optimal_loss"):
        ml.viz.plot_rate(np.arange(3), 0.5, optimal_loss=2.0, losses=np.ones(3))
    with pytest.raises(ValueError, match="anchor must be a recorded step"):
        ml.viz.plot_rate(np.arange(3), 0.5, optimal_loss=0.0, losses=np.ones(3), anchor=7)
