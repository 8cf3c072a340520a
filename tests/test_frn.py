"""FreshRetailNet-50K adapter: published schema in, canonical tables out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from orpr.config import load_config
from orpr.data import frn, latent, load_panel, profiles
from orpr.data.panel import Panel, Units
from orpr.errors import InputError

REAL_FILE = Path("/work/shared/data/frn50k/train.parquet")
HOURS = np.arange(24)


def hours_out(first: int, last: int) -> list[int]:
    return [int(first <= h <= last) for h in HOURS]


def row(store, product, day, sales_hours, out, cnt, discount=0.9, flags=(0, 1)):
    hourly = [0.0] * 24
    for hour in sales_hours:
        hourly[hour] += 1.0
    return {
        "city_id": 3,
        "store_id": store,
        "management_group_id": 1,
        "first_category_id": 1,
        "second_category_id": 20,
        "third_category_id": 300,
        "product_id": product,
        "dt": f"2024-04-0{day}",
        "sale_amount": float(sum(hourly)),
        "hours_sale": hourly,
        "stock_hour6_22_cnt": cnt,
        "hours_stock_status": out,
        "discount": discount,
        "holiday_flag": flags[0],
        "activity_flag": flags[1],
        "precpt": 0.0,
        "avg_temperature": 20.0,
        "avg_humidity": 50.0,
        "avg_wind_level": 1.0,
    }


def write_frame(rows: list[dict] | pl.DataFrame, path: Path) -> Path:
    """Write rows in the published schema (list columns typed as published) to ``path``."""
    frame = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(rows)
    frame = frame.with_columns(
        pl.col("hours_sale").cast(pl.List(pl.Float32)),
        pl.col("hours_stock_status").cast(pl.List(pl.Int8)),
        pl.col("stock_hour6_22_cnt").cast(pl.Int32),
    )
    frame.write_parquet(path)
    return path


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    """Three series × three days; every in-stock day sells one at 10:00 and one at 18:00."""
    peaks, none = [10, 18], hours_out(99, 99)
    overnight = [1 if h < 6 or h >= 22 else 0 for h in HOURS]
    rows = [
        row(10, 5, 1, peaks, none, 0),
        row(10, 5, 2, [10], hours_out(15, 23), 7),  # out from 15:00: half the day's demand
        row(10, 5, 3, peaks, overnight, 0),  # overnight flags only: in stock
        row(10, 6, 1, [], hours_out(0, 23), 16),  # out all day
        row(10, 6, 2, peaks, none, 0, discount=0.0),  # discount 0 = not recorded
        row(10, 6, 3, peaks, none, 0, flags=(1, 0)),
        row(11, 5, 1, peaks, none, 0),
        row(11, 5, 2, peaks, none, 0),
        row(11, 5, 3, peaks, none, 0),
    ]
    return write_frame(rows, tmp_path / "frn.parquet")


def test_small_frame_maps_to_the_canonical_daily_table(small_file):
    daily, _ = frn.read_tables(small_file)
    assert daily.columns == [
        "unit_id", "date", "sales", "stockout_fraction", "discount", "promo", "holiday",
        "in_stock_share",
    ]  # fmt: skip
    by_row = daily.to_dicts()
    assert by_row[0]["unit_id"] == "10_5" and str(by_row[0]["date"]) == "2024-04-01"
    assert [r["sales"] for r in by_row[:3]] == [2.0, 1.0, 2.0]
    assert by_row[1]["stockout_fraction"] == pytest.approx(7 / 16)
    assert by_row[3]["stockout_fraction"] == 1.0
    assert by_row[4]["discount"] == 1.0 and by_row[0]["discount"] == pytest.approx(0.9)
    assert by_row[5]["holiday"] == 1 and by_row[5]["promo"] == 0 and by_row[0]["promo"] == 1


def test_small_frame_shares_come_from_the_hourly_profile_and_business_hours(small_file):
    daily, _ = frn.read_tables(small_file)
    share = daily["in_stock_share"].to_numpy()
    np.testing.assert_allclose(share, [1.0, 0.5, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0])


def test_small_frame_gives_one_unit_row_per_series(small_file):
    _, units = frn.read_tables(small_file)
    assert units.columns == ["unit_id", "location", "city", "cat_1", "cat_2", "cat_3"]
    assert units["unit_id"].to_list() == ["10_5", "10_6", "11_5"]
    assert units.row(2) == ("11_5", "11", "3", "1", "20", "300")


def test_stores_argument_keeps_only_those_stores(small_file):
    daily, units = frn.read_tables(small_file, stores=[11])
    assert daily.height == 3 and units["unit_id"].to_list() == ["11_5"]


def test_a_missing_column_is_named(tmp_path):
    rows = [row(1, 1, 1, [10], hours_out(99, 99), 0)]
    path = write_frame(rows, tmp_path / "x.parquet")
    pl.read_parquet(path).drop("stock_hour6_22_cnt").write_parquet(path)
    with pytest.raises(InputError) as err:
        frn.read_tables(path)
    assert err.value.column == "stock_hour6_22_cnt" and err.value.problem == "missing column"
    assert str(path) in str(err.value)


def test_an_hourly_list_of_the_wrong_length_is_refused(tmp_path):
    bad = row(1, 1, 2, [10], hours_out(99, 99), 0)
    bad["hours_sale"] = [1.0] * 23
    path = write_frame([row(1, 1, 1, [10], hours_out(99, 99), 0), bad], tmp_path / "x.parquet")
    with pytest.raises(InputError, match="row 2"):
        frn.read_tables(path)


def test_a_missing_file_is_reported(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        frn.read_tables(tmp_path / "nope.parquet")


needs_real_file = pytest.mark.skipif(not REAL_FILE.exists(), reason="FRN file not present")


@needs_real_file
def test_real_file_sample_reads_consistently():
    daily, units = frn.read_tables(REAL_FILE, stores=[0, 1, 2])
    raw = pl.scan_parquet(REAL_FILE).filter(pl.col("store_id").is_in([0, 1, 2])).collect()
    assert daily.height == raw.height == 90 * units.height
    assert daily["sales"].sum() == pytest.approx(raw["sale_amount"].sum())
    share, fraction = daily["in_stock_share"].to_numpy(), daily["stockout_fraction"].to_numpy()
    assert np.all((share >= 0) & (share <= 1))
    np.testing.assert_array_equal(share < 1, fraction > 0)
    assert 0.3 < (fraction > 0).mean() < 0.6
    assert daily["discount"].min() > 0
    assert set(daily["unit_id"].unique()) == set(units["unit_id"])


def dense_panel(daily: pl.DataFrame, truth: np.ndarray) -> Panel:
    """A panel of a complete (unit × day) daily table sorted by unit then date."""
    n = daily["unit_id"].n_unique()
    days = daily.height // n

    def grid(name: str, dtype: type = np.float64) -> np.ndarray:
        return daily[name].to_numpy().astype(dtype).reshape(n, days)

    zeros = np.zeros(n)
    units = Units(
        np.arange(n).astype(str), np.full(n, "s"), np.full((n, 1), "c"), zeros, np.ones(n),
        zeros, np.ones(n), zeros, zeros,
    )  # fmt: skip
    return Panel(
        units, daily["date"].to_numpy()[:days].astype("datetime64[D]"), grid("sales"),
        grid("sales"), grid("stockout_fraction"), grid("discount"), grid("promo", np.int8),
        grid("holiday", np.int8), np.ones((n, days), dtype=bool), grid("in_stock_share"),
        truth.reshape(n, days),
    )  # fmt: skip


@needs_real_file
def test_on_real_days_with_imposed_stockouts_latent_demand_beats_sales(tmp_path):
    """Fitted on the first 62 days only (28 held out), as ``load_panel`` does."""
    raw = pl.scan_parquet(REAL_FILE).filter(pl.col("store_id") < 6).collect()
    raw = raw.sort("store_id", "product_id", "dt")
    sales = raw["hours_sale"].explode().to_numpy().astype(np.float64).reshape(-1, 24)
    status = raw["hours_stock_status"].explode().to_numpy().reshape(-1, 24)
    rng = np.random.default_rng(0)
    pick = (raw["stock_hour6_22_cnt"].to_numpy() == 0) & (rng.random(raw.height) < 0.15)
    first = np.where(rng.random(raw.height) < 0.1, 6, rng.integers(7, 22, size=raw.height))
    out = pick[:, None] & (first[:, None] <= HOURS)
    business = profiles.business_hours()
    censored = raw.with_columns(
        hours_sale=pl.Series(np.where(out & business, 0.0, sales).tolist()),
        hours_stock_status=pl.Series(np.where(out, 1, status).tolist()),
        sale_amount=pl.Series(np.where(out & business, 0.0, sales).sum(axis=1)),
        stock_hour6_22_cnt=pl.Series(np.where(out, 1, status)[:, business].sum(axis=1)),
    )
    path = write_frame(censored, tmp_path / "cut.parquet")
    daily, _ = frn.read_tables(path, fit_until_date=dt.date(2024, 5, 29))
    panel = dense_panel(daily, raw["sale_amount"].to_numpy())
    assert str(panel.dates[62]) == "2024-05-29" and panel.n_days == 90
    scored = pick.reshape(panel.sales.shape)
    estimated = latent.estimate_demand(panel, fit_until=62)
    latent_wape = latent.wape(estimated.demand, panel.true_demand, scored)
    sales_wape = latent.wape(panel.sales, panel.true_demand, scored)
    ratio = panel.sales / np.maximum(panel.in_stock_share, 0.2)
    assert latent_wape < 0.6 * sales_wape
    assert latent_wape < 0.8 * latent.wape(ratio, panel.true_demand, scored)


def series_rows(seed: int, days: int = 20) -> pl.DataFrame:
    """Two stores × two products × ``days`` days from 2024-04-01, random hours and stockouts."""
    rng = np.random.default_rng(seed)
    rows = []
    for store in (1, 2):
        for product in (7, 8):
            for d in range(days):
                hourly = rng.poisson(0.6 * profiles.business_hours(), size=24)
                first = int(rng.integers(7, 22)) if rng.random() < 0.4 else 99
                out = hours_out(first, 23)
                hourly = np.where((first <= HOURS) & profiles.business_hours(), 0, hourly)
                r = row(store, product, 1, [], out, sum(out[6:22]))
                r["dt"] = str(dt.date(2024, 4, 1) + dt.timedelta(days=d))
                r["hours_sale"], r["sale_amount"] = (
                    hourly.astype(float).tolist(),
                    float(hourly.sum()),
                )
                rows.append(r)
    return pl.DataFrame(rows)


def test_held_out_rows_change_no_share_or_demand_of_earlier_days(tmp_path):
    """End to end: 20 days, the last 6 held out; every held-out hourly value redrawn."""
    base = series_rows(seed=1)
    held_out = pl.col("dt") >= "2024-04-15"
    redrawn = series_rows(seed=2)
    changed = pl.concat([base.filter(~held_out), redrawn.filter(held_out)])
    cfg = load_config(None, ["split.holdout_days=6", "data.format='frn'"])
    panels = [
        load_panel(cfg, write_frame(frame, tmp_path / f"{name}.parquet"))
        for name, frame in (("base", base), ("changed", changed))
    ]
    a, b = panels
    assert not np.array_equal(a.sales[:, 14:], b.sales[:, 14:])
    assert not np.array_equal(a.in_stock_share[:, 14:], b.in_stock_share[:, 14:])
    np.testing.assert_array_equal(a.in_stock_share[:, :14], b.in_stock_share[:, :14])
    np.testing.assert_array_equal(a.demand[:, :14], b.demand[:, :14])


def test_date_span_reads_the_first_and_last_date(small_file):
    assert frn.date_span(small_file) == (dt.date(2024, 4, 1), dt.date(2024, 4, 3))


def test_profiles_learn_only_from_rows_before_the_cut_date(small_file):
    """10_5 sells at 10:00 and 18:00 on day 1 only before the cut: its share is unchanged."""
    daily, _ = frn.read_tables(small_file, fit_until_date=dt.date(2024, 4, 2))
    assert daily["in_stock_share"][1] == pytest.approx(0.5)
    none, _ = frn.read_tables(small_file, fit_until_date=dt.date(2024, 4, 1))
    flat = profiles.in_stock_share(np.array(hours_out(15, 23)), np.zeros(24))
    assert none["in_stock_share"][1] == pytest.approx(flat)  # nothing to learn from: flat


@pytest.mark.parametrize(
    ("column", "values", "row_no", "value"),
    [
        ("product_id", ["5", "6", "x7"], 3, "x7"),
        ("store_id", [10.0, 10.5, 11.0], 2, 10.5),
        ("store_id", [10, None, 11], 2, None),
        ("product_id", [5.0, float("nan"), 5.0], 2, float("nan")),
    ],
)
def test_a_store_or_product_id_that_is_not_a_whole_number_is_named(
    tmp_path, column, values, row_no, value
):
    rows = [row(10, 5, d, [10], hours_out(99, 99), 0) for d in (1, 2, 3)]
    frame = pl.DataFrame(rows).with_columns(pl.Series(column, values))
    path = write_frame(frame, tmp_path / "x.parquet")
    with pytest.raises(InputError) as err:
        frn.read_tables(path)
    assert (err.value.column, err.value.where) == (column, f"row {row_no}")
    assert err.value.problem == f"{column} is not a whole number"
    assert str(err.value.value) == str(value)


def test_text_ids_that_are_whole_numbers_read_like_integers(small_file, tmp_path):
    frame = pl.read_parquet(small_file).with_columns(pl.col("store_id").cast(pl.String))
    daily, units = frn.read_tables(write_frame(frame, tmp_path / "text.parquet"))
    assert units["unit_id"].to_list() == ["10_5", "10_6", "11_5"]


def test_a_categorical_dt_column_parses(small_file, tmp_path):
    frame = pl.read_parquet(small_file).with_columns(pl.col("dt").cast(pl.Categorical))
    path = write_frame(frame, tmp_path / "cat.parquet")
    daily, _ = frn.read_tables(path)
    assert str(daily["date"][0]) == "2024-04-01"
    assert frn.date_span(path) == (dt.date(2024, 4, 1), dt.date(2024, 4, 3))
