"""The report's HTML building blocks and its context sections: training curves, the data's
censoring, and the assumptions behind the numbers (``orpr.report.html`` assembles the page).

Symbols: ``L`` lead time, ``R`` review period (days), ``c`` unit value, ``h`` holding rate
(fraction of ``c`` per unit-day), ``p`` penalty per lost unit, ``d̂`` reference rate, α
service target.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import numpy as np

from orpr.config import Config
from orpr.data.panel import Panel
from orpr.data.summary import summarize
from orpr.evaluation.evaluate import Evaluation
from orpr.report import figures
from orpr.report.artifacts import training_curves


def section(ident: str, title: str, *parts: str) -> str:
    """A titled ``<section>`` of already built HTML parts."""
    return f'<section id="{ident}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


def para(text: str, cls: str = "note") -> str:
    """A paragraph of plain text (escaped)."""
    return f"<p class='{cls}'>{escape(text)}</p>"


def table(header: list[str], rows: list[list[str]], text: bool = False) -> str:
    """An HTML table of already formatted cells (escaped); ``text`` left-aligns every column."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    cls = " class='text'" if text else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def image(uri: str, alt: str) -> str:
    """An embedded figure (``uri`` is a ``data:image/png;base64`` URI)."""
    return f"<img src='{uri}' alt='{escape(alt)}'>"


def label(name: str, oracle: bool) -> str:
    """A policy's name, starred when it is an oracle."""
    return f"{name}*" if oracle else name


def training_section(dirs: dict[str, Path]) -> str:
    """Training curves from the models' ``pretrain.json`` and ``finetune.json``."""
    curves = training_curves(dirs)
    if not dirs:
        note = "No trained model in this run (model.checkpoint is empty): nothing was trained."
        return section("training", "Training curves", para(note))
    found = ", ".join(f"{k}: {v}" for k, v in dirs.items())
    if not curves:
        return section(
            "training",
            "Training curves",
            para(f"Models found ({found}) but no training records in them."),
        )
    panels = {c.title: (c.x, c.series, c.xlabel) for c in curves}
    return section(
        "training",
        "Training curves",
        para(
            "Losses per epoch of each stage (demand: pinball loss; labels: "
            f"cross-entropy; later stages as they record them). Models: {found}.",
            "lead",
        ),
        image(figures.curves_figure(panels), "training curves"),
    )


def data_section(panel: Panel, ev: Evaluation) -> str:
    """The data's shape and censoring: shares of unit-days with some or all-day stockout."""
    s = summarize(panel)
    rows = [
        ["units", f"{s.units:,}"],
        ["days", f"{s.days:,} ({s.first_date} … {s.last_date})"],
        ["active unit-days", f"{s.unit_days:,}"],
        ["censored unit-days (some stockout)", f"{s.censored_share:.1%}"],
        ["out of stock all day", f"{s.fully_out_share:.1%}"],
        ["zero-sales unit-days", f"{s.zero_sales_share:.1%}"],
        ["promotion unit-days", f"{s.promo_share:.1%}"],
    ]
    if s.latent_wape is not None and s.sales_wape is not None:
        rows += [
            ["demand WAPE on censored days: latent estimate", f"{s.latent_wape:.1%}"],
            ["demand WAPE on censored days: sales as demand", f"{s.sales_wape:.1%}"],
        ]
    active = panel.active.sum(axis=0)
    denominator = np.maximum(active, 1)
    some = (panel.censored & panel.active).sum(axis=0) / denominator
    full = ((panel.stockout_fraction >= 1) & panel.active).sum(axis=0) / denominator
    uri = figures.censoring_figure(panel.dates, some, full, ev.split.holdout_start)
    return section(
        "data",
        "The data and its censoring",
        para(
            "On a stockout day sales understate demand; every policy is replayed "
            "on the latent demand (sales where fully in stock, else an estimate).",
            "lead",
        ),
        table(["figure", "value"], rows),
        image(uri, "share of censored unit-days per day"),
    )


def assumptions_section(panel: Panel, cfg: Config, ev: Evaluation) -> str:
    """Replenishment parameters (values and source) and the protocol's settings."""
    u, sources = panel.units, ev.meta.get("parameters", {})
    params = [
        ("lead time L (days)", "lead_time", _counts(u.lead_time)),
        ("review period R (days)", "review_period", _counts(u.review_period)),
        ("review offset (day)", "review_offset", _counts(u.review_offset)),
        ("unit value c", "unit_cost", _spread(u.unit_cost)),
        ("holding rate h (per unit-day, of c)", "holding_rate", _spread(u.holding_rate)),
        ("lost-sale penalty p (per unit)", "lost_penalty", _spread(u.lost_penalty)),
    ]
    rows = [[name, values, sources.get(key, "data")] for name, key, values in params]
    sp, po = cfg.split, cfg.policy
    protocol = [
        ["held-out days", f"last {sp.holdout_days} days, from {ev.meta['holdout_start']}"],
        [
            "reference rate d̂",
            f"mean latent demand of the {sp.history_days} days before t "
            f"(floor {sp.rate_floor:g} units/day)",
        ],
        [
            "start and warm-up",
            f"every unit starts {sp.warmup_days} days before the held-out "
            "days at the days-of-cover position S = (L + R)·d̂; warm-up not scored",
        ],
        [
            "service target α",
            f"{po.alpha:g} (incumbent tuning; or_hindsight: labels.alpha_mode "
            f"= {cfg.labels.alpha_mode})",
        ],
        [
            "incumbent",
            f"v = L + R + safety; safety per category from {list(po.safety_days)} "
            "(smallest reaching α on the training period)",
        ],
        [
            "base_stock",
            f"quantile {po.base_stock_quantile:g} of (L + R)-day demand over "
            f"{po.base_stock_history_days} days",
        ],
        ["latent demand", f"data.latent = {cfg.data.latent}"],
        ["location hold-out", f"split.holdout_locations = {sp.holdout_locations:g}"],
    ]
    tuned = ev.meta.get("tuning", {}).get("incumbent", {})
    tuning = [
        [c, f"{t['safety_days']:g}", f"{t['training_fill_rate']:.2%}"] for c, t in tuned.items()
    ]
    parts = [
        table(["parameter", "values", "source"], rows, text=True),
        table(["setting", "value"], protocol, text=True),
    ]
    if tuning:
        parts += [
            para("Incumbent safety days tuned per top-level category:"),
            table(["category", "safety days", "training fill rate"], tuning),
        ]
    return section("assumptions", "Assumptions", *parts)


def _counts(values: np.ndarray, top: int = 6) -> str:
    """``value (units), …`` of the most common values."""
    vals, counts = np.unique(values, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:top]
    more = " …" if len(vals) > top else ""
    return ", ".join(f"{vals[i]} ({counts[i]:,} units)" for i in order) + more


def _spread(values: np.ndarray) -> str:
    """``min · median · max`` of a per-unit parameter."""
    lo, mid, hi = np.quantile(values, (0.0, 0.5, 1.0))
    return f"{lo:.4g} · {mid:.4g} · {hi:.4g} (min · median · max)"
