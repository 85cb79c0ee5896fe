"""``train_many``: K runs of one problem as one batched computation of the NumPy engine.

Each configuration gets its own :class:`~momentumlab.runner._plan.Plan` (the same initial
parameters and batch order as ``train`` derives from its ``seed``) and all K run through the
NumPy engine of :func:`momentumlab.train` (``momentumlab/runner/_numpy.py``) at once: the K
parameter sets are stacked along a leading axis and every step updates all of them with a few
batched NumPy calls, so the per-call overhead is paid once per step instead of K times. The K
configurations are cut into chunks whose estimated peak memory stays under a budget.

NumPy rather than MXNet: measured on the reference machine, one MXNet call costs tens of
microseconds whatever its size, which already exceeds NumPy's whole batched step for
K = 1000 on the chapter's problem (``benchmarks/bench_sweep.py``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from momentumlab._src.checks import check_int
from momentumlab._src.types import Array
from momentumlab.data import LinearData
from momentumlab.models import LinearRegressor, get_params
from momentumlab.problems import Problem, linear_problem
from momentumlab.runner._config import RunConfig
from momentumlab.runner._kernels import Kernel, kernel_for
from momentumlab.runner._numpy import config_reason, run_numpy
from momentumlab.runner._plan import Plan, linear_initial_params
from momentumlab.runner._result import RunResult
from momentumlab.runner._train import _initialize

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

#: The default peak-memory budget of :func:`train_many`, in bytes (2 GiB).
MEMORY_BUDGET = 2 * 2**30


def _as_problem(problem_or_data: Problem | LinearData) -> Problem:
    if isinstance(problem_or_data, LinearData):
        return linear_problem(problem_or_data, with_optimum=False)
    if not isinstance(problem_or_data, Problem):
        raise TypeError(
            "problem_or_data must be a momentumlab.problems.Problem or LinearData, got "
            f"{problem_or_data!r} of type {type(problem_or_data).__name__}"
        )
    return problem_or_data


def _config_list(configs: object) -> list[object]:
    """``configs`` as a list; a ``TypeError`` naming it unless it is a sequence or iterable of items."""
    if configs is None or isinstance(configs, (str, bytes, RunConfig)) or not hasattr(configs, "__iter__"):
        raise TypeError(
            "configs must be a sequence of RunConfig objects, got "
            f"{configs!r} of type {type(configs).__name__}"
        )
    return list(configs)


def _kernel(given: Sequence[object], problem: Problem) -> Kernel | str:
    """The kernel that runs ``given`` as one batch on ``problem``, or why they cannot."""
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
    for c in configs:
        why = config_reason(c)
        if why is not None:
            return why
    return kernel_for(problem, problem.make_net(), problem.make_loss())


def can_train_many(configs: Sequence[RunConfig], problem_or_data: Problem | LinearData) -> bool:
    """Whether :func:`train_many` can run ``configs`` on ``problem_or_data`` as one batch.

    True when every configuration can take the NumPy engine of :func:`momentumlab.train`
    (SGD or NAG on a problem with a kernel: a linear net or an MLP with hidden ReLU layers
    under ``L2Loss``, ``SigmoidBinaryCrossEntropyLoss`` or ``SoftmaxCrossEntropyLoss``, or a
    2-D test function; every problem of :func:`momentumlab.problems.names`) and all share the
    fields in :data:`SHARED_FIELDS`.

    Example:
        >>> import dataclasses, momentumlab as ml
        >>> data = ml.data.make_linear_regression(n_samples=100, seed=0)
        >>> base = ml.RunConfig(epochs=1)
        >>> ml.can_train_many([dataclasses.replace(base, momentum=m) for m in (0.0, 0.9)], data)
        True
        >>> ml.can_train_many([base, dataclasses.replace(base, batch_size=20, period=20)], data)
        False
    """
    return not isinstance(_kernel(_config_list(configs), _as_problem(problem_or_data)), str)


def train_many(
    configs: Sequence[RunConfig],
    problem_or_data: Problem | LinearData,
    *,
    memory_budget: int = MEMORY_BUDGET,
) -> list[RunResult]:
    """Train K configurations of one problem as one batched computation.

    Every result is that of ``momentumlab.train(config, problem_or_data)`` on the NumPy engine:
    the same initial parameters and batch order (from each config's own ``seed``; configs
    that share a seed share their mini-batches, others gather their own), parameters within
    float32 round-off of the Gluon engine (about 1e-7 relative on a well-conditioned run) and
    the same record positions, losses and held-out metric. A configuration that diverges
    stops at the end of that epoch as it would alone, and a configuration gives the same
    result alone or inside a batch. ``result.engine`` is ``"numpy-batched"`` (the NumPy
    engine, K at once) and ``result.wall_time`` is its chunk's time divided by its size.

    The configurations are run in chunks whose estimated peak memory (parameters, momentum
    buffers, gradients, a batch's activations, the records and histories of each run) stays
    under ``memory_budget``; the chunking does not change any result.

    Args:
        configs: the configurations; they must share :data:`SHARED_FIELDS`.
        problem_or_data: a :class:`~momentumlab.problems.Problem` (any of
            :func:`momentumlab.problems.names`) or :class:`~momentumlab.data.LinearData` (the
            chapter's linear problem).
        memory_budget: bytes the batch may hold at once, >= 1 (default 2 GiB). A chunk holds
            at least one configuration, whatever it needs.

    Returns:
        One :class:`RunResult` per configuration, in order.

    Raises:
        ValueError: when :func:`can_train_many` is false (the message says why), or for a
            bad ``memory_budget``.
        TypeError: for arguments of the wrong type.

    Example:
        >>> import dataclasses, momentumlab as ml
        >>> data = ml.data.make_linear_regression(n_samples=200, seed=0)
        >>> configs = [dataclasses.replace(ml.RunConfig(), learning_rate=lr) for lr in (0.05, 0.2)]
        >>> [r.engine for r in ml.train_many(configs, data)]
        ['numpy-batched', 'numpy-batched']
        >>> p = ml.problems.make("rosenbrock")
        >>> base = ml.RunConfig(**p.settings)
        >>> runs = ml.train_many([dataclasses.replace(base, momentum=m) for m in (0.0, 0.9)], p)
        >>> [round(r.final_loss, 3) for r in runs], runs[0].engine
        ([0.025, 0.0], 'numpy-batched')
    """
    start = time.perf_counter()
    budget = check_int("memory_budget", memory_budget, low=1)
    problem = _as_problem(problem_or_data)
    given = _config_list(configs)
    kernel = _kernel(given, problem)
    if isinstance(kernel, str):
        raise ValueError(f"configs must be trainable as one batch (see can_train_many): {kernel}")
    configs = [c for c in given if isinstance(c, RunConfig)]
    size = chunk_size(configs[0], problem, kernel, budget)
    results: list[RunResult] = []
    for lo in range(0, len(configs), size):
        part = configs[lo : lo + size]
        results.extend(
            run_numpy(_plans(part, problem, kernel), problem, kernel, engine="numpy-batched", start=start)
        )
        start = time.perf_counter()
    return results


def bytes_per_config(
    config: RunConfig, problem: Problem, kernel: Kernel, *, record_params: bool = False
) -> int:
    """An estimate of the peak bytes one configuration of a batch needs on ``problem``.

    Parameters, momentum buffers, gradients and the update's temporaries (6 float32 copies),
    the activations of a batch, the snapshots of one epoch's records (all records with
    ``record_params``), the plan's and the result's per-update arrays (learning rates and
    momenta), the recorded losses and metrics, and the batch orders of its seed.
    """
    n = problem.data.n_samples
    spe = math.ceil(n / config.batch_size)
    steps = config.epochs * spe
    per_epoch = sum(config.record_mask(n))
    n_records = 1 + config.epochs * per_epoch
    n_params = sum(math.prod(s) for s in kernel.shapes)
    snapshots = (n_records if record_params else per_epoch + 1) * n_params
    floats32 = 6 * n_params + snapshots + kernel.floats_per_config(config.batch_size, own_batches=True)
    floats64 = 7 * steps + 6 * n_records
    orders = config.epochs * n if config.shuffle else 0  # int64, when every config has its own seed
    return 4 * floats32 + 8 * (floats64 + orders) + 2048


def chunk_size(config: RunConfig, problem: Problem, kernel: Kernel, budget: int) -> int:
    """How many configurations like ``config`` fit in ``budget`` bytes (at least one)."""
    return max(1, (budget - kernel.shared_bytes()) // bytes_per_config(config, problem, kernel))


def _plans(configs: Sequence[RunConfig], problem: Problem, kernel: Kernel) -> list[Plan]:
    """One plan per configuration (:meth:`Plan.many`: configs sharing a seed share the draws,
    configs sharing a learning rate or momentum share its per-step values)."""
    inits: dict[tuple[int, float], dict[str, Array]] = {}
    draw = _initial_params(problem, kernel)

    def initial(c: RunConfig) -> dict[str, Array]:
        key = (c.seed, float(c.init_sigma) if problem.init_params is None else 0.0)
        if key not in inits:
            inits[key] = draw(c)
        return inits[key]

    return Plan.many(configs, problem.data.n_samples, initial)


def _initial_params(problem: Problem, kernel: Kernel) -> Callable[[RunConfig], dict[str, Array]]:
    """The draw of ``train``'s initial parameters for a config (one net, reused)."""
    net = problem.make_net()
    if problem.init_params is None and isinstance(net, LinearRegressor):
        o, d = kernel.shapes[0]
        names = (kernel.names[0], kernel.names[1])

        def linear(c: RunConfig) -> dict[str, Array]:  # the same draw without MXNet calls
            return linear_initial_params(c, names, o, d)

        return linear

    def drawn(c: RunConfig) -> dict[str, Array]:
        _initialize(net, problem, c, True)
        return get_params(net)

    return drawn


def batch_capacity(config: RunConfig, problem_or_data: Problem | LinearData, memory_budget: int) -> int:
    """How many configurations like ``config`` one :func:`train_many` chunk holds within
    ``memory_budget`` bytes (at least 1; 1 when ``config`` cannot take the batched engine)."""
    problem = _as_problem(problem_or_data)
    kernel = _kernel([config], problem)
    if isinstance(kernel, str):
        return 1
    return chunk_size(config, problem, kernel, check_int("memory_budget", memory_budget, low=1))
