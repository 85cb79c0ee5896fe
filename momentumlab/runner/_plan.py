"""The plan of a run: everything an engine needs, computed once from the config and the data.

Every engine (the Gluon loop, the NumPy engine, the batched NumPy engine) consumes a
:class:`Plan` and nothing else of the config's schedules or seeds, so engines differ only in
how they compute, never in what they compute.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from momentumlab._src.checks import check_int, check_step_values, check_type
from momentumlab._src.types import Array, Schedule
from momentumlab.optim import Schedule as ScheduleValue
from momentumlab.optim import bind_schedule
from momentumlab.runner._config import RunConfig


def seed_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """The two independent streams of a run: initial parameters, then shuffle orders.

    ``SeedSequence(seed).spawn(2)``, each child built directly (the same values, without
    spawning: ``train_many`` draws them for every seed).
    """
    return _stream(seed, 0), _stream(seed, 1)


def _stream(seed: int, i: int) -> np.random.Generator:
    """Stream ``i`` of :func:`seed_streams` alone: ``default_rng(SeedSequence(seed).spawn(i + 1)[i])``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))


def noise_seed(seed: int) -> np.random.SeedSequence:
    """A third stream's seed (optimizer noise, e.g. sgld), independent of the other two.

    ``SeedSequence(seed).spawn(3)[2]``, built directly (the same value, a tenth of the cost:
    ``train_many`` makes one per configuration).
    """
    return np.random.SeedSequence(seed, spawn_key=(2,))


def batch_orders(config: RunConfig, n_samples: int) -> list[Array]:
    """The example order of every epoch that :func:`train` uses for ``config``.

    With ``shuffle=True`` each epoch is a fresh permutation drawn from a stream derived from
    ``config.seed`` (independent of the stream that draws the initial weights); with
    ``shuffle=False`` it is ``0 .. n_samples-1``. Use it to replay a run in your own loop.

    Example:
        >>> import momentumlab as ml
        >>> orders = ml.batch_orders(ml.RunConfig(epochs=2, shuffle=False), 4)
        >>> [o.tolist() for o in orders]
        [[0, 1, 2, 3], [0, 1, 2, 3]]
    """
    check_type("config", config, RunConfig, "a RunConfig")
    n = check_int("n_samples", n_samples, low=1)
    if not config.shuffle:
        return [np.arange(n, dtype=np.int64) for _ in range(config.epochs)]
    rng = _stream(config.seed, 1)
    return [rng.permutation(n).astype(np.int64, copy=False) for _ in range(config.epochs)]


def linear_initial_params(
    config: RunConfig, names: tuple[str, str], n_outputs: int, n_features: int
) -> dict[str, Array]:
    """The initial weight and bias of a linear net as ``train`` draws them, without MXNet.

    The draw of :func:`momentumlab.models.init_normal` on a ``LinearRegressor`` from the
    init stream of ``config.seed``: the weight is ``init_sigma`` times a standard normal
    ``(n_outputs, n_features)`` as float32, the bias is 0 (no draw).
    """
    z = _stream(config.seed, 0).standard_normal((n_outputs, n_features))
    return {
        names[0]: (float(config.init_sigma) * z).astype(np.float32),
        names[1]: np.zeros(n_outputs, dtype=np.float32),
    }


def _readonly(a: Array) -> Array:
    a.setflags(write=False)
    return a


def _step_values(value: object, total: int) -> Array:
    """The value of every step: a schedule value evaluates them at once (bit-identical to the loop)."""
    if isinstance(value, ScheduleValue):
        return value.per_step(total)
    if callable(value):
        return np.array([float(value(t)) for t in range(total)], dtype=np.float64)
    return np.full(total, float(value), dtype=np.float64)  # type: ignore[arg-type]


def _value_key(value: object) -> Hashable:
    """A key under which configs share a learning rate or momentum: the exact bits of a number
    (``0.0`` and ``-0.0`` apart), else the object itself (a schedule; equal schedules made
    separately are evaluated separately)."""
    if value is None:
        return None
    if callable(value):
        return ("object", id(value))
    return ("number", float(value).hex())  # type: ignore[arg-type]


