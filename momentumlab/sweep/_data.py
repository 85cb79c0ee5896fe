"""Picklable descriptions of a sweep's data, rebuilt inside each worker.

Workers receive a small *spec* and build the data themselves rather than receiving pickled
arrays: the chapter's data is ~150 bytes as a spec and ~1 ms to regenerate (against ~0.4 s
per run), the spec is what the run key describes, and no worker keeps a module-level cache.
For a caller's own arrays, :class:`ArraysSpec` carries them (pickled once per chunk of runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from momentumlab._src.checks import check_array, check_choice, check_float, check_int, check_type
from momentumlab._src.types import Array
from momentumlab.data import LinearData, from_arrays, make_linear_regression
from momentumlab.data._arrays import check_arrays
from momentumlab.problems import Problem
from momentumlab.problems import make as make_problem
from momentumlab.problems import names as problem_names


@runtime_checkable
class DataSpec(Protocol):
    """Anything picklable with a deterministic ``build()`` giving a ``LinearData`` or ``Problem``."""

    def build(self) -> LinearData | Problem:
        """Build the data or problem (same arrays and description every time)."""
        ...


def _floats(name: str, value: Any, ndim: tuple[int, ...]) -> Any:
    """A checked array as a float or (nested) tuples of floats: hashable, like the spec."""
    arr = check_array(name, value, ndim=ndim)
    if arr.ndim == 0:
        return float(arr)
    return tuple(tuple(row) if isinstance(row, list) else row for row in arr.tolist())


@dataclass(frozen=True, kw_only=True)
class LinearRegressionSpec:
    """The arguments of :func:`momentumlab.data.make_linear_regression`, with an int seed.

    Example:
        >>> import momentumlab as ml
        >>> spec = ml.sweep.LinearRegressionSpec(n_samples=50, seed=1)
        >>> spec.build().description["n_samples"]
        50
    """

    n_samples: int = 1000
    weight: Any = (2.0, -3.4)
    bias: Any = 4.2
    noise: float = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("n_samples", self.n_samples, low=1)
        object.__setattr__(self, "weight", _floats("weight", self.weight, (1, 2)))
        object.__setattr__(self, "bias", _floats("bias", self.bias, (0, 1)))
        check_float("noise", self.noise, low=0.0)
        check_int("seed", self.seed, low=0)

    def build(self) -> LinearData:
        """Generate the data."""
        return make_linear_regression(
            self.n_samples, weight=np.asarray(self.weight), bias=np.asarray(self.bias),
            noise=self.noise, seed=int(self.seed),
        )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class ProblemSpec:
    """A problem of the suite by name (see :func:`momentumlab.problems.make`) and its options.

    Workers rebuild the problem from its name and options; the run key uses the problem's
    canonical ``description``.

    Example:
        >>> import momentumlab as ml
        >>> spec = ml.sweep.ProblemSpec(name="rosenbrock", options={"start": [-1.0, 2.0]})
        >>> spec.build().description["start"]
        [-1.0, 2.0]
    """

    name: str
    options: Any = ()

    def __post_init__(self) -> None:
        check_choice("problem", self.name, problem_names())
        opts = self.options
        if isinstance(opts, Mapping):
            opts = tuple(sorted(opts.items()))
        if not isinstance(opts, tuple):
            raise TypeError(f"options must be a mapping of the problem's options, got {self.options!r}")
        frozen = tuple((str(k), tuple(v) if isinstance(v, list) else v) for k, v in opts)
        object.__setattr__(self, "options", frozen)

    def build(self) -> Problem:
        """Make the problem."""
        return make_problem(self.name, **{k: list(v) if isinstance(v, tuple) else v for k, v in self.options})


@dataclass(frozen=True, eq=False)
class _GivenProblem:
    """A caller's own :class:`Problem`, carried to workers as is (it must pickle for pools)."""

    problem: Problem

    def build(self) -> Problem:
        return self.problem


