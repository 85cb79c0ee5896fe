"""Paths of runs over the loss contours of a two-parameter problem."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from momentumlab._src.checks import check_array, check_float, check_int, check_overflow, check_type
from momentumlab._src.types import Array
from momentumlab.theory import least_squares
from momentumlab.viz._common import DIVERGED_COLOR, auto_labels, axes, check_labels, masked

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from momentumlab.data import LinearData
    from momentumlab.runner import RunResult

#: A loss surface over two parameters: ``f(x, y)`` evaluated elementwise on NumPy grids.
Surface = Callable[[Array, Array], Array]


@dataclass(frozen=True, eq=False)
class QuadraticSurface:
    r"""The quadratic :math:`f(p) = f_0 + \tfrac12 (p - c)^\top H (p - c)` over two parameters.

    Attributes:
        hessian: the symmetric ``(2, 2)`` matrix :math:`H`.
        center: the minimiser :math:`c`, shape ``(2,)``.
        offset: the minimum value :math:`f_0`.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> s = ml.viz.QuadraticSurface(np.diag([1.0, 4.0]), (1.0, 2.0))
        >>> float(s(np.array(2.0), np.array(3.0)))
        2.5
        >>> ml.viz.QuadraticSurface(np.eye(3), (0.0, 0.0))
        Traceback (most recent call last):
        ...
        ValueError: hessian must have shape (2, 2), got shape (3, 3)
    """

    hessian: Array
    center: Array
    offset: float = 0.0

    def __post_init__(self) -> None:
        h = np.array(check_array("hessian", self.hessian, shape=(2, 2)))
        c = np.array(check_array("center", self.center, shape=(2,)))
        if not np.allclose(h, h.T):
            raise ValueError(f"hessian must be symmetric, got {h.tolist()}")
        h.setflags(write=False)
        c.setflags(write=False)
        object.__setattr__(self, "hessian", h)
        object.__setattr__(self, "center", c)
        object.__setattr__(self, "offset", check_float("offset", self.offset))

    def __call__(self, x: Array, y: Array) -> Array:
        """The loss at the points ``(x, y)`` (arrays of one shape, or scalars)."""
        dx = np.asarray(x, dtype=np.float64) - self.center[0]
        dy = np.asarray(y, dtype=np.float64) - self.center[1]
        h = self.hessian
        quad = h[0, 0] * dx * dx + 2.0 * h[0, 1] * dx * dy + h[1, 1] * dy * dy
        out: Array = self.offset + 0.5 * quad
        return out

    @property
    def eigenvalues(self) -> Array:
        """The eigenvalues of the Hessian, ascending (their ratio is the condition number)."""
        values: Array = np.linalg.eigvalsh(self.hessian)
        return values


def linear_regression_surface(
    data: LinearData, *, bias: float | None = None, features: tuple[int, int] = (0, 1)
) -> QuadraticSurface:
    r"""The full-dataset ``L2Loss`` of a linear regression as a function of two weights.

    The loss is :math:`\tfrac{1}{2n}\lVert X w + b - y\rVert^2` (Gluon's ``L2Loss``
    averaged, as :func:`momentumlab.train` records it), computed in float64. Its Hessian in
    the two weights is :math:`X^\top X / n`. The bias is held fixed: at ``bias`` if given
    (the right picture for a net built with ``LinearRegressor(..., train_bias=False)``),
    otherwise at its least-squares optimum, where the slice's minimum is the global one.

    Args:
        data: a one-output :class:`momentumlab.data.LinearData`.
        bias: the fixed bias, or ``None`` for its optimum.
        features: which two features are the axes when there are more than two; the other
            weights are held at their least-squares optimum.

    Returns:
        A :class:`QuadraticSurface`.

    Raises:
        ValueError: for data with several outputs, fewer than two features, a bad
            ``features`` pair, or a rank-deficient problem.

    Example:
        >>> import momentumlab as ml
        >>> data = ml.data.make_linear_regression(seed=0, noise=0.0)
        >>> s = ml.viz.linear_regression_surface(data)
        >>> s.center.round(3).tolist(), round(s.offset, 8)
        ([2.0, -3.4], 0.0)
    """
    from momentumlab.data import LinearData

    check_type("data", data, LinearData, "a momentumlab.data.LinearData")
    if data.n_outputs != 1:
        raise ValueError(f"data must have exactly 1 output, got {data.n_outputs}")
    if data.n_features < 2:
        raise ValueError(f"data must have at least 2 features, got {data.n_features}")
    if not (isinstance(features, tuple) and len(features) == 2):
        raise TypeError(f"features must be a pair of feature indices, got {features!r}")
    i, j = (check_int("features[k]", f, low=0, high=data.n_features - 1) for f in features)
    if i == j:
        raise ValueError(f"features must name two different features, got {features!r}")
    X, y = data.numpy()
    if bias is None:
        fit = least_squares((X, y))
    else:
        b = check_float("bias", bias)
        with np.errstate(over="ignore", invalid="ignore"):
            shifted = y.astype(np.float64) - b
            check_overflow("surface's loss", {"bias": (bias, 0.5 * np.mean(shifted**2))}, dtype=np.float64)
        fit = least_squares((X, shifted), use_bias=False)
    p = fit.design.shape[1]
    if fit.rank < p:
        raise ValueError(f"data must give a full-rank least-squares problem, got rank {fit.rank} < {p}")
    H = fit.hessian[np.ix_([i, j], [i, j])]
    return QuadraticSurface(H, fit.weight[0, [i, j]], offset=fit.optimal_loss)


def _path_of(run: Any, param: str | None, index: int) -> tuple[Array, str | None, bool]:
    from momentumlab.runner import RunResult

    if isinstance(run, RunResult):
        hist = run.param_history
        if not hist:
            raise ValueError(
                f"runs[{index}] must carry a parameter history: train it with record_params=True, "
                "got an empty param_history"
            )
        if param is None:
            two = [k for k, v in hist.items() if v[0].size == 2]
            if len(two) != 1:
                raise ValueError(
                    "param must name the 2-element parameter to draw when the run has "
                    f"{len(two)} of them; parameters are {sorted(hist)}, got param=None"
                )
            name = two[0]
        else:
            if param not in hist:
                raise ValueError(f"param must be one of {sorted(hist)}, got {param!r}")
            name = param
        arr = np.asarray(hist[name], dtype=np.float64).reshape(len(hist[name]), -1)
        if arr.shape[1] != 2:
            raise ValueError(f"param must name a parameter with 2 elements, got {name!r} with {arr.shape[1]}")
        return arr, name, bool(run.diverged)
    arr = np.asarray(run, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1:
        raise ValueError(
            f"runs[{index}] must be a RunResult or an (n, 2) array of points, got shape {arr.shape}"
        )
    return arr, None, not bool(np.isfinite(arr).all())


def _levels(z: Array, n: int) -> Array:
    finite = z[np.isfinite(z)]
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        return np.array([lo])
    # Geometric spacing above the minimum: rings crowd near the optimum as on a log axis.
    levels: Array = lo + np.geomspace((hi - lo) * 1e-3, hi - lo, n)
    return levels


def plot_trajectory(
    runs: RunResult | Sequence[RunResult | Array],
    surface: QuadraticSurface | Surface,
    *,
    labels: Sequence[str] | None = None,
    param: str | None = None,
    optimum: tuple[float, float] | None = None,
    levels: int | Sequence[float] = 15,
    margin: float = 0.1,
    ax: Axes | None = None,
) -> Axes:
    r"""Draw the loss contours of a two-parameter problem with the path of every run on it.

    The classic picture: on an ill-conditioned quadratic, gradient descent zig-zags across
    the valley while momentum runs along it. Each path is the sequence of recorded
    parameters (``result.param_history``, from ``train(..., record_params=True)``), so it has
    one point per record. The axis limits are the box around every path and the optimum,
    widened by ``margin``; the contours are computed on that box. A diverged run is drawn
    while it stays finite, dashed, ends in a red cross and is labelled "(diverged)"; it does
    not widen the box beyond its start.

    Args:
        runs: :class:`momentumlab.RunResult` objects trained with ``record_params=True`` (the
            drawn parameter must have two elements, e.g. the weight of a two-feature
            regression whose bias is frozen), or ``(n, 2)`` arrays of points.
        surface: a :class:`QuadraticSurface` (see :func:`linear_regression_surface`) or any
            ``f(x, y)`` that evaluates elementwise on NumPy arrays, e.g. a 2-D test function.
        labels: one legend label per run; ``None`` names the config fields that differ.
        param: the parameter to draw from each result; ``None`` picks the only parameter
            with two elements.
        optimum: where to put the star; ``None`` uses the centre of a
            :class:`QuadraticSurface` and draws none for a callable.
        levels: number of contour levels (spaced geometrically above the lowest value on
            the box) or the levels themselves.
        margin: fraction of the box's width and height added on every side, >= 0.
        ax: the Axes to draw on; ``None`` creates a new figure (not registered with pyplot).

    Returns:
        The Axes drawn on.

    Raises:
        ValueError: for a run without parameter history, an ambiguous or wrong ``param``,
            badly shaped points, or a surface that does not return one value per point.
        TypeError: for a surface that is not callable or labels that are not strings.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> bowl = lambda x, y: x**2 + 10 * y**2
        >>> path = np.array([[-2.0, 1.0], [-1.5, -0.8], [-1.0, 0.5], [0.0, 0.0]])
        >>> ax = ml.viz.plot_trajectory([path], bowl, labels=["gd"], optimum=(0.0, 0.0))
        >>> x0, x1 = ax.get_xlim()
        >>> bool(x0 < -2.0 and x1 > 0.0), [line.get_label() for line in ax.lines]
        (True, ['gd', '_start', 'optimum'])
    """
    from momentumlab.runner import RunResult

    given: Any = runs
    if not isinstance(given, (RunResult, Sequence, np.ndarray)) or isinstance(given, str):
        raise TypeError(
            f"runs must be a RunResult or a sequence of RunResults or (n, 2) arrays, got {runs!r}"
        )
    if param is not None:
        check_type("param", param, str, "a parameter name or None")
    items: list[Any] = [runs] if isinstance(runs, RunResult) else list(runs)
    if not items:
        raise ValueError("runs must hold at least one run, got an empty sequence")
    if not callable(surface):
        raise TypeError(
            f"surface must be a QuadraticSurface or a callable f(x, y), got {type(surface).__name__}"
        )
    pad = check_float("margin", margin, low=0.0)
    paths = [_path_of(run, param, k) for k, run in enumerate(items)]
    results = [r for r in items if isinstance(r, RunResult)]
    names = check_labels(labels, len(items))
    if names is None:
        names = (
            auto_labels(results) if len(results) == len(items) else [f"path {k}" for k in range(len(items))]
        )
    if optimum is None and isinstance(surface, QuadraticSurface):
        optimum = (float(surface.center[0]), float(surface.center[1]))

    # The box: every finite point of converged paths, the starts of diverged ones, the optimum.
    pts = [p[np.isfinite(p).all(axis=1)] for p, _, div in paths]
    box = [p[:1] if div else p for p, (_, _, div) in zip(pts, paths, strict=True)]
    if optimum is not None:
        box.append(np.asarray(optimum, dtype=np.float64).reshape(1, 2))
    allpts = np.concatenate([b for b in box if b.size] or [np.zeros((1, 2))])
    lo, hi = allpts.min(axis=0), allpts.max(axis=0)
    span = np.maximum(hi - lo, 1e-3 * np.maximum(1.0, np.abs(hi)))
    lo, hi = lo - pad * span, hi + pad * span

    ax = axes(ax, figsize=(5.5, 4.5))
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 201), np.linspace(lo[1], hi[1], 201))
    with np.errstate(all="ignore"):
        gz = np.asarray(surface(gx, gy), dtype=np.float64)
    if gz.shape != gx.shape:
        raise ValueError(
            f"surface must return one value per point (shape {gx.shape} for the grid), got shape {gz.shape}"
        )
    if not np.isfinite(gz).any():
        raise ValueError("surface must be finite somewhere on the plotted box, got only NaN/inf values")
    lv = _levels(gz, check_int("levels", levels, low=2)) if isinstance(levels, int) else np.asarray(levels)
    ax.contour(gx, gy, masked(gz), levels=lv, colors="0.6", linewidths=0.7, zorder=1)

    for k, ((_, _, div), fin, label) in enumerate(zip(paths, pts, names, strict=True)):
        color = f"C{k % 10}"
        if div:
            label = f"{label} (diverged)"
        ax.plot(
            fin[:, 0],
            fin[:, 1],
            marker="o",
            ls="--" if div else "-",
            color=color,
            ms=2.5,
            lw=1.2,
            label=label,
            zorder=3,
        )
        if fin.size:
            ax.plot(fin[:1, 0], fin[:1, 1], "s", color=color, ms=5, zorder=4, label="_start")
        if div and fin.size:
            inside = fin[((fin >= lo) & (fin <= hi)).all(axis=1)]
            end = inside[-1] if inside.size else fin[0]
            ax.plot([end[0]], [end[1]], "x", color=DIVERGED_COLOR, ms=10, mew=2, zorder=5, label="_diverged")
    if optimum is not None:
        ax.plot([optimum[0]], [optimum[1]], "*", color="black", ms=12, zorder=5, label="optimum")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    pname = next((n for _, n, _ in paths if n is not None), None)
    if pname is None:
        xl, yl = "x", "y"
    elif pname.endswith("weight"):
        xl, yl = "$w_1$", "$w_2$"
    else:
        xl, yl = f"{pname}[0]", f"{pname}[1]"
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)
    ax.legend(fontsize="small")
    return ax
