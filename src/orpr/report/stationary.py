"""Terminal views of the exact lost-sales oracle and of the stationary benchmark
(``orpr oracle lost-sales``, ``orpr.stationary``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from orpr.stationary import OracleResult


def render_oracle(result: OracleResult) -> None:
    """Print the optimal, best base-stock and best capped base-stock cost per day, one a line."""
    s, r = result.capped_base_stock_levels
    print(
        f"optimal cost per day        {result.optimal_cost:.4f}  (bound {result.bound:.1e}, "
        f"{result.iterations} iterations, truncation delta {result.truncation_delta:.1e})"
    )
    print(
        f"best base-stock             {result.base_stock_cost:.4f}  (S = {result.base_stock_level})"
    )
    print(f"best capped base-stock      {result.capped_base_stock_cost:.4f}  (S = {s}, r = {r})")


def render_stationary(summary: dict[str, Any], console: Console | None = None) -> None:
    """Print the stationary benchmark: each policy's long-run cost against the exact optimum."""
    console = console or Console()
    inst, oracle = summary["instance"], summary["oracle"]
    table = Table(
        title=(
            f"Stationary lost-sales instance · {inst['demand']}, L = {inst['lead_time']}, "
            f"p = {inst['penalty']:g}, h = {inst['holding']:g} · {inst['units']:,} units × "
            f"{inst['scored_days']:,} days"
        )
    )
    for header in ("policy", "cost per day", "± stderr", "gap to optimum", "paired gap"):
        table.add_column(header, justify="left" if header == "policy" else "right")
    table.add_row(
        "optimum (value iteration)",
        f"{oracle['optimal_cost']:.4f}",
        f"bound {oracle['bound']:.1e}",
        "0.00 %",
        "",
    )
    table.add_row(
        f"best base-stock (S = {oracle['base_stock_level']})",
        f"{oracle['base_stock_cost']:.4f}",
        "exact",
        f"{oracle['base_stock_gap_pct']:+.2f} %",
        "",
    )
    s, r = oracle["capped_base_stock_levels"]
    table.add_row(
        f"best capped base-stock (S = {s}, r = {r})",
        f"{oracle['capped_base_stock_cost']:.4f}",
        "exact",
        f"{oracle['capped_base_stock_gap_pct']:+.2f} %",
        "",
    )
    if "plug_in_base_stock" in summary:  # the best base-stock rule acting on d̂
        plug = summary["plug_in_base_stock"]
        table.add_row(
            f"best v·d̂ rule, d̂ over {plug['history_days']} days (v = {plug['inventory_days']:.2f})",
            f"{plug['cost']:.4f}",
            "exact",
            f"{plug['gap_pct']:+.2f} %",
            "",
        )
    for name, row in summary["policies"].items():
        paired = (
            ""
            if "paired_gap_pct" not in row
            else f"{row['paired_gap_pct']:+.2f} ± {row['paired_gap_stderr_pct']:.2f} %"
        )
        table.add_row(
            f"{name} (simulated)",
            f"{row['cost']:.4f}",
            f"{row['stderr']:.4f}",
            f"{row['gap_pct']:+.2f} %",
            paired,
        )
    console.print(table)
