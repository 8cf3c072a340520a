"""Validation of the canonical tables: each bad value named by file, column, row/unit and value.

Every row rule is a vectorised Polars expression that is true on offending rows; all of a
table's rules run in one pass and the earliest offending row is reported (ties go to the rule
listed first). Row numbers are 1-based data rows: row 1 is the first row under a CSV header.
Table rules (duplicates, a date grid stretched by a far-off unit, gaps, units missing from
either table) run once the rows are sound. Unit parameters are checked against the daily
table's date grid: ``L`` and ``R`` may not exceed its number of days.

Values are parsed the same way here and in ``canonical.to_panel`` (``number``, ``day``), so a
CSV read entirely as text and a typed Parquet file are held to the same rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import polars as pl

from orpr.errors import InputError

DATE_FORMAT = "%Y-%m-%d"
DAILY_REQUIRED = ("unit_id", "date", "sales")
NON_NEGATIVE = ("sales", "discount", "price", "true_demand")
FRACTIONS = ("stockout_fraction", "in_stock_share")
FLAGS = ("promo", "holiday")
GRID_MAX_DAYS = 3660
"""A date grid longer than this (about ten years), days, is checked for a far-off unit."""
GRID_SPAN_RATIO = 4
"""… and refused if also longer than this many times the longest single unit's span."""
PARAMETERS = (
    "lead_time",
    "review_period",
    "review_offset",
    "unit_cost",
    "holding_rate",
    "lost_penalty",
)

Rule = tuple[str, Callable[[pl.Expr], pl.Expr]]


class Check(NamedTuple):
    """One row rule: ``bad`` is true on offending rows; ``shown`` is the value reported."""

    column: str
    problem: str
    bad: pl.Expr
    shown: pl.Expr


def number(df: pl.DataFrame, name: str) -> pl.Expr:
    """Column ``name`` as Float64; text is parsed (null where it is not a number)."""
    dtype = df.schema[name]
    col = pl.col(name)
    if dtype == pl.String:
        return col.str.strip_chars().cast(pl.Float64, strict=False)
    if dtype.is_numeric() or dtype == pl.Boolean:
        return col.cast(pl.Float64)
    return pl.lit(None, dtype=pl.Float64)


def day(df: pl.DataFrame | pl.Schema, name: str = "date") -> pl.Expr:
    """Column ``name`` as ``pl.Date``; text must read YYYY-MM-DD (null where it does not).

    Categorical and Enum columns (Parquet dictionary columns) are read as their text.

    Args:
        df: the table, or its schema (for a lazy frame).
        name: the column.
    """
    dtype = (df.schema if isinstance(df, pl.DataFrame) else df)[name]
    col = pl.col(name)
    if isinstance(dtype, pl.Categorical | pl.Enum):
        col, dtype = col.cast(pl.String), pl.String
    if dtype == pl.String:
        return col.str.strip_chars().str.to_date(DATE_FORMAT, strict=False)
    if dtype == pl.Date:
        return col
    if isinstance(dtype, pl.Datetime):
        return col.dt.date()
    return pl.lit(None, dtype=pl.Date)


def unit_key() -> pl.Expr:
    """``unit_id`` as text, the form units are matched and sorted by."""
    return pl.col("unit_id").cast(pl.String)


def category_columns(columns: list[str]) -> list[str]:
    """Category columns, coarsest first: ``cat_1, cat_2, …`` if any, else ``category``."""
    levels = sorted((int(c[4:]), c) for c in columns if c.startswith("cat_") and c[4:].isdigit())
    if levels:
        return [c for _, c in levels]
    return ["category"] if "category" in columns else []


def validate_daily(df: pl.DataFrame, file: str) -> None:
    """Check the daily table (one row per unit-day); raise ``InputError`` on the first problem."""
    _require(df, DAILY_REQUIRED, file)
    _first_bad_row(df, _daily_checks(df), file)
    _check_duplicates_and_gaps(df, file)