class _Shared:
    """What the plans of one batch share, computed once: per-step values by their key, batch
    orders by seed, record masks by batch structure and read-only initial parameters."""

    def __init__(self, n_samples: int) -> None:
        self.n = n_samples
        self.structure: dict[tuple[int, int, int | None, int | None], tuple[int, tuple[bool, ...]]] = {}
        self.steps: dict[tuple[str, Hashable], tuple[Any, Array]] = {}
        self.orders: dict[tuple[bool, int, int], tuple[Array, ...]] = {}
        self.params: dict[int, tuple[Mapping[str, Array], Mapping[str, Array]]] = {}

    def spe_and_mask(self, config: RunConfig) -> tuple[int, tuple[bool, ...]]:
        key = (config.batch_size, config.epochs, config.period, config.max_records_per_epoch)
        if key not in self.structure:
            self.structure[key] = (math.ceil(self.n / config.batch_size), tuple(config.record_mask(self.n)))
        return self.structure[key]

    def values(self, name: str, value: Any, spe: int, total: int) -> tuple[Any, Array]:
        """The bound value and its per-step values (read-only, shared, not yet checked)."""
        key = (name, (_value_key(value), spe, total))
        if key not in self.steps:
            bound = bind_schedule(value, spe)
            self.steps[key] = (bound, _readonly(_step_values(bound, total)))
        return self.steps[key]

    def batch_orders(self, config: RunConfig) -> tuple[Array, ...]:
        key = (config.shuffle, config.epochs, config.seed if config.shuffle else 0)
        if key not in self.orders:
            self.orders[key] = tuple(_readonly(o) for o in batch_orders(config, self.n))
        return self.orders[key]

    def initial_params(self, given: Mapping[str, Array]) -> Mapping[str, Array]:
        """A read-only copy of ``given``, made once per mapping object."""
        if id(given) not in self.params:
            self.params[id(given)] = (given, {k: _readonly(np.array(v)) for k, v in given.items()})
        return self.params[id(given)][1]


def _check_values(plans: Sequence[Plan], shared: _Shared) -> None:
    """Check every distinct per-step array at once; the first bad config (in order) raises."""
    keys = list(shared.steps)
    bad: set[tuple[str, Hashable]] = set()
    for name, low, high in (("learning_rate", 0.0, math.inf), ("momentum", 0.0, 1.0)):
        mine = [k for k in keys if k[0] == name]
        if not mine:
            continue
        rows = [shared.steps[k][1] for k in mine]
        by_len: dict[int, list[int]] = {}
        for i, r in enumerate(rows):
            by_len.setdefault(len(r), []).append(i)
        for idx in by_len.values():
            block = np.stack([rows[i] for i in idx])
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(block) & (block >= low) & (block < high)
            for i in np.flatnonzero(~ok.all(axis=1)):
                bad.add(mine[idx[i]])
    if not bad:
        return
    for plan in plans:  # raise as Plan.of would for the first config with a bad value
        c = plan.config
        spe, total = plan.steps_per_epoch, plan.n_steps
        if ("learning_rate", (_value_key(c.learning_rate), spe, total)) in bad:
            check_step_values("learning_rate", plan.learning_rates, low=0.0)
        if c.momentum is not None and ("momentum", (_value_key(c.momentum), spe, total)) in bad:
            check_step_values("momentum", plan.momenta, low=0.0, high=1.0, high_open=True)  # type: ignore[arg-type]
    raise AssertionError(
        "a per-step value failed the batch check but not check_step_values"
    )  # pragma: no cover


