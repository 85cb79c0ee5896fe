"""The ``Problem`` type: everything ``train`` needs besides the config."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mxnet as mx
import numpy as np

from momentumlab._src.checks import check_choice, check_type
from momentumlab._src.types import Array
from momentumlab.data import LinearData
from momentumlab.models import LinearRegressor

#: Held-out metrics the runner computes on the device at every record:
#: ``"loss"`` (the problem's loss on the held-out split), ``"accuracy"`` (argmax of the
#: outputs equals the integer label), ``"binary_accuracy"`` (a single logit > 0 equals a 0/1
#: label).
METRICS = ("loss", "accuracy", "binary_accuracy")

#: Initialises a net's parameters from a NumPy generator (never MXNet's global RNG).
Initializer = Callable[[mx.gluon.Block, np.random.Generator], None]


@dataclass(frozen=True, kw_only=True, eq=False)
class Problem:
    """A training problem: data, held-out split, net factory, loss, metric and known optimum.

    Attributes:
        name: short identifier (used by sweeps, the CLI and run keys).
        data: the training split (features and labels as float32 MXNet arrays).
        heldout: the held-out split, or ``None``.
        make_net: builds a fresh Gluon net for this problem (uninitialised is fine).
        make_loss: builds the Gluon loss.
        metric: one of :data:`METRICS` evaluated on ``heldout`` at every record, or ``None``.
        init_params: seeded initialiser ``(net, generator) -> None``; ``None`` uses the
            config's ``init_sigma`` with :func:`momentumlab.models.init_normal` (the chapter's
            ``Normal(sigma)`` weights and zero biases).
        optimum: the optimal parameters by name (as :func:`momentumlab.models.get_params`
            names them) where known, else ``None``.
        optimal_loss: the optimal training loss where known, else ``None``.
        description: canonical JSON-friendly description (for run keys).

    Example:
        >>> import momentumlab as ml
        >>> p = ml.problems.linear_problem(ml.data.make_linear_regression(n_samples=50, seed=0))
        >>> net = p.make_net()
        >>> ml.models.init_normal(net, seed=0)
        >>> net(p.data.features[:3]).shape
        (3, 1)
    """

    name: str
    data: LinearData
    make_net: Callable[[], mx.gluon.Block]
    make_loss: Callable[[], mx.gluon.loss.Loss]
    heldout: LinearData | None = None
    metric: str | None = None
    init_params: Initializer | None = None
    optimum: dict[str, Array] | None = None
    optimal_loss: float | None = None
    description: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_type("name", self.name, str, "a str")
        if not self.name:
            raise ValueError("name must be a non-empty str, got ''")
        check_type("data", self.data, LinearData, "a momentumlab.data.LinearData")
        if self.heldout is not None:
            check_type("heldout", self.heldout, LinearData, "a momentumlab.data.LinearData or None")
            if self.heldout.n_features != self.data.n_features:
                raise ValueError(
                    f"heldout must have {self.data.n_features} features like data, "
                    f"got {self.heldout.n_features}"
                )
        for attr in ("make_net", "make_loss"):
            if not callable(getattr(self, attr)):
                raise TypeError(f"{attr} must be callable, got {getattr(self, attr)!r}")
        if self.init_params is not None and not callable(self.init_params):
            raise TypeError(f"init_params must be callable or None, got {self.init_params!r}")
        if self.metric is not None:
            check_choice("metric", self.metric, METRICS)
            if self.heldout is None:
                raise ValueError(f"heldout must be given when metric is set, got metric={self.metric!r}")


def linear_problem(data: LinearData, *, heldout: LinearData | None = None) -> Problem:
    """The chapter's setup as a :class:`Problem`: a :class:`LinearRegressor` under ``L2Loss``.

    ``train(config, data)`` and ``train(config, linear_problem(data))`` run the same
    computation and give bit-identical results. Where the data carries its true weights, those
    are recorded as the (approximate, noise aside) optimum.

    Args:
        data: the training data.
        heldout: an optional held-out split; when given, the held-out loss is the metric.

    Example:
        >>> import momentumlab as ml
        >>> data = ml.data.make_linear_regression(seed=0)
        >>> a = ml.train(ml.RunConfig(epochs=1), data)
        >>> b = ml.train(ml.RunConfig(epochs=1), ml.problems.linear_problem(data))
        >>> bool((a.weight == b.weight).all())
        True
    """
    check_type("data", data, LinearData, "a momentumlab.data.LinearData")
    n_in, n_out = data.n_features, data.n_outputs
    name = str(data.description.get("name") or "linear-regression")
    return Problem(
        name=name,
        data=data,
        heldout=heldout,
        make_net=functools.partial(LinearRegressor, n_in, n_out),
        make_loss=mx.gluon.loss.L2Loss,
        metric="loss" if heldout is not None else None,
        description={"problem": "linear", "data": data.description},
    )
