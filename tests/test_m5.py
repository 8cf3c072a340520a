"""The M5 adapter on a tiny folder in M5's own schema: 4 store-items × 30 days (2011-01-29 …)."""

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from orpr.config import Config
from orpr.data import canonical, m5
from orpr.errors import InputError

START = dt.date(2011, 1, 29)  # d_1 of M5, a Saturday; Walmart weeks run Saturday to Friday
DAYS = 30
SNAP_DAYS = {
    "CA": set(range(1, 11)),
    "TX": {1, 3, 5, 6, 7, 9, 11, 12, 15},
    "WI": {2, 3, 5, 6, 8, 9, 11, 14, 15},
}
HOBBY_CA, FOODS_CA, FOODS_TX, IDLE_TX = (
    "HOBBIES_1_001_CA_1_validation",
    "FOODS_1_002_CA_1_validation",
    "FOODS_1_002_TX_1_validation",
    "HOBBIES_1_001_TX_1_validation",
)
SALES = {
    HOBBY_CA: [0] * 4 + [1, 0, 2] * 8 + [1, 1],  # first sale on d_5
    FOODS_CA: [3, 0, 1] * 10,
    FOODS_TX: [0] * 9 + [2] * 21,  # first sale on d_10
    IDLE_TX: [0] * 30,
}
PRICES = {  # (store, item) → price by week 1…5; None = no row in sell_prices.csv
    ("CA_1", "HOBBIES_1_001"): [None, 4.0, 8.0, 8.0, 8.0],
    ("CA_1", "FOODS_1_002"): [10.0, 10.0, 8.0, 10.0, 10.0],
    ("TX_1", "FOODS_1_002"): [None, 5.0, None, 10.0, 10.0],
    ("TX_1", "HOBBIES_1_001"): [3.0] * 5,
}


def date_of(d: int) -> dt.date:
    return START + dt.timedelta(days=d - 1)


def week_of(d: int) -> int:
    return 11101 + (d - 1) // 7


def write_m5(folder, sales=SALES, name="sales_train_validation.csv", drop=()):
    """Write the three M5 files into ``folder``; ``drop`` removes (file, column) pairs."""
    ids = list(sales)
    wide = pl.DataFrame(
        {
            "id": ids,
            "item_id": ["_".join(i.split("_")[:3]) for i in ids],
            "dept_id": ["_".join(i.split("_")[:2]) for i in ids],
            "cat_id": [i.split("_")[0] for i in ids],
            "store_id": ["_".join(i.split("_")[3:5]) for i in ids],
            "state_id": [i.split("_")[3] for i in ids],
            **{f"d_{d}": [sales[i][d - 1] for i in ids] for d in range(1, DAYS + 1)},
        }
    )
    days = range(1, DAYS + 1)
    calendar = pl.DataFrame(
        {
            "date": [str(date_of(d)) for d in days],
            "wm_yr_wk": [week_of(d) for d in days],
            "weekday": [date_of(d).strftime("%A") for d in days],
            "wday": [(d - 1) % 7 + 1 for d in days],
            "month": [date_of(d).month for d in days],
            "year": [date_of(d).year for d in days],
            "d": [f"d_{d}" for d in days],
            "event_name_1": ["SuperBowl" if d == 9 else None for d in days],
            "event_type_1": ["Sporting" if d == 9 else None for d in days],
            "event_name_2": ["Easter" if d == 25 else None for d in days],
            "event_type_2": ["Cultural" if d == 25 else None for d in days],
            **{
                f"snap_{s}": [int(date_of(d).day in on) for d in days]
                for s, on in SNAP_DAYS.items()
            },
        }
    )
    prices = pl.DataFrame(
        [
            (store, item, 11101 + w, p)
            for (store, item), ps in PRICES.items()
            for w, p in enumerate(ps)
            if p is not None
        ],
        schema=["store_id", "item_id", "wm_yr_wk", "sell_price"],
        orient="row",
    )
    for file, frame in ((name, wide), ("calendar.csv", calendar), ("sell_prices.csv", prices)):
        frame.drop([c for f, c in drop if f == file]).write_csv(folder / file)
    return folder


