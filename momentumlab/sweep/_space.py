"""Sweep points: grid and random search over config fields, validated before anything runs."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from momentumlab._src.checks import check_bool, check_float, check_int, check_type
from momentumlab.runner import RunConfig

_FIELDS = tuple(f.name for f in dataclasses.fields(RunConfig))
_ALLOWED = (
    "must be a RunConfig field, a parameter of a schedule or plateau value in one "
    "(learning_rate.decay_steps, learning_rate.schedule.init_value, plateau.factor) or "
    "hyperparameters.NAME"
)


def check_field(name: Any, *, what: str = "sweep field") -> str:
    """Return ``name`` if it is a sweepable field path, else raise naming it (and ``what`` it is).

    A path is a :class:`~momentumlab.RunConfig` field (``"momentum"``), a parameter of the
    value a field holds, at any depth (``"learning_rate.decay_steps"`` for a cosine decay,
    ``"learning_rate.schedule.init_value"`` for the chapter's per-epoch decay,
    ``"plateau.factor"``), or an optimizer keyword (``"hyperparameters.gamma1"``). Whether
    the value in a given config has that parameter is checked when a point is applied.

    Example:
        >>> import momentumlab as ml
        >>> ml.sweep.check_field("learning_rate.decay_steps")
        'learning_rate.decay_steps'
        >>> ml.sweep.check_field("lr")
        Traceback (most recent call last):
        ...
        ValueError: sweep field must be a RunConfig field, ...; unknown field 'lr'; valid fields are [...]
    """
    check_type("what", what, str, "a str (what the name is, for messages)")
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, got {name!r}")
    parts = name.split(".")
    head = parts[0]
    if head not in _FIELDS or any(not p for p in parts):
        raise ValueError(f"{what} {_ALLOWED}; unknown field {name!r}; valid fields are {sorted(_FIELDS)}")
    if head == "hyperparameters" and len(parts) != 2:
        raise ValueError(f"{what} {_ALLOWED}; hyperparameters takes one name, got {name!r}")
    return name


def _sub(where: str, value: Any, attr: str) -> Any:
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        raise ValueError(
            f"{where}.{attr} cannot be swept: {where} is {value!r}, which has no parameter {attr!r}; "
            "give the base config a value that has it (e.g. a schedule)"
        )
    names = [f.name for f in dataclasses.fields(value)]
    if attr not in names:
        raise ValueError(
            f"{where}.{attr} is not a parameter of {type(value).__name__}; its parameters are {names}"
        )
    return getattr(value, attr)


def field_value(config: RunConfig, name: str) -> Any:
    """The value of a field path (see :func:`check_field`) in ``config``.

    Example:
        >>> import momentumlab as ml
        >>> ml.sweep.field_value(ml.RunConfig.chapter(), "learning_rate.schedule.factor")
        0.1
    """
    check_type("config", config, RunConfig, "a RunConfig")
    parts = check_field(name).split(".")
    value = getattr(config, parts[0])
    if parts[0] == "hyperparameters" and len(parts) == 2:
        return dict(value).get(parts[1])
    where = parts[0]
    for attr in parts[1:]:
        value = _sub(where, value, attr)
        where = f"{where}.{attr}"
    return value


def _replace_path(where: str, value: Any, path: list[str], new: Any) -> Any:
    if not path:
        return new
    inner = _sub(where, value, path[0])
    return dataclasses.replace(value, **{path[0]: _replace_path(f"{where}.{path[0]}", inner, path[1:], new)})


def apply_changes(base: RunConfig, changes: Mapping[str, Any]) -> RunConfig:
    """``dataclasses.replace(base, **changes)``, with nested parameters replaced in their values.

    ``"learning_rate.decay_steps": 50`` replaces that parameter inside ``base.learning_rate``
    (a frozen schedule value); ``"hyperparameters.NAME": v`` sets one optimizer keyword. Top
    fields are applied first, then nested ones. The result is validated by ``RunConfig``.

    Raises:
        ValueError: for an unknown field (named), a parameter the value does not have, or a
            value the config rejects (the message names the field and the value).
        TypeError: for a value of the wrong type.

    Example:
        >>> import momentumlab as ml
        >>> base = ml.RunConfig.chapter()
        >>> cfg = ml.sweep.apply_changes(base, {"momentum": 0.5, "learning_rate.schedule.factor": 0.5})
        >>> cfg.momentum, cfg.learning_rate.schedule.factor
        (0.5, 0.5)
    """
    check_type("base", base, RunConfig, "a RunConfig")
    if not isinstance(changes, Mapping):
        raise TypeError(f"changes must be a mapping of field -> value, got {changes!r}")
    top: dict[str, Any] = {}
    nested: list[tuple[list[str], Any]] = []
    for name, value in changes.items():
        parts = check_field(name, what="changes key").split(".")
        if len(parts) == 1:
            top[parts[0]] = value
        else:
            nested.append((parts, value))
    try:
        for parts, value in nested:
            head = parts[0]
            current = top.get(head, getattr(base, head))
            if head == "hyperparameters":
                hyper = dict(current)
                hyper[parts[1]] = value
                top[head] = hyper
            else:
                top[head] = _replace_path(head, current, parts[1:], value)
        return dataclasses.replace(base, **top)
    except (TypeError, ValueError) as err:
        shown = ", ".join(f"{k}={v!r}" for k, v in changes.items())
        raise type(err)(f"invalid sweep point ({shown}): {err}") from err


@dataclass(frozen=True)
class Point:
    """One point of a sweep: the base config with ``changes`` applied.

    Attributes:
        config: the validated :class:`~momentumlab.RunConfig` to run.
        changes: the swept ``(field path, value)`` pairs, in axis order (the seed last when
            seeds are repeated).

    Example:
        >>> import momentumlab as ml
        >>> p = ml.sweep.grid(ml.RunConfig(), {"momentum": [0.5]})[0]
        >>> p.changes, p.config.momentum
        ((('momentum', 0.5),), 0.5)
    """

    config: RunConfig
    changes: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        check_type("config", self.config, RunConfig, "a RunConfig")


def _check_seeds(seeds: Sequence[int] | None, axes: Mapping[str, Any]) -> list[int] | None:
    if seeds is None:
        return None
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence):
        raise TypeError(f"seeds must be a sequence of ints >= 0 or None, got {seeds!r}")
    if "seed" in axes:
        raise ValueError("seeds must be None when 'seed' is also a sweep field, got both")
    out = [check_int("seeds[%d]" % i, s, low=0) for i, s in enumerate(seeds)]
    if not out:
        raise ValueError("seeds must hold at least one seed, got []")
    if len(set(out)) != len(out):
        raise ValueError(f"seeds must be distinct, got {out}")
    return out


def _values(name: str, values: Any) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"grid[{name!r}] must be a sequence of values, got {values!r}")
    out = list(values)
    if not out:
        raise ValueError(f"grid[{name!r}] must hold at least one value, got []")
    return out


def _points(
    base: RunConfig, rows: Sequence[Sequence[tuple[str, Any]]], seeds: list[int] | None
) -> tuple[Point, ...]:
    out: list[Point] = []
    for row in rows:
        for seed in seeds if seeds is not None else [None]:
            changes = tuple(row) + ((("seed", seed),) if seed is not None else ())
            out.append(Point(apply_changes(base, dict(changes)), changes))
    return tuple(out)


def grid(
    base: RunConfig,
    axes: Mapping[str, Sequence[Any]],
    *,
    seeds: Sequence[int] | None = None,
) -> tuple[Point, ...]:
    """Every combination of the axes' values (the last axis fastest), each for every seed.

    Each value is first checked alone against ``base`` (so an error names the field and the
    value), then every combination is built and validated: nothing runs before all points
    are known to be valid.

    Args:
        base: the config every point starts from.
        axes: field path (see :func:`check_field`) -> values, e.g.
            ``{"momentum": [0.0, 0.9], "learning_rate.decay_steps": [100, 300]}``.
        seeds: repeat every point with these ``seed`` values (seed varies fastest);
            ``None`` keeps ``base.seed``.

    Returns:
        A tuple of :class:`Point`.

    Raises:
        ValueError: for an unknown field, an empty axis, a bad value (all named).
        TypeError: for values of the wrong type.

    Example:
        >>> import momentumlab as ml
        >>> pts = ml.sweep.grid(ml.RunConfig(), {"learning_rate": [0.1, 0.2], "momentum": [0.0, 0.9]},
        ...                     seeds=[0, 1])
        >>> len(pts), pts[1].changes
        (8, (('learning_rate', 0.1), ('momentum', 0.0), ('seed', 1)))
        >>> ml.sweep.grid(ml.RunConfig(), {"momentum": [0.5, 1.5]})
        Traceback (most recent call last):
        ...
        ValueError: invalid sweep point (momentum=1.5): momentum must be in [0.0, 1.0), got 1.5
    """
    check_type("base", base, RunConfig, "a RunConfig")
    if not isinstance(axes, Mapping):
        raise TypeError(f"axes must be a mapping of field -> values, got {axes!r}")
    seed_list = _check_seeds(seeds, axes)
    columns: list[list[tuple[str, Any]]] = []
    for name, values in axes.items():
        check_field(name, what="axes key")
        vals = _values(name, values)
        for v in vals:
            apply_changes(base, {name: v})
        columns.append([(name, v) for v in vals])
    return _points(base, list(itertools.product(*columns)), seed_list)


@dataclass(frozen=True, kw_only=True)
class Uniform:
    """A float drawn uniformly from ``[low, high)``, or log-uniformly with ``log=True``.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> d = ml.sweep.Uniform(low=1e-3, high=1.0, log=True)
        >>> 1e-3 <= d.sample(np.random.default_rng(0)) < 1.0
        True
    """

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        low = check_float("low", self.low, low=0.0 if self.log else None, low_open=self.log)
        check_float("high", self.high, low=low, low_open=True)
        check_bool("log", self.log)

    def sample(self, rng: np.random.Generator) -> float:
        """One draw from ``rng``."""
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True, kw_only=True)
class IntUniform:
    """An int drawn uniformly from ``[low, high]`` (inclusive), or log-uniformly with ``log=True``.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> d = ml.sweep.IntUniform(low=1, high=100, log=True)
        >>> 1 <= d.sample(np.random.default_rng(0)) <= 100
        True
    """

    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        low = check_int("low", self.low, low=1 if self.log else None)
        check_int("high", self.high, low=low)
        check_bool("log", self.log)

    def sample(self, rng: np.random.Generator) -> int:
        """One draw from ``rng``."""
        if self.log:
            x = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
            return min(int(x), self.high)
        return int(rng.integers(self.low, self.high + 1))


@dataclass(frozen=True)
class Choice:
    """One of ``values``, drawn uniformly.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> ml.sweep.Choice((10, 20)).sample(np.random.default_rng(0)) in (10, 20)
        True
    """

    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        values: Any = self.values
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise TypeError(f"values must be a sequence, got {values!r}")
        object.__setattr__(self, "values", tuple(values))
        if not self.values:
            raise ValueError("values must hold at least one value, got ()")

    def sample(self, rng: np.random.Generator) -> Any:
        """One draw from ``rng``."""
        return self.values[int(rng.integers(len(self.values)))]


Distribution = Uniform | IntUniform | Choice


def _distributions(space: Mapping[str, Any]) -> list[tuple[str, Distribution]]:
    """The space's fields with their distributions (a plain sequence of values is a Choice)."""
    dists: list[tuple[str, Distribution]] = []
    for name, dist in space.items():
        check_field(name, what="space key")
        if isinstance(dist, (Uniform, IntUniform, Choice)):
            dists.append((name, dist))
        elif isinstance(dist, Sequence) and not isinstance(dist, (str, bytes)):
            dists.append((name, Choice(tuple(_values(name, dist)))))
        else:
            raise TypeError(
                f"space[{name!r}] must be a Uniform, IntUniform, Choice or a sequence of values, got {dist!r}"
            )
    return dists


