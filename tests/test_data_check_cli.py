"""``orpr data check`` end to end, in-process: one line and exit code 2 for every bad input."""

import json

import polars as pl
import pytest


def set_cell(df: pl.DataFrame, row: int, column: str, value: str | None) -> pl.DataFrame:
    """``df`` with ``column`` as text and 1-based data row ``row`` holding ``value``."""
    at_row = pl.int_range(pl.len()) == row - 1
    text = pl.col(column).cast(pl.String)
    return df.with_columns(
        pl.when(at_row).then(pl.lit(value, pl.String)).otherwise(text).alias(column)
    )


def with_column(df: pl.DataFrame, column: str, value: float) -> pl.DataFrame:
    return df.with_columns(pl.lit(value).alias(column))


DAILY_CASES = {
    "missing unit_id column": (
        lambda d: d.drop("unit_id"),
        "column 'unit_id': missing required column",
    ),
    "missing date column": (lambda d: d.drop("date"), "column 'date': missing required column"),
    "missing sales column": (lambda d: d.drop("sales"), "column 'sales': missing required column"),
    "unparseable date": (
        lambda d: set_cell(d, 3, "date", "2024-01-32"),
        "column 'date', row 3 (unit A1), value '2024-01-32': unparseable date (expected YYYY-MM-DD)",
    ),
    "missing date": (
        lambda d: set_cell(d, 4, "date", None),
        "column 'date', row 4 (unit A1): missing value",
    ),
    "negative sales": (
        lambda d: set_cell(d, 7, "sales", "-3"),
        "column 'sales', row 7 (unit B2), value -3.0: negative sales",
    ),
    "infinite sales": (
        lambda d: set_cell(d, 8, "sales", "inf"),
        "column 'sales', row 8 (unit B2), value inf: non-finite sales",
    ),
    "NaN sales": (
        lambda d: set_cell(d, 9, "sales", "NaN"),
        "column 'sales', row 9 (unit B2), value nan: non-finite sales",
    ),
    "text sales": (
        lambda d: set_cell(d, 10, "sales", "lots"),
        "column 'sales', row 10 (unit B2), value 'lots': not a number",
    ),
    "duplicate unit and date": (
        lambda d: pl.concat([d, d.slice(1, 1)]),
        "column 'date', row 18 (unit A1), value '2024-01-04': duplicate (unit_id, date); "
        "first at row 2",
    ),
    "gap in a unit's dates": (
        lambda d: d.filter(pl.int_range(pl.len()) != 2),
        "column 'date', unit A1, value '2024-01-05': gap in dates: the unit has no row for "
        "this date",
    ),
    "stockout fraction above one": (
        lambda d: set_cell(d, 12, "stockout_fraction", "1.5"),
        "column 'stockout_fraction', row 12 (unit C3), value 1.5: stockout_fraction outside [0, 1]",
    ),
    "stockout fraction NaN": (
        lambda d: set_cell(d, 13, "stockout_fraction", "nan"),
        "column 'stockout_fraction', row 13 (unit C3), value nan: non-finite stockout_fraction",
    ),
    "in-stock share below zero": (
        lambda d: set_cell(with_column(d, "in_stock_share", 1.0), 2, "in_stock_share", "-0.1"),
        "column 'in_stock_share', row 2 (unit A1), value -0.1: in_stock_share outside [0, 1]",
    ),
    "promo not a flag": (
        lambda d: set_cell(d, 9, "promo", "2"),
        "column 'promo', row 9 (unit B2), value 2.0: promo is not 0 or 1",
    ),
    "holiday not a flag": (
        lambda d: set_cell(d, 1, "holiday", "0.5"),
        "column 'holiday', row 1 (unit A1), value 0.5: holiday is not 0 or 1",
    ),
    "negative discount": (
        lambda d: set_cell(d, 11, "discount", "-0.2"),
        "column 'discount', row 11 (unit C3), value -0.2: negative discount",
    ),
    "infinite discount": (
        lambda d: set_cell(d, 14, "discount", "-inf"),
        "column 'discount', row 14 (unit C3), value -inf: non-finite discount",
    ),
    "far-off unit stretching the date grid": (
        lambda d: set_cell(
            set_cell(d, 1, "date", "2099-01-03"), 2, "date", "2099-01-04"
        ).with_columns(
            unit_id=pl.when(pl.int_range(pl.len()) < 2)
            .then(pl.lit("Z9"))
            .otherwise(pl.col("unit_id"))
        ),
        "column 'date', unit Z9, value '2099-01-04': date far from the other units' dates: the "
        "date grid would span 27,398 days, over 4× the longest unit's 7 and over 3,660",
    ),
    "negative price": (
        lambda d: set_cell(with_column(d, "price", 2.0), 5, "price", "-1"),
        "column 'price', row 5 (unit A1), value -1.0: negative price",
    ),
    "infinite price": (
        lambda d: set_cell(with_column(d, "price", 2.0), 6, "price", "inf"),
        "column 'price', row 6 (unit B2), value inf: non-finite price",
    ),
}

