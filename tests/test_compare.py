"""momentumlab compare: runs into a store (resumable) and a report that the store alone regenerates."""

from __future__ import annotations

import io
import json
import tomllib
from pathlib import Path

import pytest

import momentumlab as ml
from momentumlab import cli

SPEC = """
problems = ["bowl", "logistic"]
seeds = [0, 1, 2]
epochs = 1
n_trials = 2
seed = 0

[optimizers.sgd]
momentum = 0.0

[optimizers.nag]
optimizer = "nag"
momentum = 0.9
"""


def test_compare_runs_resumes_and_regenerates_the_same_report(tmp_path: Path) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    store = tmp_path / "runs.sqlite"
    first = io.StringIO()
    argv = ["compare", str(spec), "--store", str(store), "--out", str(tmp_path / "a"), "--no-progress"]
    assert cli.main([*argv, "--parquet", str(tmp_path / "runs.parquet")], out=first) == 0
    n_runs = 2 * 2 * 2 * 3  # problems x optimizers x trials x seeds
    assert f"{n_runs} runs done, 0 already in the store, 0 failed" in first.getvalue()
    with ml.sweep.Store(store, read_only=True) as s:
        n_records = sum(len(r.to_result().losses) for r in s.rows())
    assert n_records > n_runs
    assert f"({n_records} rows)" in first.getvalue()
    again = ml.stats.run_compare(ml.stats.CompareSpec.from_mapping(tomllib.loads(SPEC)), store)
    assert [(s.n_skipped, s.n_done) for s in again] == [(12, 0), (12, 0)]  # resumable: nothing runs twice
    only = io.StringIO()
    assert cli.main(["compare", str(spec), "--store", str(store), "--out", str(tmp_path / "b"),
                     "--report-only"], out=only) == 0  # fmt: skip
    assert "runs done" not in only.getvalue()
    a, b = tmp_path / "a", tmp_path / "b"
    text = (a / "report.md").read_text()
    assert text == (b / "report.md").read_text()
    assert json.loads((a / "figures.json").read_text()) == json.loads((b / "figures.json").read_text())
    for name in (
        "profile.png",
        "curves-bowl.png",
        "curves-logistic.png",
        "tuning-bowl.png",
        "tuning-logistic.png",
    ):
        assert (a / name).stat().st_size > 1000
        assert (b / name).exists()
        assert f"]({name})" in text
    for problem in ("bowl", "logistic"):
        for opt in ("sgd", "nag"):
            assert f"| {problem} | {opt} | " in text
    figures = json.loads((a / "figures.json").read_text())
    assert set(figures["curves-bowl.png"]) == {"target", "sgd", "nag"}
    assert len(figures["profile.png"]["area"]) == 2


def test_report_table_matches_the_store(tmp_path: Path) -> None:
    spec = ml.stats.CompareSpec(problems=("bowl",), seeds=(0, 1), epochs=1,
                                optimizers={"sgd": {"momentum": 0.0}, "hb": {"momentum": 0.9}})  # fmt: skip
    store = tmp_path / "s.sqlite"
    ml.stats.run_compare(spec, store)
    text = ml.stats.write_report(spec, store, tmp_path / "r")
    with ml.sweep.Store(store, read_only=True) as s:
        rows = s.summaries()
    for name, fields in spec.optimizers.items():
        finals = sorted(r.final_loss for r in rows if r.value("momentum") == fields["momentum"])
        assert len(finals) == 2
        ci = ml.stats.bootstrap_ci(finals, confidence=0.95, n_resamples=2000, seed=0)
        assert f"| bowl | {name} | {ci.estimate:.4g} [{ci.low:.4g}, {ci.high:.4g}] | 0/2 |" in text


def test_compare_spec_errors_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="problems must be names of the suite"):
        ml.stats.CompareSpec(problems=("nope",), optimizers={"sgd": {}})
    with pytest.raises(ValueError, match=r"unknown \['budget'\]"):
        ml.stats.CompareSpec.from_mapping({"problems": ["bowl"], "optimizers": {"sgd": {}}, "budget": 3})
    with pytest.raises(ValueError, match="momentum must be in"):
        ml.stats.CompareSpec(problems=("bowl",), optimizers={"bad": {"momentum": 1.5}})
    spec = tmp_path / "bad.toml"
    spec.write_text('problems = ["nope"]\n[optimizers.sgd]\n')
    assert cli.main(["compare", str(spec), "--store", str(tmp_path / "s.sqlite")], out=io.StringIO()) == 2
    ml.sweep.Store(tmp_path / "empty.sqlite").close()
    missing = r"store must hold every declared run; run \w+ of optimizer 'sgd' on problem 'bowl'"
    with pytest.raises(ValueError, match=missing):
        ml.stats.write_report(ml.stats.CompareSpec(problems=("bowl",), optimizers={"sgd": {}}),
                              tmp_path / "empty.sqlite", tmp_path / "r")  # fmt: skip
