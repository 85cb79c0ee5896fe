"""The frozen result of one run."""

from __future__ import annotations

import dataclasses
import logging
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from momentumlab._src.checks import check_bool, check_int, check_type
from momentumlab._src.types import Array
from momentumlab.runner._config import RunConfig

if TYPE_CHECKING:
    from momentumlab.problems import Problem
    from momentumlab.runner._plan import Plan


def divergence_message(epoch: int, reason: str) -> str:
    """The message of a run stopped in ``epoch`` by the divergence rule (``reason`` says which part)."""
    return f"diverged in epoch {epoch}: {reason}"


def finished_message(epochs: int, steps: int, final_loss: float) -> str:
    """The message of a run that ran to its end."""
    return f"finished {epochs} epoch(s), {steps} updates, final loss {final_loss:.4e}"


def end_epoch(
    epoch: int,
    *,
    learning_rate: float,
    loss: float,
    step: int,
    reason: str,
    callback: Callable[[EpochInfo], None] | None,
) -> str:
    """Report an epoch (log and callback) and return ``""``, or the divergence message.

    Every engine ends its epochs here, with ``reason`` from
    :func:`momentumlab.runner._divergence.divergence_reason`, so they report alike.
    """
    logger = logging.getLogger("momentumlab")
    if callback is not None or logger.isEnabledFor(logging.INFO):
        info = EpochInfo(epoch=epoch, learning_rate=float(learning_rate), loss=loss, step=step)
        logger.info("epoch %d: learning rate %g, loss %.4e", epoch, info.learning_rate, info.loss)
        if callback is not None:
            callback(info)
    if not reason:
        return ""
    message = divergence_message(epoch, reason)
    logger.warning(message)
    return message


def _readonly(a: Array) -> Array:
    a.setflags(write=False)
    return a


#: The 1-D per-record and per-update arrays of a :class:`RunResult`.
_ARRAY_FIELDS = ("losses", "record_steps", "learning_rates", "momenta", "metrics")


