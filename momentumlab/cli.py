"""The ``momentumlab`` command: ``run``, ``sweep`` and ``report``.

This is the only module that prints. Config files are TOML (read with ``tomllib``); an
unknown key is an error that names it.

Run ``momentumlab --help`` or ``momentumlab COMMAND --help``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shlex
import sys
import tomllib
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import numpy as np

import momentumlab as ml
from momentumlab.sweep._driver import prepare
from momentumlab.sweep._keys import canonical_json

_RUN_TOML_KEYS = ("config", "data")


class CliError(Exception):
    """A user error: printed as ``momentumlab: error: ...`` with exit status 2."""


class StoreUseError(Exception):
    """A store or export file that cannot be used: printed as one line with exit status 1."""


def _load_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as err:
        raise CliError(f"cannot read {path!r}: {err.strerror or err}") from err
    except tomllib.TOMLDecodeError as err:
        raise CliError(f"{path}: invalid TOML: {err}") from err


def _none_or_float(text: str) -> float | None:
    return None if text.lower() == "none" else float(text)


# ----------------------------------------------------------------------------------------- run


def _run_config(args: argparse.Namespace) -> tuple[ml.RunConfig, ml.sweep.DataSpec]:
    config_table: dict[str, Any] = {}
    data_table: dict[str, Any] = {}
    if args.config is not None:
        doc = _load_toml(args.config)
        for key in doc:
            if key not in _RUN_TOML_KEYS:
                raise CliError(f"{args.config}: unknown key {key!r}; valid keys are {list(_RUN_TOML_KEYS)}")
        config_table = dict(doc.get("config", {}))
        data_table = dict(doc.get("data", {}))
    flags = {
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "epochs": args.epochs,
        "period": args.period,
        "seed": args.seed,
        "optimizer": args.optimizer,
        "weight_decay": args.weight_decay,
        "init_sigma": args.init_sigma,
    }
    config_table.update({k: v for k, v in flags.items() if v is not None})
    if args.momentum is not None:
        config_table["momentum"] = _none_or_float(args.momentum)
    if args.no_shuffle:
        config_table["shuffle"] = False
    if args.problem is not None:
        data_table["problem"] = args.problem
    data_flags = {"n_samples": args.n_samples, "noise": args.noise, "seed": args.data_seed}
    data_table.update({k: v for k, v in data_flags.items() if v is not None})
    try:
        spec = ml.sweep.data_spec_from_mapping(data_table)
        if isinstance(spec, ml.sweep.ProblemSpec):  # the problem's settings, then file and flags
            config_table = {**spec.build().settings, **config_table}
        config = ml.sweep.config_from_mapping(config_table)
        if args.chapter:  # the chapter's settings under what the file and flags give
            config = ml.RunConfig.chapter(**{k: getattr(config, k) for k in config_table})
    except (TypeError, ValueError) as err:
        raise CliError(str(err)) from err
    return config, spec


def _save(ax: Any, path: str) -> None:
    fig = ax.get_figure(root=True) if hasattr(ax, "get_figure") else None
    if fig is None:  # pragma: no cover - an Axes always has a figure
        raise CliError("nothing to save")
    fig.savefig(path, dpi=120)


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    """Train one config; print the chapter's lines; write the loss plot."""
    config, spec = _run_config(args)
    data = spec.build()
    n_samples = data.data.n_samples if isinstance(data, ml.problems.Problem) else data.n_samples
    if config.batch_size > n_samples:
        raise CliError(
            f"batch_size must be in [1, {n_samples}] (the number of examples), got {config.batch_size}"
        )

    def report(info: ml.EpochInfo) -> None:
        print(
            "Batch size %d, Learning rate %f, Epoch %d, loss %.4e"
            % (config.batch_size, info.learning_rate, info.epoch, info.loss),
            file=out,
        )

    result = ml.train(config, data, callback=report)
    if result.weight is not None and result.bias is not None:
        w = np.array2string(np.reshape(result.weight, (1, -1)), precision=4)
        print("w:", w, "b:", f"{result.bias[0]:.4f}", "\n", file=out)
    if result.metric_name is not None and result.metrics.size:
        print(f"held-out {result.metric_name}: {result.metrics[-1]:.4f}", file=out)
    if result.diverged:
        print(f"diverged: {result.message}", file=out)
    ax = ml.viz.plot_loss(result)
    lr = f"{config.learning_rate:g}" if isinstance(config.learning_rate, float) else "schedule"
    ax.set_title(f"batch {config.batch_size}, lr {lr}, momentum {config.momentum}")
    _save(ax, args.out)
    print(f"wrote {args.out} ({result.wall_time:.2f} s of training)", file=out)
    return 1 if result.diverged else 0


