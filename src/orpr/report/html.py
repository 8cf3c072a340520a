"""``report.html``: an evaluation for a planner, in one self-contained file (DESIGN §9, §11).

Sections, in reading order: the comparison of the paper's three KPIs (turnover days, in-stock
rate, holding cost), then fill rate, lost sales and total cost; the service–cost frontier and
each policy's holding cost at the incumbent's in-stock rate; the location hold-out (when
configured); inventory traces of sample units; ABC–XYZ segments; promotion days; the
decisions' (and labels') distribution; training curves; the data's censoring; and the
assumptions (lead times, review periods, costs, and where each came from).

Figures are PNGs embedded as base64 (``orpr.report.figures``), the style sheet is inline and nothing
links outside the file. ``orpr evaluate --out DIR`` writes it as ``DIR/report.html``.
Symbols: ``v`` inventory days, ``I_t`` end-of-day on-hand, ``d_t`` latent demand, α service
target, ``L`` lead time, ``R`` review period, ``c, h, p`` unit value, holding rate, penalty.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import numpy as np

from orpr.config import Config
from orpr.data.panel import Panel
from orpr.evaluation.evaluate import Evaluation
from orpr.evaluation.frontier import Frontier
from orpr.evaluation.run import EvaluationRun, ReportWriter
from orpr.io import write_text
from orpr.report import figures
from orpr.report.artifacts import label_draw, model_dirs
from orpr.report.frontier import frontier_section
from orpr.report.sections import (
    assumptions_section,
    data_section,
    image,
    label,
    para,
    section,
    table,
    training_section,
)
from orpr.report.terminal import COLUMNS
from orpr.sim.metrics import Metrics

SECTIONS = (
    "comparison",
    "frontier",
    "locations",
    "traces",
    "segments",
    "promo",
    "distributions",
    "training",
    "data",
    "assumptions",
)
"""Section ids in page order (``locations`` only with a location hold-out)."""
TRACE_UNITS = 4
"""Sample units drawn in the inventory traces."""

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1100px;padding:1.5rem 2rem;color:#1d2329;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;
border-bottom:2px solid #e3e7eb;padding-bottom:.3rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.88rem}
th,td{padding:.3rem .6rem;border-bottom:1px solid #e3e7eb;text-align:right}
th{background:#f3f5f7;font-weight:600}td:first-child,th:first-child{text-align:left}
table.text td,table.text th{text-align:left}
img{max-width:100%;height:auto;display:block;margin:.5rem 0}
.note{color:#5b6670;font-size:.85rem}.lead{color:#37414a}
nav a{margin-right:.8rem;font-size:.85rem}code{background:#f3f5f7;padding:0 .25rem}
"""


def write_report(
    path: str | Path,
    panel: Panel,
    cfg: Config,
    ev: Evaluation,
    fr: Frontier | None = None,
    run_dir: str | Path | None = None,
) -> Path:
    """Write ``report.html`` atomically; ``run_dir`` is searched for labels and models."""
    return write_text(path, report_html(panel, cfg, ev, fr, Path(run_dir) if run_dir else None))


def report_writer(panel: Panel, cfg: Config, run_dir: Path) -> ReportWriter:
    """``write_report`` for the evaluations of ``run_dir`` (``evaluation.run.write_evaluation``)."""

    def write(path: Path, run: EvaluationRun) -> Path:
        return write_report(path, panel, cfg, run.evaluation, run.frontier, run_dir)

    return write


def report_html(
    panel: Panel,
    cfg: Config,
    ev: Evaluation,
    fr: Frontier | None = None,
    run_dir: Path | None = None,
) -> str:
    """The whole page as one string."""
    names = [r.name for r in ev.reports] + ([p.policy for p in fr.points] if fr else [])
    palette = figures.colours(names)
    dirs = model_dirs(cfg, run_dir)
    parts = [
        comparison_section(ev),
        frontier_section(ev, fr, palette),
        locations_section(ev),
        traces_section(panel, ev, palette),
        segments_section(ev),
        promo_section(ev),
        distributions_section(ev, label_draw(cfg, run_dir, dirs), palette),
        training_section(dirs),
        data_section(panel, ev),
        assumptions_section(panel, cfg, ev),
    ]
    body = "\n".join(p for p in parts if p)
    ids = [i for i in SECTIONS if f'id="{i}"' in body]
    nav = "<nav>" + "".join(f'<a href="#{i}">{i}</a>' for i in ids) + "</nav>"
    m = ev.meta
    title = f"ORPR evaluation · {cfg.name}"
    head = (
        f"<h1>{escape(title)}</h1><p class='lead'>{escape(str(m['source']))} · "
        f"{m['units']:,} units · held-out {m['holdout_days']} days from "
        f"{escape(str(m['holdout_start']))} · service target α = {m['alpha']}</p>"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"{head}{nav}{body}</body></html>\n"
    )


