r"""Theory beside practice: closed forms for linear regression under ``L2Loss`` (NumPy only).

For the quadratic that full-batch training minimises (Hessian :math:`H = A^\top A/n`,
:math:`A = [X, 1]`, the scaling ``Trainer.step(batch_size)`` gives), this package computes
the spectrum and condition number κ, the least-squares optimum and optimal loss, the best
gradient-descent step, Polyak's optimal heavy ball in MXNet's convention, the predicted rate
of any (learning rate, momentum), the stability region and critical damping curves, the
stationary loss floor of mini-batch SGD, the expected mini-batch loss of the momentum
family under any schedule, and measures rates from runs.

A *rate* is always the per-step contraction of the parameter error; the excess loss
contracts by rate².

Example:
    >>> import momentumlab as ml
    >>> data = ml.data.make_conditioned_regression(300, 2, condition_number=100.0, seed=0)
    >>> q = ml.theory.least_squares(data)
    >>> gd, hb = ml.theory.optimal_gd(q), ml.theory.optimal_momentum(q)
    >>> round(gd.rate, 4), round(hb.rate, 4), round(hb.momentum, 4)
    (0.9802, 0.8182, 0.6694)
"""

from momentumlab.theory._curve import CURVE_METHODS as CURVE_METHODS
from momentumlab.theory._curve import LOOKAHEAD_INNER as LOOKAHEAD_INNER
from momentumlab.theory._curve import PredictedCurve as PredictedCurve
from momentumlab.theory._curve import family_rate as family_rate
from momentumlab.theory._curve import predict_curve as predict_curve
from momentumlab.theory._curve import step_matrices as step_matrices
from momentumlab.theory._expected import ExpectedCurve as ExpectedCurve
from momentumlab.theory._expected import expected_curve as expected_curve
from momentumlab.theory._fit import RateFit as RateFit
from momentumlab.theory._fit import fit_rate as fit_rate
from momentumlab.theory._fit import steps_to_tolerance as steps_to_tolerance
from momentumlab.theory._noise import StationaryLoss as StationaryLoss
from momentumlab.theory._noise import stationary_loss as stationary_loss
from momentumlab.theory._quadratic import LeastSquares as LeastSquares
from momentumlab.theory._quadratic import hessian as hessian
from momentumlab.theory._quadratic import least_squares as least_squares
from momentumlab.theory._rates import Tuning as Tuning
from momentumlab.theory._rates import best_learning_rate as best_learning_rate
from momentumlab.theory._rates import critical_learning_rates as critical_learning_rates
from momentumlab.theory._rates import is_stable as is_stable
from momentumlab.theory._rates import max_stable_learning_rate as max_stable_learning_rate
from momentumlab.theory._rates import mode_rate as mode_rate
from momentumlab.theory._rates import optimal_gd as optimal_gd
from momentumlab.theory._rates import optimal_momentum as optimal_momentum
from momentumlab.theory._rates import rate as rate

__all__ = [
    "CURVE_METHODS",
    "LOOKAHEAD_INNER",
    "ExpectedCurve",
    "LeastSquares",
    "PredictedCurve",
    "RateFit",
    "StationaryLoss",
    "Tuning",
    "best_learning_rate",
    "critical_learning_rates",
    "expected_curve",
    "family_rate",
    "fit_rate",
    "hessian",
    "is_stable",
    "least_squares",
    "max_stable_learning_rate",
    "mode_rate",
    "optimal_gd",
    "optimal_momentum",
    "predict_curve",
    "rate",
    "stationary_loss",
    "step_matrices",
    "steps_to_tolerance",
]
