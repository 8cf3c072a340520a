"""FreshRetailNet-50K adapter: the published daily schema → canonical daily and unit tables.

FreshRetailNet-50K (Dingdong Inc., 2025; Hugging Face ``Dingdong-Inc/FreshRetailNet-50K``,
CC BY 4.0): one row per store × product × day with 24 hourly sales and 24 hourly stock flags.

Mapping, daily table (one row per input row, in file order):
    unit_id = "{store_id}_{product_id}"; date = dt; sales = sale_amount (continuous, scaled
    units); stockout_fraction = stock_hour6_22_cnt / 16; discount = discount, where a value
    of 0 (or missing) means "not recorded" and becomes 1.0 (full price); promo =
    activity_flag; holiday = holiday_flag; in_stock_share = ``profiles.in_stock_share`` of the
    row's ``hours_stock_status`` (business hours 06–22 only: the flag stays "out" overnight)
    under the unit's hourly profile, estimated by ``profiles.estimate_profiles`` from
    ``hours_sale`` on the unit's fully in-stock days before ``fit_until_date`` (the first
    held-out date; ``load_panel`` passes the last date − ``split.holdout_days`` + 1, read
    lazily by ``date_span``) and shrunk towards its third-level category's profile.
    Weather columns are not carried. ``store_id`` and ``product_id`` must be whole numbers
    (text such as ``"12"`` is read as 12).
Unit table (one row per series, sorted by store then product):
    unit_id; location = store_id; city = city_id; cat_1, cat_2, cat_3 = first, second and
    third category id (all as text).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from orpr.data import profiles
from orpr.data.validate import day, number
from orpr.errors import InputError

ID_COLUMNS = ("store_id", "product_id")
"""Identifier columns; each must hold whole numbers."""
HOURLY = ("hours_sale", "hours_stock_status")
"""The 24-element list columns."""
COLUMNS = (
    "city_id",
    "store_id",
    "first_category_id",
    "second_category_id",
    "third_category_id",
    "product_id",
    "dt",
    "sale_amount",
    "stock_hour6_22_cnt",
    "discount",
    "holiday_flag",
    "activity_flag",
    *HOURLY,
)
"""Published columns the adapter reads; any other column is ignored."""
SHARE_CHUNK_ROWS = 500_000
"""Rows per chunk when computing in-stock shares (bounds memory)."""


def read_tables(
    path: str | Path,
    stores: Sequence[int] | None = None,
    fit_until_date: dt.date | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read FreshRetailNet-50K rows as canonical ``(daily, units)`` tables.

    Args:
        path: a Parquet file in the dataset's published schema.
        stores: keep only these ``store_id`` values (``None`` = all), read lazily.
        fit_until_date: the first held-out date: hourly profiles are learnt from the rows
            dated before it only (``None`` = from all rows), so no earlier row's
            ``in_stock_share`` depends on a held-out one.

    Returns:
        ``daily``: unit_id, date, sales, stockout_fraction, discount, promo, holiday,
        in_stock_share. ``units``: unit_id, location, city, cat_1, cat_2, cat_3.

    Raises:
        InputError: the file is missing or unreadable, lacks a column, has a store or
            product id that is not a whole number, an hourly list that is not 24 values,
            or a ``dt`` that is not a date.
    """
    file = str(path)
    frame = _integer_ids(_read(file, stores), file)
    hourly_sales = _hourly(frame, "hours_sale", np.float32, file)
    stock_status = _hourly(frame, "hours_stock_status", np.int8, file)
    frame = frame.drop(HOURLY)
    dates = _dates(frame, file)
    first_row, unit_index = _units_of_rows(frame)
    fit_rows = None if fit_until_date is None else (dates < fit_until_date).to_numpy()
    totals, days = profiles.in_stock_hour_totals(
        hourly_sales, stock_status, unit_index, len(first_row), fit_rows
    )
    group = frame["third_category_id"].to_numpy()[first_row]
    profile = profiles.estimate_profiles(totals, days, group)
    share = _row_shares(stock_status, profile, unit_index)
    return _daily_table(frame, dates, share), _unit_table(frame[first_row])


def date_span(path: str | Path) -> tuple[dt.date, dt.date] | None:
    """The first and last ``dt`` of the file, read lazily (one column); ``None`` if none parse.

    Raises:
        InputError: the file is missing or unreadable, or has no ``dt`` column.
    """
    file = str(path)
    lazy, schema = _scan(file)
    if "dt" not in schema:
        raise InputError(file, "missing column", column="dt")
    date = day(schema, "dt")
    try:
        first, last = lazy.select(first=date.min(), last=date.max()).collect().row(0)
    except pl.exceptions.PolarsError as err:
        raise InputError(file, f"cannot read as Parquet ({err})") from None
    return None if first is None else (first, last)


def _scan(file: str) -> tuple[pl.LazyFrame, pl.Schema]:
    """The file as a lazy frame and its schema, with a clear error for a bad file."""
    if not Path(file).is_file():
        raise InputError(file, "file not found")
    try:
        lazy = pl.scan_parquet(file)
        return lazy, lazy.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as err:
        raise InputError(file, f"cannot read as Parquet ({err})") from None


def _read(file: str, stores: Sequence[int] | None) -> pl.DataFrame:
    """The needed columns (of the chosen stores), with a clear error for a bad file."""
    lazy, schema = _scan(file)
    for name in COLUMNS:
        if name not in schema:
            raise InputError(file, "missing column", column=name)
    lazy = lazy.select(COLUMNS)
    if stores is not None:
        lazy = lazy.filter(pl.col("store_id").is_in(list(stores)))
    try:
        return lazy.collect()
    except pl.exceptions.PolarsError as err:
        raise InputError(file, f"cannot read as Parquet ({err})") from None


