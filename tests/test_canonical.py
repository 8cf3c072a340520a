"""Canonical tables: reading, validation order, and densifying into a ``Panel``."""

import dataclasses
import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orpr.config import Config, UnitRulesConfig
from orpr.data import canonical
from orpr.data.unit_rules import assign_parameters
from orpr.errors import InputError

RULES_SOURCE = "config: per-category rule (seed 11)"


def densify(daily, units=None, cfg=None):
    canonical.validate(daily, units, "test")
    return canonical.to_panel(daily, units, cfg or Config(), "test")


def test_units_are_sorted_as_text_on_the_union_date_grid(good_daily):
    panel = densify(good_daily.reverse())
    assert panel.units.unit_id.tolist() == ["A1", "B2", "C3"]
    assert str(panel.dates[0]) == "2024-01-01" and str(panel.dates[-1]) == "2024-01-07"
    assert np.all(np.diff(panel.dates).astype(int) == 1)
    assert panel.sales.shape == (3, 7)


def test_days_outside_a_units_span_are_inactive_with_defaults(good_daily):
    panel = densify(good_daily)
    a1, b2 = 0, 1
    assert panel.active[a1].tolist() == [False, False, True, True, True, True, True]
    assert panel.active[b2].tolist() == [True] * 5 + [False, False]
    off = ~panel.active
    assert np.all(panel.sales[off] == 0) and np.all(panel.demand[off] == 0)
    assert np.all(panel.stockout_fraction[off] == 0) and np.all(panel.discount[off] == 1)
    assert np.all(panel.promo[off] == 0) and np.all(panel.holiday[off] == 0)
    assert np.all(panel.in_stock_share[off] == 1)


def test_values_land_on_their_unit_and_day(good_daily):
    panel = densify(good_daily.sample(fraction=1.0, shuffle=True, seed=3))
    assert panel.sales[0, 2:].tolist() == [0, 1, 2, 3, 4]
    assert panel.stockout_fraction[1, 2] == 1.0
    assert panel.discount[2].tolist() == [0.8] * 7
    assert panel.promo[0].tolist() == [0, 0, 0, 0, 1, 1, 0]
    assert np.array_equal(panel.demand, panel.sales) and panel.demand is not panel.sales


def test_absent_optional_columns_take_their_defaults(good_daily):
    panel = densify(good_daily.select("unit_id", "date", "sales"))
    on = panel.active
    assert np.all(panel.stockout_fraction == 0) and np.all(panel.discount[on] == 1)
    assert np.all(panel.promo == 0) and np.all(panel.holiday == 0)
    assert np.all(panel.in_stock_share == 1) and panel.true_demand is None
    assert panel.promo.dtype == np.int8 and panel.active.dtype == bool


def test_in_stock_share_defaults_to_one_minus_the_stockout_fraction(good_daily):
    panel = densify(good_daily)
    assert np.allclose(panel.in_stock_share, 1 - panel.stockout_fraction)
    given_share = densify(good_daily.with_columns(in_stock_share=pl.lit(0.9)))
    assert np.all(given_share.in_stock_share[given_share.active] == 0.9)


def test_discount_from_price_is_price_over_the_units_highest_price(good_daily):
    prices = [4.0, 2.0, 4.0, 3.0, 1.0] + [5.0] * 5 + [0.0] * 7
    panel = densify(good_daily.drop("discount").with_columns(price=pl.Series(prices)))
    assert panel.discount[0, 2:].tolist() == [1.0, 0.5, 1.0, 0.75, 0.25]
    assert np.all(panel.discount[1:] == 1.0)  # B2 constant; C3's price is all zero


def test_true_demand_is_kept_when_present(good_daily):
    panel = densify(good_daily.with_columns(true_demand=pl.col("sales") + 1))
    assert np.array_equal(panel.true_demand[panel.active], panel.sales[panel.active] + 1)
    assert np.all(panel.true_demand[~panel.active] == 0)


def test_without_a_unit_table_attributes_default_and_parameters_follow_the_rules(good_daily):
    panel = densify(good_daily)
    units = panel.units
    assert units.location.tolist() == ["all"] * 3
    assert units.categories.shape == (3, 1) and units.category.tolist() == ["all"] * 3
    assert units.sources == {name: RULES_SOURCE for name in units.sources}
    assert len(units.sources) == 6
    drawn = assign_parameters(units.category, Config().units)
    for name, values in drawn._asdict().items():
        assert np.array_equal(getattr(units, name), values)


def test_unit_table_values_override_the_rules(good_daily):
    table = pl.DataFrame(
        {
            "unit_id": ["C3", "A1", "B2"],
            "location": ["S2", "S1", "S1"],
            "cat_2": ["dry goods", "veg", "fruit"],
            "cat_1": ["dry", "fresh", "fresh"],
            "lead_time": [0, 4, 2],
            "unit_cost": [1.5, 2.0, 5.0],
        }
    )
    units = densify(good_daily, table).units
    assert units.location.tolist() == ["S1", "S1", "S2"]
    assert units.categories.tolist() == [["fresh", "veg"], ["fresh", "fruit"], ["dry", "dry goods"]]
    assert units.lead_time.tolist() == [4, 2, 0] and units.lead_time.dtype == np.int64
    assert units.unit_cost.tolist() == [2.0, 5.0, 1.5]
    assert units.sources["lead_time"] == "data" and units.sources["unit_cost"] == "data"
    assert units.sources["holding_rate"] == RULES_SOURCE
    drawn = assign_parameters(units.category, Config().units)
    assert np.array_equal(units.holding_rate, drawn.holding_rate)


def test_a_category_column_serves_when_there_are_no_levels(good_daily):
    table = pl.DataFrame({"unit_id": ["A1", "B2", "C3"], "category": ["x", "y", "x"]})
    assert densify(good_daily, table).units.category.tolist() == ["x", "y", "x"]


