"""Adapter for the Kaggle M5 forecasting files (Walmart, 2011–2016) → canonical tables.

Reads, from one folder: ``sales_train_evaluation.csv`` (preferred, it is longer) or
``sales_train_validation.csv`` — wide, one row per item × store (``id, item_id, dept_id,
cat_id, store_id, state_id, d_1 … d_N``); ``calendar.csv`` (``d`` → ``date``, ``wm_yr_wk``,
events, ``snap_CA|TX|WI``); ``sell_prices.csv`` (weekly ``sell_price`` per store × item).

Mapping:
    unit_id = ``id``; location = ``store_id``; categories cat_1 = ``cat_id``, cat_2 =
    ``dept_id``, cat_3 = ``item_id``.
    discount = that week's ``sell_price`` ÷ the unit's highest ``sell_price`` before the
    held-out period (``fit_until_date``; on a held-out day, or for a unit without training
    prices, the larger of that and its highest price so far); a day without a price takes
    the unit's nearest earlier price, else its nearest later one in the same period, and a
    unit with no price at all has discount 1.
    holiday = 1 on days with any calendar event (``event_name_1`` or ``event_name_2``).
    promo = 1 on SNAP days of the unit's state (``snap_<state_id>``). M5 has no promotion
    flag; SNAP days (food-stamp benefits paid out) are its nearest recorded demand lift.
    stockout_fraction is absent (M5 records no stock), so every day counts as in stock.
    Leading zeros are trimmed: a unit's history starts at its first positive sale, because
    M5 lists items before their launch; units that never sell are dropped.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from orpr.errors import InputError

SALES_FILES = ("sales_train_evaluation.csv", "sales_train_validation.csv")
ID_COLUMNS = ("id", "item_id", "dept_id", "cat_id", "store_id", "state_id")
CALENDAR_COLUMNS = ("date", "wm_yr_wk", "d", "event_name_1", "event_name_2")
PRICE_COLUMNS = ("store_id", "item_id", "wm_yr_wk", "sell_price")


def read_tables(
    folder: str | Path, fit_until_date: dt.date | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read the M5 folder as canonical daily and unit tables.

    Args:
        folder: the folder holding the M5 CSV files.
        fit_until_date: the first held-out date: the highest price behind ``discount`` is
            taken over earlier days only (``None`` = over all days).

    Returns:
        ``(daily, units)``: daily ``unit_id, date, sales, discount, promo, holiday``, one row
        per unit-day from the unit's first sale; units ``unit_id, location, cat_1..cat_3``.

    Raises:
        InputError: a file or a required column is missing, or a file cannot be read.
    """
    folder = Path(folder)
    sales_file = _sales_file(folder)
    text = {c: pl.String for c in ID_COLUMNS}
    wide = _read_csv(sales_file, ID_COLUMNS, text)
    calendar = _calendar(folder / "calendar.csv", wide["state_id"].unique().sort().to_list())
    prices = _read_csv(
        folder / "sell_prices.csv", PRICE_COLUMNS, {"store_id": pl.String, "item_id": pl.String}
    )
    daily = _long_sales(wide, sales_file, calendar)
    daily = _add_discount(daily, prices, fit_until_date)
    daily = daily.select("unit_id", "date", "sales", "discount", "promo", "holiday")
    units = wide.filter(pl.col("id").is_in(daily["unit_id"].unique().implode())).select(
        unit_id="id", location="store_id", cat_1="cat_id", cat_2="dept_id", cat_3="item_id"
    )
    return daily, units


def date_span(folder: str | Path) -> tuple[dt.date, dt.date] | None:
    """Dates of the sales file's first and last day columns (its header and the calendar only).

    Leading zeros are trimmed later, so the panel may start after the first date; it ends on
    the last. ``None`` if the file has no day column the calendar knows.

    Raises:
        InputError: the folder, the sales file or the calendar is missing or unreadable.
    """
    sales_file = _sales_file(Path(folder))
    try:
        days = [c for c in pl.read_csv(sales_file, n_rows=0).columns if c.startswith("d_")]
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as err:
        raise InputError(str(sales_file), f"unreadable file ({err})") from None
    calendar = _read_csv(Path(folder) / "calendar.csv", ("d", "date"), {"date": pl.String})
    dates = calendar.filter(pl.col("d").is_in(days)).select(
        pl.col("date").str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    )["date"]
    return None if dates.is_null().all() else (dates.min(), dates.max())


def _sales_file(folder: Path) -> Path:
    """The sales file of an M5 folder, the evaluation file preferred."""
    if not folder.is_dir():
        raise InputError(str(folder), "not a folder (M5 reads a folder of its CSV files)")
    sales_file = next((folder / f for f in SALES_FILES if (folder / f).is_file()), None)
    if sales_file is None:
        raise InputError(str(folder), f"file not found: {' or '.join(SALES_FILES)}")
    return sales_file


