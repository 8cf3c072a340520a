"""Loading a panel: the adapter of each format, then validation, then latent demand.

See ``orpr.data`` for the flow and the canonical tables.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl

from orpr.config import Config
from orpr.data import canonical, frn, latent, m5
from orpr.data.panel import Panel
from orpr.data.synthetic import generate_tables
from orpr.data.window import cut_date, training_days
from orpr.errors import InputError
from orpr.stationary import instance

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
    fmt = fmt or cfg.data.format
    source = str(path or cfg.data.path)
    holdout = cfg.split.holdout_days
    if fmt == "synthetic":
        if source:
            raise InputError(source, "synthetic data takes no --data path; pass --format")
        fit_until = training_days(cfg.synthetic.days, holdout)
        daily, units = generate_tables(cfg.synthetic, fit_until)
        source = "synthetic"
    elif fmt == "stationary":
        if source:
            raise InputError(source, "stationary data takes no --data path; pass --format")
        daily, units = instance.generate_tables(cfg.stationary)
        source = "stationary"
    elif fmt == "canonical":
        daily, units = canonical.read_tables(source)
    elif fmt == "frn":
        daily, units = frn.read_tables(
            source, fit_until_date=cut_date(frn.date_span(source), holdout)
        )
    elif fmt == "m5":
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
    try:
        return set(pl.scan_parquet(path).collect_schema().names())
    except (pl.exceptions.PolarsError, OSError):
        return set()
