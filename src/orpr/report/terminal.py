"""Terminal tables of an evaluation (rich): the paper's three KPIs first."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from orpr.evaluation.evaluate import Evaluation
from orpr.evaluation.frontier import Frontier
from orpr.evaluation.run import EvaluationRun
from orpr.report.stationary import render_stationary
from orpr.sim.metrics import Metrics

COLUMNS = (
    ("turnover\ndays", "turnover_days", "{:.2f}"),
    ("in-stock\nrate", "in_stock_rate", "{:.2%}"),
    ("holding\ncost", "holding_cost", "{:,.0f}"),
    ("fill\nrate", "fill_rate", "{:.2%}"),
    ("lost-sales\ncost", "lost_sales_cost", "{:,.0f}"),
    ("total\ncost", "total_cost", "{:,.0f}"),
)


def _row(m: Metrics) -> list[str]:
    return [fmt.format(getattr(m, key)) for _, key, fmt in COLUMNS]


def _label(name: str, oracle: bool) -> str:
    return f"{name}*" if oracle else name


ORACLE_NOTE = "* oracle: sees the future demand, not implementable"


def render_evaluation(ev: Evaluation, console: Console | None = None) -> None:
    """Print the comparison table, promotion days, and the per-segment table."""
    console = console or Console()
    meta = ev.meta
    title = (
        f"Held-out {meta['holdout_days']} days from {meta['holdout_start']} · "
        f"{meta['units']:,} units · α = {meta['alpha']}"
    )
    console.print(_table(title, [(_label(r.name, r.oracle), r.overall) for r in ev.reports]))
    console.print(
        _table("Promotion days", [(_label(r.name, r.oracle), r.promo) for r in ev.reports])
    )
    seg = Table(title="By ABC–XYZ segment (in-stock rate · holding cost)")
    seg.add_column("segment", no_wrap=True)
    seg.add_column("units", justify="right")
    for r in ev.reports:
        seg.add_column(_label(r.name, r.oracle), justify="right")
    for s in sorted(ev.reports[0].segments):
        n = int((ev.segments == s).sum())
        cells = [
            f"{r.segments[s].in_stock_rate:.1%} · {r.segments[s].holding_cost:,.0f}"
            for r in ev.reports
        ]
        seg.add_row(s, f"{n:,}", *cells)
    console.print(seg)
    if any(r.oracle for r in ev.reports):
        console.print(ORACLE_NOTE)


def _table(title: str, rows: list[tuple[str, Metrics]]) -> Table:
    table = Table(title=title)
    table.add_column("policy", no_wrap=True)
    for label, _, _ in COLUMNS:
        table.add_column(label, justify="right")
    for name, m in rows:
        table.add_row(name, *_row(m))
    return table


def render_frontier(fr: Frontier, console: Console | None = None) -> None:
    """Print each policy's holding cost at the incumbent's in-stock rate (the frontier's verdict)."""
    console = console or Console()
    table = Table(
        title=f"Holding cost at the incumbent's in-stock rate "
        f"({fr.reference_in_stock:.2%}), along each service–cost frontier"
    )
    for col in ("policy", "holding\ncost", "vs\nincumbent", "turnover\ndays", "how"):
        table.add_column(col, justify="left" if col in ("policy", "how") else "right")
    for a in fr.at_reference:
        holding = "–" if a.holding_cost is None else f"{a.holding_cost:,.0f}"
        change = "–" if a.holding_change is None else f"{a.holding_change:+.1%}"
        turnover = "–" if a.turnover_days is None else f"{a.turnover_days:.2f}"
        how = {
            "interpolated": "interpolated",
            "upper_bound": "≤ (every point serves more)",
            "unreached": "never reaches it",
        }[a.status]
        table.add_row(_label(a.policy, a.policy in fr.oracles), holding, change, turnover, how)
    console.print(table)


def render_evaluation_run(run: EvaluationRun, console: Console | None = None) -> None:
    """Print an evaluation, its frontier and the stationary benchmark, those present."""
    console = console or Console()
    render_evaluation(run.evaluation, console)
    if run.frontier is not None:
        render_frontier(run.frontier, console)
    if run.stationary is not None:
        render_stationary(run.stationary, console)


def render_metrics(metrics: dict, console: Console | None = None) -> None:
    """Print the comparison table of a ``metrics.json`` (a run whose evaluation was skipped),
    and its stationary benchmark when it has one."""
    console = console or Console()
    meta = metrics.get("meta", {})
    table = Table(
        title=f"Held-out {meta.get('holdout_days', '?')} days from "
        f"{meta.get('holdout_start', '?')} · {meta.get('units', 0):,} units "
        "(from metrics.json)"
    )
    table.add_column("policy", no_wrap=True)
    for label, _, _ in COLUMNS:
        table.add_column(label, justify="right")
    for name, m in metrics.get("policies", {}).items():
        cells = ["–" if m.get(key) is None else fmt.format(m[key]) for _, key, fmt in COLUMNS]
        table.add_row(_label(name, bool(m.get("oracle"))), *cells)
    console.print(table)
    if any(m.get("oracle") for m in metrics.get("policies", {}).values()):
        console.print(ORACLE_NOTE)
    if "stationary" in metrics:
        render_stationary(metrics["stationary"], console)