def metric_cells(m: Metrics) -> list[str]:
    """The comparison's cells of one row, KPIs first (``render.COLUMNS``)."""
    return [fmt.format(getattr(m, key)) for _, key, fmt in COLUMNS]


METRIC_HEADER = [title.replace("\n", " ") for title, _, _ in COLUMNS]
ORACLE_NOTE = "* oracle: sees the future demand, not implementable."


def comparison_section(ev: Evaluation) -> str:
    """The policies on all held-out days, and their change against the incumbent."""
    rows = [[label(r.name, r.oracle), *metric_cells(r.overall)] for r in ev.reports]
    parts = [table(["policy", *METRIC_HEADER], rows)]
    inc = next((r.overall for r in ev.reports if r.name == "incumbent"), None)
    if inc is not None:
        delta = [
            [
                label(r.name, r.oracle),
                f"{r.overall.turnover_days - inc.turnover_days:+.2f} days",
                f"{100 * (r.overall.in_stock_rate - inc.in_stock_rate):+.2f} pp",
                _pct_change(r.overall.holding_cost, inc.holding_cost),
            ]
            for r in ev.reports
            if r.name != "incumbent"
        ]
        if delta:
            parts += [
                para(
                    "Against the incumbent (the paper reports turnover −5.27 days, "
                    "in-stock +2.29 pp, holding cost −29.95 % at JD.com):"
                ),
                table(["policy", "turnover days", "in-stock rate", "holding cost"], delta),
            ]
    parts.append(para(ORACLE_NOTE) if any(r.oracle for r in ev.reports) else "")
    return section("comparison", "Comparison on the held-out days", *parts)


def _pct_change(new: float, old: float) -> str:
    return f"{100 * (new / old - 1):+.1f} %" if old > 0 else "–"


def locations_section(ev: Evaluation) -> str:
    """Held-out stores against fitting stores, when a location hold-out is configured."""
    loc = ev.locations
    if loc is None:
        return ""
    rows = []
    for name in loc.held_out_metrics:
        for group, m in (
            ("held-out stores", loc.held_out_metrics[name]),
            ("fitting stores", loc.fitted_metrics[name]),
        ):
            rows.append(
                [
                    name,
                    group,
                    f"{m.turnover_days:.2f}",
                    f"{m.in_stock_rate:.2%}",
                    f"{m.holding_cost:,.0f}",
                    f"{m.fill_rate:.2%}",
                    "yes" if loc.fitted_without[name] else "no",
                ]
            )
    return section(
        "locations",
        "Location hold-out",
        para(
            f"Stores held out of all fitting and tuning: {', '.join(loc.stores)} "
            f"({int(loc.held_out.sum()):,} units)."
        ),
        table(
            [
                "policy",
                "units at",
                "turnover days",
                "in-stock",
                "holding",
                "fill",
                "fitted without them",
            ],
            rows,
        ),
        para(
            "Model policies are as held out as their training: 'no' means the model may have "
            "been trained on those stores."
        ),
    )