def test_seeded_rules_give_the_same_parameters_every_time(good_daily):
    table = pl.DataFrame({"unit_id": ["A1", "B2", "C3"], "cat_1": ["a", "b", "c"]})
    wide = UnitRulesConfig(lead_time=tuple(range(30)), unit_cost=(1.0, 100.0))
    cfg = dataclasses.replace(Config(), units=wide)
    first, again = densify(good_daily, table, cfg).units, densify(good_daily, table, cfg).units
    other = densify(
        good_daily, table, dataclasses.replace(cfg, units=dataclasses.replace(wide, seed=12))
    ).units
    assert np.array_equal(first.lead_time, again.lead_time)
    assert np.array_equal(first.unit_cost, again.unit_cost)
    assert not np.array_equal(first.unit_cost, other.unit_cost)


def test_rule_offsets_stay_below_a_review_period_from_data(good_daily):
    table = pl.DataFrame({"unit_id": ["A1", "B2", "C3"], "review_period": [7, 3, 14]})
    units = densify(good_daily, table).units
    assert units.sources["review_period"] == "data"
    assert units.sources["review_offset"] == RULES_SOURCE
    assert np.all((units.review_offset >= 0) & (units.review_offset < units.review_period))


def test_an_offset_from_data_must_lie_below_the_rules_review_period(good_daily):
    table = pl.DataFrame({"unit_id": ["A1", "B2", "C3"], "review_offset": [0, 1, 0]})
    with pytest.raises(InputError, match="review_offset.*unit B2.*value 1.0"):
        densify(good_daily, table)  # the default rule has R = 1


def test_validation_reports_the_earliest_offending_row(good_daily):
    bad = good_daily.with_columns(
        sales=pl.when(pl.int_range(pl.len()) == 9).then(-1.0).otherwise(pl.col("sales")),
        promo=pl.when(pl.int_range(pl.len()) == 4).then(3).otherwise(pl.col("promo")),
    )
    with pytest.raises(InputError) as err:
        canonical.validate(bad, None, "t.parquet")
    assert (err.value.column, err.value.where) == ("promo", "row 5 (unit A1)")


def test_typed_columns_validate_and_densify_like_text(good_daily):
    typed = good_daily.with_columns(
        unit_id=pl.col("unit_id").cast(pl.Categorical),
        date=pl.col("date").str.to_datetime(),
        promo=pl.col("promo").cast(pl.Boolean),
    )
    text = good_daily.select(pl.all().cast(pl.String))
    a, b = densify(typed), densify(text)
    for name in ("sales", "stockout_fraction", "discount", "promo", "holiday", "active"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert np.array_equal(a.dates, b.dates)


def test_dates_stored_as_numbers_are_unparseable(good_daily):
    as_numbers = good_daily.with_columns(pl.col("date").str.replace_all("-", "").cast(pl.Int64))
    with pytest.raises(InputError, match="row 1 .*value '20240103': unparseable date"):
        canonical.validate(as_numbers, None, "t.parquet")


def test_a_folder_is_read_with_its_unit_table(tmp_path, good_daily):
    good_daily.write_parquet(tmp_path / "daily.parquet")
    pl.DataFrame({"unit_id": ["A1", "B2", "C3"]}).write_csv(tmp_path / "units.csv")
    daily, units = canonical.read_tables(tmp_path)
    assert daily.equals(good_daily) and units["unit_id"].to_list() == ["A1", "B2", "C3"]
    assert canonical.read_tables(tmp_path / "daily.parquet")[1] is None


def test_a_csv_is_read_as_text_so_ids_keep_leading_zeros(tmp_path):
    (tmp_path / "d.csv").write_text("unit_id,date,sales\n007,2024-01-01,1\n")
    daily, _ = canonical.read_tables(tmp_path / "d.csv")
    assert daily["unit_id"].to_list() == ["007"]


def test_an_unsupported_file_type_is_named(tmp_path):
    (tmp_path / "d.xlsx").write_bytes(b"x")
    with pytest.raises(InputError, match=r"d\.xlsx: unsupported file type"):
        canonical.read_tables(tmp_path / "d.xlsx")


spans = st.dictionaries(
    st.text("abcXY09_", min_size=1, max_size=4),
    st.tuples(st.integers(0, 9), st.lists(st.integers(0, 20), min_size=1, max_size=9)),
    min_size=1,
    max_size=6,
)


@settings(max_examples=40, deadline=None)
@given(spans=spans, seed=st.integers(0, 1000))
def test_densify_matches_a_plain_python_reference(spans, seed):
    """Each unit: (first day, sales on consecutive days); rows arrive in random order."""
    start = dt.date(2024, 2, 26)
    rows = [
        (u, start + dt.timedelta(days=s + i), float(x))
        for u, (s, xs) in spans.items()
        for i, x in enumerate(xs)
    ]
    daily = pl.DataFrame(rows, schema=["unit_id", "date", "sales"], orient="row")
    panel = densify(daily.sample(fraction=1.0, shuffle=True, seed=seed))
    ids = sorted(spans)
    first = min(s for s, _ in spans.values())
    n_days = max(s + len(xs) for s, xs in spans.values()) - first
    sales, active = np.zeros((len(ids), n_days)), np.zeros((len(ids), n_days), dtype=bool)
    for u, unit in enumerate(ids):
        s, xs = spans[unit]
        for i, x in enumerate(xs):
            sales[u, s - first + i], active[u, s - first + i] = x, True
    assert panel.units.unit_id.tolist() == ids
    assert panel.dates[0] == np.datetime64(start + dt.timedelta(days=first))
    assert np.array_equal(panel.sales, sales) and np.array_equal(panel.active, active)
