"""Datasets for optimizer experiments: seeded generators with ground truth, and wrappers.

Example:
    >>> import momentumlab as ml
    >>> data = ml.data.make_linear_regression(seed=0)
    >>> data.n_samples, data.n_features
    (1000, 2)
"""

from momentumlab.data._arrays import ArrayData as ArrayData
from momentumlab.data._arrays import classification_arrays as classification_arrays
from momentumlab.data._classification import make_logistic as make_logistic
from momentumlab.data._conditioned import make_conditioned_regression as make_conditioned_regression
from momentumlab.data._linear import LinearData as LinearData
from momentumlab.data._linear import from_arrays as from_arrays
from momentumlab.data._linear import make_linear_regression as make_linear_regression

__all__ = [
    "ArrayData",
    "LinearData",
    "classification_arrays",
    "from_arrays",
    "make_conditioned_regression",
    "make_linear_regression",
    "make_logistic",
]
