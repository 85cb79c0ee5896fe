"""The momentum explorer: one self-contained HTML page of real runs with sliders (Bokeh)."""

from __future__ import annotations

import dataclasses
import html
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from momentumlab._src.checks import check_int, check_type

if TYPE_CHECKING:
    from momentumlab.data import LinearData
    from momentumlab.runner import RunConfig, RunResult

#: Colours of the eigen-direction error lines (smallest eigenvalue first).
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


@dataclasses.dataclass(frozen=True)
class _Grid:
    learning_rates: Any
    momenta: Any
    results: list[RunResult]  # row-major: momentum index outer, learning-rate index inner


def default_problem() -> LinearData:
    """The explorer's default data: a centred two-feature regression with condition number 20.

    Example:
        >>> import momentumlab as ml
        >>> from momentumlab.viz._explorer import default_problem
        >>> default_problem().n_features
        2
    """
    from momentumlab.data import make_conditioned_regression

    return make_conditioned_regression(200, 2, condition_number=20.0, seed=0)


def _finite(a: Any, dtype: Any = np.float32) -> Any:
    out = np.asarray(a, dtype=np.float64)
    out = np.where(np.isfinite(out) & (np.abs(out) < 1e30), out, np.nan)
    return out.astype(dtype)


def _run_grid(data: LinearData, base: RunConfig, lrs: Any, moms: Any) -> _Grid:
    from momentumlab.runner import train
    from momentumlab.sweep import grid

    lr_index = {float(a): i for i, a in enumerate(lrs)}
    m_index = {float(m): j for j, m in enumerate(moms)}
    points = grid(base, {"learning_rate": list(lr_index), "momentum": list(m_index)})
    slots: list[RunResult | None] = [None] * (len(lrs) * len(moms))
    for point in points:
        c = point.config
        k = m_index[float(c.momentum)] * len(lrs) + lr_index[float(c.learning_rate)]  # type: ignore[arg-type]
        slots[k] = train(c, data, record_params=True)
    results = [r for r in slots if r is not None]
    if len(results) != len(slots):  # pragma: no cover - grid() makes every pair once
        raise RuntimeError("the sweep grid did not cover every (learning rate, momentum) pair")
    return _Grid(np.asarray(lrs, dtype=float), np.asarray(moms, dtype=float), results)


def _params(result: RunResult) -> Any:
    """``(n_records, p)``: every record's weights then bias (the bias last, as in the theory)."""
    names = sorted(result.param_history)
    w = [n for n in names if n.endswith("weight")]
    b = [n for n in names if n.endswith("bias")]
    cols = [result.param_history[n].reshape(len(result.losses), -1) for n in w + b]
    return np.concatenate(cols, axis=1)


def explorer(
    data: LinearData | None = None,
    *,
    learning_rates: Sequence[float] | None = None,
    momenta: Sequence[float] | None = None,
    steps: int = 60,
    path: str | os.PathLike[str] | None = None,
    title: str = "momentumlab: the momentum explorer",
) -> str:
    r"""Write an interactive page: sliders for learning rate and momentum over a grid of real runs.

    Every (learning rate, momentum) pair of the grid is trained in advance, full batch from
    the same :math:`N(0, 1)` start (``steps`` updates, one loss record per update), with
    :func:`momentumlab.train`. The page shows, for the pair the sliders pick: the loss curve;
    for two features, the path of the two weights on the loss contours (the bias held at its
    optimum); the error along each eigen-direction of the Hessian, :math:`|v_i^\top(\theta -
    \theta^*)|`; and the map of the final loss over the grid with the current point and the
    stability boundary :func:`momentumlab.theory.max_stable_learning_rate`. Runs that diverge
    are drawn up to their last finite value.

    The page is one HTML file with every script inline (Bokeh's ``INLINE`` resources and the
    data as typed arrays), so it opens from disk without a network. Needs Bokeh (the
    ``explore`` extra: ``pip install -e ".[explore]"`` in the checkout).

    Args:
        data: a one-output :class:`momentumlab.data.LinearData`; ``None`` for a centred
            two-feature regression with condition number 20.
        learning_rates: the grid's learning rates (positive, increasing); ``None`` for 30
            geometric values from ``0.02 / lam_max`` to ``4 / lam_max``.
        momenta: the grid's momenta (in ``[0, 1)``, increasing); ``None`` for 30 values from
            0 to 0.97.
        steps: full-batch updates per run.
        path: where to write the page; ``None`` writes nothing.
        title: the page's title.

    Returns:
        The page's HTML.

    Raises:
        ValueError: for an empty or non-increasing grid, a value out of range, or ``steps < 1``.
        ImportError: when Bokeh is not installed (the message says which extra to install).

    Example:
        >>> import momentumlab as ml
        >>> page = ml.viz.explorer(learning_rates=[0.1, 0.5], momenta=[0.0, 0.9], steps=5)
        >>> page.startswith("<!DOCTYPE html>"), "cdn.bokeh.org" in page
        (True, False)
    """
    try:
        import bokeh  # noqa: F401
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "explorer needs Bokeh: pip install -e '.[explore]' in the momentumlab checkout"
        ) from err
    from momentumlab import theory
    from momentumlab.data import LinearData
    from momentumlab.runner import RunConfig

    if data is None:
        data = default_problem()
    check_type("data", data, LinearData, "a LinearData")
    if path is not None:
        check_type("path", path, (str, os.PathLike), "a str, a PathLike or None")
    check_type("title", title, str, "a str")
    steps = check_int("steps", steps, low=1, high=10_000)
    q = theory.least_squares(data)
    lam_max = float(q.eigenvalues[-1])
    lrs = _axis("learning_rates", learning_rates, np.geomspace(0.02 / lam_max, 4.0 / lam_max, 30), 0.0, None)
    moms = _axis("momenta", momenta, np.linspace(0.0, 0.97, 30), -1e-300, 1.0)
    base = RunConfig(batch_size=data.n_samples, epochs=steps, shuffle=False, init_sigma=1.0)
    g = _run_grid(data, base, lrs, moms)
    page = _page(g, data, q, title)
    if path is not None:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(page)
    return page