# --------------------------------------------------------------------------------------- sweep


class _Bar:
    """A tqdm progress bar when tqdm is installed, else a line every 10 %."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self._stream = stream
        self._enabled = enabled
        self._bar: Any = None
        self._last = -1

    def __call__(self, p: ml.sweep.SweepProgress) -> None:
        if not self._enabled:
            return
        if self._bar is None:
            if p.total == 0:
                return
            try:
                from tqdm import tqdm
            except ImportError:
                self._bar = False
            else:
                self._bar = tqdm(total=p.total, file=self._stream, unit="run", dynamic_ncols=True)
        if self._bar is False:
            tenth = (10 * p.completed) // max(p.total, 1)
            if tenth != self._last:
                self._last = tenth
                print(f"{p.completed}/{p.total} runs", file=self._stream, flush=True)
            return
        if p.key:
            self._bar.update(1)
            if p.status != "done":
                self._bar.set_postfix_str(f"last: {p.status}", refresh=False)

    def close(self) -> None:
        if self._bar:
            self._bar.close()


def _executor(args: argparse.Namespace) -> ml.sweep.Executor:
    if args.scheduler is not None:
        try:
            return ml.sweep.DaskExecutor(address=args.scheduler, timeout=args.connect_timeout)
        except ImportError as err:
            raise CliError(str(err)) from err
        except OSError as err:
            raise CliError(f"cannot reach the Dask scheduler at {args.scheduler!r}: {err}") from err
    if args.workers is not None and args.workers > 1:
        return ml.sweep.PoolExecutor(args.workers, log_level=logging.ERROR)
    return ml.sweep.InProcessExecutor()


def _resume_command(args: argparse.Namespace) -> str:
    """The command line that runs this sweep again (and so resumes it)."""
    words = ["momentumlab", "sweep", args.spec, "--store", args.store]
    if args.workers is not None:
        words += ["--workers", str(args.workers)]
    if args.scheduler is not None:
        words += ["--scheduler", args.scheduler]
        if args.connect_timeout != 30.0:
            words += ["--connect-timeout", repr(args.connect_timeout)]
    if args.chunk_size is not None:
        words += ["--chunk-size", str(args.chunk_size)]
    words += ["--keep-failed"] * args.keep_failed + ["--no-progress"] * args.no_progress
    return shlex.join(words)


def _stored(spec: ml.sweep.SweepSpec, path: str) -> tuple[int, int]:
    """``(stored, runs)``: how many of the sweep's runs have a row in the store at ``path``."""
    keys = {t.key for t in prepare(spec.points, spec.data)[2]}
    if not os.path.exists(path):
        return 0, len(keys)
    with ml.sweep.Store(path) as store:
        return len(keys & set(store.statuses())), len(keys)


_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}


