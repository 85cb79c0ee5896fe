"""``predict``: the theory's loss curve of a run, at the run's own records, before running it.

The issue asked for ``ml.theory.predict_curve(problem, config)``; it lives here instead
because :mod:`momentumlab.theory` is layer 1 (NumPy closed forms) and must not import the
runner's :class:`RunConfig` and :class:`Plan` or the problems (layers 2-3). This module is in
the runner (layer 3): it builds the run's :class:`Plan` (the learning rate and momentum of
every update, the record positions), draws the initial parameters exactly as ``train`` does,
and hands the per-step sequences to :func:`momentumlab.theory.predict_curve` (full batch,
exact) or :func:`momentumlab.theory.expected_curve` (mini-batches, the expected loss).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np

from momentumlab._src.checks import check_bool, check_float, check_type
from momentumlab._src.types import Array
from momentumlab.data import LinearData
from momentumlab.problems import Problem, linear_problem
from momentumlab.runner._config import RunConfig
from momentumlab.runner._plan import Plan
from momentumlab.runner._result import RunResult
from momentumlab.theory import LeastSquares, expected_curve, least_squares, predict_curve

#: Optimizers :func:`predict` handles (``demon`` as ``sgd`` with its decayed momenta;
#: ``lookahead`` around any of the others).
PREDICT_OPTIMIZERS = ("aggmo", "demon", "lookahead", "nag", "qhm", "sgd", "sgd_schedule_free", "sgd_torch")
_THEORY_KEYS = {
    "qhm": ("nu",),
    "aggmo": ("betas",),
    "demon": ("total_steps",),
    "sgd_schedule_free": ("weight_lr_power", "r"),
    "lookahead": ("k", "alpha", "inner", "inner_hyperparameters"),
}
_HARMLESS = ("lazy_update", "multi_precision")


@dataclass(frozen=True, kw_only=True, eq=False)
class Prediction:
    """The predicted loss of a run at the records ``train(config, problem)`` makes.

    Attributes:
        config: the config predicted.
        problem_name: the problem's name.
        record_steps: the updates after which ``train`` records the loss (0 first).
        losses: the predicted loss at each record: exact for full batches, the expected
            loss over the shuffle orders for mini-batches (and over the start, with
            ``over_seeds``).
        mean_losses: the loss without the batches' noise (the full-batch recursion) at each
            record.
        mode_losses: ``(n_records, p)``, each Hessian eigen-direction's share of
            ``losses - optimal_loss``.
        exact: whether the prediction is the run's own curve, exactly (full batches from the
            run's start; ``False`` for an expectation).
        method: the theory's name of the method (``"sgd"`` for ``demon``; ``"lookahead"``
            whatever its inner optimizer).
        least_squares: the :class:`momentumlab.theory.LeastSquares` of the problem's data
            (optimum, eigenvalues and eigenvectors).
    """

    config: RunConfig
    problem_name: str
    record_steps: Array
    losses: Array
    mean_losses: Array
    mode_losses: Array
    exact: bool
    method: str
    least_squares: LeastSquares

    @property
    def eigenvalues(self) -> Array:
        """The Hessian eigenvalues, ascending (the axis of :attr:`mode_losses`)."""
        return self.least_squares.eigenvalues

    @property
    def optimal_loss(self) -> float:
        """``L*``."""
        return self.least_squares.optimal_loss

    def measured_mode_losses(self, result: RunResult) -> Array:
        """A run's loss split over the eigen-directions: ``0.5 lam_i sum_k e_ki^2`` per record.

        The error ``theta - theta*`` of every recorded parameter set (``result`` must come from
        ``train(..., record_params=True)``) projected onto the Hessian's eigenvectors.

        Raises:
            ValueError: if ``result`` has no parameter history.
        """
        check_type("result", result, RunResult, "a RunResult")
        if not result.param_history:
            raise ValueError(
                "result must have a parameter history (train(..., record_params=True)), got none"
            )
        q = self.least_squares
        weight = next(v for k, v in result.param_history.items() if k.endswith("weight"))
        err = np.asarray(weight, dtype=np.float64) - q.weight
        if q.use_bias:
            bias = next(v for k, v in result.param_history.items() if k.endswith("bias"))
            err = np.concatenate([err, (np.asarray(bias, dtype=np.float64) - q.bias)[..., None]], axis=-1)
        modes = err @ q.eigenvectors  # (records, m, p)
        out: Array = 0.5 * q.eigenvalues * np.sum(modes**2, axis=1)
        return out

    def deviation(self, result: RunResult, *, above: float = 0.0) -> float:
        """The largest ``|measured / predicted - 1|`` of ``result``'s excess loss over the shared records.

        The excess ``loss - optimal_loss`` is compared where the predicted excess is at least
        ``above`` times the initial one (a float32 run meets its float32 floor near
        ``1e-7`` of the loss; ``above=0`` compares every record).

        Raises:
            ValueError: if ``result`` recorded at other steps, or ``above`` is not in [0, 1).
        """
        check_type("result", result, RunResult, "a RunResult")
        level = check_float("above", above, low=0.0, high=1.0, high_open=True)
        n = min(result.losses.size, self.losses.size)
        if not np.array_equal(result.record_steps[:n], self.record_steps[:n]):
            raise ValueError("result must record at the predicted steps (the same config and problem)")
        want = self.losses[:n] - self.optimal_loss
        got = np.asarray(result.losses[:n], dtype=np.float64) - self.optimal_loss
        keep = want >= level * want[0]
        return float(np.max(np.abs(got[keep] / want[keep] - 1))) if keep.any() else 0.0


def _linear_layer(net: Any) -> Any:
    """The one Dense layer of a linear net (a LinearRegressor, Dense, or an MLP without hidden layers)."""
    from momentumlab.models import MLP
    from momentumlab.models._linear import _dense_of

    if isinstance(net, MLP) and not net.hidden:
        return _dense_of(net.layers)
    return _dense_of(net)


def _least_squares_of(problem: Problem) -> tuple[LeastSquares, Any]:
    """The problem's least squares and its freshly built net, or a ValueError saying why not."""
    import mxnet as mx

    loss = problem.make_loss()
    if type(loss) is not mx.gluon.loss.L2Loss or loss._weight != 1.0:
        raise ValueError(
            f"problem must be least squares (a plain gluon.loss.L2Loss), got a {type(loss).__name__} "
            f"for problem {problem.name!r}"
        )
    net = problem.make_net()
    try:
        dense = _linear_layer(net)
    except TypeError:
        raise ValueError(
            f"problem must be least squares (a linear net), got a {type(net).__name__} for "
            f"problem {problem.name!r}"
        ) from None
    if dense.act is not None:
        raise ValueError("problem must be least squares (a linear net), got a Dense with an activation")
    X = problem.data.features.asnumpy()
    if X.ndim != 2:
        raise ValueError(f"problem must have 2-D features for a prediction, got shape {X.shape}")
    y = problem.data.labels.asnumpy()
    return least_squares((X, y.reshape(y.shape[0], -1)), use_bias=dense.bias is not None), net


