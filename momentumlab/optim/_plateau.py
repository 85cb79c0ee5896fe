"""Reduce-on-plateau as a pure function of the observed losses, composable with any schedule."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from momentumlab._src.checks import check_choice, check_float, check_int


class PlateauState(NamedTuple):
    """The state after some observations (immutable; :meth:`ReduceOnPlateau.update` makes the next).

    Attributes:
        scale: the multiplier in force (1.0 until the first reduction).
        best: the best observation so far (``inf``/``-inf`` before any).
        num_bad: observations since the last improvement (reset in cooldown and on reduction).
        cooldown: observations of cooldown left.
        reductions: how many reductions have been applied.
    """

    scale: float
    best: float
    num_bad: int
    cooldown: int
    reductions: int


@dataclass(frozen=True, kw_only=True)
class ReduceOnPlateau:
    """Multiply the learning rate by ``factor`` when the observed loss stops improving.

    The rule is torch's ``ReduceLROnPlateau``, step by step: an observation ``a`` improves on
    the best ``b`` when ``a < b (1 - threshold)`` (``mode="min"``, ``threshold_mode="rel"``),
    ``a < b - threshold`` (``"abs"``), or the mirror images for ``mode="max"``; otherwise it
    counts as a bad observation. During ``cooldown`` observations after a reduction bad
    observations are not counted. When more than ``patience`` bad observations have
    accumulated, the scale is multiplied by ``factor`` (unless that would change the learning
    rate by ``eps`` or less), cooldown starts and the count resets.

    Here the reduction is a *multiplier* on top of any base schedule: the learning rate of
    update ``t`` is ``base(t)`` before the first reduction and ``max(base(t) * scale,
    min_lr)`` after it. With a constant base it equals torch's values (torch multiplies the
    current rate by ``factor``; the products agree to rounding). torch's ``SequentialLR`` /
    ``ChainedScheduler`` cannot put a plateau on top of another schedule; here any schedule
    works.

    What it observes (set on :class:`momentumlab.RunConfig` as ``plateau=``):

    * ``observe="epoch"`` (default, torch's usual ``scheduler.step(val_loss)`` once per
      epoch): one observation per epoch, the last full-dataset loss recorded in that epoch
      (``result.losses`` at the last ``record_steps`` inside it). A reduction takes effect
      from the first update of the next epoch.
    * ``observe="record"``: every loss recorded after an update (not the one before
      training) is an observation, and a reduction takes effect from the very next update.
      The runner then reads each record from the device as it is made (slower).

    The state is a value (:class:`PlateauState`) folded over the observations by
    :meth:`update`; :meth:`scales` replays a whole history. Nothing is stored in the object,
    which is a frozen value: :meth:`to_dict` gives its plain (TOML-safe) data and
    :meth:`from_dict` rebuilds an equal one.

    Attributes:
        mode: ``"min"`` (a loss) or ``"max"`` (an accuracy).
        factor: multiplier in (0, 1).
        patience: bad observations tolerated before reducing, >= 0.
        threshold: minimal improvement, >= 0.
        threshold_mode: ``"rel"`` or ``"abs"``.
        cooldown: observations to wait after a reduction, >= 0.
        min_lr: floor of the reduced learning rate, >= 0.
        eps: skip a reduction that changes the learning rate by at most ``eps``, >= 0.
        observe: ``"epoch"`` or ``"record"``.

    Example:
        >>> import momentumlab as ml
        >>> p = ml.optim.ReduceOnPlateau(factor=0.5, patience=1)
        >>> p.scales([3.0, 2.0, 2.0, 2.0, 2.0, 2.0])
        (1.0, 1.0, 1.0, 0.5, 0.5, 0.25)
    """

    mode: str = "min"
    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_lr: float = 0.0
    eps: float = 1e-8
    observe: str = "epoch"

    def __post_init__(self) -> None:
        checked = {
            "mode": check_choice("mode", self.mode, ("min", "max")),
            "factor": check_float("factor", self.factor, low=0.0, high=1.0, low_open=True, high_open=True),
            "patience": check_int("patience", self.patience, low=0),
            "threshold": check_float("threshold", self.threshold, low=0.0),
            "threshold_mode": check_choice("threshold_mode", self.threshold_mode, ("rel", "abs")),
            "cooldown": check_int("cooldown", self.cooldown, low=0),
            "min_lr": check_float("min_lr", self.min_lr, low=0.0),
            "eps": check_float("eps", self.eps, low=0.0),
            "observe": check_choice("observe", self.observe, ("epoch", "record")),
        }
        for name, value in checked.items():  # ints as int, floats as float (e.g. from TOML)
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain, TOML-safe data (the inverse of :meth:`from_dict`).

        Example:
            >>> import momentumlab as ml
            >>> d = ml.optim.ReduceOnPlateau(factor=0.5, patience=2).to_dict()
            >>> d["factor"], d["patience"], ml.optim.ReduceOnPlateau.from_dict(d).patience
            (0.5, 2, 2)
        """
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReduceOnPlateau:
        """The value ``d`` describes (fields left out keep their defaults), e.g. parsed TOML.

        Raises:
            ValueError: for an unknown field (the message lists the valid ones) or a value
                out of range.
            TypeError: for a mapping of another type or a value of the wrong type.

        Example:
            >>> import tomllib
            >>> import momentumlab as ml
            >>> p = ml.optim.ReduceOnPlateau.from_dict(tomllib.loads("factor = 0.5\\nmin_lr = 0"))
            >>> p.factor, p.min_lr, p == ml.optim.ReduceOnPlateau.from_dict(p.to_dict())
            (0.5, 0.0, True)
        """
        if not isinstance(d, Mapping):
            raise TypeError(f"a ReduceOnPlateau must be given as a mapping of its fields, got {d!r}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in d if k not in names]
        if unknown:
            raise ValueError(f"ReduceOnPlateau has no field {unknown[0]!r}; its fields are {names}")
        return cls(**d)

    def initial_state(self) -> PlateauState:
        """The state before any observation."""
        best = math.inf if self.mode == "min" else -math.inf
        return PlateauState(scale=1.0, best=best, num_bad=0, cooldown=0, reductions=0)

    def _better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            bound = best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold
            return a < bound
        bound = best * (self.threshold + 1.0) if self.threshold_mode == "rel" else best + self.threshold
        return a > bound

    def learning_rate(self, base_value: float, scale: float) -> float:
        """The learning rate for a base value under ``scale``.

        Example:
            >>> import momentumlab as ml
            >>> ml.optim.ReduceOnPlateau(min_lr=0.01).learning_rate(0.05, 0.1)
            0.01
        """
        if scale == 1.0:
            return float(base_value)
        return max(float(base_value) * scale, self.min_lr)

    def update(
        self, state: PlateauState, observation: float, base_value: float | None = None
    ) -> PlateauState:
        """The state after one more observation.

        Args:
            state: the state before it.
            observation: the observed loss (or metric, for ``mode="max"``); NaN counts as bad.
            base_value: the base learning rate at the update a reduction would first apply
                to, for the ``eps`` and ``min_lr`` tests; ``None`` always reduces.

        Example:
            >>> import momentumlab as ml
            >>> p = ml.optim.ReduceOnPlateau(patience=0, factor=0.5)
            >>> s = p.update(p.initial_state(), 1.0)
            >>> p.update(s, 1.0).scale
            0.5
        """
        a = float(observation)
        scale, best, num_bad, cooldown, reductions = state
        if self._better(a, best):
            best, num_bad = a, 0
        else:
            num_bad += 1
        if cooldown > 0:
            cooldown -= 1
            num_bad = 0
        if num_bad > self.patience:
            new_scale = scale * self.factor
            if base_value is None:
                apply = True
            else:
                old_lr = self.learning_rate(base_value, scale)
                new_lr = max(float(base_value) * new_scale, self.min_lr)
                apply = old_lr - new_lr > self.eps
            if apply:
                scale, reductions = new_scale, reductions + 1
            cooldown, num_bad = self.cooldown, 0
        return PlateauState(scale, best, num_bad, cooldown, reductions)

    def scales(
        self, observations: Sequence[float], base_values: Sequence[float] | None = None
    ) -> tuple[float, ...]:
        """The scale in force after each observation (a pure replay of :meth:`update`).

        Args:
            observations: the observed losses in order.
            base_values: optional base learning rates, one per observation (see :meth:`update`).

        Example:
            >>> import momentumlab as ml
            >>> ml.optim.ReduceOnPlateau(patience=0, cooldown=1, factor=0.5).scales([1, 1, 1, 1])
            (1.0, 0.5, 0.5, 0.25)
        """
        if base_values is not None and len(base_values) != len(observations):
            raise ValueError(
                f"base_values must have one value per observation ({len(observations)}), "
                f"got {len(base_values)}"
            )
        state = self.initial_state()
        out = []
        for i, a in enumerate(observations):
            state = self.update(state, a, None if base_values is None else base_values[i])
            out.append(state.scale)
        return tuple(out)
