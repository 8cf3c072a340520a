"""The canonical tables: read them, validate them, and densify them into a ``Panel``.

Layout on disk: either one daily-table file (``.parquet`` or ``.csv``), or a folder holding
``daily.parquet|daily.csv`` and optionally ``units.parquet|units.csv``. CSV is read as text and
parsed by the same rules as typed Parquet columns (``validate.number``, ``validate.day``).

Densifying (``to_panel``): units are sorted by ``unit_id`` as text; the date grid runs from the
earliest to the latest date of any unit, one column per day. Days outside a unit's own first
to last date are inactive (``active = False``) and carry the defaults below. Defaults of
absent columns: ``stockout_fraction`` 0, ``discount`` 1 (or, if only ``price`` is given,
price ÷ the unit's highest price before the held-out period, ``_price_ratio``), ``promo`` 0,
``holiday`` 0, ``in_stock_share`` ``1 − stockout_fraction``; ``demand`` starts equal to
``sales`` (``latent`` replaces it). Unit attributes default to location ``"all"`` and
category ``"all"``; the parameters ``L, R``, offset, ``c, h, p`` come from the unit table
where it has the column, else from the seeded per-category rules of ``unit_rules`` —
``Units.sources`` records which.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import polars as pl

from orpr.config import Config, UnitRulesConfig
from orpr.data.panel import Panel, Units
from orpr.data.unit_rules import assign_parameters, draw_review_offsets
from orpr.data.validate import (
    PARAMETERS,
    category_columns,
    day,
    number,
    unit_key,
    validate_daily,
    validate_units,
)
from orpr.data.window import training_days
from orpr.errors import InputError

SUFFIXES = (".parquet", ".csv")


def read_tables(path: str | Path) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Read the canonical daily table and, if there is one, the unit table.

    Args:
        path: a daily-table file, or a folder with ``daily.*`` and optionally ``units.*``.

    Returns:
        ``(daily, units)`` as read (CSV columns as text); ``units`` is ``None`` if absent.

    Raises:
        InputError: the file or folder is missing, or a file cannot be read.
    """
    daily_file, units_file = table_files(path)
    units = read_table(units_file) if units_file is not None else None
    return read_table(daily_file), units


def table_files(path: str | Path) -> tuple[Path, Path | None]:
    """The daily-table file and the unit-table file (or ``None``) that ``path`` names."""
    path = Path(path)
    if path.is_dir():
        daily = _find(path, "daily")
        if daily is None:
            raise InputError(str(path), "folder holds no daily.parquet or daily.csv")
        return daily, _find(path, "units")
    if not path.exists():
        raise InputError(str(path), "file not found")
    return path, None


def read_table(file: Path) -> pl.DataFrame:
    """One Parquet or CSV table; any read failure becomes an ``InputError`` naming the file.

    A CSV header naming a column twice is refused (a reader would silently rename one).
    """
    if file.suffix.lower() not in SUFFIXES:
        raise InputError(str(file), "unsupported file type; expected .parquet or .csv")
    try:
        if file.suffix.lower() == ".parquet":
            return pl.read_parquet(file)
        _check_header(file)
        return pl.read_csv(file, infer_schema=False)
    except pl.exceptions.NoDataError:
        raise InputError(str(file), "empty file (no data rows)") from None
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as err:
        reason = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise InputError(str(file), f"unreadable file ({reason})") from None


def _check_header(file: Path) -> None:
    """Refuse a CSV whose header names a column twice."""
    with file.open(newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), [])
    seen: set[str] = set()
    for name in (h.strip() for h in header):
        if name in seen:
            raise InputError(str(file), "duplicate column", column=name)
        seen.add(name)


def validate(daily: pl.DataFrame, units: pl.DataFrame | None, source: str) -> None:
    """Check both tables against the canonical schema; raise on the first problem.

    Args:
        daily: the daily table, one row per unit-day.
        units: the unit table, one row per unit, or ``None``.
        source: the path the tables came from (names the files in messages).

    Raises:
        InputError: naming file, column, row (1-based data row) or unit, and value.
    """
    daily_name, units_name = table_names(source)
    validate_daily(daily, daily_name)
    if units is not None:
        validate_units(units, daily, units_name)


def table_names(source: str) -> tuple[str, str]:
    """How messages name the daily table and the unit table read from ``source``."""
    path = Path(source)
    if path.is_dir():
        daily, units = _find(path, "daily"), _find(path, "units")
        return str(daily or path), str(units or f"{path} (unit table)")
    return source, f"{source} (unit table)"


def to_panel(daily: pl.DataFrame, units: pl.DataFrame | None, cfg: Config, source: str) -> Panel:
    """Densify validated canonical tables into ``(unit, day)`` arrays.

    Args:
        daily: the validated daily table.
        units: the validated unit table, or ``None`` (all attributes from defaults and rules).
        cfg: the run config; ``cfg.units`` holds the per-category parameter rules.
        source: the path the tables came from, kept as ``Panel.source``.

    Returns:
        The panel on the union date grid, units sorted by ``unit_id`` as text.
    """
    frame = _long(daily)
    unit_ids = frame["unit"].unique().sort()
    first, last = int(frame["day"].min()), int(frame["day"].max())
    if "discount" not in frame.columns and "price" in frame.columns:
        cut = first + training_days(last - first + 1, cfg.split.holdout_days)
        frame = frame.with_columns(discount=_price_ratio(cut))
    shape = (len(unit_ids), last - first + 1)
    flat = _positions(frame, unit_ids, first, shape[1])

    def dense(name: str, fill: float, dtype: type = np.float64) -> np.ndarray:
        if name not in frame.columns:
            return np.full(shape, fill, dtype=dtype)
        return _scatter(flat, frame[name].to_numpy(), fill, shape, dtype)

    sales = dense("sales", 0.0)
    stockout = dense("stockout_fraction", 0.0)
    has_share = "in_stock_share" in frame.columns
    return Panel(
        units=_unit_table(unit_ids, units, cfg.units, table_names(source)[1]),
        dates=np.arange(first, last + 1).astype("datetime64[D]"),
        sales=sales,
        demand=sales.copy(),
        stockout_fraction=stockout,
        discount=dense("discount", 1.0),
        promo=dense("promo", 0, np.int8),
        holiday=dense("holiday", 0, np.int8),
        active=_scatter(flat, np.ones(len(flat), dtype=bool), False, shape, bool),
        in_stock_share=dense("in_stock_share", 1.0) if has_share else 1.0 - stockout,
        true_demand=dense("true_demand", 0.0) if "true_demand" in frame.columns else None,
        source=source,
    )


