"""Compare heavy ball, NAG and plain SGD on four problems and write the report.

The same as ``momentumlab compare examples/compare_spec.toml --store STORE --out DIR``:
runs every (optimizer, problem, trial, seed) not yet in the store (run it again after an
interruption and it finishes what is left), then writes ``DIR/report.md`` with its figures
and prints the page. ``--report-only`` rewrites the report from the store alone.

Usage::

    python examples/compare_report.py --store compare.sqlite --out compare-report
"""

from __future__ import annotations

import argparse
import time
import tomllib
from pathlib import Path

import momentumlab as ml

SPEC = Path(__file__).resolve().parent / "compare_spec.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="compare.sqlite")
    parser.add_argument("--out", default="compare-report")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    spec = ml.stats.CompareSpec.from_mapping(tomllib.loads(SPEC.read_text()))
    if not args.report_only:
        start = time.perf_counter()
        summaries = ml.stats.run_compare(spec, args.store)
        runs = sum(s.n_runs for s in summaries)
        print(f"{runs} runs in the store ({time.perf_counter() - start:.0f} s)")
    print(ml.stats.write_report(spec, args.store, args.out))


if __name__ == "__main__":
    main()
