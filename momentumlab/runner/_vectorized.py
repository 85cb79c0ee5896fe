"""``train_many``: K runs of a linear model as one batched computation of the NumPy engine.

Each configuration gets its own :class:`~momentumlab.runner._plan.Plan` (the same initial
weights and batch order as ``train`` derives from its ``seed``) and all K run through the
NumPy engine of :func:`momentumlab.train` (``momentumlab/runner/_numpy.py``) at once: the K
parameter sets are stacked into ``(K, outputs, features)`` arrays and every step updates all
of them with a few batched NumPy calls, so the per-call overhead is paid once per step
instead of K times.

NumPy rather than MXNet: measured on the reference machine, one MXNet call costs tens of
microseconds whatever its size, which already exceeds NumPy's whole batched step for
K = 1000 on the chapter's problem (``benchmarks/bench_sweep.py``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from momentumlab._src.types import Array
from momentumlab.data import LinearData
from momentumlab.problems import Problem, linear_problem
from momentumlab.runner._config import RunConfig
from momentumlab.runner._numpy import config_reason, model_reason, run_numpy
from momentumlab.runner._plan import Plan, batch_orders, linear_initial_params
from momentumlab.runner._result import RunResult

#: Fields every configuration of one :func:`train_many` call must share (they fix the batch
#: structure and the record positions). ``learning_rate``, ``momentum``, ``seed``,
#: ``weight_decay`` and ``init_sigma`` may differ.
SHARED_FIELDS = (
    "batch_size",
    "epochs",
    "period",
    "shuffle",
    "max_records_per_epoch",
    "optimizer",
    "hyperparameters",
)


def _as_problem(problem_or_data: Problem | LinearData) -> Problem:
    if isinstance(problem_or_data, LinearData):
        return linear_problem(problem_or_data)
    if not isinstance(problem_or_data, Problem):
        raise TypeError(
            "problem_or_data must be a momentumlab.problems.Problem or LinearData, got "
            f"{problem_or_data!r} of type {type(problem_or_data).__name__}"
        )
    return problem_or_data


def _reason(given: Sequence[object], problem: Problem) -> str | None:
    configs: list[RunConfig]
    if len(given) == 0:
        return "configs is empty"
    for c in given:
        if not isinstance(c, RunConfig):
            return f"configs must hold RunConfig objects, got {c!r}"
    configs = [c for c in given if isinstance(c, RunConfig)]
    first = configs[0]
    for name in SHARED_FIELDS:
        values = {repr(getattr(c, name)) for c in configs}
        if len(values) > 1:
            return f"configs differ in {name!r} ({sorted(values)[:3]}...), which they must share"
    if first.batch_size > problem.data.n_samples:
        return f"batch_size {first.batch_size} exceeds the {problem.data.n_samples} examples"
    if problem.init_params is not None:
        return "the problem has its own init_params"
    for c in configs:
        why = config_reason(c)
        if why is not None:
            return why
    return model_reason(problem, problem.make_net(), problem.make_loss())


def can_train_many(configs: Sequence[RunConfig], problem_or_data: Problem | LinearData) -> bool:
    """Whether :func:`train_many` can run ``configs`` on ``problem_or_data`` as one batch.

    True when every configuration can take the NumPy engine of :func:`momentumlab.train`
    (a linear net under ``L2Loss`` with SGD or NAG, the problem's default initialiser) and all
    share the fields in :data:`SHARED_FIELDS`.

    Example:
        >>> import dataclasses, momentumlab as ml
        >>> data = ml.data.make_linear_regression(n_samples=100, seed=0)
        >>> base = ml.RunConfig(epochs=1)
        >>> ml.can_train_many([dataclasses.replace(base, momentum=m) for m in (0.0, 0.9)], data)
        True
        >>> ml.can_train_many([base, dataclasses.replace(base, batch_size=20, period=20)], data)
        False
    """
    return _reason(list(configs), _as_problem(problem_or_data)) is None


def train_many(configs: Sequence[RunConfig], problem_or_data: Problem | LinearData) -> list[RunResult]:
    """Train K configurations of a linear model as one batched computation.

    Every result is that of ``momentumlab.train(config, problem_or_data)`` on the NumPy engine:
    the same initial weights and batch order (from each config's own ``seed``; configs with
    different seeds gather their own mini-batches), parameters within about 1e-7 relative and
    the same record positions, with losses (and a held-out ``"loss"`` metric) computed in
    float64 from the data's moments. A configuration that diverges stops at the end of that
    epoch as it would alone. ``result.engine`` is ``"numpy-batched"`` (the NumPy engine, K
    at once) and ``result.wall_time`` is the batch's time divided by K.

    Args:
        configs: the configurations; they must share :data:`SHARED_FIELDS`.
        problem_or_data: a :class:`~momentumlab.problems.Problem` or
            :class:`~momentumlab.data.LinearData` (the chapter's linear problem).

    Returns:
        One :class:`RunResult` per configuration, in order.

    Raises:
        ValueError: when :func:`can_train_many` is false; the message says why.
        TypeError: for arguments of the wrong type.

    Example:
        >>> import dataclasses, momentumlab as ml
        >>> data = ml.data.make_linear_regression(n_samples=200, seed=0)
        >>> configs = [dataclasses.replace(ml.RunConfig(), learning_rate=lr) for lr in (0.05, 0.2)]
        >>> [r.engine for r in ml.train_many(configs, data)]
        ['numpy-batched', 'numpy-batched']
    """
    start = time.perf_counter()
    problem = _as_problem(problem_or_data)
    configs = list(configs)
    why = _reason(configs, problem)
    if why is not None:
        raise ValueError(f"configs must be trainable as one batch (see can_train_many): {why}")
    return run_numpy(_plans(configs, problem), problem, engine="numpy-batched", start=start)


def _plans(configs: Sequence[RunConfig], problem: Problem) -> list[Plan]:
    """One plan per configuration; configs sharing a seed share the draws."""
    data = problem.data
    n, d = data.n_samples, data.features.shape[1]
    o = data.labels.size // n
    names = _linear_names(problem)
    inits: dict[tuple[int, float], dict[str, Array]] = {}
    orders: dict[int, tuple[Array, ...]] = {}
    plans: list[Plan] = []
    for c in configs:
        key = (c.seed, float(c.init_sigma))
        if key not in inits:
            inits[key] = linear_initial_params(c, names, o, d)
        if c.seed not in orders:
            orders[c.seed] = tuple(batch_orders(c, n))
        plans.append(Plan.of(c, n, inits[key], orders=orders[c.seed]))
    return plans


def _linear_names(problem: Problem) -> tuple[str, str]:
    """The names (as :func:`momentumlab.models.get_params` gives them) of the weight and bias."""
    net = problem.make_net()
    prefix = net.prefix
    names = [k[len(prefix) :] if k.startswith(prefix) else k for k in net.collect_params()]
    return next(k for k in names if k.endswith("weight")), next(k for k in names if k.endswith("bias"))
