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

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from orpr.config import Config
from orpr.errors import InputError
from orpr.panel import Panel

FRN_COLUMNS = ("store_id", "product_id", "dt", "sale_amount", "hours_stock_status")
"""FreshRetailNet-50K columns that mark a Parquet file as that dataset."""


def load_panel(cfg: Config, path: str | Path | None = None, fmt: str | None = None) -> Panel:
    """Read (or generate) the panel a config describes, validated, with latent demand.

    Args:
        cfg: the run configuration (``data``, ``synthetic``, ``units``, ``split`` sections).
        path: overrides ``cfg.data.path``.
        fmt: overrides ``cfg.data.format`` (synthetic | canonical | frn | m5).

    Raises:
        InputError: bad input, named by file, column, row/unit and value; a path given
            with format synthetic; an unknown format.
    """
    from orpr.data import canonical, latent

    fmt = fmt or cfg.data.format
    source = str(path or cfg.data.path)
    holdout = cfg.split.holdout_days
    if fmt == "synthetic":
        from orpr.data.synthetic import generate_tables

        if source:
            raise InputError(source, "synthetic data takes no --data path; pass --format")
        fit_until = training_days(cfg.synthetic.days, holdout)
        daily, units = generate_tables(cfg.synthetic, fit_until)
        source = "synthetic"
    elif fmt == "stationary":
        from orpr.data import stationary

        if source:
            raise InputError(source, "stationary data takes no --data path; pass --format")
        daily, units = stationary.generate_tables(cfg.stationary)
        source = "stationary"
    elif fmt == "canonical":
        daily, units = canonical.read_tables(source)
    elif fmt == "frn":
        from orpr.data import frn

        daily, units = frn.read_tables(
            source, fit_until_date=cut_date(frn.date_span(source), holdout)
        )
    elif fmt == "m5":
        from orpr.data import m5

        daily, units = m5.read_tables(source, cut_date(m5.date_span(source), holdout))
    else:
        raise InputError(
            source, "unknown format; valid: synthetic, stationary, canonical, frn, m5", value=fmt
        )
    canonical.validate(daily, units, source)
    panel = canonical.to_panel(daily, units, cfg, source)
    panel = panel.sample_units(cfg.data.max_units, cfg.data.sample_seed)
    if cfg.units.whole_units or fmt == "stationary":  # the oracle's model counts whole units
        panel = replace(panel, units=replace(panel.units, whole_units=True))
    fit_until = training_days(panel.n_days, holdout)
    return latent.estimate_demand(panel, method=cfg.data.latent, fit_until=fit_until)


def training_days(n_days: int, holdout_days: int) -> int:
    """Days before the held-out period: ``n_days − holdout_days``.

    A panel no longer than the held-out period has no training period (and nothing can be
    evaluated on it: ``evaluate`` refuses it); its parameters are then fitted on all
    ``n_days`` days, so ``orpr data check`` still describes a short file.
    """
    return n_days - holdout_days if n_days > holdout_days else n_days


def cut_date(span: tuple[dt.date, dt.date] | None, holdout_days: int) -> dt.date | None:
    """The first held-out date of a grid from ``span = (first, last)``: ``last − holdout + 1``.

    ``None`` (fit on every day, as ``training_days``) when the grid is no longer than the
    held-out period or the span is unknown.
    """
    if span is None:
        return None
    first, last = span
    n_days = (last - first).days + 1
    return first + dt.timedelta(days=training_days(n_days, holdout_days)) if n_days > 0 else None


def infer_format(path: str | Path) -> str:
    """The format a data path is in, from what it holds (no data rows are read).

    A folder with ``calendar.csv`` and a ``sales_train_*.csv`` is M5 (``"m5"``); a Parquet
    file (by suffix or its ``PAR1`` magic bytes) whose columns include ``FRN_COLUMNS`` is
    FreshRetailNet-50K (``"frn"``); anything else is ``"canonical"`` (whose reader then
    names what is wrong with it).

    Raises:
        InputError: the path does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(str(path), "file not found")
    if path.is_dir():
        is_m5 = (path / "calendar.csv").is_file() and any(path.glob("sales_train_*.csv"))
        return "m5" if is_m5 else "canonical"
    if _is_parquet(path) and set(FRN_COLUMNS) <= _parquet_columns(path):
        return "frn"
    return "canonical"


def _is_parquet(path: Path) -> bool:
    """A ``.parquet`` suffix, or a file that starts with Parquet's magic bytes."""
    if path.suffix.lower() == ".parquet":
        return True
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"PAR1"
    except OSError:
        return False


def _parquet_columns(path: Path) -> set[str]:
    """The column names of a Parquet file (its footer only); empty if it cannot be read."""
    import polars as pl

    try:
        return set(pl.scan_parquet(path).collect_schema().names())
    except (pl.exceptions.PolarsError, OSError):
        return set()