def _byte_size(text: str) -> int:
    """``--memory-budget``: bytes, or a number followed by K, M or G (binary units)."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = t[-1:] if t[-1:] in _UNITS else ""
    try:
        value = float(t[: len(t) - len(unit)])
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value * _UNITS[unit] < 1:
        raise argparse.ArgumentTypeError(
            f"must be a size of at least 1 byte such as 512M or 2G, got {text!r}"
        )
    return int(value * _UNITS[unit])


def cmd_sweep(args: argparse.Namespace, out: TextIO) -> int:
    """Run a TOML sweep spec into a store, resumably; Ctrl-C stops it with status 130."""
    doc = _load_toml(args.spec)
    try:
        spec = ml.sweep.SweepSpec.from_mapping(doc)
    except (TypeError, ValueError) as err:
        raise CliError(f"{args.spec}: {err}") from err
    if args.workers is not None and args.workers < 1:
        raise CliError(f"--workers must be an integer >= 1, got {args.workers}")
    logging.getLogger("momentumlab").setLevel(logging.ERROR)  # divergence is in the store
    bar = _Bar(sys.stderr, enabled=not args.no_progress)
    try:
        with _executor(args) as executor:
            try:
                summary = ml.sweep.run_sweep(
                    spec.points,
                    spec.data,
                    args.store,
                    executor=executor,
                    chunk_size=args.chunk_size,
                    retry_failed=not args.keep_failed,
                    progress=bar,
                    **({} if args.memory_budget is None else {"memory_budget": args.memory_budget}),
                )
            except (TypeError, ValueError) as err:
                raise CliError(f"{args.spec}: {err}") from err
            finally:
                bar.close()
    except KeyboardInterrupt:
        stored, runs = _stored(spec, args.store)
        print(
            f"momentumlab sweep: interrupted; {stored} of {runs} runs stored in {args.store}; "
            f"resume with: {_resume_command(args)}",
            file=sys.stderr,
        )
        return 130
    elsewhere = f", {summary.n_elsewhere} by another driver" if summary.n_elsewhere else ""
    print(
        f"{summary.n_points} points, {summary.n_runs} runs: {summary.n_skipped} already in the store, "
        f"{summary.n_done} done, {summary.n_diverged} diverged, {summary.n_failed} failed{elsewhere} "
        f"({summary.wall_time:.1f} s, {summary.executor}) -> {args.store}",
        file=out,
    )
    return 0


# -------------------------------------------------------------------------------------- report


def _safe(value: Any) -> str:
    """``value`` as text for the terminal: control characters (``\\x1b`` ...) escaped."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return _safe(value)