def _integer_ids(frame: pl.DataFrame, file: str) -> pl.DataFrame:
    """``store_id`` and ``product_id`` as Int64; a value that is not a whole number is named."""
    for name in ID_COLUMNS:
        if frame.schema[name].is_integer():
            as_int = pl.col(name).cast(pl.Int64, strict=False)
            ok = as_int.is_not_null()
        else:  # text or float: a whole number within float precision
            x = number(frame, name)
            as_int = x.cast(pl.Int64, strict=False)
            ok = x.is_finite() & (x == x.floor()) & (x.abs() < 2.0**53)
        bad = frame.select((~ok).fill_null(True).arg_true().first()).item()
        if bad is not None:
            value = frame[name][bad]
            raise InputError(
                file,
                f"{name} is not a whole number",
                column=name,
                where=f"row {bad + 1}",
                value=value
                if value is None or isinstance(value, int | float | str)
                else str(value),
            )
        frame = frame.with_columns(as_int.alias(name))
    return frame


def _hourly(frame: pl.DataFrame, name: str, dtype: type, file: str) -> np.ndarray:
    """A 24-element list column as a dense array ``(row, 24)``."""
    column = frame[name]
    if not isinstance(column.dtype, pl.List | pl.Array):
        raise InputError(
            file, "expected a list of 24 hourly values", column=name, value=str(column.dtype)
        )
    lengths = column.list.len().fill_null(0).to_numpy()
    bad = np.flatnonzero(lengths != profiles.HOURS)
    values = column.explode()
    if len(bad) == 0 and values.null_count() > 0:
        bad = np.flatnonzero(column.list.eval(pl.element().is_null().any()).explode().to_numpy())
    if len(bad) > 0:
        raise InputError(
            file,
            "expected 24 hourly values, none missing",
            column=name,
            where=f"row {bad[0] + 1}",
            value=column[int(bad[0])],
        )
    return values.to_numpy().astype(dtype, copy=False).reshape(-1, profiles.HOURS)


def _units_of_rows(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """First row of each (store, product) series, sorted by both ids, and each row's unit."""
    ranks = frame.select(
        store=pl.col("store_id").rank("dense").cast(pl.Int64) - 1,
        product=pl.col("product_id").rank("dense").cast(pl.Int64) - 1,
    )
    # dense ranks are below the row count, so the pair code cannot overflow int64
    key = ranks["store"].to_numpy() * (int(ranks["product"].max() or 0) + 1)
    key = key + ranks["product"].to_numpy()
    _, first_row, unit_index = np.unique(key, return_index=True, return_inverse=True)
    return first_row, unit_index.reshape(-1)


def _row_shares(
    stock_status: np.ndarray, profile: np.ndarray, unit_index: np.ndarray
) -> np.ndarray:
    """In-stock share of every row ``(row,)``; rows without a business-hour stockout are 1."""
    share = np.ones(len(stock_status))
    rows = np.flatnonzero((stock_status[:, profiles.business_hours()] != 0).any(axis=1))
    for start in range(0, len(rows), SHARE_CHUNK_ROWS):
        chunk = rows[start : start + SHARE_CHUNK_ROWS]
        share[chunk] = profiles.in_stock_share(stock_status[chunk], profile[unit_index[chunk]])
    return share


def _dates(frame: pl.DataFrame, file: str) -> pl.Series:
    """``dt`` parsed as ``pl.Date``; the first row that is not a date (YYYY-MM-DD) is named."""
    dates = frame.select(day(frame, "dt")).to_series()
    bad = dates.is_null().arg_true()
    if len(bad) > 0:
        row = int(bad[0])
        value = frame["dt"][row]
        raise InputError(
            file,
            "not a date (YYYY-MM-DD)",
            column="dt",
            where=f"row {row + 1}",
            value=value if value is None or isinstance(value, int | float | str) else str(value),
        )
    return dates


def _daily_table(frame: pl.DataFrame, dates: pl.Series, share: np.ndarray) -> pl.DataFrame:
    """The canonical daily table of the rows."""
    return frame.select(
        unit_id=pl.concat_str(pl.col("store_id"), pl.lit("_"), pl.col("product_id")),
        date=dates,
        sales=pl.col("sale_amount").cast(pl.Float64),
        stockout_fraction=pl.col("stock_hour6_22_cnt").cast(pl.Float64) / 16.0,
        discount=pl.when(pl.col("discount").fill_null(0.0) == 0.0)
        .then(1.0)
        .otherwise(pl.col("discount"))
        .cast(pl.Float64),
        promo=pl.col("activity_flag").cast(pl.Int8),
        holiday=pl.col("holiday_flag").cast(pl.Int8),
        in_stock_share=pl.Series(share),
    )


def _unit_table(first_rows: pl.DataFrame) -> pl.DataFrame:
    """The canonical unit table from each series' first row."""
    text = pl.String
    return first_rows.select(
        unit_id=pl.concat_str(pl.col("store_id"), pl.lit("_"), pl.col("product_id")),
        location=pl.col("store_id").cast(text),
        city=pl.col("city_id").cast(text),
        cat_1=pl.col("first_category_id").cast(text),
        cat_2=pl.col("second_category_id").cast(text),
        cat_3=pl.col("third_category_id").cast(text),
    )
