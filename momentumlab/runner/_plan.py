"""The plan of a run: everything an engine needs, computed once from the config and the data.

Every engine (the Gluon loop, the NumPy engine, the batched NumPy engine) consumes a
:class:`Plan` and nothing else of the config's schedules or seeds, so engines differ only in
how they compute, never in what they compute.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from momentumlab._src.checks import check_int, check_step_values, check_type
from momentumlab._src.types import Array, Schedule
from momentumlab.optim import bind_schedule
from momentumlab.runner._config import RunConfig


def seed_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """The two independent streams of a run: initial parameters, then shuffle orders."""
    init_ss, shuffle_ss = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(init_ss), np.random.default_rng(shuffle_ss)


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
    _, rng = seed_streams(config.seed)
    return [rng.permutation(n).astype(np.int64) for _ in range(config.epochs)]


def linear_initial_params(
    config: RunConfig, names: tuple[str, str], n_outputs: int, n_features: int
) -> dict[str, Array]:
    """The initial weight and bias of a linear net as ``train`` draws them, without MXNet.

    The draw of :func:`momentumlab.models.init_normal` on a ``LinearRegressor`` from the
    init stream of ``config.seed``: the weight is ``init_sigma`` times a standard normal
    ``(n_outputs, n_features)`` as float32, the bias is 0 (no draw).
    """
    init_rng, _ = seed_streams(config.seed)
    z = init_rng.standard_normal((n_outputs, n_features))
    return {
        names[0]: (float(config.init_sigma) * z).astype(np.float32),
        names[1]: np.zeros(n_outputs, dtype=np.float32),
    }


def _readonly(a: Array) -> Array:
    a.setflags(write=False)
    return a


def _step_values(value: float | Schedule, total: int) -> Array:
    if callable(value):
        return np.array([float(value(t)) for t in range(total)], dtype=np.float64)
    return np.full(total, float(value), dtype=np.float64)


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
        noise_seed: the seed of the optimizer's noise stream (sgld).
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
    noise_seed: np.random.SeedSequence

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
        n = check_int("n_samples", n_samples, low=1)
        spe = math.ceil(n / config.batch_size)
        total = config.epochs * spe
        lrs = _step_values(bind_schedule(config.learning_rate, spe), total)
        check_step_values("learning_rate", lrs, low=0.0)
        momentum = bind_schedule(config.momentum, spe) if config.momentum is not None else None
        momenta = None
        if momentum is not None:
            momenta = _step_values(momentum, total)
            check_step_values("momentum", momenta, low=0.0, high=1.0, high_open=True)
            momenta = _readonly(momenta)
        return cls(
            config=config,
            n_samples=n,
            steps_per_epoch=spe,
            learning_rates=_readonly(lrs),
            momentum=momentum,
            momenta=momenta,
            orders=tuple(_readonly(o) for o in (batch_orders(config, n) if orders is None else orders)),
            record_mask=tuple(config.record_mask(n)),
            initial_params={k: _readonly(np.array(v)) for k, v in initial_params.items()},
            noise_seed=noise_seed(config.seed),
        )

    @property
    def n_steps(self) -> int:
        """Updates of the whole run: ``epochs * steps_per_epoch``."""
        return self.config.epochs * self.steps_per_epoch

    def batch(self, i: int) -> tuple[int, int]:
        """The ``[lo, hi)`` positions of mini-batch ``i`` of an epoch in that epoch's order."""
        lo = i * self.config.batch_size
        return lo, min(lo + self.config.batch_size, self.n_samples)
