"""Image tests of momentumlab.viz on real (small, fast) runs."""

from __future__ import annotations

import dataclasses
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

import momentumlab as ml

N = 200


def rendered(ax: Axes) -> Any:
    """The figure of ``ax`` rendered by Agg as an (h, w, 3) array of floats in [0, 1]."""
    fig = ax.get_figure(root=True)
    assert isinstance(fig, Figure)
    canvas: Any = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba(), dtype=np.float64)[..., :3] / 255.0


def legend(ax: Axes) -> list[str]:
    leg = ax.get_legend()
    assert leg is not None
    return [t.get_text() for t in leg.get_texts()]


def xdata(line: Any) -> Any:
    return np.asarray(line.get_xdata(), dtype=np.float64)


def ydata(line: Any) -> Any:
    return np.asarray(line.get_ydata(), dtype=np.float64)


def filled(masked: Any) -> Any:
    ma: Any = np.ma
    return np.asarray(ma.filled(ma.asarray(masked, dtype=np.float64), np.nan))


def assert_not_blank(ax: Axes) -> None:
    img = rendered(ax)
    ink = (img < 0.9).any(axis=2).mean()  # fraction of pixels that are not (near) white
    assert img.std() > 0.05, img.std()
    assert ink > 0.02, ink


@pytest.fixture(scope="module")
def data() -> ml.data.LinearData:
    return ml.data.make_linear_regression(n_samples=N, seed=0)


@pytest.fixture(scope="module")
def full_batch() -> ml.RunConfig:
    return ml.RunConfig(
        learning_rate=0.2,
        momentum=0.9,
        init_sigma=1.0,
        max_records_per_epoch=None,
        batch_size=N,
        period=N,
        epochs=8,
        shuffle=False,
    )


@pytest.fixture(scope="module")
def chapter_runs(data: ml.data.LinearData) -> list[ml.RunResult]:
    base = ml.RunConfig.chapter(epochs=3, period=20)
    return [ml.train(dataclasses.replace(base, momentum=m), data) for m in (0.0, 0.5, 0.9)]


@pytest.fixture(scope="module")
def diverged_run(data: ml.data.LinearData, full_batch: ml.RunConfig) -> ml.RunResult:
    # lr * lam_max far above 2 (1 + momentum): overflows to inf within a few epochs.
    r = ml.train(dataclasses.replace(full_batch, learning_rate=60.0, momentum=0.9, epochs=30), data)
    assert r.diverged
    return r


# ---------------------------------------------------------------- plot_losses


def test_plot_losses_one_line_per_run_on_log_axis(chapter_runs: list[ml.RunResult]) -> None:
    ax = ml.viz.plot_losses(chapter_runs)
    assert len(ax.lines) == 3
    assert ax.get_yscale() == "log"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss")
    texts = legend(ax)
    assert texts == ["momentum=0", "momentum=0.5", "momentum=0.9"]
    for line, r in zip(ax.lines, chapter_runs, strict=True):
        np.testing.assert_array_equal(xdata(line), r.record_epochs)
        np.testing.assert_array_equal(ydata(line), r.losses)
    lo, hi = ax.get_ylim()
    losses = np.concatenate([r.losses for r in chapter_runs])
    assert lo <= losses.min()
    assert hi >= losses.max()
    assert ax.get_xlim() == (0.0, 3.0)
    assert_not_blank(ax)


def test_plot_losses_labels_and_new_figure_not_in_pyplot(chapter_runs: list[ml.RunResult]) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    ax = ml.viz.plot_losses(chapter_runs[:2], labels=["sgd", "heavy ball"])
    assert plt.get_fignums() == before
    assert legend(ax) == ["sgd", "heavy ball"]


def test_plot_losses_learning_rate_axis(data: ml.data.LinearData) -> None:
    r = ml.train(ml.RunConfig.chapter(epochs=3), data)  # chapter decay: 0.2, 0.2, 0.02
    ax = ml.viz.plot_losses([r], show_lr=True)
    twins = [a for a in ax.figure.axes if a is not ax and a.get_shared_x_axes().joined(a, ax)]
    assert len(twins) == 1
    twin = twins[0]
    assert twin.get_yscale() == "log"
    assert "learning rate" in twin.get_ylabel()
    (steps,) = twin.lines
    assert set(np.round(ydata(steps), 12)) == {0.2, 0.02}
    assert xdata(steps)[-1] == pytest.approx(3.0)
    assert_not_blank(ax)