def sample_units(panel: Panel, ev: Evaluation, k: int = TRACE_UNITS) -> list[int]:
    """Representative units: the median-value unit of classes A, B and C, then the unit with
    the most promotion days in the held-out window (distinct, those with demand)."""
    lo, hi = ev.split.holdout_start, ev.split.stop
    value = np.where(panel.active, panel.demand, 0.0)[:, lo:hi].sum(axis=1) * panel.units.unit_cost
    chosen: list[int] = []
    for letter in "ABC":
        idx = np.flatnonzero(np.char.startswith(ev.segments.astype(str), letter) & (value > 0))
        if idx.size:
            chosen.append(int(idx[np.argsort(value[idx])][idx.size // 2]))
    promo = (panel.promo[:, lo:hi] > 0).sum(axis=1).astype(float)
    promo[chosen] = -1
    if promo.max() > 0:
        chosen.append(int(promo.argmax()))
    return chosen[:k]


def traces_section(panel: Panel, ev: Evaluation, palette: dict[str, str]) -> str:
    """On-hand of sample units under each policy over the held-out days, with demand."""
    units = sample_units(panel, ev)
    if not units:
        return section("traces", "Inventory traces", para("No unit has held-out demand."))
    lo, hi = ev.split.holdout_start, ev.split.stop
    u = panel.units
    titles = [
        f"{u.unit_id[i]} · {ev.segments[i]} · L = {u.lead_time[i]}, R = {u.review_period[i]}"
        f" · category {u.category[i]}"
        for i in units
    ]
    on_hand = {label(r.policy, r.oracle): r.on_hand[units] for r in ev.results}
    uri = figures.trace_figure(
        panel.dates[lo:hi],
        np.where(panel.active, panel.demand, 0)[units, lo:hi],
        panel.promo[units, lo:hi],
        on_hand,
        titles,
        {label(r.policy, r.oracle): palette[r.policy] for r in ev.results},
    )
    return section(
        "traces",
        "Inventory traces of sample units",
        para(
            "End-of-day on-hand I_t (lines) under each policy and latent demand d_t "
            "(grey bars); promotion days shaded. Units: the median-value unit of "
            "ABC classes A, B, C and the unit with most promotion days.",
            "lead",
        ),
        image(uri, "on-hand of sample units under each policy"),
    )


def segments_section(ev: Evaluation) -> str:
    """Per ABC–XYZ segment: in-stock, holding cost and turnover of each policy."""
    names = [label(r.name, r.oracle) for r in ev.reports]
    rows = []
    for s in sorted(ev.reports[0].segments):
        cells = [
            f"{r.segments[s].in_stock_rate:.1%} · {r.segments[s].holding_cost:,.0f} · "
            f"{r.segments[s].turnover_days:.1f} d"
            for r in ev.reports
        ]
        rows.append([s, f"{int((ev.segments == s).sum()):,}", *cells])
    return section(
        "segments",
        "By ABC–XYZ segment",
        para(
            "ABC by training-period demand value (80 / 15 / 5 %), XYZ by the "
            "coefficient of variation of daily demand (≤ 0.5 / ≤ 1 / above). Cells: "
            "in-stock rate · holding cost · turnover days."
        ),
        table(["segment", "units", *names], rows),
    )


def promo_section(ev: Evaluation) -> str:
    """The comparison restricted to promotion days."""
    rows = [[label(r.name, r.oracle), *metric_cells(r.promo)] for r in ev.reports]
    return section(
        "promo",
        "Promotion days",
        table(["policy", *METRIC_HEADER], rows),
        para("Unit-days on promotion in the held-out window only."),
    )


def distributions_section(ev: Evaluation, labels, palette: dict[str, str]) -> str:
    """Histograms of each policy's decisions ``v`` and, when found, of the labels ``v*``."""
    samples = {
        label(r.policy, r.oracle): r.inventory_days[np.isfinite(r.inventory_days)]
        for r in ev.results
    }
    colour = {label(r.policy, r.oracle): palette[r.policy] for r in ev.results}
    parts = [image(figures.histogram_figure(samples, colour), "decision histograms")]
    rows = [
        [name, f"{v.size:,}", *(f"{q:.2f}" for q in np.quantile(v, (0.05, 0.5, 0.95)))]
        for name, v in samples.items()
        if v.size
    ]
    parts.append(table(["policy", "decisions", "v q05", "v median", "v q95"], rows))
    if labels is None:
        parts.append(para("No OR labels found (run `orpr labels --out DIR/labels`)."))
    else:
        parts += [
            image(
                figures.histogram_figure(
                    {"v* (OR labels)": labels.v_star}, {}, "label inventory days v*"
                ),
                "label histogram",
            ),
            para(
                f"OR labels v* from {labels.source} ({labels.v_star.size:,} states, "
                "training period of the data they were made on)."
            ),
        ]
    return section(
        "distributions",
        "Decisions and labels",
        para("Inventory days v chosen on review days of the held-out window.", "lead"),
        *parts,
    )
