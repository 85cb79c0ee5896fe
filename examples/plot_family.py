"""
The momentum family, run and predicted: a quadratic and digits
================================================================

Eight optimizers of the momentum family (MXNet's heavy ball ``sgd`` and ``nag``, torch's
heavy ball ``sgd_torch``, ``qhm``, ``aggmo``, ``demon``, ``sgd_schedule_free`` and
``lookahead``) on two problems:

* a least-squares **quadratic** with condition number 100, full batch, under one
  warmup-stable-decay schedule each. Each method's peak rate is the best constant rate of
  the theory (:func:`momentumlab.theory.family_rate`), and every run is drawn beside its
  exact prediction :func:`momentumlab.predict` (dashed), which a float32 run follows down to
  its float32 floor;
* **digits-mlp**, a small network on scikit-learn's digits, where no theory applies: the
  held-out accuracy over five epochs of mini-batches.

Lookahead around Polyak's heavy ball oscillates on the quadratic: every k-th step it moves
the weights back towards its slow copy but keeps the inner momentum buffer, which knocks the
critically damped inner iteration off its path. That synchronisation is one more linear map
per eigenvalue, so the prediction has the oscillation too: all eight follow their
predictions to the float32 floor (the script prints the largest deviation of each).

Then the per-eigenvalue picture of one run (:func:`momentumlab.viz.plot_modes`, the error
in each Hessian eigen-direction beside the prediction), and the rate/phase diagrams of heavy
ball, NAG and QHM(ν = 0.7) over (learning rate, momentum), with the rates measured on a
small sweep of heavy-ball runs overlaid (:func:`momentumlab.viz.plot_phase`).
"""

# %%
from __future__ import annotations

import argparse
import dataclasses

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import momentumlab as ml

parser = argparse.ArgumentParser(description="The momentum family on a quadratic and on digits.")
parser.add_argument("--out", default=None, help="write the first figure to this PNG")
args, _ = parser.parse_known_args()

quad = ml.problems.make("quadratic", dim=10, condition_number=100.0)
q = ml.predict(ml.RunConfig(batch_size=100, epochs=1), quad).least_squares
N_STEPS = 150
grid = np.geomspace(1e-3, 10.0, 200)


def best_rate(method: str, momentum: float, **kw: float | tuple[float, ...]) -> float:
    """The learning rate of the smallest predicted rate at this momentum."""
    rates = [ml.theory.family_rate(q, method, float(lr), momentum, **kw) for lr in grid]  # type: ignore[arg-type]
    return float(grid[int(np.argmin(rates))])


polyak = ml.theory.optimal_momentum(q)
mu = round(polyak.momentum, 3)
FAMILY: dict[str, dict[str, object]] = {
    "sgd": {"momentum": mu, "peak": best_rate("sgd", mu)},
    "nag": {"momentum": mu, "peak": best_rate("nag", mu)},
    "sgd_torch": {"momentum": mu, "peak": best_rate("sgd_torch", mu)},
    "qhm": {"momentum": 0.9, "hyperparameters": {"nu": 0.7}, "peak": best_rate("qhm", 0.9, nu=0.7)},
    "aggmo": {
        "hyperparameters": {"betas": "0,0.5,0.9"},
        "peak": best_rate("aggmo", 0.0, betas=(0, 0.5, 0.9)),
    },
    "demon": {"momentum": 0.9, "hyperparameters": {"total_steps": N_STEPS}, "peak": best_rate("sgd", mu)},
    "sgd_schedule_free": {"momentum": 0.9, "peak": 1.0},
    "lookahead": {"momentum": mu, "hyperparameters": {"k": 5, "alpha": 0.5}, "peak": best_rate("sgd", mu)},
}


def quadratic_config(name: str) -> ml.RunConfig:
    spec = dict(FAMILY[name])
    peak = float(spec.pop("peak"))  # type: ignore[arg-type]
    wsd = ml.optim.warmup_stable_decay(
        peak, 10, 90, N_STEPS - 100, decay_shape="1-sqrt", init_value=peak / 10, end_value=peak / 100
    )
    return ml.RunConfig(optimizer=name, batch_size=100, epochs=N_STEPS, learning_rate=wsd, **spec)  # type: ignore[arg-type]


runs, predictions = {}, {}
for name in FAMILY:
    config = quadratic_config(name)
    runs[name] = ml.train(config, quad, record_params=True)
    predictions[name] = ml.predict(config, quad)
    gap = predictions[name].deviation(runs[name], above=1e-4)  # above the float32 floor
    print(f"{name:18s} largest deviation of the float32 run's excess loss from the prediction {gap:.1e}")

