"""The terminal view of a recommendation (``orpr recommend``; ``orpr.deploy.recommendation``)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from orpr.deploy.recommendation import Recommendation


def render_recommendation(
    rec: Recommendation, console: Console | None = None, rows: int = 20
) -> None:
    """Print the summary and the first ``rows`` rows (recommended units first)."""
    console = console or Console()
    t = rec.table
    console.print(
        f"[bold]Recommendation[/bold] for {rec.date} · policy {rec.policy} · "
        f"positions {rec.position_source}"
    )
    reasons = ", ".join(f"{k}: {n:,}" for k, n in rec.refused_by_reason.items())
    console.print(
        f"{t.height:,} units review: {rec.units:,} recommended, {rec.refused:,} "
        f"refused" + (f" ({reasons})" if reasons else "")
    )
    console.print(
        f"orders: {t['order_quantity'].sum():,.1f} units worth {t['order_value'].sum():,.2f}"
    )
    table = Table()
    heads = ("unit", "v (days)", "d̂", "target", "on hand", "pipeline", "order", "refused")
    for i, head in enumerate(heads):
        table.add_column(head, justify="left" if i in (0, 7) else "right")
    keys = ("inventory_days", "d_hat", "target_position", "on_hand", "pipeline", "order_quantity")
    shown = t.sort("refused", nulls_last=False, maintain_order=True).head(rows)  # refused last
    for row in shown.iter_rows(named=True):
        figures = ("" if row[k] is None else f"{row[k]:,.2f}" for k in keys)
        table.add_row(row["unit_id"], *figures, row["refused"] or "")
    console.print(table)
    if t.height > rows:
        console.print(f"… {t.height - rows:,} more rows (--out FILE.parquet or --json for all)")