def _default(optimizer: str, key: str) -> Any:
    """The optimizer's own default of keyword ``key`` (from its registered class)."""
    import mxnet as mx

    cls = mx.optimizer.Optimizer.opt_registry[optimizer]
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None and key in inspect.signature(init).parameters:
            return inspect.signature(init).parameters[key].default
    return None  # pragma: no cover - every predicted optimizer has its keywords


def _check_config(config: RunConfig) -> None:
    if config.optimizer not in PREDICT_OPTIMIZERS:
        raise ValueError(
            f"optimizer must be one of {list(PREDICT_OPTIMIZERS)} for a prediction, got {config.optimizer!r}"
        )
    if config.weight_decay != 0.0:
        raise ValueError(f"weight_decay must be 0 for a prediction, got {config.weight_decay}")
    if config.plateau is not None:
        raise ValueError(
            "plateau must be None for a prediction (it depends on the losses), got a ReduceOnPlateau"
        )
    allowed = (*_THEORY_KEYS.get(config.optimizer, ()), *_HARMLESS)
    for key, _ in config.hyperparameters:
        if key not in allowed:
            raise ValueError(
                f"hyperparameters must hold only {list(allowed)} for a prediction of "
                f"{config.optimizer!r}, got {key!r}"
            )
    if config.optimizer == "lookahead":
        inner, inner_hyper = _lookahead_inner(config.hyperparameter_dict())
        inners = [name for name in PREDICT_OPTIMIZERS if name != "lookahead"]
        if inner not in inners:
            raise ValueError(f"inner must be one of {inners} for a prediction of 'lookahead', got {inner!r}")
        allowed = _THEORY_KEYS.get(inner, ())
        for key in inner_hyper:
            if key not in allowed:
                raise ValueError(
                    f"inner_hyperparameters must hold only {list(allowed)} for a prediction of "
                    f"lookahead around {inner!r}, got {key!r}"
                )


