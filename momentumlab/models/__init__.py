"""Gluon blocks (linear, MLP, 2-D test functions), seeded initialisers and parameter helpers.

Example:
    >>> import momentumlab as ml
    >>> net = ml.models.LinearRegressor(2)
    >>> ml.models.init_normal(net, sigma=1.0, seed=0)
    >>> [a.shape for a in ml.models.get_linear_params(net)]
    [(1, 2), (1,)]
"""

from momentumlab.models._functions import Beale as Beale
from momentumlab.models._functions import Bowl as Bowl
from momentumlab.models._functions import Function2D as Function2D
from momentumlab.models._functions import ObjectiveLoss as ObjectiveLoss
from momentumlab.models._functions import Rosenbrock as Rosenbrock
from momentumlab.models._functions import Saddle as Saddle
from momentumlab.models._linear import LinearRegressor as LinearRegressor
from momentumlab.models._linear import get_linear_params as get_linear_params
from momentumlab.models._linear import get_params as get_params
from momentumlab.models._linear import init_normal as init_normal
from momentumlab.models._linear import set_params as set_params
from momentumlab.models._mlp import MLP as MLP
from momentumlab.models._mlp import init_glorot as init_glorot
from momentumlab.models._mlp import init_he as init_he

__all__ = [
    "MLP",
    "Beale",
    "Bowl",
    "Function2D",
    "LinearRegressor",
    "ObjectiveLoss",
    "Rosenbrock",
    "Saddle",
    "get_linear_params",
    "get_params",
    "init_glorot",
    "init_he",
    "init_normal",
    "set_params",
]
