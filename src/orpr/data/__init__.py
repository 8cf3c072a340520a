"""Data: every source becomes the canonical tables, is validated, and becomes a ``Panel``.

Flow (one way): adapter → canonical daily + unit tables (Polars, long format) →
``canonical.validate`` → ``canonical.to_panel`` (dense ``(unit, day)`` arrays, unit
parameters from the data or the config's category rules) → ``latent.estimate_demand``.

Canonical daily table, one row per unit-day:
    unit_id (str), date (YYYY-MM-DD or date), sales (≥ 0); optional stockout_fraction
    ([0, 1]), discount (price ratio, 1 = full price), price, promo (0/1), holiday (0/1),
    in_stock_share ([0, 1], the expected share of the day's demand that fell in in-stock
    hours, from an hourly profile), true_demand (synthetic data only).
Canonical unit table, one row per unit:
    unit_id; optional location, category (or cat_1, cat_2, … coarsest first), lead_time,
    review_period, review_offset, unit_cost, holding_rate, lost_penalty.
"""

from __future__ import annotations

from pathlib import Path

from orpr.config import Config
from orpr.panel import Panel


def load_panel(cfg: Config, path: str | Path | None = None, fmt: str | None = None) -> Panel:
    """Read (or generate) the panel a config describes, validated, with latent demand.

    Args:
        cfg: the run configuration (``data``, ``synthetic``, ``units`` sections).
        path: overrides ``cfg.data.path``.
        fmt: overrides ``cfg.data.format`` (synthetic | canonical | frn | m5).

    Raises:
        InputError: bad input, named by file, column, row/unit and value.
    """
    from orpr.data import canonical, latent

    fmt = fmt or cfg.data.format
    source = str(path or cfg.data.path)
    if fmt == "synthetic":
        from orpr.data.synthetic import generate_tables

        daily, units = generate_tables(cfg.synthetic)
        source = "synthetic"
    elif fmt == "canonical":
        daily, units = canonical.read_tables(source)
    elif fmt == "frn":
        from orpr.data.frn import read_tables

        daily, units = read_tables(source)
    elif fmt == "m5":
        from orpr.data.m5 import read_tables

        daily, units = read_tables(source)
    else:
        from orpr.errors import InputError

        raise InputError(source, "unknown format; valid: synthetic, canonical, frn, m5", value=fmt)
    canonical.validate(daily, units, source)
    panel = canonical.to_panel(daily, units, cfg, source)
    panel = panel.sample_units(cfg.data.max_units, cfg.data.sample_seed)
    return latent.estimate_demand(panel, method=cfg.data.latent)
