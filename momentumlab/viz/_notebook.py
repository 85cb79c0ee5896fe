"""Notebook helpers: a live loss curve (an epoch callback) and a sweep progress bar (tqdm.auto)."""

from __future__ import annotations

import io
import math
import os
import warnings
from typing import TYPE_CHECKING, Any

from momentumlab._src.checks import check_bool, check_type
from momentumlab.viz._common import in_notebook

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from momentumlab.runner import EpochInfo
    from momentumlab.sweep import SweepProgress


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


class LiveLoss:
    """An epoch callback that draws the loss as training goes.

    Pass it as ``callback`` to :func:`momentumlab.train`. After every epoch it redraws one
    figure (log-scale loss against epochs): in a Jupyter notebook the image under the cell is
    updated in place (an IPython display handle, so the cell shows one picture, not one per
    epoch); with ``path`` the PNG file there is rewritten (written beside it and moved over it,
    so a viewer never sees half a file), which is how a script watches a run. Outside a
    notebook and without ``path`` it only keeps the numbers. Nothing is printed.

    Args:
        path: a PNG file to refresh after every epoch, or ``None``.
        title: the figure's title.
        display: show the figure in the notebook (``None``: when running in a Jupyter kernel).

    Attributes:
        epochs: the epochs seen so far.
        losses: the loss reported at the end of each of them.
        figure: the matplotlib Figure drawn (``None`` before the first epoch).

    Example:
        >>> import os, tempfile, momentumlab as ml
        >>> png = os.path.join(tempfile.mkdtemp(), "live.png")
        >>> live = ml.viz.LiveLoss(path=png)
        >>> r = ml.train(ml.RunConfig.chapter(), ml.data.make_linear_regression(seed=0), callback=live)
        >>> live.epochs, os.path.getsize(png) > 0
        ([1, 2, 3], True)
    """

    def __init__(
        self, *, path: str | os.PathLike[str] | None = None, title: str = "loss", display: bool | None = None
    ) -> None:
        if path is not None:
            check_type("path", path, (str, os.PathLike), "a str, a PathLike or None")
        check_type("title", title, str, "a str")
        if display is not None:
            check_bool("display", display)
        self.path = None if path is None else os.fspath(path)
        self.title = title
        self._display = in_notebook() if display is None else display
        self.epochs: list[int] = []
        self.losses: list[float] = []
        self.figure: Figure | None = None
        self._handle: Any = None

    def __call__(self, info: EpochInfo) -> None:
        """Record ``info`` and redraw."""
        self.epochs.append(int(info.epoch))
        self.losses.append(float(info.loss))
        self._draw()
        if self.figure is None:  # pragma: no cover - _draw always makes one
            return
        if self._display or self.path is not None:
            png = _png(self.figure)
            if self.path is not None:
                part = self.path + ".part"
                with open(part, "wb") as fh:
                    fh.write(png)
                os.replace(part, self.path)
            if self._display:
                self._show(png)

    def _draw(self) -> None:
        from matplotlib.figure import Figure

        if self.figure is None:
            self.figure = Figure(figsize=(5.0, 3.2), layout="constrained")
            self.figure.add_subplot()
        ax = self.figure.axes[0]
        ax.clear()
        good = [(e, v) for e, v in zip(self.epochs, self.losses, strict=True) if math.isfinite(v) and v > 0]
        if good:
            xs, ys = zip(*good, strict=True)
            ax.semilogy(xs, ys, "o-")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        last = self.losses[-1]
        ax.set_title(f"{self.title}: epoch {self.epochs[-1]}, loss {last:.4e}", fontsize="small")

    def _show(self, png: bytes) -> None:
        import importlib

        ipd: Any = importlib.import_module("IPython.display")
        image = ipd.Image(data=png, format="png")
        if self._handle is None:
            self._handle = ipd.display(image, display_id=True)
        else:
            self._handle.update(image)


class ProgressBar:
    """A progress callback for :func:`momentumlab.sweep.run_sweep` drawn with ``tqdm.auto``.

    ``tqdm.auto`` draws a widget bar in a notebook (with ipywidgets) and a text bar elsewhere.
    Needs tqdm (the ``sweep`` extra). Close it when the sweep is over (or use it in ``with``).

    Args:
        desc: the bar's label.

    Example:
        >>> import os, tempfile, momentumlab as ml
        >>> points = ml.sweep.grid(ml.RunConfig(epochs=1), {"momentum": [0.0, 0.5]})
        >>> store = os.path.join(tempfile.mkdtemp(), "s.sqlite")
        >>> data = ml.data.make_linear_regression(seed=0)
        >>> with ml.viz.ProgressBar(disable=True) as bar:
        ...     s = ml.sweep.run_sweep(points, data, store, progress=bar)
        >>> bar.completed, s.n_done
        (2, 2)
    """

    def __init__(self, desc: str = "runs", *, disable: bool = False) -> None:
        check_type("desc", desc, str, "a str")
        self.desc = desc
        self.disable = check_bool("disable", disable)
        self.completed = 0
        self._bar: Any = None

    def __call__(self, p: SweepProgress) -> None:
        """Advance the bar by one finished row (the first call only sizes it)."""
        if self._bar is None:
            with warnings.catch_warnings():
                # without ipywidgets tqdm.auto warns and falls back to the text bar: fine here
                warnings.filterwarnings("ignore", message=".*IProgress not found.*")
                from tqdm.auto import tqdm

            self._bar = tqdm(total=p.total, desc=self.desc, unit="run", disable=self.disable)
        if p.key:
            self.completed += 1
            self._bar.update(1)
            if p.status != "done":
                self._bar.set_postfix_str(f"last: {p.status}", refresh=False)

    def close(self) -> None:
        """Close the bar."""
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