digits = ml.problems.make("digits-mlp")
DIGITS: dict[str, dict[str, object]] = {
    "sgd": {"learning_rate": 0.05, "momentum": 0.9},
    "nag": {"learning_rate": 0.05, "momentum": 0.9},
    "sgd_torch": {"learning_rate": 0.05, "momentum": 0.9},
    "qhm": {"learning_rate": 0.5, "momentum": 0.9, "hyperparameters": {"nu": 0.7}},
    "aggmo": {"learning_rate": 0.01, "momentum": None, "hyperparameters": {"betas": "0,0.9,0.99"}},
    "demon": {"learning_rate": 0.05, "momentum": 0.9, "hyperparameters": {"total_steps": 5 * 45}},
    "sgd_schedule_free": {"learning_rate": 0.5, "momentum": 0.9},
    "lookahead": {"learning_rate": 0.05, "momentum": 0.9},
}
base = ml.RunConfig(**{**digits.settings, "epochs": 5, "period": 160})
digit_runs = {
    name: ml.train(dataclasses.replace(base, optimizer=name, **kw), digits)  # type: ignore[arg-type]
    for name, kw in DIGITS.items()
}
for name, r in digit_runs.items():
    print(f"{name:18s} digits held-out accuracy after 5 epochs {r.metrics[-1]:.3f}")

# %%
# The whole family: exact predictions on the quadratic, and the same optimizers on digits.
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
for name, r in runs.items():
    (line,) = left.semilogy(r.record_steps, r.losses - q.optimal_loss + 1e-12, label=name)
    p = predictions[name]
    excess = p.losses - q.optimal_loss + 1e-12
    left.semilogy(p.record_steps, excess, "--", color=line.get_color(), lw=2.5, alpha=0.5)
left.set_xlabel("step")
left.set_ylabel("loss - optimal loss")
left.set_title("quadratic (κ = 100), WSD schedules: runs and predictions (dashed)", fontsize="medium")
left.legend(fontsize="small", ncol=2)
for name, r in digit_runs.items():
    right.plot(r.record_steps, r.metrics, label=name)
right.set_xlabel("step")
right.set_ylabel("held-out accuracy")
right.set_ylim(0.5, 1.0)
right.set_title("digits-mlp, mini-batches of 32", fontsize="medium")
right.legend(fontsize="small", ncol=2)
if args.out:
    fig.savefig(args.out, dpi=100)

# %%
# One run per eigen-direction: heavy ball on the quadratic (Distill's picture); and
# mini-batch runs of one configuration over 100 seeds against its expected loss
# (``ml.predict(..., over_seeds=True)``) on a noisy regression.
fig2, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
ml.viz.plot_modes(runs["sgd"], predictions["sgd"], modes=[0, 3, 6, 9], ax=a)
a.legend(fontsize="small")
noisy = ml.problems.linear_problem(
    ml.data.make_conditioned_regression(500, 2, condition_number=10.0, noise=0.1, seed=0)
)
wsd = ml.optim.warmup_stable_decay(0.1, 10, 50, 90, decay_shape="linear", init_value=0.01)
mini = ml.RunConfig(batch_size=10, epochs=3, learning_rate=wsd, momentum=0.9, init_sigma=1.0, period=10)
seeds = ml.train_many([dataclasses.replace(mini, seed=s) for s in range(100)], noisy)
expected = ml.predict(mini, noisy, over_seeds=True)  # over the seeds' starts and shuffles
for r in seeds[:10]:
    b.semilogy(r.record_steps, r.losses, color="tab:blue", alpha=0.2)
seed_mean = np.mean([r.losses for r in seeds], axis=0)
b.semilogy(expected.record_steps, seed_mean, color="tab:blue", label="mean of 100 seeds (10 shown)")
b.semilogy(expected.record_steps, expected.losses, "k--", label="expected loss (theory)")
b.semilogy(expected.record_steps, expected.mean_losses, ":", color="gray", label="without the batches' noise")
b.set_xlabel("step")
b.set_ylabel("loss")
b.set_title("heavy ball, batches of 10 under WSD, random starts", fontsize="medium")
b.legend(fontsize="small")

# %%
# Rate/phase diagrams: the predicted rate over (learning rate, momentum), with the rates
# fitted on a small sweep of heavy-ball runs as circles (a circle that vanishes into its cell
# agrees with the theory; red crosses diverged).
sweep = [
    ml.RunConfig(batch_size=100, epochs=60, learning_rate=float(lr), momentum=float(m))
    for lr in (0.3, 1.0, 3.0, 8.0)
    for m in (0.0, 0.5, 0.8)
]
swept = [ml.train(c, quad) for c in sweep]
fig3, panels = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
lrs, moms = np.geomspace(0.05, 20.0, 60), np.linspace(0.0, 0.98, 50)
ml.viz.plot_phase(q, "sgd", learning_rates=lrs, momenta=moms, results=swept, ax=panels[0])
ml.viz.plot_phase(q, "nag", learning_rates=lrs, momenta=moms, ax=panels[1])
ml.viz.plot_phase(q, "qhm", learning_rates=lrs, momenta=moms, nu=0.7, ax=panels[2])
