"""A whole sweep described by plain data (what a TOML file holds), validated key by key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from momentumlab._src.checks import check_type
from momentumlab.runner import RunConfig
from momentumlab.runner._config import field_from_plain
from momentumlab.sweep._data import DataSpec, LinearRegressionSpec, ProblemSpec, data_spec_from_mapping
from momentumlab.sweep._space import Choice, IntUniform, Point, Uniform, grid, random_search

_TOP_KEYS = ("config", "data", "grid", "random", "seeds")
_RANDOM_KEYS = ("n_points", "seed", "space")


def _unknown(where: str, values: Mapping[str, Any], valid: Sequence[str]) -> None:
    for key in values:
        if key not in valid:
            raise ValueError(f"{where} has unknown key {key!r}; valid keys are {list(valid)}")


def _table(where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{where} must be a table (mapping), got {value!r}")
    return value


def _none(name: str, value: Any) -> Any:
    """A swept value from plain data: ``"none"`` is ``None``, a table with a kind a schedule."""
    if "." in name:
        return value
    return field_from_plain(name, value)


def config_from_mapping(values: Mapping[str, Any]) -> RunConfig:
    """A :class:`~momentumlab.RunConfig` from a plain mapping such as a TOML ``[config]`` table.

    The :meth:`RunConfig.from_dict` form: ``"none"`` stands for ``None``, a schedule is a
    table with a ``kind``.

    Example:
        >>> import momentumlab as ml
        >>> ml.sweep.config_from_mapping({"momentum": "none", "optimizer": "sgd"}).momentum is None
        True
    """
    table = _table("config", values)
    return RunConfig.from_dict(table)


def _distribution(name: str, value: Any) -> Uniform | IntUniform | Choice | list[Any]:
    if isinstance(value, Mapping):
        _unknown(f"random.space[{name!r}]", value, ("low", "high", "log"))
        if "low" not in value or "high" not in value:
            raise ValueError(f"random.space[{name!r}] must have 'low' and 'high', got {dict(value)}")
        ints = all(isinstance(value[k], int) and not isinstance(value[k], bool) for k in ("low", "high"))
        cls = IntUniform if ints else Uniform
        return cls(low=value["low"], high=value["high"], log=value.get("log", False))
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [_none(name, v) for v in value]
    raise TypeError(
        f"random.space[{name!r}] must be a table {{low, high, log}} or a list of values, got {value!r}"
    )


@dataclass(frozen=True, eq=False)
class SweepSpec:
    """A sweep read from plain data: the base config, the data spec and every point.

    Attributes:
        base: the config every point starts from.
        data: the data spec.
        points: the grid points followed by the random points.
    """

    base: RunConfig
    data: DataSpec
    points: tuple[Point, ...]

    def __post_init__(self) -> None:
        check_type("base", self.base, RunConfig, "a RunConfig")
        check_type("data", self.data, DataSpec, "a data spec (an object with build())")
        check_type("points", self.points, tuple, "a tuple of Point")
        for i, p in enumerate(self.points):
            check_type(f"points[{i}]", p, Point, "a Point")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> SweepSpec:
        """Read a spec; every unknown key is an error that names it.

        Keys: ``config`` (base :class:`~momentumlab.RunConfig` fields, ``schedule`` as a
        table), ``data`` (:class:`LinearRegressionSpec` arguments, or ``problem = NAME`` and
        its options: the base config then starts from the problem's stated ``settings``),
        ``grid`` (field path -> list of values), ``random`` (``n_points``, ``seed``,
        ``space``: field path -> list of values or ``{low, high, log}``; int bounds draw ints),
        ``seeds`` (run seeds to repeat every point with). At least one of ``grid`` and ``random`` is required.

        Raises:
            ValueError: for an unknown key, field or bad value (named).
            TypeError: for a value of the wrong type.

        Example:
            >>> import momentumlab as ml
            >>> spec = ml.sweep.SweepSpec.from_mapping({
            ...     "config": {"epochs": 1},
            ...     "grid": {"learning_rate": [0.1, 0.2], "momentum": [0.0, 0.9]},
            ...     "seeds": [0, 1]})
            >>> len(spec.points), spec.base.epochs
            (8, 1)
            >>> ml.sweep.SweepSpec.from_mapping({"grid": {"momentum": [0.5]}, "sedes": [0]})
            Traceback (most recent call last):
            ...
            ValueError: spec has unknown key 'sedes'; valid keys are ['config', 'data', ...]
        """
        top = _table("spec", values)
        _unknown("spec", top, _TOP_KEYS)
        data = (
            data_spec_from_mapping(_table("data", top["data"])) if "data" in top else LinearRegressionSpec()
        )
        config_table = dict(_table("config", top.get("config", {})))
        if isinstance(data, ProblemSpec):  # the problem's stated settings, then the file's
            config_table = {**data.build().settings, **config_table}
        base = config_from_mapping(config_table)
        seeds = top.get("seeds")
        if "grid" not in top and "random" not in top:
            raise ValueError("spec must have a 'grid' or a 'random' table (or both), got neither")
        points: list[Point] = []
        if "grid" in top:
            axes = _table("grid", top["grid"])
            fixed = {}
            for name, vals in axes.items():
                if not isinstance(vals, list):
                    raise TypeError(f"grid[{name!r}] must be a list of values, got {vals!r}")
                fixed[name] = [_none(name, v) for v in vals]
            points.extend(grid(base, fixed, seeds=seeds))
        if "random" in top:
            rnd = _table("random", top["random"])
            _unknown("random", rnd, _RANDOM_KEYS)
            for key in _RANDOM_KEYS:
                if key not in rnd:
                    raise ValueError(f"random must have {key!r}, got keys {list(rnd)}")
            space = {n: _distribution(n, v) for n, v in _table("random.space", rnd["space"]).items()}
            points.extend(random_search(base, space, n_points=rnd["n_points"], seed=rnd["seed"], seeds=seeds))
        return cls(base=base, data=data, points=tuple(points))