def _find(folder: Path, stem: str) -> Path | None:
    for suffix in SUFFIXES:
        if (folder / f"{stem}{suffix}").is_file():
            return folder / f"{stem}{suffix}"
    return None


def _long(daily: pl.DataFrame) -> pl.DataFrame:
    """The daily table parsed: ``unit`` (text), ``day`` (days since 1970-01-01), floats."""
    columns = {"unit": unit_key(), "day": day(daily).cast(pl.Int32).cast(pl.Int64)}
    optional = (
        "sales",
        "stockout_fraction",
        "discount",
        "promo",
        "holiday",
        "in_stock_share",
        "true_demand",
    )
    columns |= {name: number(daily, name) for name in optional if name in daily.columns}
    if "discount" not in daily.columns and "price" in daily.columns:
        columns["price"] = number(daily, "price")
    return daily.select(**columns)


def _price_ratio(cut: int) -> pl.Expr:
    """``discount`` from ``price``: price ÷ the unit's highest price on days before ``cut``.

    A held-out day (``day ≥ cut``), or a unit without training days, divides by the larger
    of that and the unit's highest price so far, so no day depends on a later one's price.
    """
    price = pl.col("price")
    train_top = price.filter(pl.col("day") < cut).max().over("unit")
    top = pl.max_horizontal(train_top, price.cum_max().over("unit", order_by="day"))
    return pl.when(top > 0).then(price / top).otherwise(1.0)


def _positions(frame: pl.DataFrame, unit_ids: pl.Series, first: int, n_days: int) -> np.ndarray:
    """Each row's flat position ``unit * n_days + day`` in the dense ``(unit, day)`` grid."""
    unit = pl.col("unit").cast(pl.Enum(unit_ids)).to_physical().cast(pl.Int64)
    return frame.select(unit * n_days + pl.col("day") - first).to_series().to_numpy()


def _scatter(
    flat: np.ndarray, values: np.ndarray, fill: float, shape: tuple[int, int], dtype: type
) -> np.ndarray:
    """Place ``values`` at flat positions ``unit * n_days + day`` of a ``fill``-ed array."""
    out = np.full(shape[0] * shape[1], fill, dtype=dtype)
    out[flat] = values
    return out.reshape(shape)


def _unit_table(
    unit_ids: pl.Series, units: pl.DataFrame | None, rules: UnitRulesConfig, file: str
) -> Units:
    """Unit attributes in ``unit_ids`` order: data where given, else defaults and rules."""
    table = unit_ids.alias("unit_id").to_frame()
    if units is not None:
        table = table.join(
            units.with_columns(unit_key()), on="unit_id", how="left", maintain_order="left"
        )
    levels = category_columns(table.columns) or ["category"]
    categories = np.stack([_text(table, c) for c in levels], axis=1)
    drawn = assign_parameters(categories[:, 0], rules)._asdict()
    rule_source = f"config: per-category rule (seed {rules.seed})"
    params, sources = {}, {}
    for name in PARAMETERS:
        given = name in table.columns
        params[name] = (
            table.select(number(table, name)).to_series().to_numpy() if given else drawn[name]
        )
        sources[name] = "data" if given else rule_source
    _fit_offsets(params, sources, rules, table["unit_id"], file)
    ints = ("lead_time", "review_period", "review_offset")
    return Units(
        unit_id=_text(table, "unit_id"),
        location=_text(table, "location"),
        categories=categories,
        **{
            name: params[name].astype(np.int64 if name in ints else np.float64)
            for name in PARAMETERS
        },
        sources=sources,
    )


def _text(table: pl.DataFrame, name: str) -> np.ndarray:
    """Column ``name`` as a str array ``(unit,)``, or ``"all"`` if the table lacks it."""
    if name not in table.columns:
        return np.full(table.height, "all")
    return table[name].cast(pl.String).to_numpy().astype(str)


def _fit_offsets(
    params: dict[str, np.ndarray],
    sources: dict[str, str],
    rules: UnitRulesConfig,
    unit_id: pl.Series,
    file: str,
) -> None:
    """Keep each review offset in ``[0, R)`` when ``R`` and the offset come from different places.

    Rule offsets come from ``unit_rules.draw_review_offsets`` for the unit's ``R``, whether
    ``R`` is drawn or given; a given offset must lie below a drawn ``R``.
    """
    period = params["review_period"].astype(np.int64)
    if sources["review_offset"] != "data":
        params["review_offset"] = draw_review_offsets(period, rules)
        return
    bad = np.flatnonzero(params["review_offset"] >= period)
    if len(bad):
        i = int(bad[0])
        raise InputError(
            file,
            f"review_offset not below the rule's review period {period[i]}",
            column="review_offset",
            where=f"unit {unit_id[i]}",
            value=float(params["review_offset"][i]),
        )
