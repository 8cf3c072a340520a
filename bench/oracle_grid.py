"""The stationary benchmark over Zipkin's grid: how far is the learned policy from optimal?

For Poisson(5) demand, ``h = 1``, ``L ∈ {1, 2, 3, 4}`` and ``p ∈ {4, 9, 19, 39}`` (16 cells),
each cell runs the whole pipeline of ``configs/stationary.toml`` — labels, pretraining, RLOO —
on its instance (``orpr run --config configs/stationary.toml --set stationary.lead_time=L
--set stationary.penalty=P``) and prints, next to the oracle's optimal, best base-stock and
best capped base-stock costs (exact), the learned policy's long-run cost from the held-out
simulation with its standard error, its gap to the optimum, and the gap paired unit by unit
with the optimal policy simulated on the same demand (the sharper estimate). The plug-in
base-stock cost is the best days-of-cover rule acting on the estimated rate ``d̂`` (exact
expectation over its law): what estimating the mean costs, which the optimum does not pay.

Runs go to ``--out``/L{L}_p{P}; a cell whose run is complete is read back, not re-run.

Usage: ``python bench/oracle_grid.py [--json] [--out runs/oracle_grid] [--set KEY=VALUE …]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from orpr.config import load_config
from orpr.data import load_panel
from orpr.evaluation.stationary import plug_in_json
from orpr.pipeline.run import run_pipeline

LEAD_TIMES = (1, 2, 3, 4)
PENALTIES = (4, 9, 19, 39)
POLICY = "orpr"


def run_cell(lead_time: int, penalty: int, out: Path, extra: list[str]) -> dict:
    """One cell: the pipeline on its instance; the benchmark's row."""
    cfg = load_config(
        "configs/stationary.toml",
        [
            'stationary.demand="poisson:5"',
            "stationary.holding=1.0",
            f"stationary.lead_time={lead_time}",
            f"stationary.penalty={float(penalty)}",
            *extra,
        ],
    )
    began = time.perf_counter()
    run = run_pipeline(load_panel(cfg), cfg, out / f"L{lead_time}_p{penalty}", progress=False)
    if not run.complete:
        raise SystemExit(f"cell L={lead_time} p={penalty} stopped before the end")
    summary = run.metrics["stationary"]
    oracle, learned = summary["oracle"], summary["policies"][POLICY]
    incumbent = summary["policies"].get("incumbent", {})
    return {
        "lead_time": lead_time,
        "penalty": penalty,
        "optimal_cost": oracle["optimal_cost"],
        "base_stock_cost": oracle["base_stock_cost"],
        "capped_base_stock_cost": oracle["capped_base_stock_cost"],
        "plug_in_base_stock_cost": plug_in_json(cfg, oracle["optimal_cost"])["cost"],
        "orpr_cost": learned["cost"],
        "orpr_stderr": learned["stderr"],
        "gap_pct": learned["gap_pct"],
        "paired_gap_pct": learned.get("paired_gap_pct"),
        "paired_gap_stderr_pct": learned.get("paired_gap_stderr_pct"),
        "incumbent_paired_gap_pct": incumbent.get("paired_gap_pct"),
        "pretrained_gap_pct": summary["policies"]["pretrained"]["gap_pct"],
        "seconds": round(time.perf_counter() - began, 1),
    }


def pct(value: float | None, stderr: float | None = None) -> str:
    """A gap in percent, ``–`` when the run did not simulate what it needs."""
    if value is None:
        return "–"
    return f"{value:+.2f} ± {stderr:.2f} %" if stderr is not None else f"{value:+.2f} %"


def render(rows: list[dict]) -> None:
    table = Table(
        title="Poisson(5), h = 1: long-run cost per day (optimum and base-stock exact; "
        "orpr simulated ± stderr)"
    )
    for header in (
        "L",
        "p",
        "optimal",
        "base-stock",
        "capped",
        "plug-in base-stock",
        "orpr",
        "gap",
        "paired gap",
        "incumbent",
        "s",
    ):
        table.add_column(header, justify="right")
    for r in rows:
        base = 100 * (r["base_stock_cost"] / r["optimal_cost"] - 1)
        capped = 100 * (r["capped_base_stock_cost"] / r["optimal_cost"] - 1)
        plug_in = 100 * (r["plug_in_base_stock_cost"] / r["optimal_cost"] - 1)
        table.add_row(
            str(r["lead_time"]),
            str(r["penalty"]),
            f"{r['optimal_cost']:.3f}",
            f"{r['base_stock_cost']:.3f} ({base:+.1f} %)",
            f"{r['capped_base_stock_cost']:.3f} ({capped:+.1f} %)",
            f"{r['plug_in_base_stock_cost']:.3f} ({plug_in:+.1f} %)",
            f"{r['orpr_cost']:.3f} ± {r['orpr_stderr']:.3f}",
            f"{r['gap_pct']:+.2f} %",
            pct(r["paired_gap_pct"], r["paired_gap_stderr_pct"]),
            pct(r["incumbent_paired_gap_pct"]),
            f"{r['seconds']:.0f}",
        )
    Console().print(table)
    gaps = sorted(r["paired_gap_pct"] for r in rows if r["paired_gap_pct"] is not None)
    if not gaps:
        return
    print(
        f"paired gap of orpr: median {statistics.median(gaps):+.2f} %, worst {gaps[-1]:+.2f} %, "
        f"cells within 1 %: {sum(g <= 1.0 for g in gaps)}/{len(gaps)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/oracle_grid"),
        help="folder of the cells' run directories",
    )
    parser.add_argument(
        "--set",
        dest="extra",
        action="append",
        default=[],
        help="config override for every cell, KEY=VALUE (repeatable)",
    )
    parser.add_argument("--lead-times", type=int, nargs="+", default=list(LEAD_TIMES))
    parser.add_argument("--penalties", type=int, nargs="+", default=list(PENALTIES))
    args = parser.parse_args()
    rows = []
    for lead_time in args.lead_times:
        for penalty in args.penalties:
            rows.append(run_cell(lead_time, penalty, args.out, args.extra))
            if not args.json:
                print(
                    f"L={lead_time} p={penalty}: gap {rows[-1]['gap_pct']:+.2f} % "
                    f"({rows[-1]['seconds']:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        render(rows)


if __name__ == "__main__":
    main()
