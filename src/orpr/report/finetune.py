"""A fine-tune run's terminal tables (its figures as JSON: ``FinetuneRun.to_json``)."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from orpr.rl.finetune import FinetuneRun


def render_finetune(run: FinetuneRun, console: Console | None = None) -> None:
    """Print the per-epoch figures and the validation comparison."""
    console = console or Console()
    console.print(epochs_table(run))
    if not run.complete:
        console.print("stopped by pretrain.max_steps; run again to resume")
        return
    console.print(validation_table(run))
    t = run.targets
    console.print(f"expert targets: {t['source']}, {t['states']:,} promotion states")


def epochs_table(run: FinetuneRun) -> Table:
    """One row per epoch of each stage, on the validation states."""
    table = Table(title="Fine-tune epochs (validation states, the mode action z = μ)")
    for col in (
        "stage",
        "epoch",
        "phase",
        "train loss",
        "objective",
        "stock days",
        "lost share",
        "m",
        "Pareto rate",
        "mean v",
    ):
        table.add_column(col, justify="left" if col in ("stage", "phase") else "right")
    for name, state in run.loops.items():
        for rec in state.history:
            table.add_row(
                name,
                str(rec["epoch"]),
                rec["phase"],
                _fmt(rec["train"]),
                _fmt(rec.get("val_objective")),
                _fmt(rec.get("val_stock_days")),
                _fmt(rec.get("val_loss_share"), "%"),
                _fmt(rec.get("lam_scale")),
                _fmt(rec.get("val_pareto_rate"), "%"),
                _fmt(rec.get("val_mean_v")),
            )
    return table


def validation_table(run: FinetuneRun) -> Table:
    """Each model's decisions on the validation states against the pretrained model's."""
    val = Table(title="Validation states: each model's decisions against the pretrained model's")
    for col in (
        "policy",
        "states",
        "stock days",
        "lost share",
        "stock vs pretrained",
        "lost vs pretrained",
        "Pareto rate",
        "mean v",
    ):
        val.add_column(col, justify="left" if col in ("policy", "states") else "right")
    for name, parts in run.validation.items():
        for label, v in parts.items():
            val.add_row(
                name,
                label,
                _fmt(v.get("val_stock_days")),
                _fmt(v.get("val_loss_share"), "%"),
                _fmt(v.get("val_stock_vs_ref")),
                _fmt(v.get("val_loss_vs_ref")),
                _fmt(v.get("val_pareto_rate"), "%"),
                _fmt(v.get("val_mean_v")),
            )
    return val


def _fmt(x: float | None, kind: str = "") -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{x:.1%}" if kind == "%" else f"{x:.3f}"
