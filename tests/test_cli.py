"""The ``momentumlab`` command, called in-process through ``main`` (and once as a console script)."""

from __future__ import annotations

import dataclasses
import io
import math
import os
import sqlite3
import subprocess
import tomllib
from pathlib import Path
from typing import Any

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
    assert _main("report", "--store", str(tmp_path / "none.sqlite"))[0] == 1
    err = capsys.readouterr().err
    assert "store must be an existing file" in err
    assert err.count("\n") == 1
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


# ------------------------------------------------------------------------- report and store


def _two_data_store(tmp_path: Path) -> Path:
    """12 runs on the spec's data and 4 on other data (another seed), one store."""
    spec = ml.sweep.SweepSpec.from_mapping(tomllib.loads(SPEC))
    path = tmp_path / "s.sqlite"
    ml.sweep.run_sweep(spec.points, spec.data, path)
    other = ml.sweep.LinearRegressionSpec(n_samples=200, seed=5)
    ml.sweep.run_sweep([p for p in spec.points if p.config.seed == 0][:4], other, path)
    return path


def test_report_groups_by_data_and_never_pools_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(_two_data_store(tmp_path))
    status, text = _main("report", "--store", path, "--top", "2")
    assert status == 0
    heads = [ln for ln in text.splitlines() if ln.startswith(path)]
    assert len(heads) == 2
    assert '"seed":0' in heads[0]
    assert "12 runs" in heads[0]
    assert '"seed":5' in heads[1]
    assert "4 runs" in heads[1]
    heat = tmp_path / "h.png"
    status, _ = _main(
        "report", "--store", path, "--heatmap", "learning_rate", "momentum", "--heatmap-out", str(heat)
    )
    err = capsys.readouterr().err
    assert status == 2
    assert "data must select one data description, got 2" in err
    assert '"seed":0' in err
    assert '"seed":5' in err
    assert "(12 runs)" in err
    assert not heat.exists()
    status, text = _main(
        "report", "--store", path, "--data", "seed=5", "--heatmap", "learning_rate", "momentum",
        "--heatmap-out", str(heat), "--csv", str(tmp_path / "r.csv"),
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    assert heat.stat().st_size > 100
    assert "wrote " + str(tmp_path / "r.csv") + " (4 rows)" in text
    assert text.count(path + " [data ") == 1


def test_heatmap_refuses_other_differing_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = ml.sweep.SweepSpec.from_mapping(tomllib.loads(SPEC))
    path = tmp_path / "s.sqlite"
    points = [p for p in spec.points if p.config.seed == 0]
    more = [dataclasses.replace(p.config, batch_size=40, period=40) for p in points]
    ml.sweep.run_sweep([*points, *more], spec.data, path)
    rows = ml.sweep.Store(path, read_only=True).summaries()
    with pytest.raises(ValueError, match=r"also differ in \['batch_size', 'period'\]"):
        cli.heatmap_grid(rows, "learning_rate", "momentum", "median")
    args = ("report", "--store", str(path), "--heatmap", "learning_rate", "momentum")
    assert _main(*args, "--heatmap-out", str(tmp_path / "h.png"))[0] == 2
    assert "(choose with --where FIELD=VALUE)" in capsys.readouterr().err
    status, _ = _main(*args, "--where", "batch_size=40", "--heatmap-out", str(tmp_path / "h.png"))
    assert status == 0
    assert (tmp_path / "h.png").stat().st_size > 100


def test_report_reads_no_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = ml.sweep.SweepSpec.from_mapping(tomllib.loads(SPEC))
    path = tmp_path / "s.sqlite"
    ml.sweep.run_sweep(spec.points, spec.data, path)

    def no(*a: Any, **k: Any) -> Any:
        raise AssertionError("a summary read a history")

    monkeypatch.setattr(ml.sweep._store, "_decode", no)
    monkeypatch.setattr(ml.sweep._store, "_from_npy", no)
    status, text = _main(
        "report", "--store", str(path), "--top", "3", "--heatmap", "learning_rate", "momentum",
        "--heatmap-out", str(tmp_path / "h.png"), "--csv", str(tmp_path / "r.csv"),
    )  # fmt: skip
    assert status == 0
    assert "best 3 by final loss:" in text
    assert "wrote " + str(tmp_path / "r.csv") + " (12 rows)" in text


def test_report_escapes_control_characters_and_names_damaged_rows(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    spec = ml.sweep.SweepSpec.from_mapping(tomllib.loads(SPEC))
    ml.sweep.run_sweep(spec.points[:3], spec.data, path)
    with ml.sweep.Store(path) as store:
        key = "e" * 64
        store.put(
            ml.sweep._worker.failed(key, "ValueError: \x1b[2J\x1b[31mgotcha"),
            config=spec.points[0].config,
            data=spec.data.build().description,
        )
        victim = store.best(1)[0].key
    conn = sqlite3.connect(path)
    conn.execute("UPDATE arrays SET blob = randomblob(64) WHERE key = ?", (victim,))
    conn.commit()
    conn.close()
    status, text = _main("report", "--store", str(path), "--json", str(tmp_path / "r.json"))
    assert status == 0
    assert "\x1b" not in text
    assert "ValueError: \\x1b[2J\\x1b[31mgotcha" in text
    assert "wrote " + str(tmp_path / "r.json") + " (3 rows)" in text
    assert f"warning: skipped 1 unreadable row(s): {victim[:12]}" in text


def test_a_full_store_ends_in_one_line_and_keeps_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    connect = ml.sweep.Store._connect

    def small_disk(self: ml.sweep.Store) -> sqlite3.Connection:
        conn = connect(self)
        conn.execute("PRAGMA max_page_count=40")
        return conn

    monkeypatch.setattr(ml.sweep.Store, "_connect", small_disk)
    spec = write_spec(
        tmp_path / "spec.toml", SPEC.replace("seeds = [0, 1]", "seeds = [0, 1, 2, 3, 4, 5, 6, 7]")
    )
    store = tmp_path / "runs.sqlite"
    status, _ = _main("sweep", str(spec), "--store", str(store), "--no-progress", "--chunk-size", "1")
    err = capsys.readouterr().err
    assert status == 1
    assert err.count("\n") == 1
    assert f"cannot write to store {str(store)!r}: database or disk is full" in err
    monkeypatch.undo()
    with ml.sweep.Store(store, read_only=True) as s:
        assert s.check() == ["ok"]
        rows = s.rows()
        assert 0 < len(rows) < 48
        assert s.unreadable == {}
        assert all(r.to_result().losses.size > 0 for r in rows)


def test_missing_directory_ends_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path / "spec.toml", SPEC)
    store = tmp_path / "nowhere" / "runs.sqlite"
    assert _main("sweep", str(spec), "--store", str(store), "--no-progress")[0] == 1
    err = capsys.readouterr().err
    where = f"directory {str(store.parent)!r} does not exist"
    assert err == f"momentumlab sweep: error: cannot create store {str(store)!r}: {where}\n"
    assert _main("report", "--store", str(store))[0] == 1
    assert capsys.readouterr().err.count("\n") == 1


def _mount(where: Path, size: str) -> bool:
    if os.geteuid() != 0:
        return False
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=False)
    return done.returncode == 0


