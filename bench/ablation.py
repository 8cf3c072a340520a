"""Ablation of stage 3: the rule-reward weight ω against the KL weight β.

The case: a seeded sample of FreshRetailNet units (``--units``, default 3,000) with the
``configs/frn50k.toml`` settings. Labels and the pretrained model are built once in the work
directory (or taken from ``--labels`` / ``--model``, which must cover the same units); then for
every ω ∈ {0, 0.5, 1} × β ∈ {0, 0.05, 0.5}, RLOO runs from the same pretrained model with
the same seed and the aligned policy is backtested on the held-out days. Printed per setting:
held-out total cost, holding cost and in-stock rate, the stage's final KL to the reference
and Pareto-dominance rate (the last step's, on sampled actions), next to ``pretrained``.

Usage: ``python bench/ablation.py [--units N] [--work DIR] [--json]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from orpr.config import load_config
from orpr.data import load_panel
from orpr.evaluation.evaluate import evaluate
from orpr.labels import make_labels, write_labels
from orpr.report.progress import training_progress
from orpr.rl.finetune import finetune
from orpr.training.pretrain import pretrain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="configs/frn50k.toml")
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--work", default="runs/ablation")
    parser.add_argument("--labels", default=None)
    parser.add_argument("--model", default=None)
    parser.add_argument("--omegas", default="0,0.5,1")
    parser.add_argument("--betas", default="0,0.05,0.5")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = Path(args.work)
    base = [f"data.max_units={args.units}", "rl.expert_epochs=0", *args.overrides]
    cfg = load_config(args.config, base)
    began = time.perf_counter()
    panel = load_panel(cfg)
    labels = Path(args.labels) if args.labels else work / "labels"
    if not args.labels and not (labels / "labels_meta.json").is_file():
        write_labels(make_labels(panel, cfg), labels)
    model = Path(args.model) if args.model else work / "pretrained"
    if not args.model:
        with training_progress(enabled=not args.json) as progress:
            pretrain(panel, labels, cfg, model, progress)
    setup_s = time.perf_counter() - began

    rows = [_row("pretrained", None, None, _held_out(panel, cfg, model, "pretrained"), None)]
    for omega in (float(x) for x in args.omegas.split(",")):
        for beta in (float(x) for x in args.betas.split(",")):
            run_cfg = dataclasses.replace(
                cfg, rl=dataclasses.replace(cfg.rl, omega=omega, beta=beta)
            )
            out = work / f"omega{omega:g}_beta{beta:g}"
            with training_progress(enabled=not args.json) as progress:
                run = finetune(panel, model, labels, run_cfg, out, progress)
            last = run.loops["rloo"].steps[-1] if run.loops["rloo"].steps else {}
            rows.append(_row("orpr", omega, beta, _held_out(panel, cfg, out, "orpr"), last))
    result = {
        "units": panel.n_units,
        "setup_s": round(setup_s, 1),
        "wall_s": round(time.perf_counter() - began, 1),
        "settings": rows,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _render(result)


def _held_out(panel, cfg, run_dir: Path, policy: str):
    """The policy's held-out metrics (the run directory's model)."""
    run_cfg = dataclasses.replace(
        cfg, model=dataclasses.replace(cfg.model, checkpoint=str(run_dir))
    )
    return evaluate(panel, run_cfg, (policy,)).reports[0].overall


def _row(policy: str, omega, beta, m, last) -> dict:
    return {
        "policy": policy,
        "omega": omega,
        "beta": beta,
        "total_cost": m.total_cost,
        "holding_cost": m.holding_cost,
        "in_stock_rate": m.in_stock_rate,
        "fill_rate": m.fill_rate,
        "turnover_days": m.turnover_days,
        "final_kl": None if last is None else last.get("kl"),
        "pareto_rate": None if last is None else last.get("pareto_rate"),
    }


def _render(result: dict) -> None:
    table = Table(
        title=f"Stage-3 ablation, {result['units']:,} FreshRetailNet units, held-out days"
    )
    for col in (
        "policy",
        "ω",
        "β",
        "total cost",
        "holding cost",
        "in-stock",
        "fill",
        "final KL",
        "Pareto rate",
    ):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for r in result["settings"]:
        table.add_row(
            r["policy"],
            "–" if r["omega"] is None else f"{r['omega']:g}",
            "–" if r["beta"] is None else f"{r['beta']:g}",
            f"{r['total_cost']:,.0f}",
            f"{r['holding_cost']:,.0f}",
            f"{r['in_stock_rate']:.1%}",
            f"{r['fill_rate']:.1%}",
            "–" if r["final_kl"] is None else f"{r['final_kl']:.3f}",
            "–" if r["pareto_rate"] is None else f"{r['pareto_rate']:.1%}",
        )
    Console().print(table)
    print(f"wall {result['wall_s']:.0f} s (setup {result['setup_s']:.0f} s)")


if __name__ == "__main__":
    main()