def test_plot_losses_marks_diverged(chapter_runs: list[ml.RunResult], diverged_run: ml.RunResult) -> None:
    ax = ml.viz.plot_losses([chapter_runs[2], diverged_run], labels=["ok", "too fast"])
    texts = legend(ax)
    assert texts == ["ok", "too fast (diverged)"]
    crosses = [ln for ln in ax.lines if ln.get_marker() == "x"]
    assert len(crosses) == 1
    # where the loss stopped being finite, or (a loss past the divergence limit, 1e30, while
    # still finite) the last record, where the run stopped
    bad = ~np.isfinite(diverged_run.losses)
    bad_epoch = diverged_run.record_epochs[bad][0] if bad.any() else diverged_run.record_epochs[-1]
    assert xdata(crosses[0])[0] == bad_epoch
    # The y axis stays readable: capped 3 decades above the largest start.
    top = ax.get_ylim()[1]
    assert top <= max(chapter_runs[2].losses[0], diverged_run.losses[0]) * 1e3 * (1 + 1e-9)
    assert_not_blank(ax)


def test_plot_losses_rejects_bad_input(chapter_runs: list[ml.RunResult]) -> None:
    with pytest.raises(ValueError, match="labels must have one entry per run"):
        ml.viz.plot_losses(chapter_runs, labels=["a"])
    with pytest.raises(TypeError, match=r"results\[1\] must be a RunResult"):
        ml.viz.plot_losses([chapter_runs[0], "nope"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="at least one"):
        ml.viz.plot_losses([])
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        ml.viz.plot_losses(chapter_runs, ax="left")  # type: ignore[arg-type]


def test_plot_loss_draws_on_given_axes(chapter_runs: list[ml.RunResult]) -> None:
    fig = Figure()
    ax = fig.add_subplot()
    assert ml.viz.plot_loss(chapter_runs[0], ax=ax) is ax
    with pytest.raises(TypeError, match="use plot_losses"):
        ml.viz.plot_loss(chapter_runs)  # type: ignore[arg-type]


# ---------------------------------------------------------------- plot_trajectory


def ill_conditioned(eigenvalues: tuple[float, float] = (0.1, 2.0)) -> ml.data.LinearData:
    rng = np.random.default_rng(1)
    Z = rng.standard_normal((N, 2))
    Z -= Z.mean(axis=0)
    Z = Z @ np.linalg.inv(np.linalg.cholesky(Z.T @ Z / N)).T
    X = (Z * np.sqrt(eigenvalues)).astype(np.float32)
    return ml.data.from_arrays(X, X @ np.array([1.0, 1.0], dtype=np.float32))


def path_run(data: ml.data.LinearData, lr: float, momentum: float, epochs: int = 25) -> ml.RunResult:
    net = ml.models.LinearRegressor(2, train_bias=False)
    ml.models.init_normal(net, seed=0)
    ml.models.set_params(net, {"dense0_weight": np.array([[-4.0, 2.0]])})
    config = ml.RunConfig(
        init_sigma=1.0,
        max_records_per_epoch=None,
        batch_size=N,
        period=N,
        learning_rate=lr,
        momentum=momentum,
        epochs=epochs,
        shuffle=False,
    )
    return ml.train(config, data, net=net, initialize=False, record_params=True)


@pytest.fixture(scope="module")
def valley() -> tuple[ml.data.LinearData, list[ml.RunResult]]:
    d = ill_conditioned()
    return d, [path_run(d, 0.9, 0.0), path_run(d, 0.9, 0.5)]


def test_frozen_bias_stays_put_through_train(valley: tuple[ml.data.LinearData, list[ml.RunResult]]) -> None:
    _, runs = valley
    for r in runs:
        assert r.param_history["dense0_bias"].ravel().tolist() == [0.0] * len(r.losses)
        assert r.param_history["dense0_weight"].shape == (len(r.losses), 1, 2)
        assert not np.allclose(r.param_history["dense0_weight"][-1], [[-4.0, 2.0]])


def test_linear_regression_surface_matches_recorded_losses(
    valley: tuple[ml.data.LinearData, list[ml.RunResult]],
) -> None:
    data, runs = valley
    s = ml.viz.linear_regression_surface(data, bias=0.0)
    np.testing.assert_allclose(s.eigenvalues, [0.1, 2.0], rtol=1e-5)
    np.testing.assert_allclose(s.center, [1.0, 1.0], atol=1e-5)
    w = runs[0].param_history["dense0_weight"][:, 0, :]
    np.testing.assert_allclose(s(w[:, 0], w[:, 1]), runs[0].losses, rtol=1e-4, atol=1e-6)


def test_plot_trajectory_paths_contours_and_limits(
    valley: tuple[ml.data.LinearData, list[ml.RunResult]],
) -> None:
    data, runs = valley
    s = ml.viz.linear_regression_surface(data, bias=0.0)
    ax = ml.viz.plot_trajectory(runs, s)
    paths = [ln for ln in ax.lines if "momentum" in str(ln.get_label())]
    assert [ln.get_label() for ln in paths] == ["momentum=0", "momentum=0.5"]
    for ln, r in zip(paths, runs, strict=True):
        np.testing.assert_array_equal(ln.get_xydata(), r.param_history["dense0_weight"][:, 0, :])
    assert len(ax.collections) >= 1  # the contour set
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    pts = np.concatenate([r.param_history["dense0_weight"][:, 0, :] for r in runs] + [s.center[None]])
    assert x0 < pts[:, 0].min()
    assert x1 > pts[:, 0].max()
    assert y0 < pts[:, 1].min()
    assert y1 > pts[:, 1].max()
    # From the data, not hard-coded: no more than the 10 % margin on each side.
    assert x1 - x0 == pytest.approx(1.2 * np.ptp(pts[:, 0]))
    assert "optimum" in legend(ax)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$w_1$", "$w_2$")
    assert_not_blank(ax)


def test_gd_zigzags_and_momentum_gets_closer(valley: tuple[ml.data.LinearData, list[ml.RunResult]]) -> None:
    """The picture tells the truth: GD at lr 0.9 flips w2 each step; momentum ends nearer."""
    _, (gd, hb) = valley
    w2 = gd.param_history["dense0_weight"][:, 0, 1] - 1.0
    assert (np.sign(w2[1:6]) != np.sign(w2[:5])).all()
    assert hb.final_loss < gd.final_loss / 10


def test_plot_trajectory_callable_surface_and_diverged_path() -> None:
    def rosen(x: Any, y: Any) -> Any:
        return (1 - x) ** 2 + 100 * (y - x**2) ** 2

    ok = np.array([[-1.5, 2.0], [-0.5, 0.5], [0.5, 0.3], [1.0, 1.0]])
    blown = np.array([[-1.0, -1.0], [5.0, -40.0], [1e8, 1e9], [np.nan, np.nan]])
    ax = ml.viz.plot_trajectory([ok, blown], rosen, labels=["fine", "boom"], optimum=(1.0, 1.0))
    labels = legend(ax)
    assert labels == ["fine", "boom (diverged)", "optimum"]
    assert any(ln.get_marker() == "x" for ln in ax.lines)
    # Limits come from the converged path, the optimum and the diverged start only.
    assert ax.get_xlim()[1] < 2.0
    assert ax.get_ylim()[0] > -2.0
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y")
    assert_not_blank(ax)


def test_plot_trajectory_rejects_bad_input(valley: tuple[ml.data.LinearData, list[ml.RunResult]]) -> None:
    data, runs = valley
    s = ml.viz.linear_regression_surface(data, bias=0.0)
    plain = ml.train(ml.RunConfig.chapter(epochs=1), data)
    with pytest.raises(ValueError, match="record_params=True"):
        ml.viz.plot_trajectory([plain], s)
    with pytest.raises(ValueError, match="param must be one of"):
        ml.viz.plot_trajectory(runs, s, param="w")
    with pytest.raises(ValueError, match=r"\(n, 2\) array"):
        ml.viz.plot_trajectory([np.zeros((3, 3))], s)
    with pytest.raises(TypeError, match="surface must be"):
        ml.viz.plot_trajectory(runs, 3.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one value per point"):
        ml.viz.plot_trajectory(runs, lambda x, y: 1.0)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match=r"margin must be >= 0\.0"):
        ml.viz.plot_trajectory(runs, s, margin=-1.0)
    with pytest.raises(ValueError, match="must have exactly 1 output"):
        ml.viz.linear_regression_surface(
            ml.data.make_linear_regression(weight=np.array([[1.0, 2.0], [3.0, 4.0]]), bias=[0.0, 0.0])
        )


# ---------------------------------------------------------------- plot_sweep

LRS = (0.05, 0.2, 0.8, 60.0)
MOMS = (0.0, 0.5, 0.9)


@pytest.fixture(scope="module")
def sweep(data: ml.data.LinearData, full_batch: ml.RunConfig) -> list[ml.RunResult]:
    return [
        ml.train(dataclasses.replace(full_batch, learning_rate=lr, momentum=m, epochs=30), data)
        for lr in LRS
        for m in MOMS
    ]


def cells(ax: Axes) -> Any:
    mesh = ax.collections[0]
    return filled(mesh.get_array()).reshape(len(MOMS), len(LRS))


def test_plot_sweep_from_runs(sweep: list[ml.RunResult], data: ml.data.LinearData) -> None:
    X, _ = data.numpy()
    A = np.hstack([X, np.ones((N, 1))]).astype(np.float64)
    lam = np.linalg.eigvalsh(A.T @ A / N)
    ax = ml.viz.plot_sweep(sweep, spectrum=(lam[0], lam[-1]))
    assert ax.get_xscale() == "log"
    assert ax.get_yscale() == "linear"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("learning_rate", "momentum")
    mesh = ax.collections[0]
    assert isinstance(mesh.norm, LogNorm)
    Z = cells(ax)
    for r in sweep:
        i, j = MOMS.index(r.config.momentum), LRS.index(float(r.config.learning_rate))  # type: ignore[arg-type]
        if r.diverged:
            assert np.isnan(Z[i, j])
        else:
            assert Z[i, j] == pytest.approx(r.final_loss)
    n_div = sum(r.diverged for r in sweep)
    assert n_div >= 1
    hatched = [p for p in ax.patches if p.get_hatch() == "xx"]
    assert len(hatched) == n_div
    texts = legend(ax)
    assert texts == ["diverged", "stability boundary", "Polyak optimum"]
    # The limits hold every cell; the colour bar is there.
    assert ax.get_xlim()[0] < min(LRS)
    assert ax.get_xlim()[1] > max(LRS)
    assert ax.get_ylim()[0] < min(MOMS)
    assert ax.get_ylim()[1] > max(MOMS)
    assert len(ax.figure.axes) == 2
    # The overlays: boundary 2(1 + m)/lam_max, the star at Polyak's (alpha*, beta*).
    boundary = next(ln for ln in ax.lines if ln.get_label() == "stability boundary")
    np.testing.assert_allclose(xdata(boundary), 2 * (1 + ydata(boundary)) / lam[-1])
    star = next(ln for ln in ax.lines if ln.get_label() == "Polyak optimum")
    k = np.sqrt(lam[-1] / lam[0])
    assert xdata(star)[0] == pytest.approx(4 / (np.sqrt(lam[-1]) + np.sqrt(lam[0])) ** 2)
    assert ydata(star)[0] == pytest.approx(((k - 1) / (k + 1)) ** 2)
    assert_not_blank(ax)


def test_plot_sweep_every_diverged_run_is_outside_the_boundary(
    sweep: list[ml.RunResult], data: ml.data.LinearData
) -> None:
    X, _ = data.numpy()
    A = np.hstack([X, np.ones((N, 1))]).astype(np.float64)
    lam_max = float(np.linalg.eigvalsh(A.T @ A / N)[-1])
    for r in sweep:
        lr, m = float(r.config.learning_rate), float(r.config.momentum or 0.0)  # type: ignore[arg-type]
        stable = lr < float(ml.theory.max_stable_learning_rate((0.1, lam_max), m))
        if stable:
            assert not r.diverged
            assert r.final_loss < r.losses[0]
        else:
            assert r.diverged or r.final_loss > r.losses[0]


def test_plot_sweep_matrix_missing_points_and_nested_field(
    data: ml.data.LinearData, full_batch: ml.RunConfig
) -> None:
    lr = float(full_batch.learning_rate)  # type: ignore[arg-type]
    base = dataclasses.replace(full_batch, epochs=3)

    def decay(f: float) -> ml.optim.PerEpoch:
        return ml.optim.PerEpoch(ml.optim.EpochDecay(init_value=lr, factor=f, after_epoch=1))

    runs = [
        ml.train(dataclasses.replace(base, momentum=m, learning_rate=decay(f)), data)
        for f in (0.1, 0.5)
        for m in (0.0, 0.9)
    ][:-1]
    ax = ml.viz.plot_sweep(runs, x="learning_rate.schedule.factor", y="momentum")
    assert ax.get_xscale() == "linear"
    assert ax.get_xlabel() == "learning_rate.schedule.factor"
    assert legend(ax) == ["not run"]
    # matrix form, explicit scales
    Z = np.array([[1.0, 1e-3], [np.inf, 0.0]])
    ax = ml.viz.plot_sweep(
        Z, x_values=[1.0, 2.0], y_values=[1.0, 100.0], x="a", y="b", log_y=True, colorbar=False
    )
    assert ax.get_yscale() == "log"
    assert ax.get_xscale() == "linear"
    assert len(ax.figure.axes) == 1
    assert sum(p.get_hatch() == "xx" for p in ax.patches) == 1
    shown = filled(ax.collections[0].get_array())
    assert shown[1, 1] == pytest.approx(1e-3)  # a zero loss sits at the bottom of the scale
    assert_not_blank(ax)


def test_plot_sweep_rejects_bad_input(sweep: list[ml.RunResult]) -> None:
    with pytest.raises(ValueError, match="one run per"):
        ml.viz.plot_sweep(sweep + sweep[:1])
    with pytest.raises(ValueError, match="field must name a number"):
        ml.viz.plot_sweep(sweep, x="lr")
    with pytest.raises(ValueError, match=r"shape \(len\(y_values\), len\(x_values\)\)"):
        ml.viz.plot_sweep(np.ones((2, 3)), x_values=[1, 2], y_values=[1, 2])
    with pytest.raises(ValueError, match="x_values and y_values must be given"):
        ml.viz.plot_sweep(np.ones((2, 2)))
    with pytest.raises(ValueError, match="strictly increasing"):
        ml.viz.plot_sweep(np.ones((2, 2)), x_values=[2, 1], y_values=[1, 2])
    with pytest.raises(ValueError, match="spectrum needs x and y"):
        ml.viz.plot_sweep(sweep, x="momentum", y="batch_size", spectrum=(1.0, 2.0))
    with pytest.raises(ValueError, match="spectrum must be None"):
        ml.viz.plot_sweep(sweep, spectrum=(1.0, 2.0), optimum=(0.1, 0.5))
    with pytest.raises(ValueError, match=r"spectrum\[0\] must be a finite number > 0.0, got 0.0"):
        ml.viz.plot_sweep(sweep, spectrum=(0.0, 2.0))
    with pytest.raises(ValueError, match="log_y must be False"):
        ml.viz.plot_sweep(sweep, log_y=True)


def test_swapped_axes_put_overlays_in_the_right_place(sweep: list[ml.RunResult]) -> None:
    ax = ml.viz.plot_sweep(sweep, x="momentum", y="learning_rate", spectrum=(0.5, 2.0))
    star = next(ln for ln in ax.lines if ln.get_label() == "Polyak optimum")
    best = ml.theory.optimal_momentum((0.5, 2.0))
    alpha, beta = best.learning_rate, best.momentum
    assert (xdata(star)[0], ydata(star)[0]) == (beta, alpha)
    assert ax.get_yscale() == "log"
