"""ml.predict: the theory's curve of a run at the run's own records, against float64 and float32 runs."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import momentumlab as ml

F64 = npt.NDArray[np.float64]
N = 200
EPOCHS = 40

#: Each predicted optimizer with hyperparameters it is tested at (full batch, WSD schedule).
CASES: dict[str, dict[str, Any]] = {
    "sgd": {"momentum": 0.8},
    "nag": {"momentum": 0.8},
    "sgd_torch": {"momentum": 0.8, "learning_rate": 0.1},
    "qhm": {"momentum": 0.9, "hyperparameters": {"nu": 0.7}},
    "aggmo": {"hyperparameters": {"betas": "0,0.5,0.9"}, "learning_rate": 0.1},
    "demon": {"momentum": 0.9, "hyperparameters": {"total_steps": 30}},
    "sgd_schedule_free": {"momentum": 0.9},
}
#: Lookahead (k = 3, alpha = 0.6) around every predicted inner optimizer, at the inner's case.
CASES.update(
    {
        f"lookahead({inner})": {
            **{key: value for key, value in case.items() if key != "hyperparameters"},
            "optimizer": "lookahead",
            "hyperparameters": {
                "k": 3,
                "alpha": 0.6,
                "inner": inner,
                **(
                    {
                        "inner_hyperparameters": ",".join(
                            f"{k}={v}" for k, v in case["hyperparameters"].items()
                        )
                    }
                    if "hyperparameters" in case and inner != "aggmo"
                    else {}
                ),
            },
        }
        for inner, case in list(CASES.items())
    }
)


@pytest.fixture(scope="module")
def problem() -> ml.problems.Problem:
    data = ml.data.make_conditioned_regression(N, 3, condition_number=20.0, noise=0.1, seed=0)
    return ml.problems.linear_problem(data)


def full_batch_config(name: str) -> ml.RunConfig:
    case = dict(CASES[name])
    optimizer = case.pop("optimizer", name)
    peak = case.pop("learning_rate", 0.5)
    wsd = ml.optim.warmup_stable_decay(
        peak, 5, 15, EPOCHS - 20, decay_shape="cosine", init_value=peak / 10, end_value=peak / 100
    )
    return ml.RunConfig(
        optimizer=optimizer, batch_size=N, epochs=EPOCHS, learning_rate=wsd, init_sigma=1.0, **case
    )


def reference_losses(q: Any, result: ml.RunResult) -> F64:
    """A float64 full-batch run from the run's initial parameters, with its rates and momenta."""
    A = q.design
    y = A @ np.concatenate([q.weight[0], q.bias]) - q.residuals[:, 0]  # the labels, in float64

    def gradient(w: F64) -> F64:
        g: F64 = A.T @ (A @ w - y) / len(y)
        return g

    w0 = np.concatenate([result.param_history["dense0_weight"][0, 0], result.param_history["dense0_bias"][0]])
    hyper = dict(result.config.hyperparameters)
    optimizer = result.config.optimizer
    if optimizer == "aggmo":
        hyper["betas"] = [float(b) for b in str(hyper["betas"]).split(",")]
    if "inner_hyperparameters" in hyper:  # "key=value,..." as the config holds it
        pairs = (item.split("=") for item in str(hyper["inner_hyperparameters"]).split(","))
        hyper["inner_hyperparameters"] = {key: float(value) for key, value in pairs}
        if "total_steps" in hyper["inner_hyperparameters"]:
            hyper["inner_hyperparameters"]["total_steps"] = int(hyper["inner_hyperparameters"]["total_steps"])
    momentum = None if result.config.momentum is None else float(result.config.momentum)  # type: ignore[arg-type]
    run = ml.optim.reference_run(
        optimizer, gradient, w0.astype(np.float64), result.learning_rates, momentum=momentum, **hyper
    )
    out: F64 = np.array([q.loss(w[:-1], w[-1:]) for w in run.evaluation_weights[result.record_steps]])
    return out


