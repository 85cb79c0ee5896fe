"""momentumlab: run, check and picture optimizer experiments on Apache MXNet Gluon.

Importing the package is light: the subpackages and the runner's names load on first use, so
``import momentumlab`` (and ``momentumlab.theory``, ``momentumlab.data``, the schedules of
``momentumlab.optim`` and ``momentumlab.viz``) does not import MXNet; training does.

Example:
    >>> import momentumlab as ml
    >>> result = ml.train(ml.RunConfig.chapter(), ml.data.make_linear_regression(seed=0))
    >>> result.final_loss < 1e-4
    True
"""

import importlib as _importlib
import logging as _logging
import typing as _typing

from momentumlab._src.types import ScalarOrSchedule as ScalarOrSchedule
from momentumlab._src.types import Seed as Seed
from momentumlab.optim._schedules import Schedule as Schedule

if _typing.TYPE_CHECKING:  # what the lazy names below resolve to, for type checkers and IDEs
    from momentumlab import data as data
    from momentumlab import models as models
    from momentumlab import optim as optim
    from momentumlab import problems as problems
    from momentumlab import runner as runner
    from momentumlab import stats as stats
    from momentumlab import sweep as sweep
    from momentumlab import theory as theory
    from momentumlab import viz as viz
    from momentumlab.runner import EpochInfo as EpochInfo
    from momentumlab.runner import Prediction as Prediction
    from momentumlab.runner import RunConfig as RunConfig
    from momentumlab.runner import RunResult as RunResult
    from momentumlab.runner import batch_orders as batch_orders
    from momentumlab.runner import can_train_many as can_train_many
    from momentumlab.runner import predict as predict
    from momentumlab.runner import train as train
    from momentumlab.runner import train_many as train_many

__version__ = "0.1.0"

# A library configures no logging output: without this, Python's last-resort handler
# would print every warning (e.g. "diverged in epoch 3") to stderr.
_logging.getLogger("momentumlab").addHandler(_logging.NullHandler())

_SUBPACKAGES = frozenset({"data", "models", "optim", "problems", "runner", "stats", "sweep", "theory", "viz"})
_RUNNER_NAMES = frozenset(
    {
        "EpochInfo",
        "Prediction",
        "RunConfig",
        "RunResult",
        "batch_orders",
        "can_train_many",
        "predict",
        "train",
        "train_many",
    }
)


if not _typing.TYPE_CHECKING:  # hidden from type checkers, which see the imports above instead

    def __getattr__(name: str) -> _typing.Any:
        """Import a subpackage or a runner name on first use (PEP 562) and keep it."""
        if name in _SUBPACKAGES:
            value = _importlib.import_module(f"{__name__}.{name}")
        elif name in _RUNNER_NAMES:
            value = getattr(_importlib.import_module(f"{__name__}.runner"), name)
        else:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "EpochInfo",
    "Prediction",
    "RunConfig",
    "RunResult",
    "ScalarOrSchedule",
    "Schedule",
    "Seed",
    "batch_orders",
    "can_train_many",
    "data",
    "models",
    "optim",
    "predict",
    "problems",
    "runner",
    "stats",
    "sweep",
    "theory",
    "train",
    "train_many",
    "viz",
]
