"""Every problem trains to a stated loss (and held-out accuracy) at its stated settings.

The settings are the problem's own ``settings`` (SGD with momentum, listed in the guide);
slow tests run them in full, the default suite runs a quick version of each.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import momentumlab as ml

pytest.importorskip("sklearn")


def _run(name: str, **overrides: Any) -> tuple[ml.problems.Problem, ml.RunResult]:
    problem = ml.problems.make(name)
    config = ml.RunConfig(**{**problem.settings, **overrides})
    result = ml.train(config, problem, record_params=problem.data.n_features == 1)
    assert not result.diverged
    return problem, result


def _relative_error(problem: ml.problems.Problem, result: ml.RunResult) -> float:
    assert problem.optimum is not None
    got = np.concatenate([result.params[k].ravel() for k in problem.optimum])
    want = np.concatenate([np.ravel(v) for v in problem.optimum.values()])
    return float(np.linalg.norm(got - want) / np.linalg.norm(want))


# name, overrides for the quick version (None: the full settings are quick), loss target
# name, relative excess of the final loss over the optimal loss (absolute 1e-9 for zero-loss)
LINEAR = [
    ("linear-regression", 0.05),  # the chapter's mini-batch SGD: its noise floor, 3 epochs
    ("diabetes", 1e-3),  # full-batch heavy ball
    ("quadratic", 1e-3),  # full-batch heavy ball
]


@pytest.mark.parametrize(("name", "loss_excess"), LINEAR)
def test_linear_problems_reach_the_closed_form_optimum(name: str, loss_excess: float) -> None:
    problem, result = _run(name)
    assert problem.optimal_loss is not None
    assert _relative_error(problem, result) < 1e-3
    assert result.final_loss <= problem.optimal_loss * (1 + loss_excess) + 1e-9


# name, quick epochs, distance reached in the quick run, distance at the full settings
FUNCTIONS = [
    ("bowl", None, 1e-3, 1e-6),
    ("rosenbrock", 5, 0.1, 1e-4),
    ("beale", None, 1e-3, 1e-5),
    ("saddle", None, 1e-3, 1e-5),
]


def _distance(problem: ml.problems.Problem, result: ml.RunResult) -> float:
    assert problem.optimum is not None
    return float(np.linalg.norm(result.params["xy"] - problem.optimum["xy"]))


@pytest.mark.parametrize(("name", "quick_epochs", "quick_dist", "full_dist"), FUNCTIONS)
def test_2d_functions_quick(name: str, quick_epochs: int | None, quick_dist: float, full_dist: float) -> None:
    overrides = {} if quick_epochs is None else {"epochs": quick_epochs}
    problem, result = _run(name, **overrides)
    assert _distance(problem, result) < (full_dist if quick_epochs is None else quick_dist)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "quick_epochs", "quick_dist", "full_dist"), FUNCTIONS)
def test_2d_functions_reach_their_minimum(
    name: str, quick_epochs: int | None, quick_dist: float, full_dist: float
) -> None:
    problem, result = _run(name)
    assert _distance(problem, result) < full_dist
    assert problem.optimal_loss is not None
    assert result.final_loss - problem.optimal_loss < 1e-8


def test_plain_gradient_descent_crawls_where_momentum_does_not() -> None:
    problem, plain = _run("rosenbrock", epochs=5, momentum=0.0)
    assert _distance(problem, plain) > 0.5  # heavy ball is within 0.1 after these 500 steps


# name, training loss below, held-out accuracy at least (the full settings are quick:
# logistic 5 epochs, breast-cancer 10, digits-mlp 10)
CLASSIFIERS = [
    ("logistic", 0.3, 0.92),
    ("breast-cancer", 0.07, 0.95),
    ("digits-mlp", 0.02, 0.95),
]


@pytest.mark.parametrize(("name", "loss_below", "accuracy"), CLASSIFIERS)
def test_classifiers_reach_loss_and_heldout_accuracy(name: str, loss_below: float, accuracy: float) -> None:
    _, result = _run(name)
    assert result.final_loss < loss_below
    assert result.metrics[-1] >= accuracy


@pytest.mark.slow
def test_digits_with_two_hidden_layers() -> None:
    problem = ml.problems.make("digits-mlp", hidden=(64, 32))
    result = ml.train(ml.RunConfig(**problem.settings), problem)
    assert result.final_loss < 0.01
    assert result.metrics[-1] >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_classifiers_hold_over_seeds(seed: int) -> None:
    for name, loss_below, accuracy in CLASSIFIERS:
        problem = ml.problems.make(name, seed=seed)
        result = ml.train(ml.RunConfig(**{**problem.settings, "seed": seed}), problem)
        assert result.final_loss < loss_below * 1.5, name
        assert result.metrics[-1] >= accuracy - 0.02, name
