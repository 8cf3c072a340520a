"""A pretraining run's terminal tables (its figures as JSON: ``PretrainRun.to_json``)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from orpr.training.pretrain import PretrainRun


def render_pretrain(run: PretrainRun, console: Console | None = None) -> None:
    """Print the parameter count, per-epoch losses, WAPE and label accuracy."""
    console = console or Console()
    console.print(f"model parameters: {run.parameters:,}")
    console.print(_losses(run))
    if not run.complete:
        console.print(f"stopped after {run.steps} steps (pretrain.max_steps); run again to resume")
        return
    figures = Table(title=f"Held-out forecast WAPE ({run.wape.days:,} in-stock unit-days)")
    figures.add_column("forecast")
    figures.add_column("WAPE", justify="right")
    for label, value in (
        ("model (median)", run.wape.model),
        ("seasonal naive", run.wape.seasonal_naive),
        ("mean of 28 days", run.wape.mean28),
    ):
        figures.add_row(label, f"{value:.2%}")
    console.print(figures)
    a = run.accuracy
    console.print(
        f"label accuracy ({a.period}, {a.states:,} states): exact {a.exact:.1%}, "
        f"within ±1 step {a.within_1:.1%}"
    )


def _losses(run: PretrainRun) -> Table:
    """Per-epoch training and validation loss of each stage."""
    losses = Table(title="Training (demand: pinball loss; labels: cross-entropy)")
    for col in ("stage", "epoch", "phase", "train", "validation"):
        losses.add_column(
            col, justify="right" if col in ("epoch", "train", "validation") else "left"
        )
    for name, state in run.loops.items():
        for rec in state.history:
            val = "–" if rec["val"] is None else f"{rec['val']:.4f}"
            losses.add_row(name, str(rec["epoch"]), rec["phase"], f"{rec['train']:.4f}", val)
    return losses