def _read_csv(file: Path, required: tuple[str, ...], text: dict[str, type]) -> pl.DataFrame:
    """A CSV with its required columns, ``text`` columns read as strings."""
    if not file.is_file():
        raise InputError(str(file), "file not found")
    try:
        df = pl.read_csv(file, schema_overrides=text, infer_schema_length=10_000)
    except pl.exceptions.NoDataError:
        raise InputError(str(file), "empty file (no data rows)") from None
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as err:
        reason = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise InputError(str(file), f"unreadable file ({reason})") from None
    for name in required:
        if name not in df.columns:
            raise InputError(str(file), "missing required column", column=name)
    return df


def _calendar(file: Path, states: list[str]) -> pl.DataFrame:
    """Calendar days: ``d, date, wm_yr_wk, holiday`` and, long, ``state_id, promo`` (SNAP)."""
    snaps = [f"snap_{s}" for s in states]
    raw = _read_csv(file, (*CALENDAR_COLUMNS, *snaps), {"date": pl.String, "d": pl.String})
    event = pl.col("event_name_1").is_not_null() | pl.col("event_name_2").is_not_null()
    cal = raw.select(
        "d",
        *[pl.col(s).cast(pl.Int8, strict=False).alias(s[5:]) for s in snaps],
        date=pl.col("date").str.strip_chars().str.to_date("%Y-%m-%d", strict=False),
        wm_yr_wk=pl.col("wm_yr_wk").cast(pl.Int64, strict=False),
        holiday=event.cast(pl.Int8),
    )
    bad = cal.select(pl.col("date").is_null().arg_true().first()).item()
    if bad is not None:
        raise InputError(
            str(file),
            "unparseable date (expected YYYY-MM-DD)",
            column="date",
            where=f"row {bad + 1}",
            value=raw["date"][bad],
        )
    return cal.unpivot(
        index=["d", "date", "wm_yr_wk", "holiday"],
        on=states,
        variable_name="state_id",
        value_name="promo",
    )


def _long_sales(wide: pl.DataFrame, file: Path, calendar: pl.DataFrame) -> pl.DataFrame:
    """Wide ``d_1 … d_N`` sales to one row per unit-day, trimmed to start at the first sale."""
    days = [c for c in wide.columns if c.startswith("d_")]
    if not days:
        raise InputError(str(file), "no day columns (d_1 … d_N)", column="d_1")
    known = set(calendar["d"].to_list())
    unknown = next((d for d in days if d not in known), None)
    if unknown is not None:
        raise InputError(str(file), "day column not in calendar.csv", column=unknown)
    long = (
        wide.select("id", "store_id", "item_id", "state_id", *days)
        .unpivot(
            index=["id", "store_id", "item_id", "state_id"],
            on=days,
            variable_name="d",
            value_name="sales",
        )
        .with_columns(pl.col("sales").cast(pl.Float64, strict=False))
        .join(calendar, on=["d", "state_id"], how="left")
    )
    first_sale = pl.col("date").filter(pl.col("sales") > 0).min().over("id")
    return (
        long.filter(pl.col("date") >= first_sale).rename({"id": "unit_id"}).sort("unit_id", "date")
    )


def _add_discount(
    daily: pl.DataFrame, prices: pl.DataFrame, fit_until_date: dt.date | None
) -> pl.DataFrame:
    """``discount`` = the week's sell price ÷ the unit's highest; gaps filled within the unit.

    Training days (before ``fit_until_date``) never see a held-out price: gaps are filled
    backwards only within the same period, and the highest price is the training period's;
    a held-out day divides by the larger of that and the unit's highest price so far.
    """
    prices = prices.select(
        "store_id",
        "item_id",
        wm_yr_wk=pl.col("wm_yr_wk").cast(pl.Int64, strict=False),
        price=pl.col("sell_price").cast(pl.Float64, strict=False),
    ).unique(["store_id", "item_id", "wm_yr_wk"], keep="first")
    daily = daily.join(
        prices, on=["store_id", "item_id", "wm_yr_wk"], how="left", maintain_order="left"
    )
    held_out = pl.lit(False) if fit_until_date is None else pl.col("date") >= fit_until_date
    daily = daily.with_columns(held_out=held_out)
    price = pl.col("price").forward_fill().over("unit_id")
    price = price.backward_fill().over("unit_id", "held_out")
    daily = daily.with_columns(price=price)
    train_top = pl.col("price").filter(~pl.col("held_out")).max().over("unit_id")
    top = pl.max_horizontal(train_top, pl.col("price").cum_max().over("unit_id"))
    return daily.with_columns(
        discount=pl.when(top > 0).then(pl.col("price") / top).otherwise(1.0).fill_null(1.0)
    )
