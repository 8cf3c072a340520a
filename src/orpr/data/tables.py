"""Tables a user hands to a command besides the data: positions, outcome panels, unit lists.

Read with the canonical reader (Parquet or CSV; CSV as text, parsed by the same rules as
typed Parquet columns) and checked the same way as the data: every bad value is reported as
one ``InputError`` naming file, column, 1-based data row (and unit) and value.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import polars as pl

from orpr.data.canonical import read_table
from orpr.data.validate import Check, day, number, unit_key
from orpr.errors import InputError


def read_user_table(path: str | Path, required: Iterable[str]) -> pl.DataFrame:
    """Read a ``.parquet`` or ``.csv`` table and require its columns.

    Raises:
        InputError: the file is missing, unreadable, empty, or lacks a required column.
    """
    file = Path(path)
    if not file.is_file():
        raise InputError(str(file), "file not found")
    df = read_table(file)
    if df.height == 0:
        raise InputError(str(file), "empty file (no data rows)")
    for name in required:
        if name not in df.columns:
            raise InputError(str(file), "missing required column", column=name)
    return df


def number_checks(df: pl.DataFrame, name: str, flag: bool = False) -> list[Check]:
    """Checks of a column of non-negative finite numbers (or of 0/1 flags when ``flag``)."""
    raw, x = pl.col(name), number(df, name)
    checks = [
        Check(name, "missing value", raw.is_null(), raw),
        Check(name, "not a number", raw.is_not_null() & x.is_null(), raw),
        Check(name, f"non-finite {name}", ~x.is_finite(), x),
    ]
    if flag:
        return [*checks, Check(name, f"{name} is not 0 or 1", ~x.is_in([0.0, 1.0]), x)]
    return [*checks, Check(name, f"negative {name}", x < 0, x)]


def date_checks(df: pl.DataFrame, name: str = "date") -> list[Check]:
    """Checks of a column of YYYY-MM-DD dates."""
    raw = pl.col(name)
    return [
        Check(name, "missing value", raw.is_null(), raw),
        Check(
            name,
            "unparseable date (expected YYYY-MM-DD)",
            raw.is_not_null() & day(df, name).is_null(),
            raw.cast(pl.String),
        ),
    ]


def unit_checks() -> list[Check]:
    """A unit id is present in every row."""
    return [Check("unit_id", "missing value", pl.col("unit_id").is_null(), pl.col("unit_id"))]


def first_bad_row(df: pl.DataFrame, checks: list[Check], file: str) -> None:
    """Run every check in one pass; raise on the earliest offending row (ties: first check)."""
    firsts = df.select(
        c.bad.fill_null(False).arg_true().first().alias(str(i)) for i, c in enumerate(checks)
    ).row(0)
    hits = [(row, i) for i, row in enumerate(firsts) if row is not None]
    if hits:
        row, i = min(hits)
        check = checks[i]
        raise_at(
            df, row, file, check.column, check.problem, df.slice(row, 1).select(check.shown).item()
        )


def raise_at(
    df: pl.DataFrame, row: int, file: str, column: str, problem: str, value: object
) -> None:
    """Raise the ``InputError`` of 0-based ``row`` of ``df`` (reported 1-based, with its unit)."""
    unit = df["unit_id"][row] if "unit_id" in df.columns else None
    where = f"row {row + 1}" if unit is None else f"row {row + 1} (unit {unit})"
    if value is not None and not isinstance(value, int | float | str):
        value = str(value)
    raise InputError(file, problem, column=column, where=where, value=value)


def check_units(df: pl.DataFrame, file: str, known: np.ndarray, what: str) -> None:
    """Every ``unit_id`` is one of ``known`` and appears in one row only.

    Args:
        df: the table, with a ``unit_id`` column and no missing ids.
        file: the file it came from.
        known: the unit ids it may name, str ``(n,)``.
        what: where the known units come from, for the message (``"the data"``).
    """
    key = df.select(unit=unit_key())["unit"]
    unknown = np.flatnonzero(~np.isin(key.to_numpy().astype(str), known.astype(str)))
    if unknown.size:
        raise_at(df, int(unknown[0]), file, "unit_id", f"unknown unit (not in {what})", None)
    repeat = np.flatnonzero(~key.is_first_distinct().to_numpy())
    if repeat.size:
        raise_at(df, int(repeat[0]), file, "unit_id", "duplicate unit_id", None)
