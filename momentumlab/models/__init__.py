"""Gluon ``Dense`` wrappers and parameter helpers.

Example:
    >>> import momentumlab as ml
    >>> net = ml.models.LinearRegressor(2)
    >>> ml.models.init_normal(net, sigma=1.0, seed=0)
    >>> [a.shape for a in ml.models.get_linear_params(net)]
    [(1, 2), (1,)]
"""

from momentumlab.models._linear import LinearRegressor as LinearRegressor
from momentumlab.models._linear import get_linear_params as get_linear_params
from momentumlab.models._linear import get_params as get_params
from momentumlab.models._linear import init_normal as init_normal
from momentumlab.models._linear import set_params as set_params

__all__ = [
    "LinearRegressor",
    "get_linear_params",
    "get_params",
    "init_normal",
    "set_params",
]
