"""Schedules, the MXNet scheduler bridge and the Trainer factory.

Schedules are frozen values (:class:`Schedule`), pure functions of the update step (from 0)
that compare, hash, pickle and turn into plain data and back (:meth:`Schedule.to_dict`,
:func:`schedule_from_dict`); the factories below build them (see the user guide on schedules).

Example:
    >>> import momentumlab as ml
    >>> decay = ml.optim.EpochDecay(factor=0.1, after_epoch=2)
    >>> [decay.learning_rate(0.2, e) for e in (1, 2, 3)]
    [0.2, 0.2, 0.020000000000000004]
    >>> s = ml.optim.multistep_decay(0.2, [2, 3], 0.1)
    >>> s(2) == decay.learning_rate(0.2, 3)
    True
"""

import importlib as _importlib
import typing as _typing

from momentumlab.optim._plateau import PlateauState as PlateauState
from momentumlab.optim._plateau import ReduceOnPlateau as ReduceOnPlateau
from momentumlab.optim._reference import REFERENCE_UPDATES as REFERENCE_UPDATES
from momentumlab.optim._reference import ReferenceRun as ReferenceRun
from momentumlab.optim._reference import demon_momentum as demon_momentum
from momentumlab.optim._reference import mxnet_to_torch_momentum as mxnet_to_torch_momentum
from momentumlab.optim._reference import mxnet_velocity_to_torch_buffer as mxnet_velocity_to_torch_buffer
from momentumlab.optim._reference import reference_run as reference_run
from momentumlab.optim._reference import reference_update as reference_update
from momentumlab.optim._reference import torch_buffer_to_mxnet_velocity as torch_buffer_to_mxnet_velocity
from momentumlab.optim._reference import torch_to_mxnet_momentum as torch_to_mxnet_momentum
from momentumlab.optim._schedules import SCHEDULE_KINDS as SCHEDULE_KINDS
from momentumlab.optim._schedules import WSD_SHAPES as WSD_SHAPES
from momentumlab.optim._schedules import BoundPerEpoch as BoundPerEpoch
from momentumlab.optim._schedules import ConstantSchedule as ConstantSchedule
from momentumlab.optim._schedules import CosineDecay as CosineDecay
from momentumlab.optim._schedules import CosineWarmRestarts as CosineWarmRestarts
from momentumlab.optim._schedules import CustomSchedule as CustomSchedule
from momentumlab.optim._schedules import EpochDecay as EpochDecay
from momentumlab.optim._schedules import ExponentialDecay as ExponentialDecay
from momentumlab.optim._schedules import JoinSchedules as JoinSchedules
from momentumlab.optim._schedules import LinearSchedule as LinearSchedule
from momentumlab.optim._schedules import MultistepDecay as MultistepDecay
from momentumlab.optim._schedules import OneCycle as OneCycle
from momentumlab.optim._schedules import OneCycleLearningRate as OneCycleLearningRate
from momentumlab.optim._schedules import OneCycleMomentum as OneCycleMomentum
from momentumlab.optim._schedules import PerEpoch as PerEpoch
from momentumlab.optim._schedules import PiecewiseConstant as PiecewiseConstant
from momentumlab.optim._schedules import PiecewiseScales as PiecewiseScales
from momentumlab.optim._schedules import PolynomialSchedule as PolynomialSchedule
from momentumlab.optim._schedules import Schedule as Schedule
from momentumlab.optim._schedules import StepDecay as StepDecay
from momentumlab.optim._schedules import Warmup as Warmup
from momentumlab.optim._schedules import WarmupStableDecay as WarmupStableDecay
from momentumlab.optim._schedules import bind_schedule as bind_schedule
from momentumlab.optim._schedules import constant_schedule as constant_schedule
from momentumlab.optim._schedules import cosine_decay as cosine_decay
from momentumlab.optim._schedules import cosine_warm_restarts as cosine_warm_restarts
from momentumlab.optim._schedules import custom_schedule as custom_schedule
from momentumlab.optim._schedules import exponential_decay as exponential_decay
from momentumlab.optim._schedules import join_schedules as join_schedules
from momentumlab.optim._schedules import linear_schedule as linear_schedule
from momentumlab.optim._schedules import multistep_decay as multistep_decay
from momentumlab.optim._schedules import one_cycle as one_cycle
from momentumlab.optim._schedules import piecewise_constant as piecewise_constant
from momentumlab.optim._schedules import piecewise_scales as piecewise_scales
from momentumlab.optim._schedules import polynomial_schedule as polynomial_schedule
from momentumlab.optim._schedules import schedule_from_dict as schedule_from_dict
from momentumlab.optim._schedules import step_decay as step_decay
from momentumlab.optim._schedules import warmup as warmup
from momentumlab.optim._schedules import warmup_stable_decay as warmup_stable_decay