def _lookahead_inner(hyper: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Lookahead's inner optimizer and its keywords, as the optimizer reads them from a config."""
    from momentumlab.optim._family import parse_inner_hyperparameters

    inner = str(hyper.get("inner", _default("lookahead", "inner")))
    return inner, parse_inner_hyperparameters("inner_hyperparameters", hyper.get("inner_hyperparameters"))


def _theory_arguments(name: str, hyper: dict[str, Any], momenta: Array) -> tuple[str, dict[str, Any]]:
    """The theory's method and keywords for optimizer ``name`` with keywords ``hyper``.

    ``momenta`` is the momentum of every update; Demon becomes ``sgd`` with its decayed
    momenta, Lookahead keeps its ``k`` and ``alpha`` and takes its inner optimizer's arguments.
    """
    if name == "lookahead":
        inner, inner_hyper = _lookahead_inner(hyper)
        inner_method, inner_kwargs = _theory_arguments(inner, inner_hyper, momenta)
        inner_kwargs.pop("at_evaluation_point", None)  # train evaluates lookahead at its weights
        for key in ("k", "alpha"):
            inner_kwargs[key] = hyper.get(key, _default("lookahead", key))
        return "lookahead", {**inner_kwargs, "inner": inner_method}
    kwargs: dict[str, Any] = {}
    for key in _THEORY_KEYS.get(name, ()):
        value = hyper.get(key, _default(name, key))
        if key == "betas":
            from momentumlab.optim._family import parse_betas

            value = parse_betas("betas", value)
        if value is not None:
            kwargs[key] = value
    method = name
    if name == "demon":
        from momentumlab.optim import demon_momentum

        total = kwargs.pop("total_steps", None)
        momenta = np.array([demon_momentum(t, float(momenta[t]), total) for t in range(momenta.size)])
        method = "sgd"
    if name != "aggmo":
        kwargs["momentum"] = momenta
    if name == "sgd_schedule_free":  # train records schedule-free runs at their evaluation point x
        kwargs["at_evaluation_point"] = True
    return method, kwargs


def predict(config: RunConfig, problem: Problem | LinearData, *, over_seeds: bool = False) -> Prediction:
    """Predict the loss curve of ``train(config, problem)`` on a least-squares problem.

    The run's :class:`Plan` gives the learning rate (and momentum) of every update and the
    record positions; the initial parameters are drawn from ``config.seed`` exactly as
    ``train`` draws them. With full batches (``batch_size`` = the number of examples) the
    prediction is :func:`momentumlab.theory.predict_curve`, exact: a float64 run matches it to
    rounding and a float32 one down to its float32 floor. With mini-batches it is
    :func:`momentumlab.theory.expected_curve`, the expected loss over the epochs' shuffle
    orders for this initial point (its model and tolerance are stated there). With
    ``over_seeds=True`` it is the expectation over ``config.seed`` instead: over the initial
    parameters too (``N(0, init_sigma²)`` weights, zero biases), to compare with the mean of
    runs that differ only in their seed.

    Args:
        config: the run's config. Its optimizer must be one of :data:`PREDICT_OPTIMIZERS`,
            without weight decay, ``plateau`` or hyperparameters the theory does not model
            (e.g. ``clip_gradient``); mini-batches need ``shuffle=True``.
        problem: a least-squares :class:`momentumlab.problems.Problem` (a linear net under
            ``L2Loss``: ``quadratic``, ``linear-regression``, ``diabetes``,
            :func:`momentumlab.problems.linear_problem`) or a :class:`momentumlab.data.LinearData`.
        over_seeds: average over the seed's initial draw as well as its shuffles (only for
            problems with the default initialisation, ``problem.init_params`` ``None``).

    Returns:
        A :class:`Prediction` at the records of ``train(config, problem)``.

    Raises:
        ValueError: for a problem that is not least squares, or a config the theory does not
            model (the message says which field).
        TypeError: for arguments of the wrong type.

    Example:
        >>> import momentumlab as ml
        >>> p = ml.problems.make("quadratic", dim=3, condition_number=10.0)
        >>> config = ml.RunConfig(batch_size=100, learning_rate=0.5, momentum=0.5, epochs=20)
        >>> pred = ml.predict(config, p)
        >>> run = ml.train(config, p)
        >>> bool((pred.record_steps == run.record_steps).all()), pred.deviation(run, above=1e-4) < 1e-3
        (True, True)
    """
    check_type("config", config, RunConfig, "a RunConfig")
    if isinstance(problem, LinearData):
        problem = linear_problem(problem, with_optimum=False)
    check_type("problem", problem, Problem, "a momentumlab.problems.Problem or LinearData")
    _check_config(config)
    average = check_bool("over_seeds", over_seeds)
    if average and problem.init_params is not None:
        raise ValueError(
            "over_seeds must be False for a problem with its own initialiser (the theory knows the "
            f"draw of N(0, init_sigma²) weights only), got True for problem {problem.name!r}"
        )
    q, net = _least_squares_of(problem)
    n = q.n_samples
    if config.batch_size > n:
        raise ValueError(f"batch_size must be in [1, {n}] (the number of examples), got {config.batch_size}")
    full = config.batch_size == n
    if not full and not config.shuffle:
        raise ValueError(
            "shuffle must be True for a mini-batch prediction (the expected loss is over the shuffle "
            "orders), got False"
        )
    from momentumlab.models import get_params
    from momentumlab.runner._train import _initialize

    _initialize(net, problem, config, True)
    plan = Plan.of(config, n, get_params(net))
    dense = _linear_layer(net)
    weight = dense.weight.data().asnumpy().astype(np.float64)
    bias = dense.bias.data().asnumpy().astype(np.float64) if dense.bias is not None else None

    hyper = config.hyperparameter_dict()
    momenta = plan.momenta
    if momenta is None:  # the optimizer's own default (its inner optimizer's, for lookahead)
        own = _lookahead_inner(hyper)[0] if config.optimizer == "lookahead" else config.optimizer
        momenta = np.full(plan.n_steps, float(_default(own, "momentum") or 0.0))
    method, kwargs = _theory_arguments(config.optimizer, hyper, momenta)
    lrs = plan.learning_rates
    if average:  # the mean start and the covariance of the draw
        weight, bias = np.zeros_like(weight), None if bias is None else np.zeros_like(bias)
        cov = np.zeros((q.hessian.shape[0],) * 2)
        idx_w = np.arange(weight.shape[1])
        cov[idx_w, idx_w] = float(config.init_sigma) ** 2
        kwargs["initial_covariance"] = cov
        full = False  # the answer is an expectation
    if full:
        curve = predict_curve(q, method, lrs, weight=weight, bias=bias, **kwargs)
        losses, means, modes = curve.losses, curve.losses, curve.mode_losses
    else:
        exp = expected_curve(q, method, lrs, batch_size=config.batch_size, weight=weight, bias=bias, **kwargs)
        losses, means, modes = exp.losses, exp.mean_losses, exp.mode_losses
    spe = plan.steps_per_epoch
    steps = [0] + [e * spe + i + 1 for e in range(config.epochs) for i in range(spe) if plan.record_mask[i]]
    idx = np.asarray(steps, dtype=np.int64)
    return Prediction(
        config=config,
        problem_name=problem.name,
        record_steps=idx,
        losses=losses[idx],
        mean_losses=means[idx],
        mode_losses=modes[idx],
        exact=full,
        method=method,
        least_squares=q,
    )