@pytest.mark.parametrize("optimizer", sorted(CASES))
def test_full_batch_prediction_matches_float64_and_float32_runs(
    optimizer: str, problem: ml.problems.Problem
) -> None:
    config = full_batch_config(optimizer)
    pred = ml.predict(config, problem)
    assert pred.method == {"demon": "sgd"}.get(config.optimizer, config.optimizer)
    run = ml.train(config, problem, record_params=True)
    assert pred.exact
    np.testing.assert_array_equal(pred.record_steps, run.record_steps)
    assert pred.record_steps.size == EPOCHS + 1
    # float64: the whole curve to 1e-6 relative
    ref = reference_losses(pred.least_squares, run)
    exact = float(np.max(np.abs(ref / pred.losses - 1)))
    print(f"{optimizer}: float64 {exact:.1e}, float32 {pred.deviation(run, above=1e-4):.1e}")
    assert exact < 1e-6
    # float32 (the engine's own run): the loss to 1e-5, the excess while it is above the float32 floor
    assert np.max(np.abs(run.losses / pred.losses - 1)) < 1e-5
    excess = pred.losses - pred.optimal_loss
    assert (excess > 1e-4 * excess[0]).sum() >= 10
    assert pred.deviation(run, above=1e-4) < 1e-3
    assert excess[-1] < 0.1 * excess[0]  # the run converges: not a flat match
    assert pred.deviation(run) >= pred.deviation(run, above=1e-4)


def test_lookahead_with_k_1_and_alpha_1_predicts_its_inner_run(problem: ml.problems.Problem) -> None:
    inner = full_batch_config("qhm")
    config = dataclasses.replace(
        inner,
        optimizer="lookahead",
        hyperparameters={"k": 1, "alpha": 1.0, "inner": "qhm", "inner_hyperparameters": "nu=0.7"},
    )
    np.testing.assert_array_equal(ml.predict(config, problem).losses, ml.predict(inner, problem).losses)


def test_mode_losses_add_up_and_match_the_run(problem: ml.problems.Problem) -> None:
    config = full_batch_config("sgd")
    pred = ml.predict(config, problem)
    run = ml.train(config, problem, record_params=True)
    measured = pred.measured_mode_losses(run)
    assert measured.shape == pred.mode_losses.shape == (EPOCHS + 1, 4)
    np.testing.assert_allclose(pred.mode_losses.sum(axis=1) + pred.optimal_loss, pred.losses, rtol=1e-12)
    np.testing.assert_allclose(measured.sum(axis=1) + pred.optimal_loss, run.losses, rtol=1e-5)
    big = pred.mode_losses > 1e-6 * pred.mode_losses[0].sum()
    np.testing.assert_allclose(measured[big], pred.mode_losses[big], rtol=1e-3)


def test_mini_batch_prediction_within_10_percent_of_32_seeds() -> None:
    data = ml.data.make_conditioned_regression(500, 2, condition_number=10.0, noise=0.1, seed=0)
    problem = ml.problems.linear_problem(data)
    wsd = ml.optim.warmup_stable_decay(0.1, 10, 50, 90, decay_shape="linear")
    base = ml.RunConfig(batch_size=10, epochs=3, learning_rate=wsd, momentum=0.9, period=50)
    pred = ml.predict(base, problem)
    assert not pred.exact
    runs = ml.train_many([dataclasses.replace(base, seed=s) for s in range(32)], problem)
    mean = np.mean([r.losses for r in runs], axis=0)
    np.testing.assert_array_equal(runs[0].record_steps, pred.record_steps)
    after = pred.record_steps >= 50
    deviation = np.abs(pred.losses[after] / mean[after] - 1)
    print(f"sgd, 32 seeds of train_many: largest deviation {deviation.max():.4f}")
    assert deviation.max() < 0.10, deviation.max()
    assert np.abs(pred.mean_losses[after] / mean[after] - 1).max() > deviation.max()  # the noise matters


