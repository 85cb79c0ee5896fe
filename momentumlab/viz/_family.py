"""Pictures of the momentum family: the per-eigenvalue error of a run, and the rate/phase diagram."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from momentumlab import theory
from momentumlab._src.checks import check_array, check_choice, check_float, check_type
from momentumlab._src.types import Array
from momentumlab.viz._common import DIVERGED_COLOR, axes, masked

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from momentumlab.runner import Prediction, RunResult

#: Methods :func:`plot_phase` draws (those with a constant linear rate).
PHASE_METHODS = ("aggmo", "nag", "qhm", "sgd", "sgd_torch")


def plot_modes(
    result: RunResult,
    prediction: Prediction,
    *,
    ax: Axes | None = None,
    modes: Sequence[int] | None = None,
) -> Axes:
    r"""A run's loss split over the Hessian's eigen-directions, beside the prediction (Distill's figure).

    Each eigen-direction ``i`` (eigenvalue :math:`\lambda_i`) holds the share
    :math:`\tfrac12\lambda_i\sum_k e_{ki}^2` of the excess loss, where ``e`` is the error of
    the recorded parameters projected on its eigenvector
    (:meth:`momentumlab.Prediction.measured_mode_losses`). One colour per direction: the run
    solid (label ``"λ=..."``), the prediction dashed (exact for full batches, the expected share
    for mini-batches). Non-positive values (float32 zeros) are left out of the log axis.

    Args:
        result: a run of ``train(config, problem, record_params=True)``.
        prediction: ``ml.predict(config, problem)`` of the same config and problem.
        ax: the Axes to draw on; ``None`` creates a figure.
        modes: indices of the eigen-directions to draw (ascending eigenvalues); ``None`` draws all.

    Returns:
        The Axes drawn on: ``2 * len(modes)`` lines, measured then predicted per direction.

    Raises:
        ValueError: for a result without a parameter history, records that differ from the
            prediction's, or a mode index out of range.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import momentumlab as ml
        >>> p = ml.problems.make("quadratic", dim=3, condition_number=10.0)
        >>> config = ml.RunConfig(batch_size=100, learning_rate=0.5, momentum=0.5, epochs=20)
        >>> run = ml.train(config, p, record_params=True)
        >>> ax = ml.viz.plot_modes(run, ml.predict(config, p))
        >>> len(ax.lines), ax.get_yscale()
        (6, 'log')
    """
    from momentumlab.runner import Prediction, RunResult

    check_type("result", result, RunResult, "a RunResult")
    check_type("prediction", prediction, Prediction, "a momentumlab.Prediction")
    measured = prediction.measured_mode_losses(result)
    n = measured.shape[0]
    if n > prediction.record_steps.size or not np.array_equal(
        result.record_steps, prediction.record_steps[:n]
    ):
        raise ValueError(
            "prediction must be of the result's config and problem (the same record steps), got "
            f"{prediction.record_steps.size} predicted records for {n} measured"
        )
    p = prediction.eigenvalues.size
    chosen = list(range(p)) if modes is None else [int(i) for i in modes]
    for i in chosen:
        if not 0 <= i < p:
            raise ValueError(f"modes must hold indices in [0, {p - 1}], got {i}")
    ax = axes(ax, (6.0, 4.0))
    steps = prediction.record_steps
    for i in chosen:
        lam = float(prediction.eigenvalues[i])
        mine = np.where(measured[:, i] > 0, measured[:, i], np.nan)
        (line,) = ax.semilogy(result.record_steps, masked(mine), label=f"λ={lam:.3g}")
        pred = np.where(prediction.mode_losses[:, i] > 0, prediction.mode_losses[:, i], np.nan)
        ax.semilogy(steps, masked(pred), "--", color=line.get_color(), alpha=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("loss share per eigen-direction")
    ax.set_title("measured (solid) and predicted (dashed)", fontsize="medium")
    return ax


def _results_of(results: Any) -> list[RunResult]:
    """RunResults from a sequence of them or from a sweep Store (its done and diverged rows)."""
    from momentumlab.runner import RunResult
    from momentumlab.sweep import Store

    if isinstance(results, Store):
        return [row.to_result() for row in results.rows(status=("done", "diverged"))]
    if isinstance(results, RunResult):
        return [results]
    if not isinstance(results, Iterable) or isinstance(results, str):
        raise TypeError(
            f"results must be RunResults or a momentumlab.sweep.Store, got {type(results).__name__}"
        )
    out = list(results)
    for i, r in enumerate(out):
        if not isinstance(r, RunResult):
            raise TypeError(f"results[{i}] must be a RunResult, got {type(r).__name__}")
    return out


def measured_rates(results: Any, *, optimal_loss: float) -> tuple[Array, Array, Array, Array]:
    """``(learning_rate, momentum, rate, diverged)`` of every run, its rate fitted by :func:`theory.fit_rate`.

    The learning rate and momentum are the first ones the run used; a run whose rate cannot
    be fitted (too few records, no decay) gets ``nan``.

    Args:
        results: RunResults, or a :class:`momentumlab.sweep.Store` (its finished rows).
        optimal_loss: ``L*`` of the problem.
    """
    runs = _results_of(results)
    l_star = check_float("optimal_loss", optimal_loss)
    lrs, moms, rates, diverged = [], [], [], []
    for r in runs:
        lrs.append(float(r.learning_rates[0]) if r.learning_rates.size else math.nan)
        moms.append(float(r.momenta[0]) if r.momenta.size else math.nan)
        diverged.append(bool(r.diverged))
        try:
            rates.append(math.nan if r.diverged else theory.fit_rate(r, optimal_loss=l_star).rate)
        except ValueError:
            rates.append(math.nan)
    return np.array(lrs), np.array(moms), np.array(rates), np.array(diverged, dtype=bool)


def _grid(name: str, values: Any, **bounds: Any) -> Array:
    """A non-empty, strictly ascending 1-D grid of finite numbers within ``bounds``."""
    arr = check_array(name, values, ndim=(0, 1), **bounds).reshape(-1)
    if arr.size > 1 and bool(np.any(np.diff(arr) <= 0)):
        raise ValueError(f"{name} must be strictly ascending, got {arr.tolist()!r}")
    return arr


def _edges(v: Array, log: bool = False) -> Array:
    if v.size == 1:
        return np.array([v[0] * 0.9, v[0] * 1.1]) if v[0] > 0 else np.array([v[0] - 0.5, v[0] + 0.5])
    w = np.log(v) if log else v
    mid = (w[1:] + w[:-1]) / 2
    e = np.concatenate([[w[0] - (mid[0] - w[0])], mid, [w[-1] + (w[-1] - mid[-1])]])
    out: Array = np.exp(e) if log else e
    return out


def plot_phase(
    problem: Any,
    optimizer: str = "sgd",
    *,
    learning_rates: Sequence[float] | Array,
    momenta: Sequence[float] | Array,
    nu: float = 0.7,
    betas: Sequence[float] = (0.0, 0.9, 0.99),
    results: Any = None,
    optimal_loss: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    r"""The rate/phase diagram of a momentum method over ``(learning rate, momentum)``, with measured rates.

    The colour of a cell is the predicted linear rate (:func:`momentumlab.theory.family_rate`:
    the per-step contraction of the error, the largest spectral radius over the eigenvalues)
    on a scale from the smallest rate of the grid (rounded down to 0.05) to 1; cells with
    rate >= 1 (the method diverges) are masked (white). The black line is the stability edge
    (rate 1). With ``results`` (a sweep's runs, or a
    :class:`momentumlab.sweep.Store`) every run is a circle at its ``(learning rate,
    momentum)`` coloured by its rate measured with :func:`momentumlab.theory.fit_rate` on the
    same scale, so a circle that vanishes into its cell agrees with the theory; diverged runs
    are red crosses.

    Args:
        problem: a :class:`momentumlab.theory.LeastSquares` (or its eigenvalues).
        optimizer: one of :data:`PHASE_METHODS` (``qhm`` at ``nu``, ``aggmo`` at ``betas``:
            for those ``momentum`` is ``beta``; AggMo ignores it).
        learning_rates: the grid's learning rates (ascending, > 0).
        momenta: the grid's momenta (ascending, in [0, 1)).
        nu: QHM's ``nu``.
        betas: AggMo's betas.
        results: runs to overlay, or ``None``.
        optimal_loss: ``L*`` for the measured rates (default: ``problem.optimal_loss``).
        ax: the Axes to draw on; ``None`` creates a figure.

    Returns:
        The Axes drawn on: ``ax.collections[0]`` is the grid (its array the rates, shape
        ``(len(momenta), len(learning_rates))``, masked where >= 1); with results, the last
        two collections are the measured circles (offsets ``(learning rate, momentum)``,
        array the rates) and the diverged crosses.

    Raises:
        ValueError: for an unknown optimizer, empty or unsorted grids, or results without an
            ``optimal_loss``.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np, momentumlab as ml
        >>> grid = {"learning_rates": np.linspace(0.1, 2, 5), "momenta": [0.0, 0.5, 0.9]}
        >>> ax = ml.viz.plot_phase([0.1, 1.0], "nag", **grid)
        >>> ax.collections[0].get_array().shape
        (3, 5)
    """
    name = check_choice("optimizer", optimizer, PHASE_METHODS)
    lrs = _grid("learning_rates", learning_rates, low=0.0, low_open=True)
    moms = _grid("momenta", momenta, low=0.0, high=1.0, high_open=True)
    nu = check_float("nu", nu, low=0.0, high=1.0)
    given: Any = betas
    if isinstance(given, str) or not isinstance(given, Sequence) or not given:
        raise TypeError(f"betas must be a non-empty sequence of values in [0, 1), got {given!r}")
    betas = [check_float(f"betas[{i}]", b, low=0.0, high=1.0, high_open=True) for i, b in enumerate(given)]
    if optimal_loss is not None:
        optimal_loss = check_float("optimal_loss", optimal_loss)
    for label, grid in (("learning_rates", lrs), ("momenta", moms)):
        if grid.size == 0 or np.any(np.diff(grid) <= 0) or not np.all(np.isfinite(grid)):
            raise ValueError(
                f"{label} must be a non-empty ascending sequence of finite numbers, got {grid.tolist()}"
            )
    rates = np.array(
        [
            [theory.family_rate(problem, name, float(lr), float(m), nu=nu, betas=betas) for lr in lrs]
            for m in moms
        ]
    )
    ax = axes(ax, (6.0, 4.5))
    log_x = bool(lrs.size > 1 and lrs[0] > 0 and lrs[-1] / lrs[0] >= 10)
    shown = masked(np.where(rates < 1.0, rates, np.nan))
    stable = rates[rates < 1.0]
    vmin = max(0.0, math.floor(20 * float(stable.min())) / 20) if stable.size else 0.0
    mesh = ax.pcolormesh(
        _edges(lrs, log_x), _edges(moms), shown, cmap="viridis", vmin=vmin, vmax=1.0, shading="flat"
    )
    ax.figure.colorbar(mesh, ax=ax, label="rate (error contraction per step)")
    if lrs.size > 1 and moms.size > 1 and np.any(rates >= 1) and np.any(rates < 1):
        ax.contour(lrs, moms, rates, levels=[1.0], colors="black", linewidths=1.0)
    if results is not None:
        l_star = optimal_loss if optimal_loss is not None else getattr(problem, "optimal_loss", None)
        if l_star is None:
            raise ValueError(
                "optimal_loss must be given with results when problem is not a LeastSquares, got None"
            )
        x, y, measured, diverged = measured_rates(results, optimal_loss=l_star)
        ok = ~diverged
        ax.scatter(
            x[ok], y[ok], c=measured[ok], cmap="viridis", vmin=vmin, vmax=1.0, edgecolors="black",
            s=60, linewidths=1.2, plotnonfinite=True, label="measured rate",
        )  # fmt: skip
        ax.scatter(x[diverged], y[diverged], marker="x", color=DIVERGED_COLOR, label="diverged")
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("momentum")
    title = {"qhm": f"QHM (ν={nu:g})", "aggmo": f"AggMo (betas {tuple(betas)})"}.get(name, name)  # noqa: RUF001
    ax.set_title(f"{title}: predicted rate", fontsize="medium")
    return ax


__all__ = ["PHASE_METHODS", "measured_rates", "plot_modes", "plot_phase"]
