"""Sweeps and the CLI take a problem of the suite by name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import momentumlab as ml


def test_a_sweep_over_a_named_problem_matches_point_by_point_training(tmp_path: Path) -> None:
    spec = ml.sweep.ProblemSpec(name="bowl")
    problem = spec.build()
    base = ml.RunConfig(**{**problem.settings, "epochs": 2})
    points = ml.sweep.grid(base, {"momentum": [0.0, 0.5]})
    summary = ml.sweep.run_sweep(points, spec, tmp_path / "s.sqlite", chunk_size=1)
    assert (summary.n_done, summary.n_failed) == (2, 0)
    with ml.sweep.Store(tmp_path / "s.sqlite") as store:
        rows = {r.value("momentum"): r for r in store.rows()}
    for m in (0.0, 0.5):
        ref = ml.train(points[[0.0, 0.5].index(m)].config, problem)
        np.testing.assert_array_equal(rows[m].to_result().losses, ref.losses)
        assert rows[m].data == problem.description
    # the key describes the problem: a different start is a different run
    other = ml.sweep.ProblemSpec(name="bowl", options={"start": [1.0, 1.0]})
    assert ml.sweep.run_key(base, other.build().description) != ml.sweep.run_key(base, problem.description)


def test_a_sweep_spec_file_names_a_problem_and_starts_from_its_settings() -> None:
    spec = ml.sweep.SweepSpec.from_mapping(
        {"data": {"problem": "saddle"}, "config": {"epochs": 1}, "grid": {"momentum": [0.0, 0.9]}}
    )
    assert isinstance(spec.data, ml.sweep.ProblemSpec)
    settings = spec.data.build().settings
    assert spec.base.learning_rate == settings["learning_rate"]
    assert spec.base.epochs == 1
    with pytest.raises(ValueError, match=r"problem must be one of \[.*'bowl'.*\], got 'bowel'"):
        ml.sweep.SweepSpec.from_mapping({"data": {"problem": "bowel"}, "grid": {"momentum": [0.0]}})
    with pytest.raises(ValueError, match=r"data: problem 'saddle' takes options .* got unexpected 'hidden'"):
        ml.sweep.SweepSpec.from_mapping(
            {"data": {"problem": "saddle", "hidden": 3}, "grid": {"momentum": [0.0]}}
        )


def test_cli_runs_a_named_problem(tmp_path: Path) -> None:
    out = tmp_path / "loss.png"
    cli = [sys.executable, "-m", "momentumlab.cli", "run"]
    proc = subprocess.run(
        [*cli, "--problem", "logistic", "--epochs", "2", "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("Batch size 20, Learning rate 0.100000, Epoch") == 2
    assert "held-out binary_accuracy: 0.9" in proc.stdout
    assert out.stat().st_size > 1000
    bad = subprocess.run(
        [sys.executable, "-m", "momentumlab.cli", "run", "--problem", "nope", "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "problem must be one of" in bad.stderr