def test_lookahead_mini_batch_prediction_within_10_percent_of_32_seeds() -> None:
    data = ml.data.make_conditioned_regression(500, 2, condition_number=10.0, noise=0.1, seed=0)
    problem = ml.problems.linear_problem(data)
    wsd = ml.optim.warmup_stable_decay(0.1, 10, 50, 90, decay_shape="linear", init_value=0.01)
    hyper = {"k": 5, "alpha": 0.5, "inner": "qhm", "inner_hyperparameters": "nu=0.7"}
    base = ml.RunConfig(
        optimizer="lookahead", batch_size=10, epochs=3, learning_rate=wsd, momentum=0.9, period=50,
        hyperparameters=hyper,
    )  # fmt: skip
    pred = ml.predict(base, problem)
    assert not pred.exact
    assert pred.method == "lookahead"
    runs = [ml.train(dataclasses.replace(base, seed=s), problem) for s in range(32)]  # the Gluon engine
    mean = np.mean([r.losses for r in runs], axis=0)
    after = pred.record_steps >= 50
    deviation = np.abs(pred.losses[after] / mean[after] - 1)
    print(f"lookahead(qhm), 32 seeds of train: largest deviation {deviation.max():.4f}")
    assert deviation.max() < 0.10, deviation.max()
    assert np.abs(pred.mean_losses[after] / mean[after] - 1).max() > deviation.max()


def test_over_seeds_prediction_within_10_percent_of_400_seeds() -> None:
    """Seeds that also draw the start (N(0, 1) weights): the expectation over the start too."""
    data = ml.data.make_conditioned_regression(500, 2, condition_number=10.0, noise=0.1, seed=0)
    problem = ml.problems.linear_problem(data)
    wsd = ml.optim.warmup_stable_decay(0.1, 10, 50, 90, decay_shape="linear", init_value=0.01)
    base = ml.RunConfig(batch_size=10, epochs=3, learning_rate=wsd, momentum=0.9, init_sigma=1.0, period=50)
    pred = ml.predict(base, problem, over_seeds=True)
    one = ml.predict(base, problem)
    runs = ml.train_many([dataclasses.replace(base, seed=s) for s in range(400)], problem)
    mean = np.mean([r.losses for r in runs], axis=0)
    after = pred.record_steps >= 50
    deviation = np.abs(pred.losses[after] / mean[after] - 1)
    print(f"sgd, 400 seeds, random starts: largest deviation {deviation.max():.4f}")
    assert deviation.max() < 0.10, deviation.max()
    assert abs(pred.losses[0] / mean[0] - 1) < 0.1  # the start's expected loss
    assert abs(one.losses[0] / pred.losses[0] - 1) > 0.1  # seed 0's own start is another one
    with pytest.raises(ValueError, match="over_seeds must be False for a problem with its own initialiser"):
        ml.predict(base, ml.problems.make("quadratic", dim=2), over_seeds=True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"optimizer": "adam"}, "optimizer must be one of"),
        ({"weight_decay": 0.1}, "weight_decay must be 0 for a prediction, got 0.1"),
        ({"plateau": ml.optim.ReduceOnPlateau()}, "plateau must be None for a prediction"),
        ({"shuffle": False}, "shuffle must be True for a mini-batch prediction"),
        ({"hyperparameters": {"clip_gradient": 1.0}}, "hyperparameters must hold only"),
        (
            {"optimizer": "lookahead", "hyperparameters": {"inner": "adam"}},
            r"inner must be one of \['aggmo', 'demon', 'nag', .* for a prediction of 'lookahead', got 'adam'",
        ),
        (
            {
                "optimizer": "lookahead",
                "hyperparameters": {"inner": "qhm", "inner_hyperparameters": "nu=0.5,clip_gradient=1"},
            },
            r"inner_hyperparameters must hold only \['nu'\] for a prediction of lookahead around 'qhm'",
        ),
    ],
)
def test_predict_refuses_what_the_theory_does_not_model(
    changes: dict[str, Any], message: str, problem: ml.problems.Problem
) -> None:
    with pytest.raises(ValueError, match=message):
        ml.predict(dataclasses.replace(ml.RunConfig(batch_size=10), **changes), problem)


def test_predict_refuses_problems_that_are_not_least_squares() -> None:
    with pytest.raises(ValueError, match="problem must be least squares"):
        ml.predict(ml.RunConfig(), ml.problems.make("logistic"))
    with pytest.raises(TypeError, match="config must be a RunConfig"):
        ml.predict("config", ml.problems.make("quadratic"))  # type: ignore[arg-type]