@dataclass(frozen=True, kw_only=True, eq=False)
class Plan:
    """What every engine runs, computed once by :meth:`of` (arrays are read-only).

    Attributes:
        config: the config it was computed from.
        n_samples: examples in the training data.
        steps_per_epoch: updates per epoch (a last short batch is kept).
        learning_rates: the base learning rate of every update (float64, before any
            plateau reduction), finite and >= 0.
        momentum: the momentum the optimizer is given: ``None``, a number or a step schedule
            (a ``PerEpoch`` bound to steps).
        momenta: the momentum of every update (float64) when ``momentum`` is not ``None``.
        orders: the example order of every epoch (:func:`batch_orders`).
        record_mask: which mini-batches of an epoch are followed by a loss record.
        initial_params: the initial parameters by name (see
            :func:`momentumlab.models.get_params`), float32 NumPy arrays.

    Plans of one :meth:`many` call share their read-only arrays where their configs agree.
    """

    config: RunConfig
    n_samples: int
    steps_per_epoch: int
    learning_rates: Array
    momentum: float | Schedule | None
    momenta: Array | None
    orders: tuple[Array, ...]
    record_mask: tuple[bool, ...]
    initial_params: Mapping[str, Array]

    @property
    def noise_seed(self) -> np.random.SeedSequence:
        """The seed of the optimizer's noise stream (sgld): :func:`noise_seed` of the config's seed."""
        return noise_seed(self.config.seed)

    @classmethod
    def of(
        cls,
        config: RunConfig,
        n_samples: int,
        initial_params: Mapping[str, Array],
        *,
        orders: Sequence[Array] | None = None,
    ) -> Plan:
        """The plan of ``config`` on ``n_samples`` examples starting from ``initial_params``.

        ``orders`` are the batch orders when the caller already drew them (they must be
        :func:`batch_orders` of ``config``; ``train_many`` shares them between configs with
        one seed).

        Raises:
            ValueError: when a learning rate (or momentum) schedule gives a negative or
                non-finite value (or a momentum outside ``[0, 1)``) at some update; the message
                names the step.

        Example:
            >>> import momentumlab as ml
            >>> from momentumlab.runner._plan import Plan
            >>> plan = Plan.of(ml.RunConfig.chapter(epochs=3), 100, {})
            >>> plan.steps_per_epoch, plan.learning_rates[[0, 19, 20]].tolist()
            (10, [0.2, 0.2, 0.020000000000000004])
            >>> Plan.of(ml.RunConfig(learning_rate=lambda t: 0.1 if t < 4 else -0.1), 100, {})
            Traceback (most recent call last):
            ...
            ValueError: learning_rate must be a finite number >= 0.0 at every step, got -0.1 at step 4
        """
        return cls.many([config], n_samples, [initial_params], orders=None if orders is None else [orders])[0]

    @classmethod
    def many(
        cls,
        configs: Sequence[RunConfig],
        n_samples: int,
        initial_params: Sequence[Mapping[str, Array]] | Callable[[RunConfig], Mapping[str, Array]],
        *,
        orders: Sequence[Sequence[Array]] | None = None,
    ) -> list[Plan]:
        """The plans of ``configs``, each equal to :meth:`of` of its config, computed together.

        What configs share is computed once and shared (read-only): the record mask of a batch
        structure, the batch orders of a seed (unless ``orders`` gives one per config), the
        per-step values of a learning rate or momentum (a number by its value, a schedule by
        identity) and the copy of an initial-parameter mapping (by identity). Every distinct
        per-step array is checked at once; a bad one raises the error :meth:`of` raises for the
        first config that uses it.

        Args:
            configs: the configs.
            n_samples: examples in the training data, >= 1.
            initial_params: one mapping per config (pass the same object to share it), or a
                function of the config giving it.
            orders: the batch orders of each config, or ``None`` to draw them.

        Example:
            >>> import dataclasses, momentumlab as ml
            >>> from momentumlab.runner._plan import Plan
            >>> base = ml.RunConfig.chapter(epochs=3)
            >>> a, b = Plan.many([base, dataclasses.replace(base, momentum=0.5)], 100, [{}, {}])
            >>> a.learning_rates is b.learning_rates, a.orders is b.orders
            (True, True)
        """
        n = check_int("n_samples", n_samples, low=1)
        shared = _Shared(n)
        plans: list[Plan] = []
        for i, config in enumerate(configs):
            check_type(f"configs[{i}]", config, RunConfig, "a RunConfig")
            spe, mask = shared.spe_and_mask(config)
            total = config.epochs * spe
            _, lrs = shared.values("learning_rate", config.learning_rate, spe, total)
            momentum, momenta = None, None
            if config.momentum is not None:
                momentum, momenta = shared.values("momentum", config.momentum, spe, total)
            params = initial_params(config) if callable(initial_params) else initial_params[i]
            plans.append(
                cls(
                    config=config,
                    n_samples=n,
                    steps_per_epoch=spe,
                    learning_rates=lrs,
                    momentum=momentum,
                    momenta=momenta,
                    orders=shared.batch_orders(config)
                    if orders is None
                    else tuple(_readonly(o) for o in orders[i]),
                    record_mask=mask,
                    initial_params=shared.initial_params(params),
                )
            )
        _check_values(plans, shared)
        return plans

    @property
    def n_steps(self) -> int:
        """Updates of the whole run: ``epochs * steps_per_epoch``."""
        return self.config.epochs * self.steps_per_epoch

    def batch(self, i: int) -> tuple[int, int]:
        """The ``[lo, hi)`` positions of mini-batch ``i`` of an epoch in that epoch's order."""
        lo = i * self.config.batch_size
        return lo, min(lo + self.config.batch_size, self.n_samples)