def _axis(name: str, values: Any, default: Any, low: float, high: float | None) -> Any:
    if values is None:
        return np.asarray(default, dtype=float)
    if not isinstance(values, Sequence | np.ndarray) or isinstance(values, str):
        raise TypeError(f"{name} must be a sequence of floats or None, got {type(values).__name__}")
    a = np.asarray(values, dtype=float).ravel()
    allowed = f"({low:g}, {high:g})" if high is not None else f"({low:g}, inf)"
    if low < 0:
        allowed = "[0, 1)"
    if a.size == 0:
        raise ValueError(f"{name} must hold at least one value, got an empty sequence")
    bad = ~np.isfinite(a) | (a <= low) | ((a >= high) if high is not None else False)
    if bad.any():
        raise ValueError(f"{name} must be in {allowed}, got {a[bad][0]:g}")
    if a.size > 1 and not (np.diff(a) > 0).all():
        raise ValueError(f"{name} must be increasing, got {a.tolist()}")
    return a


def _page(g: _Grid, data: LinearData, q: Any, title: str) -> str:
    from bokeh.embed import file_html
    from bokeh.layouts import column, gridplot, row
    from bokeh.models import (
        ColorBar,
        ColumnDataSource,
        CustomJS,
        Div,
        LinearColorMapper,
        Range1d,
        Slider,
    )
    from bokeh.plotting import figure
    from bokeh.resources import INLINE

    from momentumlab import theory

    n_lr, n_m = len(g.learning_rates), len(g.momenta)
    n_rec = max(len(r.losses) for r in g.results)
    steps = np.arange(n_rec, dtype=np.float32)
    losses = np.full((n_m * n_lr, n_rec), np.nan, dtype=np.float32)
    p = len(q.eigenvalues)
    errors = np.full((n_m * n_lr, p, n_rec), np.nan, dtype=np.float32)
    theta_star = np.concatenate([np.ravel(q.weight), np.ravel(q.bias)])[:p]
    two_d = data.n_features == 2
    paths = np.full((n_m * n_lr, 2, n_rec), np.nan, dtype=np.float32)
    final = np.full(n_m * n_lr, np.nan)
    for k, r in enumerate(g.results):
        m = len(r.losses)
        losses[k, :m] = _finite(r.losses)
        theta = _params(r)[:, :p]
        err = np.abs((theta - theta_star) @ q.eigenvectors)
        errors[k, :, :m] = _finite(err.T)
        if two_d:
            paths[k, :, :m] = _finite(theta[:, :2].T)
        final[k] = r.final_loss if np.isfinite(r.final_loss) else np.nan
    start_loss = float(np.nanmax(losses[:, 0]))

    i0, j0 = n_lr // 2, n_m // 2
    k0 = j0 * n_lr + i0
    tools = "pan,wheel_zoom,box_zoom,reset,save"

    # loss curve
    loss_src = ColumnDataSource({"step": steps, "loss": losses[k0]}, name="loss_src")
    f_loss = figure(title="loss", y_axis_type="log", width=420, height=300, tools=tools,
                    x_axis_label="update", y_axis_label="loss (full data set)")
    finite_losses = losses[np.isfinite(losses) & (losses > 0)]
    low = float(max(finite_losses.min(), q.optimal_loss * 0.5, 1e-12)) if finite_losses.size else 1e-6
    f_loss.y_range = Range1d(start=low, end=start_loss * 100.0)
    f_loss.line("step", "loss", source=loss_src, line_width=2)
    f_loss.line([0, n_rec - 1], [max(q.optimal_loss, low)] * 2, line_dash="dashed", color="gray",
                legend_label="optimal loss")

    # error along each eigen-direction
    err_src = ColumnDataSource({"step": steps, **{f"e{i}": errors[k0, i] for i in range(p)}}, name="err_src")
    f_err = figure(title="error along each eigen-direction of the Hessian", y_axis_type="log", width=420,
                   height=300, tools=tools, x_axis_label="update", y_axis_label="|v_i · (θ - θ*)|")
    finite_err = errors[np.isfinite(errors) & (errors > 0)]
    e_low = float(max(np.percentile(finite_err, 1), 1e-12)) if finite_err.size else 1e-8
    e_top = float(np.nanmax(errors[:, :, 0])) * 100.0
    f_err.y_range = Range1d(start=e_low, end=e_top)
    for i in range(p):
        f_err.line("step", f"e{i}", source=err_src, line_width=2, color=_COLORS[i % len(_COLORS)],
                   legend_label=f"λ = {q.eigenvalues[i]:.3g}")
    f_err.legend.location = "bottom_left"

    # map of the final loss over the grid, the current point and the stability boundary
    log_lr = np.log10(g.learning_rates)
    lr_edges = _edges(log_lr, 0.2)
    m_edges = _edges(g.momenta, 0.1)
    heights = float(np.diff(m_edges).min())
    jj, ii = np.divmod(np.arange(n_m * n_lr), n_lr)
    value = np.log10(np.clip(np.where(np.isfinite(final), final, start_loss), 1e-12, start_loss))
    mapper = LinearColorMapper(
        palette="Viridis256",
        low=float(np.nanmin(value)),
        high=float(np.log10(start_loss)),
        nan_color="#d62728",
    )
    cells = ColumnDataSource({
        "x": (lr_edges[:-1] + lr_edges[1:])[ii] / 2, "w": np.diff(lr_edges)[ii],
        "y": (m_edges[:-1] + m_edges[1:])[jj] / 2, "h": np.diff(m_edges)[jj],
        "v": np.where(np.isfinite(final), value, np.nan),
    })
    f_map = figure(title="final loss (log10; red: diverged)", width=420, height=320, tools=tools,
                   x_axis_label="log10 learning rate", y_axis_label="momentum")
    f_map.rect("x", "y", width="w", height="h", source=cells, line_color=None,
               fill_color={"field": "v", "transform": mapper})
    f_map.add_layout(ColorBar(color_mapper=mapper, width=8), "right")
    mb = np.linspace(0.0, min(0.999, float(g.momenta.max()) + heights / 2), 100)
    boundary = np.log10([theory.max_stable_learning_rate(q, float(m)) for m in mb])
    f_map.line(
        boundary, mb, color="black", line_dash="dashed", line_width=2, legend_label="stability boundary"
    )
    f_map.x_range = Range1d(start=lr_edges[0], end=lr_edges[-1])
    f_map.y_range = Range1d(start=m_edges[0], end=m_edges[-1])
    cur = ColumnDataSource({"x": [log_lr[i0]], "y": [g.momenta[j0]]}, name="current")
    f_map.scatter("x", "y", source=cur, size=14, marker="circle", fill_color=None, line_color="white",
                  line_width=3)
    f_map.legend.location = "bottom_left"

    figs: list[Any] = [f_loss, f_err, f_map]
    path_src = ColumnDataSource({"x": paths[k0, 0], "y": paths[k0, 1]}, name="path_src")
    if two_d:
        from momentumlab.viz._trajectory import linear_regression_surface

        surface = linear_regression_surface(data)
        c = np.asarray(surface.center, dtype=float)
        start = paths[:, :, 0]
        span = np.nanmax(np.abs(start - c[:, None].T), axis=0) * 1.3 + 1e-3
        xs = np.linspace(c[0] - span[0], c[0] + span[0], 120)
        ys = np.linspace(c[1] - span[1], c[1] + span[1], 120)
        X, Y = np.meshgrid(xs, ys)
        Z = np.asarray(surface(X, Y), dtype=float)
        zmin = float(Z.min())
        levels = zmin + (float(Z.max()) - zmin) * np.geomspace(1e-3, 1.0, 12)
        f_path = figure(title="the two weights on the loss contours", width=420, height=320, tools=tools,
                        x_axis_label="w1", y_axis_label="w2", match_aspect=True)
        f_path.contour(xs, ys, Z, levels, line_color="#888888", line_alpha=0.7)
        f_path.x_range = Range1d(start=xs[0], end=xs[-1])
        f_path.y_range = Range1d(start=ys[0], end=ys[-1])
        f_path.line("x", "y", source=path_src, line_width=2, color="#d62728")
        f_path.scatter("x", "y", source=path_src, size=4, color="#d62728")
        f_path.scatter([c[0]], [c[1]], marker="star", size=14, color="black", legend_label="optimum")
        f_path.legend.location = "bottom_left"
        figs.insert(2, f_path)

    info = Div(text="", width=860, name="info")
    lr_slider = Slider(start=0, end=max(n_lr - 1, 1), value=i0, step=1, title="", width=400,
                       show_value=False, disabled=n_lr == 1, name="lr_slider")
    m_slider = Slider(start=0, end=max(n_m - 1, 1), value=j0, step=1, title="", width=400,
                      show_value=False, disabled=n_m == 1, name="m_slider")
    diverged = np.array([bool(r.diverged) for r in g.results])
    callback = CustomJS(
        args={
            "lr_slider": lr_slider, "m_slider": m_slider, "info": info, "loss_src": loss_src,
            "err_src": err_src, "path_src": path_src, "cur": cur,
            "losses": losses.ravel(), "errors": errors.ravel(), "paths": paths.ravel(),
            "lrs": g.learning_rates.tolist(), "moms": g.momenta.tolist(),
            "final": np.nan_to_num(final, nan=-1.0).tolist(),
            "diverged": diverged.tolist(), "n_lr": n_lr, "n_rec": n_rec, "p": p,
        },
        code=_JS,
    )
    lr_slider.js_on_change("value", callback)
    m_slider.js_on_change("value", callback)
    lr_slider.title = f"learning rate {g.learning_rates[i0]:.4g}"
    m_slider.title = f"momentum {g.momenta[j0]:.4g}"
    info.text = _info_text(g.learning_rates[i0], g.momenta[j0], g.results[k0])
    header = Div(
        text=(
            f"<h2>{html.escape(title)}</h2><p>{n_lr * n_m} real full-batch runs "
            f"({len(g.learning_rates)} learning rates x {len(g.momenta)} momenta, {n_rec - 1} updates each) "
            f"on {html.escape(str(data.description.get('name', 'linear regression')))}; Hessian eigenvalues "
            f"{', '.join(f'{v:.3g}' for v in q.eigenvalues)}. Move the sliders.</p>"
        ),
        width=860,
    )
    layout = column(header, row(lr_slider, m_slider), info, gridplot(figs, ncols=2, toolbar_location="right"))
    return str(file_html(layout, resources=INLINE, title=title))


