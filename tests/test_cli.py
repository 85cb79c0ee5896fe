"""The ``momentumlab`` command, called in-process through ``main`` (and once as a console script)."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import pytest

import momentumlab as ml
from momentumlab import cli
from tests.sweep_util import ROOT, write_spec

SPEC = """
seeds = [0, 1]
[config]
epochs = 1
batch_size = 20
period = 20
[data]
n_samples = 200
[grid]
learning_rate = [0.05, 0.3, 500.0]
momentum = [0.0, 0.9]
"""


def _main(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(list(args), out=out), out.getvalue()


def test_run_prints_the_chapter_lines_and_writes_the_plot(tmp_path: Path) -> None:
    png = tmp_path / "loss.png"
    status, text = _main("run", "--chapter", "--out", str(png))
    lines = text.splitlines()
    assert status == 0
    assert lines[0] == "Batch size 10, Learning rate 0.200000, Epoch 1, loss %.4e" % _epoch_losses()[0]
    assert lines[2].startswith("Batch size 10, Learning rate 0.020000, Epoch 3, loss ")
    assert lines[3].startswith("w: [[ 1.99")
    assert "b: 4.20" in lines[3]
    assert png.stat().st_size > 1000


def _epoch_losses() -> list[float]:
    got: list[float] = []
    ml.train(
        ml.RunConfig.chapter(), ml.data.make_linear_regression(seed=0), callback=lambda i: got.append(i.loss)
    )
    return got


def test_run_from_toml_with_flag_override(tmp_path: Path) -> None:
    cfg = write_spec(
        tmp_path / "run.toml",
        "[config]\nbatch_size = 20\nperiod = 20\nmomentum = 0.5\n"
        '[config.learning_rate]\nkind = "per_epoch"\n'
        '[config.learning_rate.schedule]\nkind = "epoch_decay"\ninit_value = 0.2\nfactor = 0.5\n'
        "[data]\nn_samples = 100\n",
    )
    status, text = _main("run", "--config", str(cfg), "--epochs", "3", "--out", str(tmp_path / "a.png"))
    assert status == 0
    assert "Batch size 20, Learning rate 0.100000, Epoch 3" in text  # 0.2 * 0.5 after epoch 2


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[config]\nlearnig_rate = 0.1\n", "config has unknown field 'learnig_rate'"),
        ("[confg]\n", "unknown key 'confg'"),
        ("[data]\nn_sample = 3\n", "data has unknown key 'n_sample'"),
        ("[config]\nmomentum = 1.5\n", "momentum must be in [0.0, 1.0), got 1.5"),
        ("[config\n", "invalid TOML"),
    ],
)
def test_run_errors_name_the_key(
    tmp_path: Path, toml: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_spec(tmp_path / "bad.toml", toml)
    status, _ = _main("run", "--config", str(cfg), "--out", str(tmp_path / "x.png"))
    assert status == 2
    assert message in capsys.readouterr().err


def test_sweep_then_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path / "spec.toml", SPEC)
    store = str(tmp_path / "runs.sqlite")
    status, text = _main("sweep", str(spec), "--store", store)
    assert status == 0
    assert "12 points, 12 runs: 0 already in the store" in text
    assert "12/12" in capsys.readouterr().err  # the tqdm bar
    status, text = _main("sweep", str(spec), "--store", store, "--no-progress")
    assert "12 already in the store, 0 done" in text
    with ml.sweep.Store(store) as s:
        best = s.best(1)[0]
        n_div = len(s.rows(status="diverged"))
    assert n_div > 0
    heat, curves, csv_path = tmp_path / "h.png", tmp_path / "c.png", tmp_path / "r.csv"
    status, text = _main(
        "report", "--store", store, "--top", "3",
        "--heatmap", "learning_rate", "momentum", "--heatmap-out", str(heat),
        "--curves", best.key[:10], "--curves-out", str(curves), "--csv", str(csv_path),
    )  # fmt: skip
    assert status == 0
    assert f"12 runs ({12 - n_div} done, {n_div} diverged, 0 failed)" in text
    table = text.splitlines()
    header = table[2].split()
    assert header == ["#", "key", "status", "final_loss", "time_s", "learning_rate", "momentum", "seed"]
    assert table[3].split()[1] == best.key[:12]
    assert len([ln for ln in table if ln.strip().startswith(("1 ", "2 ", "3 "))]) == 3
    for f in (heat, curves, csv_path):
        assert f.stat().st_size > 100


def test_heatmap_grid_aggregates_seeds_and_marks_diverged(tmp_path: Path) -> None:
    spec = ml.sweep.SweepSpec.from_mapping(tomllib.loads(SPEC))
    ml.sweep.run_sweep(spec.points, spec.data, tmp_path / "s.sqlite")
    with ml.sweep.Store(tmp_path / "s.sqlite") as s:
        rows = s.rows()
    xs, ys, Z = cli.heatmap_grid(rows, "learning_rate", "momentum", "min")
    assert xs == [0.05, 0.3, 500.0]
    assert ys == [0.0, 0.9]
    pair = [r.final_loss for r in rows if r.value("learning_rate") == 0.3 and r.value("momentum") == 0.0]
    assert Z[0, 1] == min(pair)
    assert all(not (z == z) for z in Z[:, 2])  # lr 500 diverged everywhere: NaN cells


def test_sweep_and_report_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write_spec(tmp_path / "bad.toml", "[grid]\nlr = [0.1]\n")
    assert _main("sweep", str(bad), "--store", str(tmp_path / "s.sqlite"))[0] == 2
    assert "unknown field 'lr'" in capsys.readouterr().err
    bad2 = write_spec(tmp_path / "bad2.toml", "[grid]\nmomentum = [0.1]\n[random]\nn_points = 2\n")
    assert _main("sweep", str(bad2), "--store", str(tmp_path / "s.sqlite"))[0] == 2
    assert "random must have 'seed'" in capsys.readouterr().err
    assert _main("report", "--store", str(tmp_path / "none.sqlite"))[0] == 2
    assert "store must be an existing file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["sweep", str(bad), "--store", "x", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"])


def test_random_spec(tmp_path: Path) -> None:
    spec = ml.sweep.SweepSpec.from_mapping(
        tomllib.loads(
            "seeds = [3]\n[random]\nn_points = 4\nseed = 1\n"
            "[random.space]\nlearning_rate = {low = 0.001, high = 0.5, log = true}\n"
            'batch_size = [5, 10]\nmomentum = ["none", 0.5]\n'
            "[config]\nperiod = 10\nbatch_size = 10\n"
        )
    )
    assert len(spec.points) == 4
    assert all(p.config.seed == 3 for p in spec.points)


def test_console_script_is_declared() -> None:
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert doc["project"]["scripts"]["momentumlab"] == "momentumlab.cli:main"
