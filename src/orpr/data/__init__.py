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

Time split: the last ``cfg.split.holdout_days`` days of the date grid are held out. Every
static parameter fitted from the data — hourly profiles (FreshRetailNet, synthetic), the
latent-demand cell factors, variability and start-up levels, the price behind a
price-derived discount — is fitted on the days before them (``training_days``), so no value
on a training day depends on a held-out day.
"""

from orpr.data.load import infer_format, load_panel

__all__ = ["infer_format", "load_panel"]