@dataclass(frozen=True, eq=False)
class ArraysSpec:
    """A caller's own arrays (see :func:`momentumlab.data.from_arrays`), shipped to workers.

    Example:
        >>> import numpy as np, momentumlab as ml
        >>> X = np.ones((4, 2), dtype=np.float32)
        >>> ml.sweep.ArraysSpec(X, X.sum(axis=1), name="ones").build().description["name"]
        'ones'
    """

    features: Array
    labels: Array
    name: str | None = None

    def __post_init__(self) -> None:
        check_type("features", self.features, np.ndarray, "a numpy.ndarray")
        check_type("labels", self.labels, np.ndarray, "a numpy.ndarray")
        check_arrays(self.features, self.labels)
        if self.name is not None:
            check_type("name", self.name, str, "a str or None")

    def build(self) -> LinearData:
        """Wrap the arrays (checked by ``from_arrays``)."""
        return from_arrays(self.features, self.labels, name=self.name)


@dataclass(frozen=True, eq=False)
class _BuiltData:
    """A :class:`LinearData` made by the caller, carried to workers as NumPy arrays."""

    features: Array
    labels: Array
    true_weight: Array | None
    true_bias: Array | None
    noise: float | None
    description: dict[str, Any]

    def build(self) -> LinearData:
        import mxnet as mx

        return LinearData(
            features=mx.nd.array(self.features, dtype="float32"),
            labels=mx.nd.array(self.labels, dtype="float32"),
            true_weight=self.true_weight,
            true_bias=self.true_bias,
            noise=self.noise,
            description=dict(self.description),
        )


def as_spec(data: Any) -> DataSpec:
    """A picklable spec for ``data``: a spec as is, a ``LinearData`` as its arrays.

    Example:
        >>> import momentumlab as ml
        >>> spec = ml.sweep.as_spec(ml.data.make_linear_regression(n_samples=5, seed=0))
        >>> spec.build().n_samples
        5
    """
    if isinstance(data, LinearData):
        if not data.description:
            raise ValueError(
                "data must have a non-empty description to key runs; use "
                "momentumlab.data.from_arrays or make_linear_regression, got an empty description"
            )
        X, y = data.numpy()
        return _BuiltData(X, y, data.true_weight, data.true_bias, data.noise, dict(data.description))
    if isinstance(data, Problem):
        if not data.description:
            raise ValueError(
                "data (a Problem) must have a non-empty description to key runs, got an empty one"
            )
        return _GivenProblem(data)
    if isinstance(data, DataSpec):
        return data
    raise TypeError(
        "data must be a LinearData, a Problem or a data spec with a build() method "
        f"(LinearRegressionSpec, ProblemSpec, ArraysSpec), got {type(data).__name__}"
    )


def data_spec_from_mapping(values: Mapping[str, Any]) -> DataSpec:
    """A data spec from a plain mapping (a TOML ``[data]`` table).

    Either ``make_linear_regression`` arguments (``n_samples``, ``weight``, ``bias``,
    ``noise``, ``seed``), or ``problem = NAME`` (one of :func:`momentumlab.problems.names`)
    with that problem's options beside it; an unknown key is an error that names it.

    Example:
        >>> import momentumlab as ml
        >>> ml.sweep.data_spec_from_mapping({"n_samples": 20, "seed": 3})
        LinearRegressionSpec(n_samples=20, weight=(2.0, -3.4), bias=4.2, noise=0.01, seed=3)
        >>> ml.sweep.data_spec_from_mapping({"problem": "bowl"})
        ProblemSpec(name='bowl', options=())
    """
    if not isinstance(values, Mapping):
        raise TypeError(f"data must be a mapping, got {values!r}")
    if "problem" in values:
        options = {k: v for k, v in values.items() if k != "problem"}
        spec = ProblemSpec(name=values["problem"], options=options)
        try:
            spec.build()  # fail before anything runs, naming a bad option
        except TypeError as err:
            raise ValueError(f"data: {err}") from err
        return spec
    valid = ("n_samples", "weight", "bias", "noise", "seed")
    for key in values:
        if key not in valid:
            raise ValueError(f"data has unknown key {key!r}; valid keys are {list(valid)}")
    return LinearRegressionSpec(**dict(values))