def unit_rows(daily: pl.DataFrame, unit: str) -> pl.DataFrame:
    return daily.filter(pl.col("unit_id") == unit).sort("date")


def test_wide_sales_become_one_row_per_unit_day_from_the_first_sale(tmp_path):
    daily, _ = m5.read_tables(write_m5(tmp_path))
    assert daily.columns == ["unit_id", "date", "sales", "discount", "promo", "holiday"]
    for unit, first in ((HOBBY_CA, 5), (FOODS_CA, 1), (FOODS_TX, 10)):
        rows = unit_rows(daily, unit)
        assert rows["date"].to_list() == [date_of(d) for d in range(first, DAYS + 1)]
        assert rows["sales"].to_list() == [float(x) for x in SALES[unit][first - 1 :]]


def test_units_that_never_sell_are_dropped_from_both_tables(tmp_path):
    daily, units = m5.read_tables(write_m5(tmp_path))
    assert IDLE_TX not in daily["unit_id"].to_list()
    assert sorted(units["unit_id"].to_list()) == sorted([HOBBY_CA, FOODS_CA, FOODS_TX])


def test_units_carry_store_and_category_levels_coarsest_first(tmp_path):
    _, units = m5.read_tables(write_m5(tmp_path))
    row = units.filter(pl.col("unit_id") == FOODS_TX).row(0, named=True)
    assert row == {
        "unit_id": FOODS_TX,
        "location": "TX_1",
        "cat_1": "FOODS",
        "cat_2": "FOODS_1",
        "cat_3": "FOODS_1_002",
    }


def test_discount_is_the_weeks_price_over_the_units_highest_price(tmp_path):
    daily, _ = m5.read_tables(write_m5(tmp_path))
    discount = unit_rows(daily, FOODS_CA)["discount"].to_list()
    assert discount == [0.8 if week_of(d) == 11103 else 1.0 for d in range(1, DAYS + 1)]


def test_a_day_without_a_price_takes_the_units_nearest_price(tmp_path):
    daily, _ = m5.read_tables(write_m5(tmp_path))
    hobby = unit_rows(daily, HOBBY_CA)["discount"].to_list()  # week 1 missing: next is 4.0
    assert hobby[:3] == [0.5] * 3 and hobby[3:10] == [0.5] * 7 and hobby[10] == 1.0
    foods_tx = unit_rows(daily, FOODS_TX)["discount"].to_list()  # week 3 missing: last 5.0
    assert foods_tx[:12] == [0.5] * 12 and foods_tx[12:] == [1.0] * 9


def test_promo_marks_snap_days_of_the_units_state(tmp_path):
    daily, _ = m5.read_tables(write_m5(tmp_path))
    for unit, state, first in ((FOODS_CA, "CA", 1), (FOODS_TX, "TX", 10)):
        expected = [int(date_of(d).day in SNAP_DAYS[state]) for d in range(first, DAYS + 1)]
        assert unit_rows(daily, unit)["promo"].to_list() == expected


def test_holiday_marks_days_with_any_event(tmp_path):
    daily, _ = m5.read_tables(write_m5(tmp_path))
    holiday = unit_rows(daily, FOODS_CA)["holiday"].to_list()
    assert [d for d, h in enumerate(holiday, start=1) if h] == [9, 25]


def test_the_tables_pass_validation_and_densify(tmp_path):
    daily, units = m5.read_tables(write_m5(tmp_path))
    canonical.validate(daily, units, str(tmp_path))
    panel = canonical.to_panel(daily, units, Config(), str(tmp_path))
    assert panel.units.unit_id.tolist() == sorted([HOBBY_CA, FOODS_CA, FOODS_TX])
    assert panel.units.categories.shape == (3, 3)
    assert panel.active.sum() == 26 + 30 + 21
    assert np.all(panel.stockout_fraction == 0)


