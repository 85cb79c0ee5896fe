"""Optimisation problems: data, a held-out split, a net factory, a loss and a metric.

Example:
    >>> import momentumlab as ml
    >>> problem = ml.problems.linear_problem(ml.data.make_linear_regression(seed=0))
    >>> problem.name, problem.metric
    ('linear-regression', None)
"""

from momentumlab.problems._problem import METRICS as METRICS
from momentumlab.problems._problem import Problem as Problem
from momentumlab.problems._problem import linear_problem as linear_problem

__all__ = [
    "METRICS",
    "Problem",
    "linear_problem",
]
