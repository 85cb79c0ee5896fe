"""The experiment runner: a frozen config in, a frozen result out.

Example:
    >>> import momentumlab as ml
    >>> data = ml.data.make_linear_regression(n_samples=100, seed=0)
    >>> result = ml.train(ml.RunConfig(epochs=1), data)   # batches of 32, lr 0.01
    >>> result.n_steps, result.diverged
    (4, False)
"""

from momentumlab.runner._config import RunConfig as RunConfig
from momentumlab.runner._plan import batch_orders as batch_orders
from momentumlab.runner._predict import PREDICT_OPTIMIZERS as PREDICT_OPTIMIZERS
from momentumlab.runner._predict import Prediction as Prediction
from momentumlab.runner._predict import predict as predict
from momentumlab.runner._result import EpochInfo as EpochInfo
from momentumlab.runner._result import RunResult as RunResult
from momentumlab.runner._train import ENGINES as ENGINES
from momentumlab.runner._train import train as train
from momentumlab.runner._vectorized import can_train_many as can_train_many
from momentumlab.runner._vectorized import train_many as train_many

__all__ = [
    "ENGINES",
    "PREDICT_OPTIMIZERS",
    "EpochInfo",
    "Prediction",
    "RunConfig",
    "RunResult",
    "batch_orders",
    "can_train_many",
    "predict",
    "train",
    "train_many",
]