def _frozen(values: Array | Sequence[float], dtype: type) -> Array:
    """``values`` as an array of ``dtype`` the result may keep: a read-only array of that dtype
    (whose base is read-only too, like a slice of a plan's array) is kept without a copy,
    anything else is copied."""
    if type(values) is np.ndarray and values.dtype == dtype and not values.flags.writeable:
        base = values.base
        if base is None or (type(base) is np.ndarray and not base.flags.writeable):
            return values
    return np.array(values, dtype=dtype)


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
            values on the Gluon engine; float64 on the NumPy engines).
        record_steps: number of updates completed at each record.
        learning_rates: the learning rate MXNet used for every update.
        momenta: the momentum MXNet used for every update (``nan`` when the optimizer has none).
        params: final parameters by name (see :func:`momentumlab.models.get_params`).
        weight: final ``(n_outputs, n_features)`` weight of a linear net, else ``None``.
        bias: final ``(n_outputs,)`` bias of a linear net, else ``None``.
        wall_time: seconds spent in ``train``.
        diverged: whether the divergence rule stopped the run early (a non-finite loss, a loss
            above 1e30 or a non-finite parameter at the end of an epoch).
        n_steps: updates done.
        steps_per_epoch: updates per full epoch.
        epochs_completed: epochs run to the end.
        final_loss: the mean full-dataset loss of the final parameters (evaluated once at the
            end, so it is exact even when the last record came before the last update).
        message: a short human-readable summary.
        engine: which engine ran: ``"gluon"``,
            ``"imperative"`` (the Gluon loop on a net that is not a ``HybridBlock``),
            ``"numpy"`` (the NumPy engine of :func:`momentumlab.train`) or
            ``"numpy-batched"`` (the same NumPy engine running K configurations at once,
            :func:`momentumlab.train_many`).
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
    engine: str = "gluon"
    param_history: dict[str, Array] = field(default_factory=dict)
    metrics: Array = field(default_factory=lambda: np.zeros(0))
    metric_name: str | None = None
    problem_name: str = ""

    def __post_init__(self) -> None:
        self._check_types()
        for name in _ARRAY_FIELDS:
            getattr(self, name).setflags(write=False)
        n_records, n_steps = len(self.losses), self.n_steps
        if (
            len(self.record_steps) != n_records
            or len(self.learning_rates) != n_steps
            or len(self.momenta) != n_steps
            or len(self.metrics) not in (0, n_records)
        ):
            lengths = {
                "record_steps": (len(self.record_steps), n_records, "len(losses)"),
                "learning_rates": (len(self.learning_rates), n_steps, "n_steps"),
                "momenta": (len(self.momenta), n_steps, "n_steps"),
                "metrics": (len(self.metrics) or n_records, n_records, "len(losses) (or 0 without a metric)"),
            }
            for name, (got, want, what) in lengths.items():
                if got != want:
                    raise ValueError(f"{name} must have {what} = {want} entries, got {got}")
        for pname, history in self.param_history.items():
            if np.shape(history)[:1] != (n_records,):
                raise ValueError(
                    f"param_history[{pname!r}] must have len(losses) = {n_records} entries, "
                    f"got shape {np.shape(history)}"
                )

    def _check_types(self) -> None:
        """Every field of its type: a record of what ran, so values (NaN in a diverged run) are free.

        The common case (exact ``ndarray``, ``float``, ``int``, ``str`` and ``dict`` fields, as
        :func:`build_result` makes them) is recognised in a few comparisons; anything else goes
        through the full checks, which also write the messages.
        """
        if self._plain_types():
            return
        check_type("config", self.config, RunConfig, "a RunConfig")
        for name in _ARRAY_FIELDS:
            value = getattr(self, name)
            check_type(name, value, np.ndarray, "a 1-D numpy.ndarray of numbers")
            if value.ndim != 1:
                raise ValueError(f"{name} must be a 1-D numpy.ndarray, got shape {value.shape}")
            if value.dtype.kind not in "iuf":
                raise TypeError(f"{name} must be a 1-D numpy.ndarray of numbers, got dtype {value.dtype}")
        for name in ("weight", "bias"):
            if getattr(self, name) is not None:
                check_type(name, getattr(self, name), np.ndarray, "a numpy.ndarray or None")
        for name in ("params", "param_history"):
            check_type(name, getattr(self, name), dict, "a dict of parameter name -> numpy.ndarray")
        for name in ("wall_time", "final_loss"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{name} must be a real number, got {value!r}")
        check_bool("diverged", self.diverged)
        for name in ("n_steps", "steps_per_epoch", "epochs_completed"):
            check_int(name, getattr(self, name), low=0)
        for name in ("message", "engine", "problem_name"):
            check_type(name, getattr(self, name), str, "a str")
        if self.metric_name is not None:
            check_type("metric_name", self.metric_name, str, "a str or None")

    def _plain_types(self) -> bool:
        """Whether every field has exactly the type (and arrays the shape) the full checks allow."""
        for name in _ARRAY_FIELDS:
            a = getattr(self, name)
            if type(a) is not np.ndarray or a.ndim != 1 or a.dtype.kind not in "iuf":
                return False
        return (
            type(self.config) is RunConfig
            and (self.weight is None or type(self.weight) is np.ndarray)
            and (self.bias is None or type(self.bias) is np.ndarray)
            and type(self.params) is dict
            and type(self.param_history) is dict
            and type(self.wall_time) is float
            and type(self.final_loss) is float
            and type(self.diverged) is bool
            and type(self.n_steps) is int
            and type(self.steps_per_epoch) is int
            and type(self.epochs_completed) is int
            and min(self.n_steps, self.steps_per_epoch, self.epochs_completed) >= 0
            and type(self.message) is str
            and type(self.engine) is str
            and type(self.problem_name) is str
            and (self.metric_name is None or type(self.metric_name) is str)
        )

    def __eq__(self, other: object) -> bool:
        """Field by field: arrays equal in shape, dtype and value (NaN equals NaN)."""
        if not isinstance(other, RunResult):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in dataclasses.fields(self))

    __hash__ = None  # type: ignore[assignment]

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
            f"diverged={self.diverged}, wall_time={self.wall_time:.3f}s, engine={self.engine!r})"
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


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _linear_pair(params: Mapping[str, Array]) -> tuple[Array | None, Array | None]:
    """The weight and bias of a net with one 2-D weight (and at most one bias), else ``None``."""
    weights = [k for k, v in params.items() if k.endswith("weight") and v.ndim == 2]
    biases = [k for k in params if k.endswith("bias")]
    if len(weights) != 1 or len(biases) > 1 or len(params) != len(weights) + len(biases):
        return None, None
    return params[weights[0]].copy(), (params[biases[0]].copy() if biases else None)


def build_result(
    plan: Plan,
    *,
    engine: str,
    problem: Problem,
    losses: Array | Sequence[float],
    record_steps: Array | Sequence[int],
    learning_rates: Array | Sequence[float],
    momenta: Array | Sequence[float],
    params: Mapping[str, Array],
    final_loss: float,
    n_steps: int,
    epochs_completed: int,
    message: str,
    wall_time: float,
    param_history: Mapping[str, Array] | None = None,
    metrics: Array | Sequence[float] | None = None,
) -> RunResult:
    """The one constructor of a :class:`RunResult` for every engine.

    ``message`` is ``""`` for a run that ran to its end (the finished message is written
    here) or the divergence message of :func:`end_epoch`; ``weight`` and ``bias`` are read
    from ``params`` for a net with one 2-D weight and at most one bias.
    """
    own = {k: np.array(v) for k, v in params.items()}
    weight, bias = _linear_pair(own)
    diverged = bool(message)
    return RunResult(
        config=plan.config,
        losses=np.array(losses, dtype=np.float64),
        record_steps=np.array(record_steps, dtype=np.int64),
        learning_rates=_frozen(learning_rates, np.float64),
        momenta=_frozen(momenta, np.float64),
        params=own,
        weight=weight,
        bias=bias,
        wall_time=float(wall_time),
        diverged=diverged,
        n_steps=int(n_steps),
        steps_per_epoch=plan.steps_per_epoch,
        epochs_completed=int(epochs_completed),
        final_loss=float(final_loss),
        message=message if diverged else finished_message(epochs_completed, n_steps, final_loss),
        engine=engine,
        param_history={k: np.array(v) for k, v in (param_history or {}).items()},
        metrics=np.array([] if metrics is None else metrics, dtype=np.float64),
        metric_name=problem.metric,
        problem_name=problem.name,
    )