def random_search(
    base: RunConfig,
    space: Mapping[str, Distribution | Sequence[Any]],
    *,
    n_points: int,
    seed: int,
    seeds: Sequence[int] | None = None,
) -> tuple[Point, ...]:
    """``n_points`` random points (each repeated for every seed in ``seeds``).

    Draws come from ``numpy.random.default_rng(seed)``, field by field in the order of
    ``space``, so the same arguments always give the same points. A plain sequence in
    ``space`` means :class:`Choice`.

    Args:
        base: the config every point starts from.
        space: field path -> :class:`Uniform`, :class:`IntUniform`, :class:`Choice` or a
            sequence of values.
        n_points: number of distinct draws, >= 1.
        seed: seed of the draws (not of the runs), an int >= 0.
        seeds: run seeds to repeat every point with; ``None`` keeps ``base.seed``.

    Raises:
        ValueError: for an unknown field or an invalid drawn value (named).
        TypeError: for a space entry of the wrong type.

    Example:
        >>> import momentumlab as ml
        >>> space = {"learning_rate": ml.sweep.Uniform(low=1e-3, high=0.5, log=True),
        ...          "momentum": [0.0, 0.5, 0.9]}
        >>> pts = ml.sweep.random_search(ml.RunConfig(), space, n_points=5, seed=0, seeds=[0, 1])
        >>> len(pts), pts == ml.sweep.random_search(ml.RunConfig(), space, n_points=5, seed=0,
        ...                                          seeds=[0, 1])
        (10, True)
    """
    check_type("base", base, RunConfig, "a RunConfig")
    if not isinstance(space, Mapping):
        raise TypeError(f"space must be a mapping of field -> distribution, got {space!r}")
    n = check_int("n_points", n_points, low=1)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    seed_list = _check_seeds(seeds, space)
    dists = _distributions(space)
    rows = [[(name, _plain(d.sample(rng))) for name, d in dists] for _ in range(n)]
    return _points(base, rows, seed_list)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def quasi_random_search(
    base: RunConfig,
    space: Mapping[str, Distribution | Sequence[Any]],
    n_points: int,
    *,
    seed: int,
    method: str = "sobol",
    seeds: Sequence[int] | None = None,
) -> tuple[Point, ...]:
    """``n_points`` quasi-random points: a scrambled Sobol or Halton sequence mapped onto ``space``.

    One low-discrepancy point in ``[0, 1)^d`` (``d = len(space)``, from
    ``scipy.stats.qmc``, scrambled with ``seed``) is mapped per field: a :class:`Uniform`
    linearly (``log=True``: linearly in ``log``), an :class:`IntUniform` onto its integers
    (``log=True``: log-spaced), a :class:`Choice` or a plain sequence onto its entries. The
    points cover the space more evenly than :func:`random_search`'s, so a trial budget is
    spent better (the Deep Learning Tuning Playbook's advice). For Sobol, a power of two
    ``n_points`` keeps the sequence balanced.

    Args:
        base: the config every point starts from.
        space: field path -> distribution or sequence of values.
        n_points: the trial budget, >= 1.
        seed: seed of the scrambling, an int >= 0.
        method: ``"sobol"`` or ``"halton"``.
        seeds: run seeds to repeat every point with; ``None`` keeps ``base.seed``.

    Raises:
        ValueError: for an unknown field or method, or an invalid value (named).
        TypeError: for a space entry of the wrong type.

    Example:
        >>> import momentumlab as ml
        >>> space = {"learning_rate": ml.sweep.Uniform(low=1e-3, high=0.5, log=True),
        ...          "momentum": ml.sweep.Uniform(low=0.0, high=0.95)}
        >>> pts = ml.sweep.quasi_random_search(ml.RunConfig(), space, 8, seed=0)
        >>> len(pts), all(1e-3 <= p.config.learning_rate < 0.5 for p in pts)
        (8, True)
    """
    import warnings

    from scipy.stats import qmc

    from momentumlab._src.checks import check_choice

    check_type("base", base, RunConfig, "a RunConfig")
    if not isinstance(space, Mapping) or not space:
        raise TypeError(f"space must be a non-empty mapping of field -> distribution, got {space!r}")
    n = check_int("n_points", n_points, low=1)
    s = check_int("seed", seed, low=0)
    check_choice("method", method, ("sobol", "halton"))
    seed_list = _check_seeds(seeds, space)
    dists = _distributions(space)
    d = len(dists)
    engine = (
        qmc.Sobol(d, scramble=True, seed=s) if method == "sobol" else qmc.Halton(d, scramble=True, seed=s)
    )
    with warnings.catch_warnings():  # Sobol warns when n is not a power of two; the docstring says so
        warnings.simplefilter("ignore", UserWarning)
        u = engine.random(n)
    rows = [[(name, _plain(_from_unit(dist, float(u[i, j])))) for j, (name, dist) in enumerate(dists)]
            for i in range(n)]  # fmt: skip
    return _points(base, rows, seed_list)


def _from_unit(dist: Distribution, u: float) -> Any:
    """Map ``u`` in ``[0, 1)`` onto ``dist`` (the inverse of its distribution function)."""
    if isinstance(dist, Uniform):
        if dist.log:
            lo, hi = math.log(dist.low), math.log(dist.high)
            return min(math.exp(lo + u * (hi - lo)), math.nextafter(dist.high, -math.inf))
        return min(dist.low + u * (dist.high - dist.low), math.nextafter(dist.high, -math.inf))
    if isinstance(dist, IntUniform):
        if dist.log:
            lo, hi = math.log(dist.low), math.log(dist.high + 1)
            return min(int(math.exp(lo + u * (hi - lo))), dist.high)
        return min(dist.low + int(u * (dist.high - dist.low + 1)), dist.high)
    return dist.values[min(int(u * len(dist.values)), len(dist.values) - 1)]