def _print_table(rows: Sequence[ml.sweep.Summary], fields: Sequence[str], out: TextIO) -> None:
    metric = next((r.metric_name for r in rows if r.metric_name), None)
    header = ["#", "key", "status", "final_loss", *([_safe(metric)] if metric else []), "time_s", *fields]
    lines = [header]
    for i, r in enumerate(rows, 1):
        flat = r.fields()
        lines.append(
            [
                str(i),
                _safe(r.key[:12]),
                _safe(r.status),
                f"{r.final_loss:.4e}",
                *([f"{r.metric:.4g}"] if metric else []),
                f"{r.wall_time:.2f}",
                *(_fmt(flat.get(f)) for f in fields),
            ]
        )
    widths = [max(len(line[j]) for line in lines) for j in range(len(header))]
    for line in lines:
        print("  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)), file=out)


def _figure(width: float = 6.0, height: float = 4.0) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _plot_curves(rows: Sequence[ml.sweep.Row], fields: Sequence[str]) -> Any:
    """Loss curves of chosen runs (private: the viz layer knows nothing of the store)."""
    viz: Any = ml.viz
    results = [r.to_result() for r in rows]
    labels = [
        r.key[:8] + (" " + ", ".join(f"{f}={_fmt(r.fields().get(f))}" for f in fields) if fields else "")
        for r in rows
    ]
    if hasattr(viz, "plot_losses"):
        try:
            return viz.plot_losses(results, labels=labels)
        except TypeError:
            pass  # another signature: draw it ourselves
    ax = _figure().add_subplot()
    for res, label in zip(results, labels, strict=True):
        ml.viz.plot_loss(res, ax=ax, label=label)
    ax.set_title("")
    ax.legend(fontsize="small")
    return ax


#: Config fields a heatmap cell may pool over (the aggregation is about them).
POOLED_FIELDS = ("seed",)


def heatmap_grid(
    rows: Sequence[ml.sweep.Summary], field_x: str, field_y: str, agg: str
) -> tuple[list[Any], list[Any], Any]:
    """``(xs, ys, Z)``: the aggregated final loss of finished runs at each (x, y) cell.

    Diverged and failed runs count as non-finite; a cell with no finite run is ``nan``.
    Rows may differ only in the two fields and in :data:`POOLED_FIELDS` (seeds, which
    ``agg`` combines): rows of several data descriptions or other differing settings are
    refused, never pooled.

    Raises:
        ValueError: naming the descriptions or fields in which the rows differ.
    """
    reducers: dict[str, Callable[[Any], float]] = {
        "median": np.median, "mean": np.mean, "min": np.min, "max": np.max,
    }  # fmt: skip
    descriptions = {canonical_json(r.data) for r in rows}
    if len(descriptions) > 1:
        raise ValueError(
            f"rows must share one data description for a heatmap, got {len(descriptions)}: "
            + "; ".join(sorted(descriptions))
            + " (choose one with --data KEY=VALUE)"
        )
    flats = [r.fields() for r in rows]
    names = dict.fromkeys(n for f in flats for n in f)
    free = (field_x, field_y, *POOLED_FIELDS)
    other = [n for n in names if n not in free and len({repr(f.get(n)) for f in flats}) > 1]
    if other:
        raise ValueError(
            f"rows must differ only in {field_x!r}, {field_y!r} and {list(POOLED_FIELDS)} for a "
            f"heatmap, got rows that also differ in {other} (choose with --where FIELD=VALUE)"
        )
    cells: dict[tuple[Any, Any], list[float]] = {}
    for r, flat in zip(rows, flats, strict=True):
        vals = cells.setdefault((flat.get(field_x), flat.get(field_y)), [])
        if r.status == "done" and math.isfinite(r.final_loss):
            vals.append(r.final_loss)
    xs = sorted({k[0] for k in cells}, key=_order)
    ys = sorted({k[1] for k in cells}, key=_order)
    Z = np.full((len(ys), len(xs)), np.nan)
    col = {v: i for i, v in enumerate(xs)}
    line = {v: j for j, v in enumerate(ys)}
    for (xv, yv), vals in cells.items():
        if vals:
            Z[line[yv], col[xv]] = float(reducers[agg](np.asarray(vals)))
    return xs, ys, Z


def _order(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, repr(v))


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _plot_heatmap(rows: Sequence[ml.sweep.Summary], field_x: str, field_y: str, agg: str) -> Any:
    """Heatmap of the final loss over two fields: ``ml.viz.plot_sweep`` for numeric fields,
    else a small drawing of its own (categorical axes such as ``optimizer``)."""
    xs, ys, Z = heatmap_grid(rows, field_x, field_y, agg)
    if _numeric(xs) and _numeric(ys):
        ax = ml.viz.plot_sweep(
            Z, x=field_x, y=field_y, x_values=[float(v) for v in xs], y_values=[float(v) for v in ys]
        )
        ax.set_title(f"{agg} final loss over {len(rows)} runs", fontsize="small")
        return ax
    ax = _figure(1.2 + 0.55 * max(len(xs), 4), 1.0 + 0.45 * max(len(ys), 4)).add_subplot()
    logz = np.log10(np.where(Z > 0, Z, np.nan))
    masked = np.ma.masked_invalid(logz)  # type: ignore[no-untyped-call]
    im = ax.imshow(masked, origin="lower", aspect="auto", cmap="viridis")
    bad_j, bad_i = np.nonzero(~np.isfinite(logz))
    ax.plot(bad_i, bad_j, "x", color="red", markersize=8)
    if len(xs) * len(ys) <= 400:
        for j in range(len(ys)):
            for i in range(len(xs)):
                if np.isfinite(logz[j, i]):
                    light = im.norm(logz[j, i]) > 0.6
                    color = "black" if light else "white"
                    ax.text(i, j, f"{Z[j, i]:.1e}", ha="center", va="center", fontsize=6, color=color)
    ax.set_xticks(range(len(xs)), [_fmt(v) for v in xs], rotation=45, fontsize="small")
    ax.set_yticks(range(len(ys)), [_fmt(v) for v in ys], fontsize="small")
    ax.set_xlabel(field_x)
    ax.set_ylabel(field_y)
    note = " (x: no finished run)" if bad_i.size else ""
    ax.set_title(f"{agg} final loss over {len(rows)} runs{note}", fontsize="small")
    ax.get_figure(root=True).colorbar(im, ax=ax, label="log10 final loss")
    return ax


def _pairs(option: str, items: Sequence[str] | None) -> dict[str, Any]:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}`` (values read as JSON when they parse)."""
    out: dict[str, Any] = {}
    for item in items or ():
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise CliError(f"{option} must be KEY=VALUE, got {item!r}")
        try:
            out[name] = json.loads(text)
        except ValueError:
            out[name] = text
    return out


def _warn_unreadable(store: ml.sweep.Store, out: TextIO) -> None:
    bad = store.unreadable
    if bad:
        keys = ", ".join(_safe(k[:12]) for k in list(bad)[:10]) + (", ..." if len(bad) > 10 else "")
        print(f"warning: skipped {len(bad)} unreadable row(s): {keys}", file=out)


def _export(what: str, path: str, write: Callable[[str], int], out: TextIO) -> None:
    try:
        n = write(path)
    except OSError as err:
        raise StoreUseError(f"cannot write {what} {path!r}: {err.strerror or err}") from err
    print(f"wrote {_safe(path)} ({n} rows)", file=out)


def _report_group(
    store: ml.sweep.Store, description: dict[str, Any], top: int, many: bool, out: TextIO
) -> None:
    counts = {s: store.count(status=s, data=description) for s in ("done", "diverged", "failed")}
    total = sum(counts.values())
    where = f" [data {_safe(canonical_json(description))}]" if many else ""
    print(
        f"{_safe(store.path)}{where}: {total} runs ({counts['done']} done, {counts['diverged']} diverged, "
        f"{counts['failed']} failed)",
        file=out,
    )
    fields = store.varying(data=description)
    best = store.summaries(status="done", data=description, limit=top)
    if best:
        print(f"best {len(best)} by final loss:", file=out)
        _print_table(best, fields, out)
    failed = store.summaries(status="failed", data=description, limit=3)
    if failed:
        print(f"failed runs (first {len(failed)}):", file=out)
        for r in failed:
            first = (r.error or "").splitlines()[0] if r.error else ""
            print(f"  {_safe(r.key[:12])}: {_safe(first)}", file=out)


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    """Print the best runs per data description; optionally draw loss curves and a heatmap; export.

    Reads the store read-only and reads no history except for ``--curves`` and ``--json``.
    """
    selector = _pairs("--data", args.data)
    where = _pairs("--where", args.where)
    for f in [*where, *(args.heatmap or ())]:
        try:
            ml.sweep.check_field(f)
        except ValueError as err:
            raise CliError(f"--where/--heatmap: {err}") from err
    try:
        store = ml.sweep.Store(args.store, read_only=True)
    except (ValueError, OSError) as err:
        raise StoreUseError(str(err)) from err
    with store:
        groups = [d for d, _ in store.descriptions(data=selector or None)]
        if not groups:
            chosen = f" matching --data {selector}" if selector else ""
            print(f"{_safe(args.store)}: no runs{chosen}", file=out)
            _warn_unreadable(store, out)
            return 0
        for description in groups:
            _report_group(store, description, args.top, len(groups) > 1 or bool(selector), out)
        data = selector or None
        if args.curves:
            try:
                chosen_rows = [store.get(k) for k in args.curves]
                ax = _plot_curves(chosen_rows, store.varying(data=data))
            except (KeyError, ValueError) as err:
                raise CliError(str(err.args[0]) if err.args else str(err)) from err
            _save(ax, args.curves_out)
            print(f"wrote {_safe(args.curves_out)}", file=out)
        if args.heatmap:
            try:
                one = store.one_description(data)
                rows = [
                    r for r in store.iter_summaries(data=one)
                    if all(r.fields().get(f) == v for f, v in where.items())
                ]  # fmt: skip
                if not rows:
                    raise ValueError(f"--where {where} selects no run")
                ax = _plot_heatmap(rows, args.heatmap[0], args.heatmap[1], args.agg)
            except ValueError as err:
                raise CliError(f"--heatmap: {err}") from err
            _save(ax, args.heatmap_out)
            print(f"wrote {_safe(args.heatmap_out)}", file=out)
        if args.csv:
            _export("CSV", args.csv, lambda p: store.to_csv(p, data=data), out)
        if args.json:
            _export("JSON", args.json, lambda p: store.to_json(p, data=data), out)
        _warn_unreadable(store, out)
    return 0


def cmd_compare(args: argparse.Namespace, out: TextIO) -> int:
    """Run a TOML comparison (optimizers x problems x budget) into a store, then write its report.

    The runs are a sweep (resumable: finished runs are skipped); ``--report-only`` writes
    the report from the store alone.
    """
    doc = _load_toml(args.spec)
    try:
        spec = ml.stats.CompareSpec.from_mapping(doc)
    except (TypeError, ValueError) as err:
        raise CliError(f"{args.spec}: {err}") from err
    if not args.report_only:
        logging.getLogger("momentumlab").setLevel(logging.ERROR)  # divergence is in the store
        bar = _Bar(sys.stderr, enabled=not args.no_progress)
        try:
            summaries = ml.stats.run_compare(spec, args.store, progress=bar)
        except KeyboardInterrupt:
            print("momentumlab compare: interrupted; resume with the same command", file=sys.stderr)
            return 130
        finally:
            bar.close()
        done = sum(s.n_done + s.n_diverged for s in summaries)
        skipped = sum(s.n_skipped for s in summaries)
        failed = sum(s.n_failed for s in summaries)
        print(
            f"{done} runs done, {skipped} already in the store, {failed} failed -> {_safe(args.store)}",
            file=out,
        )
    try:
        ml.stats.write_report(spec, args.store, args.out)
    except ValueError as err:
        raise CliError(str(err)) from err
    except OSError as err:
        raise StoreUseError(f"cannot write the report into {args.out!r}: {err}") from err
    if args.parquet:
        with ml.sweep.Store(args.store, read_only=True) as store:
            _export("Parquet", args.parquet, store.to_parquet, out)
    print(f"wrote {_safe(os.path.join(args.out, 'report.md'))}", file=out)
    return 0


# -------------------------------------------------------------------------------------- explore


def _grid_axis(text: str | None, flag: str, low: float, high: float, n: int) -> list[float] | None:
    """``LOW:HIGH:N`` -> N values (geometric for the learning rate), ``None`` when not given."""
    if text is None:
        return None
    parts = text.split(":")
    try:
        a, b, k = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) != 3:
            raise ValueError(text)
    except (ValueError, IndexError):
        raise CliError(f"{flag} must be LOW:HIGH:N (e.g. {low:g}:{high:g}:{n}), got {text!r}") from None
    if k < 1 or not a <= b:
        raise CliError(f"{flag} must have LOW <= HIGH and N >= 1, got {text!r}")
    if flag == "--lr":
        import numpy as np

        return [float(v) for v in np.geomspace(a, b, k)] if a > 0 else [a]
    return [a + (b - a) * i / max(k - 1, 1) for i in range(k)]


def cmd_explore(args: argparse.Namespace, out: TextIO) -> int:
    """Write the interactive explorer page (one self-contained HTML file)."""
    import time

    lrs = _grid_axis(args.lr, "--lr", 0.01, 2.0, 30)
    moms = _grid_axis(args.momentum, "--momentum", 0.0, 0.97, 30)
    start = time.perf_counter()
    try:
        page = ml.viz.explorer(learning_rates=lrs, momenta=moms, steps=args.steps, path=args.out)
    except ImportError as err:
        raise CliError(str(err)) from err
    except (TypeError, ValueError) as err:
        raise CliError(str(err)) from err
    size = len(page.encode("utf-8"))
    print(f"wrote {args.out} ({size / 1e6:.2f} MB, {time.perf_counter() - start:.1f} s)", file=out)
    return 0


# ---------------------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    """The ``momentumlab`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="momentumlab", description="Run, sweep and report optimizer experiments (MXNet Gluon)."
    )
    parser.add_argument("--version", action="version", version=f"momentumlab {ml.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="train one config and plot its loss")
    run.add_argument("--config", metavar="FILE.toml", help="TOML with [config] and [data] tables")
    run.add_argument("--batch-size", type=int)
    run.add_argument("--lr", type=float, help="learning rate")
    run.add_argument("--momentum", help="momentum in [0, 1), or 'none'")
    run.add_argument("--epochs", type=int)
    run.add_argument("--period", type=int, help="record the loss every PERIOD examples")
    run.add_argument("--seed", type=int, help="seed of the initial weights and shuffling")
    run.add_argument("--optimizer", help="an MXNet optimizer name (default sgd)")
    run.add_argument("--weight-decay", type=float)
    run.add_argument("--init-sigma", type=float)
    run.add_argument(
        "--chapter",
        action="store_true",
        help="start from the chapter's settings (RunConfig.chapter(): batch 10, lr 0.2 x0.1 per epoch "
        "after epoch 2, momentum 0.9, 3 epochs, a record every 10 examples); --lr sets the decay's base",
    )
    run.add_argument("--no-shuffle", action="store_true")
    run.add_argument(
        "--problem",
        metavar="NAME",
        help="a problem of the suite (momentumlab.problems.names()); its stated settings are the "
        "base config, which the other flags override",
    )
    run.add_argument("--n-samples", type=int, help="examples of the synthetic data")
    run.add_argument("--noise", type=float, help="label noise of the synthetic data")
    run.add_argument("--data-seed", type=int, help="seed of the synthetic data (default 0)")
    run.add_argument("--out", default="loss.png", help="PNG of the loss curve (default loss.png)")
    run.set_defaults(func=cmd_run)

    sw = sub.add_parser("sweep", help="run a TOML sweep spec into a SQLite store (resumable)")
    sw.add_argument("spec", metavar="SPEC.toml")
    sw.add_argument("--store", required=True, metavar="PATH", help="SQLite file (created if missing)")
    where = sw.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N", help="local worker processes")
    where.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://127.0.0.1:8786")
    sw.add_argument("--connect-timeout", type=float, default=30.0, help="seconds to reach the scheduler")
    sw.add_argument(
        "--chunk-size", type=int, default=None,
        help="runs per worker call (default: batches of up to 256 for the batched engine, else 1)",
    )  # fmt: skip
    sw.add_argument(
        "--memory-budget", type=_byte_size, default=None, metavar="SIZE",
        help="peak memory of one batch, e.g. 512M or 4G (default 2G)",
    )  # fmt: skip
    sw.add_argument("--keep-failed", action="store_true", help="do not rerun points stored as failed")
    sw.add_argument("--no-progress", action="store_true", help="no progress bar")
    sw.set_defaults(func=cmd_sweep)

    rep = sub.add_parser("report", help="best runs, loss curves, heatmaps and exports of a store")
    rep.add_argument("--store", required=True, metavar="PATH")
    rep.add_argument("--top", type=int, default=10, help="rows of the best-runs table (default 10)")
    rep.add_argument("--curves", nargs="+", metavar="KEY", help="run keys (or unique prefixes) to plot")
    rep.add_argument("--curves-out", default="curves.png", metavar="PNG")
    rep.add_argument("--heatmap", nargs=2, metavar=("FIELD_X", "FIELD_Y"), help="final loss over two fields")
    rep.add_argument("--heatmap-out", default="heatmap.png", metavar="PNG")
    rep.add_argument("--agg", choices=("median", "mean", "min", "max"), default="median",
                     help="how runs sharing a heatmap cell (e.g. seeds) are combined")  # fmt: skip
    rep.add_argument("--data", action="append", metavar="KEY=VALUE",
                     help="only runs whose data description has this entry (repeatable), "
                     "e.g. --data problem=logistic")  # fmt: skip
    rep.add_argument("--where", action="append", metavar="FIELD=VALUE",
                     help="heatmap: only runs whose config field has this value (repeatable)")  # fmt: skip
    rep.add_argument("--csv", metavar="PATH", help="export the scalar columns as CSV")
    rep.add_argument("--json", metavar="PATH", help="export every row with its whole result as JSON")
    rep.set_defaults(func=cmd_report)

    cmp = sub.add_parser(
        "compare", help="run optimizers x problems x budget from a TOML spec into a store and write a report"
    )
    cmp.add_argument("spec", metavar="SPEC.toml")
    cmp.add_argument("--store", required=True, metavar="PATH", help="SQLite file (created if missing)")
    cmp.add_argument(
        "--out", default="compare-report", metavar="DIR", help="report folder (default compare-report)"
    )
    cmp.add_argument(
        "--report-only", action="store_true", help="write the report from the store; run nothing"
    )
    cmp.add_argument("--parquet", metavar="PATH", help="also export every record as Parquet")
    cmp.add_argument("--no-progress", action="store_true", help="no progress bar")
    cmp.set_defaults(func=cmd_compare)

    ex = sub.add_parser(
        "explore",
        help="write an interactive page: learning-rate and momentum sliders over a grid of real runs",
    )
    ex.add_argument("--out", default="explorer.html", help="the HTML file (default explorer.html)")
    ex.add_argument(
        "--lr",
        metavar="LOW:HIGH:N",
        help="geometric learning-rate grid (default: 30 values from 0.02/lam_max to 4/lam_max)",
    )
    ex.add_argument("--momentum", metavar="LOW:HIGH:N",
                    help="linear momentum grid (default 0:0.97:30)")  # fmt: skip
    ex.add_argument("--steps", type=int, default=60, help="full-batch updates per run (default 60)")
    ex.set_defaults(func=cmd_explore)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Entry point of the ``momentumlab`` command; returns the exit status.

    Example:
        >>> import io, momentumlab.cli
        >>> momentumlab.cli.main(["report", "--store", "/nonexistent.sqlite"], out=io.StringIO())
        1
    """
    stream = out if out is not None else sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "top", 1) < 1:
        parser.error(f"--top must be an integer >= 1, got {args.top}")
    chunk = getattr(args, "chunk_size", None)
    if chunk is not None and chunk < 1:
        parser.error(f"--chunk-size must be an integer >= 1, got {args.chunk_size}")
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        status: int = args.func(args, stream)
    except CliError as err:
        print(f"momentumlab {args.command}: error: {_safe(err)}", file=sys.stderr)
        return 2
    except (StoreUseError, ml.sweep.StoreError) as err:
        print(f"momentumlab {args.command}: error: {_safe(err)}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
