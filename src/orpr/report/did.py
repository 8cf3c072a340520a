"""The terminal table of a difference-in-differences result (``orpr did``; ``orpr.deploy.did``)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from orpr.deploy.did import DidResult

FORMATS = {"turnover_days": "{:+.2f}", "in_stock_rate": "{:+.2%}"}
"""How each outcome's effect is printed (money otherwise)."""


def render_did(
    result: DidResult, truth: dict[str, float] | None = None, console: Console | None = None
) -> None:
    """Print the design and one row per outcome: estimate, 95 % CI, relative, pre-trend p."""
    console = console or Console()
    console.print(
        f"[bold]Difference-in-differences[/bold] from {result.start} · {result.units:,} units "
        f"({result.treated:,} treated) · {result.pre_days} days before, {result.post_days} "
        "from the start · unit and day fixed effects, unit-clustered errors"
    )
    table = Table()
    heads = ["per unit-day", "estimate", "95 % CI", "relative", "pre-trend\np"]
    for i, head in enumerate([*heads, *(["true\neffect"] if truth is not None else [])]):
        table.add_column(head, justify="left" if i == 0 else "right")
    for name, e in result.effects.items():
        fmt = FORMATS.get(name, "{:+,.2f}")
        pre = "–" if e.pretrend_p is None else f"{e.pretrend_p:.3f}"
        row = [
            name.replace("_", " "),
            fmt.format(e.estimate),
            f"{fmt.format(e.ci_low)} … {fmt.format(e.ci_high)}",
            f"{e.relative:+.1%}",
            pre,
        ]
        if truth is not None:
            row.append(fmt.format(truth[name]) if name in truth else "")
        table.add_row(*row)
    console.print(table)
    console.print(
        "relative: estimate ÷ the treated units' counterfactual mean; pre-trend p: "
        f"joint test that the event study's leads ({result.bin_days}-day bins) are 0"
    )
