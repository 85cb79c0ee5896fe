"""``train``: validate, plan, run an engine, return the result."""

from __future__ import annotations

import time
from collections.abc import Callable

import mxnet as mx

from momentumlab._src.checks import check_bool, check_choice, check_type
from momentumlab.data import LinearData
from momentumlab.models import get_params, init_normal, set_params
from momentumlab.problems import Problem, linear_problem
from momentumlab.runner._config import RunConfig
from momentumlab.runner._gluon import check_fit, run_gluon
from momentumlab.runner._numpy import numpy_kernel, run_numpy
from momentumlab.runner._plan import Plan, seed_streams
from momentumlab.runner._result import EpochInfo, RunResult

Callback = Callable[[EpochInfo], None]

#: Values of ``train(..., engine=...)``: ``"auto"`` runs the NumPy engine where it applies
#: (SGD or NAG on every problem of the suite) and the Gluon engine otherwise; ``"gluon"``
#: always runs the Gluon engine; ``"numpy"`` requires the NumPy engine (a ``ValueError`` says
#: why when it cannot run).
ENGINES = ("auto", "gluon", "numpy")


def train(
    config: RunConfig,
    problem: Problem | LinearData,
    *,
    net: mx.gluon.Block | None = None,
    initialize: bool = True,
    loss: mx.gluon.loss.Loss | None = None,
    callback: Callback | None = None,
    record_params: bool = False,
    engine: str = "auto",
) -> RunResult:
    """Train a net on ``data`` with ``config`` and return everything the run produced.

    ``train`` validates its arguments, initialises the net from ``config.seed``, computes the
    run's plan once (the learning rate and momentum of every update, the example order of
    every epoch, the record positions, the initial parameters) and hands it to one of two
    engines, reported in ``result.engine``:

    * ``"gluon"`` (``"imperative"`` for a net that is not a ``HybridBlock``): the chapter's
      loop, made exact and fast (``momentumlab/runner/_gluon.py``). Every epoch visits the
      examples in the order of :func:`batch_orders` in mini-batches of ``batch_size``
      gathered by index inside one hybridized net+loss graph (a last short batch is kept
      and its gradient divided by its own length); each update is
      ``trainer.step(len(batch))`` on a ``gluon.Trainer`` built by
      :func:`momentumlab.optim.make_trainer`, with the plan's learning rate of every update
      (a :class:`momentumlab.optim.PerEpoch` schedule is bound to the run's updates per
      epoch) and, with ``plateau``, multiplied by the reduce-on-plateau scale fed with the
      recorded losses (see :class:`momentumlab.optim.ReduceOnPlateau`); a momentum schedule
      is applied by the optimizer at every update; the learning rate and momentum of every
      update are recorded. With the same data, initial parameters and batch order, the
      final weights and bias are bit-identical to the chapter's own loop.
    * ``"numpy"``: for SGD or NAG (momentum a number or a schedule) on every problem of
      :func:`momentumlab.problems.names`, i.e. a linear net or an MLP with hidden ReLU layers
      (with or without biases) under ``L2Loss``, ``SigmoidBinaryCrossEntropyLoss`` or
      ``SoftmaxCrossEntropyLoss``, or a 2-D test function (bowl, Rosenbrock, Beale, saddle)
      under ``ObjectiveLoss``: the same plan in NumPy float32 (parameters within float32
      round-off of the Gluon engine, about 1e-7 relative on a well-conditioned run; see
      ``momentumlab/runner/_numpy.py`` and ``_kernels.py``), with records summed in float64
      (a linear net under ``L2Loss`` takes them from the data's moments). It is the engine of
      :func:`train_many` at K = 1, so a configuration gives the same parameters alone and in
      a batch.

    ``engine="auto"`` takes the NumPy engine whenever it applies (other optimizers, gradient
    clipping, a plateau schedule, other nets or losses run on the Gluon engine); ``"gluon"``
    forces the Gluon engine.

    The mean full-dataset loss is recorded once before training and after every mini-batch
    ``i`` with ``i * batch_size % period == 0`` (at most ``max_records_per_epoch`` of them per
    epoch, see :meth:`RunConfig.record_mask`). At the end of every epoch every engine applies
    one divergence rule (``momentumlab/runner/_divergence.py``): a non-finite loss, a loss
    above ``1e30`` or a non-finite parameter stops the run and marks it diverged. When the
    problem has a held-out metric it is evaluated at the same positions and returned in
    ``result.metrics``.

    Args:
        config: the run's :class:`RunConfig`.
        problem: a :class:`momentumlab.problems.Problem`, or a
            :class:`momentumlab.data.LinearData`, which means the chapter's problem on that data
            (:func:`momentumlab.problems.linear_problem`).
        net: your own Gluon net; ``None`` builds a fresh one with ``problem.make_net`` (for
            data, a :class:`momentumlab.models.LinearRegressor`). A ``HybridBlock`` is
            hybridized in place. It holds the final parameters afterwards.
        initialize: draw the initial parameters from ``config.seed`` (with the problem's
            initialiser; by default weights ``N(0, init_sigma²)`` and biases 0); ``False`` keeps
            the net's current parameters.
        loss: a Gluon loss; ``None`` uses ``problem.make_loss`` (the chapter's ``L2Loss``).
        callback: called with an :class:`EpochInfo` after every epoch.
        record_params: also keep every parameter at every record (for trajectory pictures),
            in ``result.param_history`` as arrays of shape ``(n_records, *param.shape)``.
        engine: one of :data:`momentumlab.runner.ENGINES`: ``"auto"`` (default), ``"gluon"`` or
            ``"numpy"``.

    Returns:
        A frozen :class:`RunResult`.

    Raises:
        ValueError: if ``batch_size`` exceeds the number of examples, the net's parameters
            are uninitialised and ``initialize`` is ``False``, a learning rate or momentum
            schedule gives a bad value at some update (the message names the step), or
            ``engine="numpy"`` is asked for a run the NumPy engine cannot do (the message
            says why).
        TypeError: for arguments of the wrong type.

    Example:
        >>> import momentumlab as ml
        >>> data = ml.data.make_linear_regression(seed=0)
        >>> result = ml.train(ml.RunConfig.chapter(), data)
        >>> result.final_loss < 1e-4
        True
        >>> print(result.weight.round(2), result.bias.round(2))
        [[ 2.  -3.4]] [4.2]
        >>> result.engine, ml.train(ml.RunConfig.chapter(), data, engine="gluon").engine
        ('numpy', 'gluon')
    """
    start = time.perf_counter()
    check_type("config", config, RunConfig, "a RunConfig")
    if isinstance(problem, LinearData):
        problem = linear_problem(problem, with_optimum=False)
    check_type("problem", problem, Problem, "a momentumlab.problems.Problem or LinearData")
    init = check_bool("initialize", initialize)
    keep_params = check_bool("record_params", record_params)
    route = check_choice("engine", engine, ENGINES)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {callback!r}")
    n = problem.data.n_samples
    if config.batch_size > n:
        raise ValueError(f"batch_size must be in [1, {n}] (the number of examples), got {config.batch_size}")
    if net is None:
        net = problem.make_net()
        init = True
    else:
        check_type("net", net, mx.gluon.Block, "a gluon Block or None")
    if loss is None:
        loss = problem.make_loss()
    else:
        check_type("loss", loss, mx.gluon.loss.Loss, "a gluon.loss.Loss or None")
    _initialize(net, problem, config, init)

    plan = Plan.of(config, n, get_params(net))
    check_fit(net, loss, problem)
    kernel = numpy_kernel(config, problem, net, loss) if route != "gluon" else "engine='gluon' was asked for"
    if route == "numpy" and isinstance(kernel, str):
        raise ValueError(f"engine must be 'auto' or 'gluon' for this run ({kernel}), got 'numpy'")
    if isinstance(kernel, str):
        return run_gluon(plan, problem, net, loss, start=start, callback=callback, record_params=keep_params)
    (result,) = run_numpy(
        [plan], problem, kernel, engine="numpy", start=start, callback=callback, record_params=keep_params
    )
    set_params(net, result.params)
    return result


def _initialize(net: mx.gluon.Block, problem: Problem, config: RunConfig, init: bool) -> None:
    """Draw the initial parameters from the init stream of ``config.seed``, or check they exist."""
    if not init:
        for name, p in net.collect_params().items():
            if p._data is None:
                raise ValueError(
                    f"net parameter {name!r} must be initialised when initialize=False, "
                    "got an uninitialised parameter"
                )
        return
    init_rng, _ = seed_streams(config.seed)
    if problem.init_params is not None:
        problem.init_params(net, init_rng)
    else:
        init_normal(net, sigma=config.init_sigma, seed=init_rng)