def validate_units(units: pl.DataFrame, daily: pl.DataFrame, file: str) -> None:
    """Check the unit table (one row per unit) against the daily table's units and dates.

    ``lead_time`` and ``review_period`` may not exceed the number of days on the daily
    table's date grid (a longer one could never be simulated, and 1e30 would not fit int64).
    """
    _require(units, ("unit_id",), file)
    span = daily.select(day(daily).cast(pl.Int32).max() - day(daily).cast(pl.Int32).min())
    n_days = int(span.item() or 0) + 1
    _first_bad_row(units, _unit_checks(units, n_days), file)
    key = units.select(unit=unit_key())
    repeat = key.select((~pl.col("unit").is_first_distinct()).arg_true().first()).item()
    if repeat is not None:
        _raise_at(units, repeat, file, "unit_id", "duplicate unit_id", None)
    known = daily.select(unit_key().unique())["unit_id"]
    unknown = key.select((~pl.col("unit").is_in(known.implode())).arg_true().first()).item()
    if unknown is not None:
        _raise_at(units, unknown, file, "unit_id", "unknown unit (not in the daily table)", None)
    missing = known.filter(~known.is_in(key["unit"].implode())).sort()
    if len(missing):
        raise InputError(
            file,
            "unit of the daily table missing from the unit table",
            column="unit_id",
            where=f"unit {missing[0]}",
        )


def _require(df: pl.DataFrame, names: tuple[str, ...], file: str) -> None:
    if df.height == 0:
        raise InputError(file, "empty file (no data rows)")
    for name in names:
        if name not in df.columns:
            raise InputError(file, "missing required column", column=name)


def _number_checks(df: pl.DataFrame, name: str, rules: list[Rule]) -> list[Check]:
    """Missing and unparseable values of a numeric column, then its own ``rules``."""
    raw, x = pl.col(name), number(df, name)
    checks = [
        Check(name, "missing value", raw.is_null(), raw),
        Check(name, "not a number", raw.is_not_null() & x.is_null(), raw),
    ]
    return checks + [Check(name, problem, rule(x), x) for problem, rule in rules]


def _finite(name: str) -> Rule:
    return (f"non-finite {name}", lambda x: ~x.is_finite())


def _at_least(name: str, low: float) -> Rule:
    problem = f"negative {name}" if low == 0 else f"{name} below {low:g}"
    return (problem, lambda x: x < low)


def _whole(name: str) -> Rule:
    return (f"{name} is not a whole number", lambda x: x != x.floor())


def _daily_checks(df: pl.DataFrame) -> list[Check]:
    date = pl.col("date")
    checks = [
        Check("unit_id", "missing value", pl.col("unit_id").is_null(), pl.col("unit_id")),
        Check("date", "missing value", date.is_null(), date),
        Check(
            "date",
            "unparseable date (expected YYYY-MM-DD)",
            date.is_not_null() & day(df).is_null(),
            date.cast(pl.String),
        ),
    ]
    present = [c for c in (*NON_NEGATIVE, *FRACTIONS, *FLAGS) if c in df.columns]
    for name in present:
        if name in FLAGS:
            rules = [(f"{name} is not 0 or 1", lambda x: ~x.is_in([0.0, 1.0]))]
        elif name in FRACTIONS:
            rules = [_finite(name), (f"{name} outside [0, 1]", lambda x: (x < 0) | (x > 1))]
        else:
            rules = [_finite(name), _at_least(name, 0)]
        checks += _number_checks(df, name, rules)
    return checks


def _unit_checks(units: pl.DataFrame, n_days: int) -> list[Check]:
    text = ["unit_id", "location", *category_columns(units.columns)]
    checks = [
        Check(c, "missing value", pl.col(c).is_null(), pl.col(c))
        for c in text
        if c in units.columns
    ]
    for name in (p for p in PARAMETERS if p in units.columns):
        checks += _number_checks(units, name, _parameter_rules(units, name, n_days))
    return checks


def _parameter_rules(units: pl.DataFrame, name: str, n_days: int) -> list[Rule]:
    """Finite; ``0 ≤ L ≤ n_days``, ``1 ≤ R ≤ n_days``, ``0 ≤ offset < R`` whole numbers;
    ``c > 0``; ``h, p ≥ 0``."""
    rules = [_finite(name)]
    if name in ("lead_time", "review_period", "review_offset"):
        rules.append(_whole(name))
    if name == "unit_cost":
        return [*rules, ("non-positive unit_cost", lambda x: x <= 0)]
    rules.append(_at_least(name, 1 if name == "review_period" else 0))
    if name in ("lead_time", "review_period"):
        problem = f"{name} above the panel's {n_days} days"
        rules.append((problem, lambda x: x > n_days))
    if name == "review_offset" and "review_period" in units.columns:
        period = number(units, "review_period")
        rules.append(("review_offset not below review_period", lambda x: x >= period))
    return rules