def _edges(centres: Any, pad: float) -> Any:
    """Cell edges around increasing ``centres``: midpoints inside, half a gap beyond the ends."""
    c = np.asarray(centres, dtype=float)
    if c.size == 1:
        return np.array([c[0] - pad / 2, c[0] + pad / 2])
    mid = (c[:-1] + c[1:]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def _info_text(lr: float, m: float, r: RunResult) -> str:
    state = "<b style='color:#d62728'>diverged</b>" if r.diverged else f"final loss {r.final_loss:.4e}"
    return f"<p id='explorer-info'>learning rate {lr:.4g}, momentum {m:.4g}: {state}</p>"


_JS = """
const i = Math.round(lr_slider.value), j = Math.round(m_slider.value);
const k = j * n_lr + i;
const lr = lrs[i], m = moms[j];
lr_slider.title = "learning rate " + lr.toPrecision(4).replace(/\\.?0+$/, "");
m_slider.title = "momentum " + m.toPrecision(4).replace(/\\.?0+$/, "");
const curve = Array.from(losses.slice(k * n_rec, (k + 1) * n_rec));
loss_src.data = {step: loss_src.data.step, loss: curve};
const e = {step: err_src.data.step};
for (let d = 0; d < p; d++) {
  e["e" + d] = Array.from(errors.slice((k * p + d) * n_rec, (k * p + d + 1) * n_rec));
}
err_src.data = e;
path_src.data = {
  x: Array.from(paths.slice((k * 2) * n_rec, (k * 2 + 1) * n_rec)),
  y: Array.from(paths.slice((k * 2 + 1) * n_rec, (k * 2 + 2) * n_rec)),
};
cur.data = {x: [Math.log10(lr)], y: [m]};
const state = diverged[k] ? "<b style='color:#d62728'>diverged</b>"
                          : "final loss " + final[k].toExponential(4);
info.text = "<p id='explorer-info'>learning rate " + lr.toPrecision(4) + ", momentum "
            + m.toPrecision(4) + ": " + state + "</p>";
"""
