"""The terminal table of a panel's figures (``orpr data check``; ``orpr.data.summary``)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from orpr.data.summary import DataSummary


def render_summary(summary: DataSummary, console: Console | None = None) -> None:
    """Print the figures as a small table, and the two latent-demand errors when known."""
    console = console or Console()
    table = Table(title=f"Data: {summary.source}", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("units", f"{summary.units:,}"),
        ("days", f"{summary.days:,}"),
        ("date range", f"{summary.first_date} … {summary.last_date}"),
        ("active unit-days", f"{summary.unit_days:,}"),
        ("zero-sales share", _percent(summary.zero_sales_share)),
        ("censored share (some stockout)", _percent(summary.censored_share)),
        ("fully out of stock share", _percent(summary.fully_out_share)),
        ("promotion share", _percent(summary.promo_share)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    if summary.latent_wape is not None and summary.sales_wape is not None:
        errors = Table(title="Demand WAPE on censored days")
        errors.add_column("latent demand", justify="right")
        errors.add_column("sales as demand", justify="right")
        errors.add_row(_percent(summary.latent_wape), _percent(summary.sales_wape))
        console.print(errors)


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %"