if _typing.TYPE_CHECKING:  # the MXNet-touching names below load on first use
    from momentumlab.optim._bridge import ScheduleLR as ScheduleLR
    from momentumlab.optim._bridge import as_lr_scheduler as as_lr_scheduler
    from momentumlab.optim._bridge import from_mxnet as from_mxnet
    from momentumlab.optim._family import FAMILY_OPTIMIZERS as FAMILY_OPTIMIZERS
    from momentumlab.optim._family import QHM as QHM
    from momentumlab.optim._family import AggMo as AggMo
    from momentumlab.optim._family import Demon as Demon
    from momentumlab.optim._family import Lookahead as Lookahead
    from momentumlab.optim._family import SGDScheduleFree as SGDScheduleFree
    from momentumlab.optim._family import TorchSGD as TorchSGD
    from momentumlab.optim._family import evaluation_point as evaluation_point
    from momentumlab.optim._family import register_family as register_family
    from momentumlab.optim._optimizers import ScheduledMomentumNAG as ScheduledMomentumNAG
    from momentumlab.optim._optimizers import ScheduledMomentumSGD as ScheduledMomentumSGD
    from momentumlab.optim._optimizers import SeededSGLD as SeededSGLD
    from momentumlab.optim._trainer import EXCLUDED_OPTIMIZERS as EXCLUDED_OPTIMIZERS
    from momentumlab.optim._trainer import HYPERPARAMETER_CHECKS as HYPERPARAMETER_CHECKS
    from momentumlab.optim._trainer import MOMENTUM_SCHEDULE_OPTIMIZERS as MOMENTUM_SCHEDULE_OPTIMIZERS
    from momentumlab.optim._trainer import check_hyperparameters as check_hyperparameters
    from momentumlab.optim._trainer import check_momentum as check_momentum
    from momentumlab.optim._trainer import check_optimizer as check_optimizer
    from momentumlab.optim._trainer import make_trainer as make_trainer
    from momentumlab.optim._trainer import optimizer_hyperparameters as optimizer_hyperparameters
    from momentumlab.optim._trainer import registered_optimizers as registered_optimizers
    from momentumlab.optim._trainer import trainable_optimizers as trainable_optimizers

# Trainer factory, MXNet optimizers and scheduler bridge: importing them imports MXNet, so
# they load on first use and the schedules stay importable without it.
_LAZY = {
    "AggMo": "_family",
    "Demon": "_family",
    "FAMILY_OPTIMIZERS": "_family",
    "Lookahead": "_family",
    "QHM": "_family",
    "SGDScheduleFree": "_family",
    "TorchSGD": "_family",
    "evaluation_point": "_family",
    "register_family": "_family",
    "EXCLUDED_OPTIMIZERS": "_trainer",
    "HYPERPARAMETER_CHECKS": "_trainer",
    "MOMENTUM_SCHEDULE_OPTIMIZERS": "_trainer",
    "ScheduleLR": "_bridge",
    "ScheduledMomentumNAG": "_optimizers",
    "ScheduledMomentumSGD": "_optimizers",
    "SeededSGLD": "_optimizers",
    "as_lr_scheduler": "_bridge",
    "check_hyperparameters": "_trainer",
    "check_momentum": "_trainer",
    "check_optimizer": "_trainer",
    "from_mxnet": "_bridge",
    "make_trainer": "_trainer",
    "optimizer_hyperparameters": "_trainer",
    "registered_optimizers": "_trainer",
    "trainable_optimizers": "_trainer",
}


if not _typing.TYPE_CHECKING:  # hidden from type checkers, which see the imports above instead

    def __getattr__(name: str) -> _typing.Any:
        """Import an MXNet-touching name on first use (PEP 562) and keep it."""
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        _importlib.import_module(f"{__name__}._family")  # registers the family's optimizers with MXNet
        value = getattr(_importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "EXCLUDED_OPTIMIZERS",
    "FAMILY_OPTIMIZERS",
    "HYPERPARAMETER_CHECKS",
    "MOMENTUM_SCHEDULE_OPTIMIZERS",
    "QHM",
    "REFERENCE_UPDATES",
    "SCHEDULE_KINDS",
    "WSD_SHAPES",
    "AggMo",
    "BoundPerEpoch",
    "ConstantSchedule",
    "CosineDecay",
    "CosineWarmRestarts",
    "CustomSchedule",
    "Demon",
    "EpochDecay",
    "ExponentialDecay",
    "JoinSchedules",
    "LinearSchedule",
    "Lookahead",
    "MultistepDecay",
    "OneCycle",
    "OneCycleLearningRate",
    "OneCycleMomentum",
    "PerEpoch",
    "PiecewiseConstant",
    "PiecewiseScales",
    "PlateauState",
    "PolynomialSchedule",
    "ReduceOnPlateau",
    "ReferenceRun",
    "SGDScheduleFree",
    "Schedule",
    "ScheduleLR",
    "ScheduledMomentumNAG",
    "ScheduledMomentumSGD",
    "SeededSGLD",
    "StepDecay",
    "TorchSGD",
    "Warmup",
    "WarmupStableDecay",
    "as_lr_scheduler",
    "bind_schedule",
    "check_hyperparameters",
    "check_momentum",
    "check_optimizer",
    "constant_schedule",
    "cosine_decay",
    "cosine_warm_restarts",
    "custom_schedule",
    "demon_momentum",
    "evaluation_point",
    "exponential_decay",
    "from_mxnet",
    "join_schedules",
    "linear_schedule",
    "make_trainer",
    "multistep_decay",
    "mxnet_to_torch_momentum",
    "mxnet_velocity_to_torch_buffer",
    "one_cycle",
    "optimizer_hyperparameters",
    "piecewise_constant",
    "piecewise_scales",
    "polynomial_schedule",
    "reference_run",
    "reference_update",
    "register_family",
    "registered_optimizers",
    "schedule_from_dict",
    "step_decay",
    "torch_buffer_to_mxnet_velocity",
    "torch_to_mxnet_momentum",
    "trainable_optimizers",
    "warmup",
    "warmup_stable_decay",
]
