"""Optimisation problems: data, a held-out split, a net factory, a loss, a metric, an optimum.

``make(name)`` builds one of the suite (``names()`` lists them); every problem trains with
``ml.train(ml.RunConfig(**problem.settings), problem)``.

Example:
    >>> import momentumlab as ml
    >>> problem = ml.problems.linear_problem(ml.data.make_linear_regression(seed=0))
    >>> problem.name, problem.metric
    ('linear-regression', None)
    >>> 'digits-mlp' in ml.problems.names()
    True
"""

from momentumlab.problems._catalog import beale as beale
from momentumlab.problems._catalog import bowl as bowl
from momentumlab.problems._catalog import breast_cancer as breast_cancer
from momentumlab.problems._catalog import diabetes as diabetes
from momentumlab.problems._catalog import digits_mlp as digits_mlp
from momentumlab.problems._catalog import linear_regression as linear_regression
from momentumlab.problems._catalog import logistic as logistic
from momentumlab.problems._catalog import make as make
from momentumlab.problems._catalog import names as names
from momentumlab.problems._catalog import quadratic as quadratic
from momentumlab.problems._catalog import rosenbrock as rosenbrock
from momentumlab.problems._catalog import saddle as saddle
from momentumlab.problems._problem import METRICS as METRICS
from momentumlab.problems._problem import Problem as Problem
from momentumlab.problems._problem import linear_problem as linear_problem

__all__ = [
    "METRICS",
    "Problem",
    "beale",
    "bowl",
    "breast_cancer",
    "diabetes",
    "digits_mlp",
    "linear_problem",
    "linear_regression",
    "logistic",
    "make",
    "names",
    "quadratic",
    "rosenbrock",
    "saddle",
]