def test_the_evaluation_file_is_preferred_over_the_validation_file(tmp_path):
    write_m5(tmp_path)
    evaluation = {k.replace("validation", "evaluation"): v for k, v in SALES.items()}
    write_m5(tmp_path, evaluation, name="sales_train_evaluation.csv")
    daily, _ = m5.read_tables(tmp_path)
    assert all(u.endswith("_evaluation") for u in daily["unit_id"].unique())


@pytest.mark.parametrize(
    ("file", "column"),
    [
        ("sales_train_validation.csv", "state_id"),
        ("calendar.csv", "wm_yr_wk"),
        ("calendar.csv", "snap_TX"),
        ("sell_prices.csv", "sell_price"),
    ],
)
def test_a_missing_column_is_named_with_its_file(tmp_path, file, column):
    write_m5(tmp_path, drop=[(file, column)])
    with pytest.raises(InputError) as err:
        m5.read_tables(tmp_path)
    assert (err.value.file, err.value.column) == (str(tmp_path / file), column)
    assert err.value.problem == "missing required column"


@pytest.mark.parametrize("file", ["calendar.csv", "sell_prices.csv"])
def test_a_missing_file_is_named(tmp_path, file):
    write_m5(tmp_path)
    (tmp_path / file).unlink()
    with pytest.raises(InputError, match="file not found"):
        m5.read_tables(tmp_path)


def test_a_folder_without_sales_is_reported(tmp_path):
    with pytest.raises(InputError, match="sales_train_evaluation.csv or"):
        m5.read_tables(tmp_path)


def test_data_check_reads_an_m5_folder(tmp_path, run_check):
    result = run_check(write_m5(tmp_path), "--json", fmt="m5")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert (figures["units"], figures["days"], figures["unit_days"]) == (3, 30, 77)
    assert (figures["first_date"], figures["last_date"]) == ("2011-01-29", "2011-02-27")
    assert figures["censored_share"] == 0.0


def test_data_check_on_a_broken_m5_folder_exits_2_with_one_line(tmp_path, run_check):
    write_m5(tmp_path, drop=[("sell_prices.csv", "sell_price")])
    result = run_check(tmp_path, fmt="m5")
    assert result.exit_code == 2
    expected = (
        f"error: {tmp_path / 'sell_prices.csv'}, column 'sell_price': missing required column"
    )
    assert result.stderr.strip() == expected


def test_date_span_reads_the_day_columns_and_the_calendar_only(tmp_path):
    assert m5.date_span(write_m5(tmp_path)) == (date_of(1), date_of(DAYS))


def test_held_out_prices_change_no_earlier_discount(tmp_path, monkeypatch):
    """Cut at d_22 (week 4 on): FOODS_CA's training top is 10; a held-out 20 is full price."""
    cut = date_of(22)
    (tmp_path / "a").mkdir()
    before, _ = m5.read_tables(write_m5(tmp_path / "a"), cut)
    monkeypatch.setitem(PRICES, ("CA_1", "FOODS_1_002"), [10.0, 10.0, 8.0, 10.0, 20.0])
    monkeypatch.setitem(PRICES, ("TX_1", "FOODS_1_002"), [None, None, None, 10.0, 10.0])
    (tmp_path / "b").mkdir()
    after, _ = m5.read_tables(write_m5(tmp_path / "b"), cut)
    for unit in (FOODS_CA, FOODS_TX, HOBBY_CA):
        a, b = unit_rows(before, unit), unit_rows(after, unit)
        train = a["date"] < cut
        assert a.filter(train)["discount"].to_list() == b.filter(train)["discount"].to_list()
    foods_ca = unit_rows(after, FOODS_CA)["discount"].to_list()
    assert foods_ca[14:21] == [0.8] * 7 and foods_ca[21:28] == [1.0] * 7
    assert foods_ca[28:] == [1.0] * 2  # week 5 at 20: above the training top, full price
    foods_tx = unit_rows(after, FOODS_TX)  # no training price: no discount before the cut
    assert foods_tx.filter(pl.col("date") < cut)["discount"].to_list() == [1.0] * 12
