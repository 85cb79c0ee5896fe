"""A declared comparison: optimizers x problems x budget into a store, and its report from the store."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from momentumlab._src.checks import check_float, check_int, check_type
from momentumlab.problems import make as make_problem
from momentumlab.problems import names as problem_names
from momentumlab.runner import RunConfig
from momentumlab.stats._core import (
    bootstrap_ci,
    edge_of_space,
    performance_profile,
    reached,
    seed_band,
    steps_to_target,
    tuning_curve,
)
from momentumlab.sweep import (
    Point,
    ProblemSpec,
    Store,
    SweepSummary,
    Uniform,
    apply_changes,
    field_value,
    quasi_random_search,
    run_key,
    run_sweep,
)
from momentumlab.sweep._keys import canonical_config, canonical_json

_LR_PATHS = ("learning_rate", "learning_rate.init_value", "learning_rate.schedule.init_value")


@dataclass(frozen=True, kw_only=True)
class CompareSpec:
    """What to compare: named optimizer settings on problems of the suite, with a budget.

    Every run starts from the problem's stated ``settings``; the budget (``epochs``) and then
    the optimizer's fields replace theirs. With ``n_trials > 1`` each (optimizer, problem)
    tunes its base learning rate by quasi-random search over
    ``[lr_range[0], lr_range[1]] x`` the problem's stated one (log scale), all trials for
    every seed: the trial budget is the same for every optimizer.

    Attributes:
        optimizers: name -> config fields, e.g. ``{"nag": {"optimizer": "nag", "momentum": 0.9}}``.
        problems: names from :func:`momentumlab.problems.names`.
        seeds: run seeds.
        epochs: the budget in epochs of every run (``None`` keeps each problem's).
        n_trials: tuning trials per optimizer and problem (1: the stated learning rate).
        lr_range: the tuning range as factors of the stated learning rate.
        target_fraction: a problem's target loss lies this far, in log scale, from the
            starting loss to the best median final loss of any optimizer (in (0, 1]).
        seed: seed of the quasi-random trials and every bootstrap.

    Example:
        >>> import momentumlab as ml
        >>> spec = ml.stats.CompareSpec.from_mapping({
        ...     "problems": ["bowl"], "seeds": [0, 1], "epochs": 1,
        ...     "optimizers": {"sgd": {"momentum": 0.0}, "nag": {"optimizer": "nag", "momentum": 0.9}}})
        >>> len(spec.points("bowl"))
        4
    """

    optimizers: Mapping[str, Mapping[str, Any]]
    problems: tuple[str, ...]
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int | None = None
    n_trials: int = 1
    lr_range: tuple[float, float] = (0.1, 3.0)
    target_fraction: float = 0.9
    seed: int = 0

    def __post_init__(self) -> None:
        check_type("optimizers", self.optimizers, Mapping, "a mapping name -> config fields")
        if not self.optimizers:
            raise ValueError("optimizers must name at least one optimizer, got {}")
        for k, v in self.optimizers.items():
            check_type(f"optimizers[{k!r}]", v, Mapping, "a mapping of config fields")
        object.__setattr__(self, "optimizers", {str(k): dict(v) for k, v in self.optimizers.items()})
        problems = tuple(self.problems)
        if not problems:
            raise ValueError("problems must name at least one problem, got []")
        for p in problems:
            if p not in problem_names():
                raise ValueError(f"problems must be names of the suite {list(problem_names())}, got {p!r}")
        object.__setattr__(self, "problems", problems)
        seeds = tuple(check_int("seeds[...]", s, low=0) for s in self.seeds)
        if not seeds:
            raise ValueError("seeds must hold at least one seed, got []")
        object.__setattr__(self, "seeds", seeds)
        if self.epochs is not None:
            check_int("epochs", self.epochs, low=1)
        check_int("n_trials", self.n_trials, low=1)
        lo, hi = (check_float("lr_range[0]", self.lr_range[0], low=0.0, low_open=True),
                  check_float("lr_range[1]", self.lr_range[1], low=0.0, low_open=True))  # fmt: skip
        if hi <= lo:
            raise ValueError(f"lr_range must be (low, high) with low < high, got {self.lr_range!r}")
        object.__setattr__(self, "lr_range", (lo, hi))
        check_float("target_fraction", self.target_fraction, low=0.0, high=1.0, low_open=True)
        check_int("seed", self.seed, low=0)
        for p in problems:  # every optimizer's config must be valid on every problem before anything runs
            for name in self.optimizers:
                self.base(name, p)

    @classmethod
    def from_mapping(cls, doc: Mapping[str, Any]) -> CompareSpec:
        """Build from a TOML document's mapping (see :func:`momentumlab.stats.run_compare`)."""
        known = {
            "optimizers",
            "problems",
            "seeds",
            "epochs",
            "n_trials",
            "lr_range",
            "target_fraction",
            "seed",
        }
        extra = set(doc) - known
        if extra:
            raise ValueError(f"compare spec keys must be in {sorted(known)}, got unknown {sorted(extra)}")
        kw: dict[str, Any] = dict(doc)
        for k in ("problems", "seeds", "lr_range"):
            if k in kw:
                kw[k] = tuple(kw[k])
        return cls(**kw)

    def base(self, optimizer: str, problem: str) -> RunConfig:
        """The config of ``optimizer`` on ``problem`` before tuning (seed 0)."""
        settings = dict(make_problem(problem).settings)
        if self.epochs is not None:
            settings["epochs"] = self.epochs
        fields = {"optimizer": "sgd", **self.optimizers[optimizer]}
        return apply_changes(RunConfig(**settings), fields)

    def points(self, problem: str) -> list[Point]:
        """Every run on ``problem``: optimizers x trials x seeds."""
        return [p for name in self.optimizers for p in self._points(name, problem)]

    def _points(self, name: str, problem: str) -> list[Point]:
        base = self.base(name, problem)
        if self.n_trials == 1:
            return [Point(apply_changes(base, {"seed": s}), (("seed", s),)) for s in self.seeds]
        return list(
            quasi_random_search(base, self.space(base), self.n_trials, seed=self.seed, seeds=list(self.seeds))
        )

    def space(self, base: RunConfig) -> dict[str, Uniform]:
        """The tuning space of ``base``'s learning rate (a float or a schedule's ``init_value``)."""
        path = _lr_path(base)
        lr = float(field_value(base, path))
        return {path: Uniform(low=lr * self.lr_range[0], high=lr * self.lr_range[1], log=True)}

    def trials(self, problem: str) -> dict[str, dict[str, list[RunConfig]]]:
        """optimizer -> trial (its config without the seed, as JSON) -> one config per seed."""
        out: dict[str, dict[str, list[RunConfig]]] = {name: {} for name in self.optimizers}
        for name in self.optimizers:
            for p in self._points(name, problem):
                trial = canonical_json({k: v for k, v in canonical_config(p.config).items() if k != "seed"})
                out[name].setdefault(trial, []).append(p.config)
        return out


def _lr_path(config: RunConfig) -> str:
    for path in _LR_PATHS:
        try:
            if isinstance(field_value(config, path), (int, float)):
                return path
        except ValueError:
            continue
    raise ValueError(
        "learning_rate must be a float or a schedule with init_value to be tuned, "
        f"got {config.learning_rate!r}"
    )


def run_compare(
    spec: CompareSpec,
    store: str | os.PathLike[str],
    *,
    progress: Callable[[Any], None] | None = None,
) -> list[SweepSummary]:
    """Run every (optimizer, problem, trial, seed) not yet in ``store`` (resumable, as any sweep).

    Example:
        >>> import momentumlab as ml, tempfile, os
        >>> spec = ml.stats.CompareSpec(problems=("bowl",), seeds=(0,), epochs=1,
        ...                             optimizers={"sgd": {"momentum": 0.0}})
        >>> path = os.path.join(tempfile.mkdtemp(), "c.sqlite")
        >>> [s.n_runs for s in ml.stats.run_compare(spec, path)]
        [1]
    """
    check_type("spec", spec, CompareSpec, "a CompareSpec")
    return [run_sweep(spec.points(p), ProblemSpec(name=p), store, progress=progress) for p in spec.problems]


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else ("nan" if math.isnan(x) else f"{x:.4g}")


def _final(r: Any) -> float:
    """A run's final loss; ``inf`` for a diverged or failed run."""
    return float(r.final_loss) if r.status == "done" and math.isfinite(r.final_loss) else math.inf


def write_report(spec: CompareSpec, store: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> str:
    """Write ``report.md``, its PNG figures and ``figures.json`` (the data drawn) into ``out_dir``.

    Everything is read from ``store`` (read-only) and computed with ``spec.seed``, so writing
    again from the same store gives the same page and the same figure data. Per problem: the
    best trial of each optimizer (lowest seed-median final loss), its median final loss with
    a 95% bootstrap interval, its steps to the problem's target reached by at least half of
    the seeds, its seed band of loss curves; across problems: the performance profile of
    those steps with its areas, and best-of-k tuning curves when there are trials.

    Returns:
        The Markdown text.

    Raises:
        ValueError: when the store holds no run of a declared (optimizer, problem).
    """
    from matplotlib.figure import Figure

    from momentumlab.stats._plots import plot_band, plot_profile, plot_tuning_curve

    check_type("spec", spec, CompareSpec, "a CompareSpec")
    os.makedirs(out_dir, exist_ok=True)
    figures: dict[str, Any] = {}
    m = (len(spec.seeds) + 1) // 2
    lines = [
        "# Comparison report",
        "",
        f"Optimizers: {', '.join(f'**{n}** ({canonical_json(f)})' for n, f in spec.optimizers.items())}.",
        f"Problems: {', '.join(spec.problems)}. Seeds: {list(spec.seeds)} ({len(spec.seeds)} per setting). "
        f"Budget: {spec.epochs if spec.epochs is not None else 'each problem stated'} epochs per run; "
        f"{spec.n_trials} tuning trial(s) of the learning rate per optimizer and problem"
        + (
            f" (quasi-random, x{spec.lr_range[0]:g} to x{spec.lr_range[1]:g} of the stated rate, "
            f"seed {spec.seed})" if spec.n_trials > 1 else ""
        ) + ".",
        f"Target: {spec.target_fraction:g} of the way (log scale) from the starting loss to the best median "
        f"final loss on the problem; steps to target are those by which {m} of {len(spec.seeds)} "
        "seeds reached it.",
        "",
        "| problem | optimizer | median final loss [95% CI] | diverged | steps to target |",
        "|---|---|---|---|---|",
    ]  # fmt: skip
    costs: dict[str, dict[str, float]] = {n: {} for n in spec.optimizers}
    edges: list[str] = []
    tuning: dict[str, dict[str, list[float]]] = {n: {} for n in spec.optimizers}
    with Store(store, read_only=True) as st:
        for problem in spec.problems:
            description = make_problem(problem).description
            best: dict[str, list[Any]] = {}
            for name, configs in spec.trials(problem).items():
                by_trial = {
                    t: [_get(st, c, description, name, problem) for c in cs] for t, cs in configs.items()
                }
                med = {k: float(np.median([_final(r) for r in rs])) for k, rs in by_trial.items()}
                tuning[name][problem] = sorted(med.values())
                best_key = min(sorted(med), key=lambda k: med[k])
                best[name] = sorted(by_trial[best_key], key=lambda r: r.value("seed"))
                if spec.n_trials > 1:
                    cfg = best[name][0].config
                    if edge_of_space(cfg, spec.space(spec.base(name, problem))):
                        edges.append(f"{name} on {problem}")
            results = {n: [r.to_result() for r in rs if r.result is not None] for n, rs in best.items()}
            start = float(np.median([rs[0].losses[0] for rs in results.values()]))
            finals = [float(np.median([_final(r) for r in best[n]])) for n in best]
            lbest = min(finals)
            if start > 0 and 0 < lbest < start:
                target = math.exp(
                    math.log(start) + spec.target_fraction * (math.log(lbest) - math.log(start))
                )
            else:
                target = lbest
            fig = Figure(figsize=(5.0, 3.5), layout="constrained")
            ax = fig.add_subplot()
            fig_data: dict[str, Any] = {"target": target}
            for name, rs in results.items():
                band = seed_band(rs, band="quantile", seed=spec.seed)
                plot_band(band, label=name, ax=ax)
                fig_data[name] = {
                    k: np.asarray(getattr(band, k)).tolist() for k in ("steps", "center", "low", "high")
                }
                values = [_final(r) for r in best[name]]
                finite = [v for v in values if math.isfinite(v)]
                ci = (
                    bootstrap_ci(finite, confidence=0.95, n_resamples=2000, seed=spec.seed)
                    if finite
                    else None
                )
                steps = reached([steps_to_target(r, target) for r in rs], m)
                costs[name][problem] = steps + 1.0  # +1: a target met at step 0 still costs
                shown = f"{_fmt(ci.estimate)} [{_fmt(ci.low)}, {_fmt(ci.high)}]" if ci else "diverged"
                lines.append(f"| {problem} | {name} | {shown} | {len(values) - len(finite)}/{len(values)} "
                             f"| {_fmt(steps)} |")  # fmt: skip
            ax.axhline(target, color="0.5", linestyle=":", linewidth=1)
            ax.set_title(f"{problem}: median and 10-90% of {len(spec.seeds)} seeds (best trial)")
            fname = f"curves-{problem}.png"
            fig.savefig(os.path.join(out_dir, fname), dpi=80, metadata={"Software": None})
            figures[fname] = fig_data
    profile = performance_profile(costs)
    fig = Figure(figsize=(5.0, 3.5), layout="constrained")
    plot_profile(profile, ax=fig.add_subplot())
    fig.savefig(os.path.join(out_dir, "profile.png"), dpi=80, metadata={"Software": None})
    figures["profile.png"] = {"ratios": profile.ratios.tolist(), "area": profile.area.tolist()}
    lines += ["", "## Performance profile (steps to target)", "",
              "| optimizer | area under profile |", "|---|---|"]  # fmt: skip
    lines += [f"| {n} | {a:.3f} |" for n, a in zip(profile.names, profile.area, strict=True)]
    lines += ["", "![performance profile](profile.png)", "", "## Loss curves", ""]
    lines += [f"![{p}](curves-{p}.png)" for p in spec.problems]
    if spec.n_trials > 1:
        lines += ["", "## Tuning curves (best of k trials, bootstrap)", ""]
        for problem in spec.problems:
            fig = Figure(figsize=(5.0, 3.5), layout="constrained")
            ax = fig.add_subplot()
            data: dict[str, Any] = {}
            for name in spec.optimizers:
                curve = tuning_curve(tuning[name][problem], seed=spec.seed)
                plot_tuning_curve(curve, label=name, ax=ax)
                data[name] = {
                    "center": curve.center.tolist(),
                    "low": curve.low.tolist(),
                    "high": curve.high.tolist(),
                }
            ax.set_title(problem)
            fname = f"tuning-{problem}.png"
            fig.savefig(os.path.join(out_dir, fname), dpi=80, metadata={"Software": None})
            figures[fname] = data
            lines.append(f"![tuning {problem}]({fname})")
        lines += [
            "",
            "Best trial on the edge of the tuning range: " + (", ".join(edges) if edges else "none") + ".",
        ]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out_dir, "report.md"), "w", encoding="utf-8") as f:
        f.write(text)
    with open(os.path.join(out_dir, "figures.json"), "w", encoding="utf-8") as f:
        json.dump(_json(figures), f, indent=1, sort_keys=True)
    return text


def _get(st: Store, config: RunConfig, description: Mapping[str, Any], name: str, problem: str) -> Any:
    """The stored row of one declared run, or an error saying to run the comparison first."""
    key = run_key(config, description)
    if key not in st:
        raise ValueError(
            f"store must hold every declared run; run {key[:12]} of optimizer {name!r} on problem "
            f"{problem!r} (seed {config.seed}) is missing: run the comparison without --report-only first"
        )
    return st.get(key)


def _json(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value
