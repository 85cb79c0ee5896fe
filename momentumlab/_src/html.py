"""Small HTML pieces for notebook summaries (``_repr_html_``): a key/value table and a sparkline.

Layer 0: plain strings and NumPy only, so the runner and the sweep package can use it without
importing any plotting library.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from typing import Any

import numpy as np


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return html.escape(str(value))


def table(title: str, rows: Iterable[tuple[str, Any]], *, extra: str = "") -> str:
    """An HTML table of ``(name, value)`` rows under a bold title, with optional extra HTML.

    Example:
        >>> table("Run", [("loss", 0.5), ("ok", True)]).count("<tr>")
        2
    """
    body = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
        f"<td style='text-align:left'>{_cell(v)}</td></tr>"
        for k, v in rows
    )
    return (
        f"<div><b>{html.escape(title)}</b>{extra}"
        f"<table style='border-collapse:collapse'>{body}</table></div>"
    )


def sparkline(values: Any, *, width: int = 160, height: int = 36, log: bool = True) -> str:
    """An inline SVG polyline of the finite (positive, when ``log``) ``values``; ``""`` if < 2.

    Example:
        >>> sparkline([1.0, 0.1, 0.01]).startswith("<svg")
        True
        >>> sparkline([float("nan")])
        ''
    """
    y = np.asarray(values, dtype=float).ravel()
    x = np.arange(y.size, dtype=float)
    keep = np.isfinite(y) & ((y > 0) if log else True)
    x, y = x[keep], y[keep]
    if y.size < 2:
        return ""
    if log:
        y = np.log10(y)
    span_x = max(float(x.max() - x.min()), 1e-12)
    span_y = max(float(y.max() - y.min()), 1e-12)
    px = 2 + (x - x.min()) / span_x * (width - 4)
    py = 2 + (1.0 - (y - y.min()) / span_y) * (height - 4)
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"style='display:block'><polyline fill='none' stroke='#1f77b4' stroke-width='1.5' "
        f"points='{points}'/></svg>"
    )