GOOD_UNITS = pl.DataFrame(
    {
        "unit_id": ["A1", "B2", "C3"],
        "location": ["S1", "S1", "S2"],
        "category": ["fresh", "fresh", "dry"],
        "lead_time": [1, 2, 0],
        "review_period": [1, 7, 7],
        "review_offset": [0, 3, 6],
        "unit_cost": [2.0, 5.0, 1.5],
        "holding_rate": [0.01, 0.005, 0.002],
        "lost_penalty": [1.0, 2.5, 0.5],
    }
)

UNIT_CASES = {
    "missing unit_id column": (
        lambda u: u.drop("unit_id"),
        "column 'unit_id': missing required column",
    ),
    "duplicate unit_id": (
        lambda u: pl.concat([u, u.head(1)]),
        "column 'unit_id', row 4 (unit A1): duplicate unit_id",
    ),
    "unknown unit": (
        lambda u: pl.concat([u, u.head(1).with_columns(unit_id=pl.lit("Z9"))]),
        "column 'unit_id', row 4 (unit Z9): unknown unit (not in the daily table)",
    ),
    "unit missing from the unit table": (
        lambda u: u.filter(pl.col("unit_id") != "B2"),
        "column 'unit_id', unit B2: unit of the daily table missing from the unit table",
    ),
    "missing category": (
        lambda u: set_cell(u, 3, "category", None),
        "column 'category', row 3 (unit C3): missing value",
    ),
    "negative lead time": (
        lambda u: set_cell(u, 2, "lead_time", "-1"),
        "column 'lead_time', row 2 (unit B2), value -1.0: negative lead_time",
    ),
    "fractional lead time": (
        lambda u: set_cell(u, 2, "lead_time", "1.5"),
        "column 'lead_time', row 2 (unit B2), value 1.5: lead_time is not a whole number",
    ),
    "review period below one": (
        lambda u: set_cell(u, 1, "review_period", "0"),
        "column 'review_period', row 1 (unit A1), value 0.0: review_period below 1",
    ),
    "review offset at the review period": (
        lambda u: set_cell(u, 3, "review_offset", "7"),
        "column 'review_offset', row 3 (unit C3), value 7.0: review_offset not below review_period",
    ),
    "negative review offset": (
        lambda u: set_cell(u, 2, "review_offset", "-1"),
        "column 'review_offset', row 2 (unit B2), value -1.0: negative review_offset",
    ),
    "zero unit cost": (
        lambda u: set_cell(u, 1, "unit_cost", "0"),
        "column 'unit_cost', row 1 (unit A1), value 0.0: non-positive unit_cost",
    ),
    "NaN unit cost": (
        lambda u: set_cell(u, 2, "unit_cost", "nan"),
        "column 'unit_cost', row 2 (unit B2), value nan: non-finite unit_cost",
    ),
    "negative holding rate": (
        lambda u: set_cell(u, 3, "holding_rate", "-0.01"),
        "column 'holding_rate', row 3 (unit C3), value -0.01: negative holding_rate",
    ),
    "lead time above the panel's days": (
        lambda u: set_cell(u, 2, "lead_time", "1e30"),
        "column 'lead_time', row 2 (unit B2), value 1e+30: lead_time above the panel's 7 days",
    ),
    "review period above the panel's days": (
        lambda u: set_cell(u, 3, "review_period", "8"),
        "column 'review_period', row 3 (unit C3), value 8.0: review_period above the panel's "
        "7 days",
    ),
    "negative lost penalty": (
        lambda u: set_cell(u, 1, "lost_penalty", "-2"),
        "column 'lost_penalty', row 1 (unit A1), value -2.0: negative lost_penalty",
    ),
}


