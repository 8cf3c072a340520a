"""The report's service–cost frontier section: each family's curve, its cost at the
incumbent's in-stock rate, and every point (``orpr.evaluation.frontier``)."""

from __future__ import annotations

import numpy as np

from orpr.evaluation.evaluate import Evaluation
from orpr.evaluation.frontier import Frontier, FrontierPoint
from orpr.report import figures
from orpr.report.sections import image, label, para, section, table


def frontier_section(ev: Evaluation, fr: Frontier | None, palette: dict[str, str]) -> str:
    """The frontier figure, the comparison at the incumbent's in-stock rate and every point."""
    if fr is None:
        return section(
            "frontier", "Service–cost frontier", para("Not computed (eval.frontier = false).")
        )
    return section(
        "frontier",
        "Service–cost frontier",
        para(
            "Each policy family swept over its service knob (incumbent: days added to the "
            "tuned safety; base_stock: demand quantile; or_hindsight and models: α). A policy "
            "is only better if it is cheaper at the same service.",
            "lead",
        ),
        image(
            frontier_image(ev, fr, palette), "holding cost against in-stock rate per policy family"
        ),
        para(
            f"Holding cost at the incumbent's in-stock rate ({fr.reference_in_stock:.2%}), "
            "interpolated along each family's efficient points; ≤ marks an upper bound (every "
            "point of the family serves more)."
        ),
        table(["policy", "holding cost", "vs incumbent", "turnover days"], at_reference_rows(fr)),
        "<details><summary>All frontier points</summary>",
        table(
            ["policy", "knob", "value", "in-stock", "holding", "turnover", "fill", "total"],
            [point_cells(p) for p in fr.points],
        ),
        "</details>",
    )


def frontier_image(ev: Evaluation, fr: Frontier, palette: dict[str, str]) -> str:
    """Each family's curve and the policies as evaluated, as a PNG data URI."""
    curves = {}
    for name in dict.fromkeys(p.policy for p in fr.points):
        mine = sorted((p for p in fr.points if p.policy == name), key=lambda p: p.value)
        curves[label(name, name in fr.oracles)] = (
            np.array([p.in_stock_rate for p in mine]),
            np.array([p.holding_cost for p in mine]),
        )
    evaluated = {
        label(r.name, r.oracle): (r.overall.in_stock_rate, r.overall.holding_cost)
        for r in ev.reports
    }
    colour = {label(n, n in fr.oracles): c for n, c in palette.items()}
    return figures.frontier_figure(curves, evaluated, fr.reference_in_stock, colour)


def at_reference_rows(fr: Frontier) -> list[list[str]]:
    """Each family's holding cost, change and turnover at the incumbent's in-stock rate."""
    status = {"interpolated": "", "upper_bound": "≤ ", "unreached": ""}
    return [
        [
            label(a.policy, a.policy in fr.oracles),
            "never reached"
            if a.holding_cost is None
            else f"{status[a.status]}{a.holding_cost:,.0f}",
            "–" if a.holding_change is None else f"{100 * a.holding_change:+.1f} %",
            "–" if a.turnover_days is None else f"{a.turnover_days:.2f}",
        ]
        for a in fr.at_reference
    ]


def point_cells(p: FrontierPoint) -> list[str]:
    """One frontier point's row."""
    return [
        p.policy,
        p.knob,
        f"{p.value:g}",
        f"{p.in_stock_rate:.2%}",
        f"{p.holding_cost:,.0f}",
        f"{p.turnover_days:.2f}",
        f"{p.fill_rate:.2%}",
        f"{p.total_cost:,.0f}",
    ]