def _first_bad_row(df: pl.DataFrame, checks: list[Check], file: str) -> None:
    """Run every check in one pass; raise on the earliest offending row."""
    firsts = df.select(
        c.bad.fill_null(False).arg_true().first().alias(str(i)) for i, c in enumerate(checks)
    ).row(0)
    hits = [(row, i) for i, row in enumerate(firsts) if row is not None]
    if not hits:
        return
    row, i = min(hits)
    check = checks[i]
    value = df.slice(row, 1).select(check.shown).item()
    _raise_at(df, row, file, check.column, check.problem, value)


def _raise_at(
    df: pl.DataFrame, row: int, file: str, column: str, problem: str, value: object
) -> None:
    unit = df["unit_id"][row]
    where = f"row {row + 1}" if unit is None else f"row {row + 1} (unit {unit})"
    if value is not None and not isinstance(value, int | float | str):
        value = str(value)
    raise InputError(file, problem, column=column, where=where, value=value)


def _check_duplicates_and_gaps(df: pl.DataFrame, file: str) -> None:
    """Each unit has one row per date, on consecutive dates from its first to its last."""
    keys = df.select(unit=unit_key(), day=day(df).cast(pl.Int32), row=pl.int_range(pl.len()))
    spans = keys.group_by("unit").agg(
        first=pl.col("day").min(),
        last=pl.col("day").max(),
        n=pl.len(),
        distinct=pl.col("day").n_unique(),
    )
    _check_grid(spans, float(keys["day"].median()), file)
    repeated = spans.filter(pl.col("n") > pl.col("distinct"))["unit"]
    if len(repeated):
        rows = keys.filter(pl.col("unit").is_in(repeated.implode()))
        # one int64 per (unit, day) — far faster to deduplicate than a struct with text
        code = pl.col("unit").cast(pl.Enum(repeated)).to_physical().cast(pl.Int64)
        pair = code * (1 << 32) + pl.col("day")
        at = rows.filter(~pair.is_first_distinct()).row(0, named=True)
        first = rows.filter((pl.col("unit") == at["unit"]) & (pl.col("day") == at["day"]))
        _raise_at(
            df,
            at["row"],
            file,
            "date",
            f"duplicate (unit_id, date); first at row {first['row'][0] + 1}",
            _iso(at["day"]),
        )
    gaps = spans.filter(pl.col("last") - pl.col("first") + 1 != pl.col("n")).sort("unit")
    if gaps.height:
        unit, first, last = gaps.row(0)[:3]
        have = keys.filter(pl.col("unit") == unit)["day"].to_numpy()
        missing = np.setdiff1d(np.arange(first, last + 1), have)[0]
        raise InputError(
            file,
            "gap in dates: the unit has no row for this date",
            column="date",
            where=f"unit {unit}",
            value=_iso(int(missing)),
        )


def _check_grid(spans: pl.DataFrame, median_day: float, file: str) -> None:
    """Refuse a date grid stretched by a far-off unit (a mistyped year, say).

    The grid runs from the earliest to the latest date of any unit. If it is longer than
    ``GRID_MAX_DAYS`` and more than ``GRID_SPAN_RATIO`` × the longest single unit's span,
    the end farther from the median date of all rows is named: the unit holding that
    extreme date, and the date. (A far-off date inside a unit's own rows is a gap instead.)
    """
    first, last = spans["first"].min(), spans["last"].max()
    grid = last - first + 1
    longest = (spans["last"] - spans["first"] + 1).max()
    if grid <= GRID_MAX_DAYS or grid <= GRID_SPAN_RATIO * longest:
        return
    column, extreme = (
        ("first", first) if median_day - first >= last - median_day else ("last", last)
    )
    unit = spans.filter(pl.col(column) == extreme)["unit"].sort()[0]
    raise InputError(
        file,
        f"date far from the other units' dates: the date grid would span {grid:,} days, "
        f"over {GRID_SPAN_RATIO}× the longest unit's {longest:,} and over {GRID_MAX_DAYS:,}",
        column="date",
        where=f"unit {unit}",
        value=_iso(int(extreme)),
    )


def _iso(days: int) -> str:
    """Days since 1970-01-01 as YYYY-MM-DD."""
    return str(np.datetime64(int(days), "D"))