def assert_one_line_error(result, expected: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"error: {expected}"
    assert "Traceback" not in result.output
    assert result.stdout == ""


@pytest.mark.parametrize("case", list(DAILY_CASES), ids=list(DAILY_CASES))
def test_each_bad_daily_value_exits_2_naming_file_column_row_and_value(
    case, tmp_path, good_daily, run_check
):
    mutate, message = DAILY_CASES[case]
    path = tmp_path / "data.csv"
    mutate(good_daily).write_csv(path)
    assert_one_line_error(run_check(path), f"{path}, {message}")


@pytest.mark.parametrize("case", list(UNIT_CASES), ids=list(UNIT_CASES))
def test_each_bad_unit_table_value_exits_2_naming_file_column_unit_and_value(
    case, tmp_path, good_daily, run_check
):
    mutate, message = UNIT_CASES[case]
    good_daily.write_csv(tmp_path / "daily.csv")
    mutate(GOOD_UNITS).write_csv(tmp_path / "units.csv")
    assert_one_line_error(run_check(tmp_path), f"{tmp_path / 'units.csv'}, {message}")


def test_a_file_with_only_a_header_is_reported_empty(tmp_path, run_check):
    path = tmp_path / "data.csv"
    path.write_text("unit_id,date,sales\n")
    assert_one_line_error(run_check(path), f"{path}: empty file (no data rows)")


def test_a_zero_byte_file_is_reported_empty(tmp_path, run_check):
    path = tmp_path / "data.csv"
    path.write_bytes(b"")
    assert_one_line_error(run_check(path), f"{path}: empty file (no data rows)")


def test_a_missing_file_is_reported_not_found(tmp_path, run_check):
    path = tmp_path / "nowhere.parquet"
    assert_one_line_error(run_check(path), f"{path}: file not found")


def test_an_unreadable_parquet_file_is_named(tmp_path, run_check):
    path = tmp_path / "data.parquet"
    path.write_bytes(b"not parquet at all")
    result = run_check(path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}: unreadable file (")
    assert "Traceback" not in result.output


def test_a_folder_without_a_daily_table_is_reported(tmp_path, run_check):
    assert_one_line_error(
        run_check(tmp_path), f"{tmp_path}: folder holds no daily.parquet or daily.csv"
    )


def test_a_good_file_exits_0_and_prints_shape_dates_and_shares(tmp_path, good_daily, run_check):
    path = tmp_path / "data.csv"
    good_daily.write_csv(path)
    result = run_check(path)
    assert result.exit_code == 0, result.output
    lines = {" ".join(line.replace("│", " ").split()) for line in result.stdout.splitlines()}
    for figure in (
        "units 3",
        "days 7",
        "date range 2024-01-01 … 2024-01-07",
        "active unit-days 17",
        "zero-sales share 23.5 %",
        "censored share (some stockout) 17.6 %",
        "fully out of stock share 5.9 %",
        "promotion share 11.8 %",
    ):
        assert figure in lines


def test_json_output_parses_and_holds_the_figures(tmp_path, good_daily, run_check):
    good_daily.write_csv(tmp_path / "daily.csv")
    GOOD_UNITS.write_csv(tmp_path / "units.csv")
    result = run_check(tmp_path, "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["units"] == 3 and figures["days"] == 7 and figures["unit_days"] == 17
    assert (figures["first_date"], figures["last_date"]) == ("2024-01-01", "2024-01-07")
    assert figures["zero_sales_share"] == pytest.approx(4 / 17)
    assert figures["censored_share"] == pytest.approx(3 / 17)
    assert figures["latent_wape"] is None and figures["sales_wape"] is None


def test_a_parquet_file_is_checked_like_its_csv(tmp_path, good_daily, run_check):
    good_daily.write_csv(tmp_path / "data.csv")
    good_daily.with_columns(pl.col("date").str.to_date()).write_parquet(tmp_path / "data.parquet")
    from_csv = json.loads(run_check(tmp_path / "data.csv", "--json").stdout)
    from_parquet = json.loads(run_check(tmp_path / "data.parquet", "--json").stdout)
    assert {k: v for k, v in from_csv.items() if k != "source"} == {
        k: v for k, v in from_parquet.items() if k != "source"
    }


def test_synthetic_data_reports_both_latent_demand_errors(run_check):
    result = run_check(
        "", "--json", "--set", "synthetic.units=12", "--set", "synthetic.days=28", fmt="synthetic"
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["source"] == "synthetic" and figures["units"] == 12
    assert figures["latent_wape"] is not None and figures["sales_wape"] is not None


def test_a_csv_header_naming_a_column_twice_exits_2(tmp_path, run_check):
    path = tmp_path / "data.csv"
    path.write_text("unit_id,date,sales,sales\nA,2024-01-01,1,2\n")
    assert_one_line_error(run_check(path), f"{path}, column 'sales': duplicate column")


def test_a_path_with_format_synthetic_exits_2_instead_of_ignoring_the_file(
    tmp_path, good_daily, run_check
):
    path = tmp_path / "data.csv"
    good_daily.write_csv(path)
    assert_one_line_error(
        run_check(path, fmt="synthetic"),
        f"{path}: synthetic data takes no --data path; pass --format",
    )
