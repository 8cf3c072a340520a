"""What ``orpr labels`` prints: counts, α, the ``v*`` distribution, ``λ*``, the label policy
against the baselines on the training period, and the Lagrangian-vs-MILP gap.

Symbols: ``v*`` label (inventory days), ``λ*`` group multiplier (days), α service target.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from orpr.labels.records import LabelRun
from orpr.report.terminal import COLUMNS


def render_labels(run: LabelRun, console: Console | None = None) -> None:
    """Print the run's summary and the training-period comparison table."""
    console = console or Console()
    fig = run.to_json()
    meta = run.labels.meta
    console.print(
        f"[bold]OR labels[/bold] · {fig['states']:,} states of "
        f"{fig['units_labelled']:,} units · {meta['start']} … {meta['end']} · "
        f"α = {run.alpha:.4g} ({fig['alpha_mode']}) · groups: {meta['group_rule']}"
    )
    if run.calibration is not None:
        c = run.calibration
        console.print(
            f"α calibrated for {c.mode} = {c.target:g}: reached {c.value:.4g} "
            f"({'met' if c.met else 'not met'}) in {len(c.trials)} label runs"
        )
    console.print(_distribution_table(fig))
    console.print(_histogram_line(run.labels.v_index, run.labels.grid))
    console.print(_policy_table(run))
    console.print(_gap_line(fig["mckp_gap"]))


def _distribution_table(fig: dict[str, Any]) -> Table:
    table = Table(title="Distribution of v* (inventory days) and λ* (days, per decision)")
    table.add_column("")
    for key in fig["v_star"]["quantiles"]:
        table.add_column(key, justify="right")
    table.add_row("v*", *(f"{x:.2f}" for x in fig["v_star"]["quantiles"].values()))
    table.add_row("λ*", *(f"{x:.3g}" for x in fig["lam"]["quantiles"].values()))
    return table


def _histogram_line(v_index: np.ndarray, grid: np.ndarray, bins: int = 10) -> str:
    """Counts of ``v*`` in ``bins`` equal spans of the grid, one line."""
    edges = np.linspace(grid[0], grid[-1], bins + 1)
    counts, _ = np.histogram(grid[v_index], bins=edges)
    cells = [
        f"{lo:g}–{hi:g}: {c:,}" for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True)
    ]
    return "v* histogram · " + " · ".join(cells)


def _policy_table(run: LabelRun) -> Table:
    table = Table(title="Training period: label policy vs baselines (same unit-days)")
    table.add_column("policy")
    for label, _, _ in COLUMNS:
        table.add_column(label, justify="right")
    for row in run.policies:
        name = f"{row.name} (oracle)" if row.oracle else row.name
        table.add_row(name, *(fmt.format(getattr(row.metrics, key)) for _, key, fmt in COLUMNS))
    return table


def _gap_line(gap: dict[str, Any]) -> str:
    if not gap["checks"]:
        return "Lagrangian vs MILP: no check (labels.milp_groups = 0)"
    sizes = ", ".join(str(g["units"]) for g in gap["groups"])
    if gap["mean"] is None:
        return f"Lagrangian vs MILP: {gap['checks']} groups ({sizes} units), no exact optimum"
    return (
        f"Lagrangian vs MILP on {gap['checks']} sampled groups ({sizes} units): "
        f"relative stock gap mean {gap['mean']:.3%}, max {gap['max']:.3%}"
    )
