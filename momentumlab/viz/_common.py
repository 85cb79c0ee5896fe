"""Shared pieces of every figure: a fresh Axes, result checks, labels, the diverged style."""

from __future__ import annotations

import dataclasses
import numbers
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from momentumlab.runner import RunResult

#: Colour of everything that marks a diverged run or cell.
DIVERGED_COLOR = "tab:red"


def in_notebook() -> bool:
    """Whether this runs inside a Jupyter kernel (an IPython ``ZMQInteractiveShell``).

    Only looks at modules already imported; never imports IPython.
    """
    ipython = sys.modules.get("IPython")
    if ipython is None or "ipykernel" not in sys.modules:
        return False
    shell = ipython.get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def axes(ax: Axes | None, figsize: tuple[float, float] = (5.0, 3.5)) -> Axes:
    """``ax`` itself, or the Axes of a new figure.

    In a Jupyter kernel the new figure is made with pyplot, so the notebook's backend (inline,
    widget) shows it under the cell; elsewhere it is a Figure not registered with pyplot (safe
    headless and in threads, and nothing accumulates in pyplot's figure list).
    """
    if ax is not None:
        from matplotlib.axes import Axes

        if not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
        return ax
    if in_notebook():
        import matplotlib.pyplot as plt

        return plt.figure(figsize=figsize, layout="constrained").add_subplot()
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def masked(values: Any) -> Any:
    """``values`` as a masked array with NaN/inf masked (drawn as gaps)."""
    return np.ma.masked_invalid(values)  # type: ignore[no-untyped-call]


def check_results(name: str, results: Any) -> list[RunResult]:
    """A non-empty list of RunResults from one result or a sequence of them."""
    from momentumlab.runner import RunResult

    if isinstance(results, RunResult):
        return [results]
    if not isinstance(results, Sequence) or isinstance(results, str):
        raise TypeError(
            f"{name} must be a RunResult or a sequence of RunResults, got {type(results).__name__}"
        )
    out = list(results)
    if not out:
        raise ValueError(f"{name} must hold at least one RunResult, got an empty sequence")
    for i, r in enumerate(out):
        if not isinstance(r, RunResult):
            raise TypeError(f"{name}[{i}] must be a RunResult, got {type(r).__name__}")
    return out


def check_labels(labels: Any, n: int) -> list[str] | None:
    """``None`` or a list of ``n`` strings."""
    if labels is None:
        return None
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise TypeError(f"labels must be a sequence of str or None, got {type(labels).__name__}")
    out = [str(v) for v in labels]
    if len(out) != n:
        raise ValueError(f"labels must have one entry per run ({n}), got {len(out)}")
    return out


def _short(value: Any) -> str:
    if isinstance(value, float | int | numbers.Real):
        return f"{float(value):g}"
    if callable(value) and not dataclasses.is_dataclass(value):
        return getattr(value, "__name__", type(value).__name__)
    return str(value)


def auto_labels(results: Sequence[RunResult]) -> list[str]:
    """Labels naming the config fields in which the runs differ, e.g. ``"momentum=0.9"``."""
    if len(results) == 1:
        return ["run"]
    names = [f.name for f in dataclasses.fields(results[0].config)]
    varying = [n for n in names if len({repr(getattr(r.config, n)) for r in results}) > 1]
    if not varying:
        return [f"run {i}" for i in range(len(results))]
    return [", ".join(f"{n}={_short(getattr(r.config, n))}" for n in varying) for r in results]