def test_a_real_full_disk_and_read_only_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    disk = tmp_path / "disk"
    if not _mount(disk, "200k"):
        pytest.skip("needs root to mount a tiny tmpfs")
    try:
        spec = write_spec(
            tmp_path / "spec.toml", SPEC.replace("seeds = [0, 1]", "seeds = [0, 1, 2, 3, 4, 5, 6, 7]")
        )
        store = disk / "runs.sqlite"
        status, _ = _main("sweep", str(spec), "--store", str(store), "--no-progress", "--chunk-size", "1")
        err = capsys.readouterr().err
        assert status == 1
        assert (
            err
            == f"momentumlab sweep: error: cannot write to store {str(store)!r}: database or disk is full\n"
        )
        with ml.sweep.Store(store, read_only=True) as s:
            n = len(s.rows())
            assert n > 0
            assert s.unreadable == {}
            assert s.check() == ["ok"]
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        status, text = _main("report", "--store", str(store), "--top", "1")
        assert status == 0
        assert f"{n} runs" in text
        status, _ = _main("sweep", str(spec), "--store", str(disk / "new.sqlite"), "--no-progress")
        err = capsys.readouterr().err
        assert status == 1
        assert err.count("\n") == 1
        assert "new.sqlite" in err
        assert "is read-only" in err
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_report_prints_the_held_out_metric(tmp_path: Path) -> None:
    spec = ml.sweep.ProblemSpec(name="logistic")
    base = ml.RunConfig(**{**spec.build().settings, "epochs": 1})
    ml.sweep.run_sweep(ml.sweep.grid(base, {"momentum": [0.0, 0.9]}), spec, tmp_path / "s.sqlite")
    status, text = _main("report", "--store", str(tmp_path / "s.sqlite"))
    assert status == 0
    lines = text.splitlines()
    header = lines[2].split()
    assert header[:6] == ["#", "key", "status", "final_loss", "binary_accuracy", "time_s"]
    acc = float(lines[3].split()[4])
    assert 0.5 < acc <= 1.0
    assert not math.isnan(acc)


def test_sweep_memory_budget_sets_the_batches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path / "spec.toml", SPEC)
    engines = {}
    for budget in ("2G", "1K"):  # 1 KiB holds no run: every run goes alone
        store = str(tmp_path / f"{budget}.sqlite")
        status, _ = _main("sweep", str(spec), "--store", store, "--no-progress", "--memory-budget", budget)
        assert status == 0
        with ml.sweep.Store(store) as s:
            engines[budget] = {r.result.engine for r in s.rows() if r.result is not None}
    assert engines == {"2G": {"numpy-batched"}, "1K": {"numpy"}}
    with pytest.raises(SystemExit) as stop:
        _main("sweep", str(spec), "--store", str(tmp_path / "x.sqlite"), "--memory-budget", "lots")
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "argument --memory-budget: must be a size of at least 1 byte such as 512M or 2G, got 'lots'" in err


def test_byte_size_units() -> None:
    assert [cli._byte_size(t) for t in ("512", "1K", "1.5M", "2G", "2GiB", "3gb")] == [
        512, 1024, 3 * 2**19, 2 * 2**30, 2 * 2**30, 3 * 2**30,
    ]  # fmt: skip
