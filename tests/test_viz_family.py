"""plot_modes and plot_phase: what they draw equals what the runs and the theory computed."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import numpy as np
import numpy.typing as npt
import pytest

import momentumlab as ml

EPOCHS = 30
F64 = npt.NDArray[np.float64]
MA: Any = np.ma  # numpy.ma is untyped


def filled(values: Any) -> F64:
    """Drawn values as floats, masked entries as NaN."""
    return np.asarray(MA.filled(MA.asarray(values, dtype=np.float64), np.nan), dtype=np.float64)


@pytest.fixture(scope="module")
def quadratic_run() -> tuple[ml.RunResult, ml.Prediction]:
    p = ml.problems.make("quadratic", dim=4, condition_number=20.0)
    config = ml.RunConfig(batch_size=100, learning_rate=0.8, momentum=0.5, epochs=EPOCHS)
    return ml.train(config, p, record_params=True), ml.predict(config, p)


def test_plot_modes_draws_the_measured_and_predicted_share_of_every_direction(
    quadratic_run: tuple[ml.RunResult, ml.Prediction],
) -> None:
    run, pred = quadratic_run
    ax = ml.viz.plot_modes(run, pred)
    measured = pred.measured_mode_losses(run)
    assert len(ax.lines) == 2 * 4
    for i in range(4):
        solid, dashed = ax.lines[2 * i], ax.lines[2 * i + 1]
        assert solid.get_label() == f"λ={pred.eigenvalues[i]:.3g}"
        assert dashed.get_linestyle() == "--"
        assert solid.get_color() == dashed.get_color()
        np.testing.assert_array_equal(solid.get_xdata(), run.record_steps)
        ys = filled(solid.get_ydata())
        keep = measured[:, i] > 0
        np.testing.assert_allclose(ys[keep], measured[keep, i])
        yp = filled(dashed.get_ydata())
        np.testing.assert_allclose(yp, pred.mode_losses[:, i])
        # the run follows the prediction per direction while above its float32 floor
        big = pred.mode_losses[:, i] > 1e-6 * pred.mode_losses[0].sum()
        assert big.sum() >= 3
        np.testing.assert_allclose(ys[big], yp[big], rtol=1e-2)
    two = ml.viz.plot_modes(run, pred, modes=[0, 3])
    assert len(two.lines) == 4


def test_plot_modes_checks_its_arguments(quadratic_run: tuple[ml.RunResult, ml.Prediction]) -> None:
    run, pred = quadratic_run
    with pytest.raises(ValueError, match=r"modes must hold indices in \[0, 3\], got 4"):
        ml.viz.plot_modes(run, pred, modes=[4])
    bare = ml.train(run.config, ml.problems.make("quadratic", dim=4, condition_number=20.0))
    with pytest.raises(ValueError, match="result must have a parameter history"):
        ml.viz.plot_modes(bare, pred)
    with pytest.raises(TypeError, match=r"prediction must be a momentumlab\.Prediction"):
        ml.viz.plot_modes(run, "pred")  # type: ignore[arg-type]


@pytest.mark.parametrize(("optimizer", "nu"), [("sgd", 0.7), ("nag", 0.7), ("qhm", 0.7), ("qhm", 0.3)])
def test_plot_phase_grid_holds_the_family_rates(optimizer: str, nu: float) -> None:
    lam = [0.05, 0.4, 1.0]
    lrs, moms = np.linspace(0.2, 4.0, 7), np.array([0.0, 0.3, 0.6, 0.9])
    ax = ml.viz.plot_phase(lam, optimizer, learning_rates=lrs, momenta=moms, nu=nu)
    want = np.array([[ml.theory.family_rate(lam, optimizer, lr, m, nu=nu) for lr in lrs] for m in moms])
    got = filled(ax.collections[0].get_array())
    assert got.shape == want.shape
    stable = want < 1
    assert stable.any()
    assert (~stable).any()
    np.testing.assert_allclose(got[stable], want[stable])
    assert np.isnan(got[~stable]).all()  # masked where the method diverges


def _grid(base: ml.RunConfig) -> list[ml.RunConfig]:
    return [
        dataclasses.replace(base, learning_rate=float(lr), momentum=float(m))
        for lr in (0.1, 0.3, 0.6, 4.0)
        for m in (0.0, 0.5, 0.8)
    ]


def _overlay(ax: Any) -> tuple[F64, F64]:
    circles = ax.collections[-2]
    offsets = np.asarray(circles.get_offsets(), dtype=np.float64)
    order = np.lexsort(offsets.T[::-1])
    return offsets[order], filled(circles.get_array())[order]


def test_phase_diagram_of_a_sweep_live_and_stored_agree(tmp_path: Path) -> None:
    spec = ml.sweep.LinearRegressionSpec(n_samples=200)
    data = spec.build()
    q = ml.theory.least_squares(data)
    base = ml.RunConfig(batch_size=200, epochs=60, shuffle=False, init_sigma=1.0)
    points = _grid(base)
    live = ml.train_many(points, data)
    path = tmp_path / "runs.sqlite"
    ml.sweep.run_sweep(points, spec, str(path))
    grid: dict[str, Any] = {
        "learning_rates": np.geomspace(0.05, 5.0, 12),
        "momenta": np.linspace(0.0, 0.95, 8),
    }
    ax_live = ml.viz.plot_phase(q, "sgd", results=live, **grid)
    with ml.sweep.Store(str(path)) as store:
        ax_store = ml.viz.plot_phase(q, "sgd", results=store, **grid)
    xy_live, rate_live = _overlay(ax_live)
    xy_store, rate_store = _overlay(ax_store)
    np.testing.assert_array_equal(xy_live, xy_store)
    np.testing.assert_array_equal(rate_live, rate_store)
    diverged = [r for r in live if r.diverged]
    assert diverged  # lr 4 leaves the stable region
    assert np.asarray(ax_live.collections[-1].get_offsets()).shape == (len(diverged), 2)
    assert len(xy_live) == len(live) - len(diverged)
    # the circles carry fitted rates, which agree with the theory's
    for (lr, m), measured in zip(xy_live, rate_live, strict=True):
        if np.isfinite(measured):
            assert measured == pytest.approx(ml.theory.family_rate(q.eigenvalues, "sgd", lr, m), abs=0.02)
    assert np.isfinite(rate_live).sum() >= 6


def test_plot_phase_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="optimizer must be one of"):
        ml.viz.plot_phase([1.0], "adam", learning_rates=[0.1], momenta=[0.0])
    with pytest.raises(ValueError, match="learning_rates must be strictly ascending"):
        ml.viz.plot_phase([1.0], "sgd", learning_rates=[0.2, 0.1], momenta=[0.0])
    with pytest.raises(TypeError, match="momenta must be"):
        ml.viz.plot_phase([1.0], "sgd", learning_rates=[0.1], momenta="0")  # type: ignore[arg-type]
    run = ml.train(ml.RunConfig(epochs=1), ml.data.make_linear_regression(n_samples=50, seed=0))
    with pytest.raises(ValueError, match="optimal_loss must be given with results"):
        ml.viz.plot_phase([1.0], "sgd", learning_rates=[0.1], momenta=[0.0], results=[run])
