"""The frozen result of one run."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from momentumlab._src.types import Array
from momentumlab.runner._config import RunConfig


def divergence_message(epoch: int, *, loss_ok: bool) -> str:
    """The message of a run stopped in ``epoch`` by a non-finite loss or parameters."""
    return f"diverged in epoch {epoch}: non-finite {'loss' if not loss_ok else 'parameters'}"


def finished_message(epochs: int, steps: int, final_loss: float) -> str:
    """The message of a run that ran to its end."""
    return f"finished {epochs} epoch(s), {steps} updates, final loss {final_loss:.4e}"


def end_epoch(
    epoch: int,
    *,
    learning_rate: float,
    loss: float,
    step: int,
    loss_ok: bool,
    params_ok: bool,
    callback: Callable[[EpochInfo], None] | None,
) -> str:
    """Report an epoch (log and callback) and return ``""``, or the divergence message.

    Every path of :func:`momentumlab.train` ends its epochs here, so they report alike.
    """
    logger = logging.getLogger("momentumlab")
    if callback is not None or logger.isEnabledFor(logging.INFO):
        info = EpochInfo(epoch=epoch, learning_rate=float(learning_rate), loss=loss, step=step)
        logger.info("epoch %d: learning rate %g, loss %.4e", epoch, info.learning_rate, info.loss)
        if callback is not None:
            callback(info)
    if loss_ok and params_ok:
        return ""
    message = divergence_message(epoch, loss_ok=loss_ok)
    logger.warning(message)
    return message


def _readonly(a: Array) -> Array:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, kw_only=True)
class EpochInfo:
    """What a callback receives at the end of every epoch.

    Attributes:
        epoch: the epoch just finished (from 1).
        learning_rate: the learning rate of the last update of that epoch.
        loss: the last recorded full-dataset loss.
        step: number of updates done so far.
    """

    epoch: int
    learning_rate: float
    loss: float
    step: int


@dataclass(frozen=True, kw_only=True, eq=False)
class RunResult:
    """Everything a run produced. Arrays are read-only.

    Attributes:
        config: the config that ran.
        losses: recorded mean full-dataset losses, the first one before any update (float32
            values on the Gluon path; float64 on the fast and vectorized paths).
        record_steps: number of updates completed at each record.
        learning_rates: the learning rate MXNet used for every update.
        momenta: the momentum MXNet used for every update (``nan`` when the optimizer has none).
        params: final parameters by name (see :func:`momentumlab.models.get_params`).
        weight: final ``(n_outputs, n_features)`` weight of a linear net, else ``None``.
        bias: final ``(n_outputs,)`` bias of a linear net, else ``None``.
        wall_time: seconds spent in ``train``.
        diverged: whether a NaN/inf loss or parameter stopped the run early.
        n_steps: updates done.
        steps_per_epoch: updates per full epoch.
        epochs_completed: epochs run to the end.
        final_loss: the mean full-dataset loss of the final parameters (evaluated once at the
            end, so it is exact even when the last record came before the last update).
        message: a short human-readable summary.
        path: which implementation ran: ``"gluon"``, ``"imperative"`` (a net that is not a
            ``HybridBlock``), ``"fast"`` (see :func:`momentumlab.train`) or ``"vectorized"``
            (:func:`momentumlab.train_many`).
        param_history: with ``train(..., record_params=True)``, every parameter at every
            record, shape ``(n_records, *param.shape)``, keyed like ``params``; else empty.
        metrics: the problem's held-out metric at the same positions as ``losses`` (empty
            when the problem has none).
        metric_name: which metric (see :data:`momentumlab.problems.METRICS`), or ``None``.
        problem_name: the problem's name.
    """

    config: RunConfig
    losses: Array
    record_steps: Array
    learning_rates: Array
    momenta: Array
    params: dict[str, Array]
    weight: Array | None
    bias: Array | None
    wall_time: float
    diverged: bool
    n_steps: int
    steps_per_epoch: int
    epochs_completed: int
    final_loss: float = math.nan
    message: str = ""
    path: str = "gluon"
    param_history: dict[str, Array] = field(default_factory=dict)
    metrics: Array = field(default_factory=lambda: np.zeros(0))
    metric_name: str | None = None
    problem_name: str = ""

    def __post_init__(self) -> None:
        for name in ("losses", "record_steps", "learning_rates", "momenta", "metrics"):
            _readonly(getattr(self, name))

    @property
    def record_epochs(self) -> Array:
        """Position of each record in epochs: ``record_steps / steps_per_epoch``."""
        return _readonly(self.record_steps / float(max(self.steps_per_epoch, 1)))

    def epoch_loss(self, epoch: int) -> float:
        """The last loss recorded at or before the end of ``epoch`` (from 1).

        Example:
            >>> import momentumlab as ml
            >>> r = ml.train(ml.RunConfig(epochs=2), ml.data.make_linear_regression(seed=0))
            >>> r.epoch_loss(2) == r.final_loss
            True
        """
        if epoch < 0 or epoch > self.config.epochs:
            raise ValueError(f"epoch must be in [0, {self.config.epochs}], got {epoch}")
        idx = np.searchsorted(self.record_steps, epoch * self.steps_per_epoch, side="right") - 1
        return float(self.losses[idx]) if idx >= 0 else math.nan

    def __repr__(self) -> str:
        return (
            f"RunResult(final_loss={self.final_loss:.4e}, n_steps={self.n_steps}, "
            f"diverged={self.diverged}, wall_time={self.wall_time:.3f}s, path={self.path!r})"
        )

    def _repr_html_(self) -> str:
        """A notebook summary: the main numbers and a sparkline of the loss (log scale)."""
        from momentumlab._src.html import sparkline, table

        c = self.config
        rows = [
            ("problem", self.problem_name or "-"),
            ("optimizer", c.optimizer),
            ("learning_rate", repr(c.learning_rate) if callable(c.learning_rate) else c.learning_rate),
            ("momentum", repr(c.momentum) if callable(c.momentum) else c.momentum),
            ("batch_size", c.batch_size),
            ("epochs", f"{self.epochs_completed} of {c.epochs}"),
            ("updates", self.n_steps),
            ("final_loss", f"{self.final_loss:.4e}"),
            ("diverged", self.diverged),
            ("wall_time", f"{self.wall_time:.3f} s"),
            ("message", self.message),
        ]
        if self.metric_name is not None and self.metrics.size:
            rows.insert(8, (self.metric_name, float(self.metrics[-1])))
        return table("RunResult", rows, extra=sparkline(self.losses))
