"""The ``Problem`` type: everything ``train`` needs besides the config."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mxnet as mx
import numpy as np

from momentumlab._src.checks import check_bool, check_choice, check_float, check_int, check_type
from momentumlab._src.types import Array
from momentumlab.data import ArrayData, LinearData
from momentumlab.models import LinearRegressor
from momentumlab.theory import least_squares

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
        data: the training split, an :class:`momentumlab.data.ArrayData` (features and
            labels as float32 MXNet arrays, validated when built).
        heldout: the held-out split (same features, outputs and classes as ``data``), or
            ``None``.
        make_net: builds a fresh Gluon net for this problem (uninitialised is fine).
        make_loss: builds the Gluon loss.
        metric: one of :data:`METRICS` evaluated on ``heldout`` at every record, or ``None``.
        init_params: seeded initialiser ``(net, generator) -> None``; ``None`` uses the
            config's ``init_sigma`` with :func:`momentumlab.models.init_normal` (the chapter's
            ``Normal(sigma)`` weights and zero biases).
        optimum: the optimal parameters by name (as :func:`momentumlab.models.get_params`
            names them) where known, else ``None``.
        optimal_loss: the optimal training loss where known, else ``None``.
        output_size: the number of outputs per example the net must give (checked by
            ``train`` before training), or ``None`` to check only that the loss fits.
        settings: suggested :class:`momentumlab.RunConfig` keywords (JSON-friendly) with
            which the problem is known to train well: ``ml.RunConfig(**problem.settings)``.
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
    data: ArrayData
    make_net: Callable[[], mx.gluon.Block]
    make_loss: Callable[[], mx.gluon.loss.Loss]
    heldout: ArrayData | None = None
    metric: str | None = None
    init_params: Initializer | None = None
    optimum: dict[str, Array] | None = None
    optimal_loss: float | None = None
    output_size: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    description: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_type("name", self.name, str, "a str")
        if not self.name:
            raise ValueError("name must be a non-empty str, got ''")
        check_type("data", self.data, ArrayData, "a momentumlab.data.ArrayData")
        if self.heldout is not None:
            check_type("heldout", self.heldout, ArrayData, "a momentumlab.data.ArrayData or None")
            for attr in ("n_features", "n_outputs", "n_classes"):
                want, got = getattr(self.data, attr), getattr(self.heldout, attr)
                if want != got:
                    raise ValueError(f"heldout must have {attr}={want} like data, got {got}")
        if self.output_size is not None:
            check_int("output_size", self.output_size, low=1)
        if self.optimal_loss is not None:
            check_float("optimal_loss", self.optimal_loss)
        check_type("settings", self.settings, dict, "a dict of RunConfig keywords")
        check_type("description", self.description, dict, "a dict")
        if self.optimum is not None:
            check_type("optimum", self.optimum, dict, "a dict of parameter arrays or None")
        for attr in ("make_net", "make_loss"):
            if not callable(getattr(self, attr)):
                raise TypeError(f"{attr} must be callable, got {getattr(self, attr)!r}")
        if self.init_params is not None and not callable(self.init_params):
            raise TypeError(f"init_params must be callable or None, got {self.init_params!r}")
        if self.metric is not None:
            check_choice("metric", self.metric, METRICS)
            if self.heldout is None:
                raise ValueError(f"heldout must be given when metric is set, got metric={self.metric!r}")
            if self.metric != "loss" and self.data.n_classes is None:
                raise ValueError(
                    f"metric {self.metric!r} needs classification data (n_classes set), "
                    "got regression data (n_classes=None)"
                )

    def __repr__(self) -> str:
        held = None if self.heldout is None else self.heldout.n_samples
        return (
            f"Problem(name={self.name!r}, n_train={self.data.n_samples}, n_heldout={held}, "
            f"n_features={self.data.n_features}, n_classes={self.data.n_classes}, "
            f"metric={self.metric!r}, description={self.description!r})"
        )


def linear_problem(
    data: LinearData, *, heldout: ArrayData | None = None, with_optimum: bool = True
) -> Problem:
    """The chapter's setup as a :class:`Problem`: a :class:`LinearRegressor` under ``L2Loss``.

    ``train(config, data)`` and ``train(config, linear_problem(data))`` run the same
    computation and give bit-identical results. The closed-form least-squares fit of the
    training data (:func:`momentumlab.theory.least_squares`) is recorded as the optimum.

    Args:
        data: the training data.
        heldout: an optional held-out split; when given, the held-out loss is the metric.
        with_optimum: compute the closed-form optimum (``False`` skips the ``O(n d²)`` solve;
            ``train(config, data)`` does not need it).

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
    optimum: dict[str, Array] | None = None
    best: float | None = None
    if check_bool("with_optimum", with_optimum):
        fit = least_squares(data)
        optimum, best = {"dense0_weight": fit.weight, "dense0_bias": fit.bias}, fit.optimal_loss
    return Problem(
        name=name,
        data=data,
        heldout=heldout,
        make_net=functools.partial(LinearRegressor, n_in, n_out),
        make_loss=mx.gluon.loss.L2Loss,
        metric="loss" if heldout is not None else None,
        optimum=optimum,
        optimal_loss=best,
        output_size=n_out,
        description={"problem": "linear", "data": data.description},
    )
