"""Shared fixtures: a small valid canonical daily table and an in-process ``orpr data check``."""

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from orpr.cli import app


@pytest.fixture
def good_daily() -> pl.DataFrame:
    """Three units on overlapping spans of 2024-01-01 … 07, 17 rows.

    Rows 1–5 are A1 (Jan 3–7), rows 6–10 B2 (Jan 1–5), rows 11–17 C3 (Jan 1–7).
    """
    spans = {"A1": (3, 5), "B2": (1, 5), "C3": (1, 7)}
    rows = [(unit, f"2024-01-0{start + i}") for unit, (start, n) in spans.items() for i in range(n)]
    return pl.DataFrame(
        {
            "unit_id": [u for u, _ in rows],
            "date": [d for _, d in rows],
            "sales": [0.0, 1, 2, 3, 4, 5, 0, 0, 2, 1, 3, 3, 0, 3, 3, 3, 3],
            "stockout_fraction": [0.0, 0, 0.5, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0.25, 0, 0],
            "discount": [1.0] * 10 + [0.8] * 7,
            "promo": [0, 0, 1, 1, 0] + [0] * 12,
            "holiday": [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        },
        orient="col",
    )


@pytest.fixture
def run_check() -> Callable[..., Result]:
    """``orpr data check PATH --format FMT [ARGS…]`` run in-process."""

    def run(path: Path, *args: str, fmt: str = "canonical") -> Result:
        return CliRunner().invoke(app, ["data", "check", str(path), "--format", fmt, *args])

    return run
