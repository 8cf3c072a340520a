"""Canonical tables: reading, validation order, and densifying into a ``Panel``."""

import dataclasses
import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orpr.config import Config, UnitRulesConfig, load_config
from orpr.data import canonical, infer_format, load_panel
from orpr.data.load import FRN_COLUMNS
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
    table = pl.DataFrame({"unit_id": ["A1", "B2", "C3"], "review_period": [7, 3, 6]})
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


def random_daily(seed: int, days: int = 40) -> pl.DataFrame:
    """Four units × ``days`` days from 2024-03-01 with stockouts, prices and promotions."""
    rng = np.random.default_rng(seed)
    n = 4 * days
    return pl.DataFrame(
        {
            "unit_id": np.repeat(["u1", "u2", "u3", "u4"], days),
            "date": np.tile(np.datetime64("2024-03-01") + np.arange(days), 4),
            "sales": rng.poisson(5.0, n).astype(float),
            "stockout_fraction": np.where(rng.random(n) < 0.3, rng.random(n), 0.0),
            "price": rng.choice([2.0, 2.5, 3.0], n),
            "promo": (rng.random(n) < 0.2).astype(int),
        }
    ).with_columns(pl.col("date").cast(pl.Date))


def test_held_out_days_change_nothing_before_them(tmp_path):
    """End to end through ``load_panel``: the last 10 of 40 days redrawn, higher prices."""
    base, redrawn = random_daily(1), random_daily(2).with_columns(pl.col("price") * 2)
    held_out = pl.col("date") >= dt.date(2024, 3, 31)
    changed = pl.concat([base.filter(~held_out), redrawn.filter(held_out)])
    cfg = load_config(None, ["split.holdout_days=10", "data.format='canonical'"])
    a, b = (
        load_panel(cfg, _write(frame, tmp_path / f"{name}.parquet"))
        for name, frame in (("base", base), ("changed", changed))
    )
    assert not np.array_equal(a.sales[:, 30:], b.sales[:, 30:])
    for name in ("demand", "in_stock_share", "discount", "sales", "promo"):
        np.testing.assert_array_equal(getattr(a, name)[:, :30], getattr(b, name)[:, :30])
    assert np.all(b.discount <= 1.0)


def _write(frame: pl.DataFrame, path) -> str:
    frame.write_parquet(path)
    return str(path)


def test_discount_from_price_divides_by_the_training_periods_highest_price(good_daily):
    """C3's 7 days, the last 2 held out: a held-out price above the training ones is full."""
    prices = [1.0] * 10 + [4.0, 2.0, 4.0, 3.0, 1.0, 8.0, 2.0]
    cfg = dataclasses.replace(Config(), split=dataclasses.replace(Config().split, holdout_days=2))
    daily = good_daily.drop("discount").with_columns(price=pl.Series(prices))
    panel = densify(daily, cfg=cfg)
    assert panel.discount[2].tolist() == [1.0, 0.5, 1.0, 0.75, 0.25, 1.0, 0.25]


UNIT_BOUNDS = {
    "lead time above the panel's days": ("lead_time", "8", "lead_time above the panel's 7 days"),
    "huge lead time": ("lead_time", "1e9", "lead_time above the panel's 7 days"),
    "lead time past int64": ("lead_time", "1e30", "lead_time above the panel's 7 days"),
    "review period past int64": (
        "review_period",
        "1e30",
        "review_period above the panel's 7 days",
    ),
    "fractional review offset": ("review_offset", "0.5", "review_offset is not a whole number"),
    "review offset at R": ("review_offset", "3", "review_offset not below review_period"),
    "huge review offset": ("review_offset", "1e30", "review_offset not below review_period"),
}


@pytest.mark.parametrize("case", list(UNIT_BOUNDS), ids=list(UNIT_BOUNDS))
def test_unit_parameters_beyond_the_panel_are_refused_by_unit_column_and_value(good_daily, case):
    column, value, problem = UNIT_BOUNDS[case]
    columns = {"lead_time": ["1", "7", "0"], "review_period": ["3"] * 3, "review_offset": ["0"] * 3}
    columns[column][1] = value
    table = pl.DataFrame({"unit_id": ["A1", "B2", "C3"], **columns})
    with pytest.raises(InputError) as err:
        densify(good_daily, table)
    assert (err.value.column, err.value.where) == (column, "row 2 (unit B2)")
    assert err.value.value == float(value) and err.value.problem == problem


def test_a_lead_time_of_the_panels_length_is_accepted(good_daily):
    table = pl.DataFrame({"unit_id": ["A1", "B2", "C3"], "lead_time": [7, 0, 1]})
    assert densify(good_daily, table).units.lead_time.tolist() == [7, 0, 1]


def test_a_far_off_unit_that_stretches_the_date_grid_is_named(good_daily):
    stray = pl.DataFrame({"unit_id": ["Z9", "Z9"], "date": ["2009-03-02", "2009-03-03"]})
    daily = pl.concat(
        [good_daily.select("unit_id", "date", "sales"), stray.with_columns(sales=pl.lit(1.0))]
    )
    with pytest.raises(InputError) as err:
        canonical.validate(daily, None, "t.csv")
    assert (err.value.file, err.value.column, err.value.where) == ("t.csv", "date", "unit Z9")
    assert err.value.value == "2009-03-02" and "date grid would span" in err.value.problem


def test_a_long_grid_is_fine_when_some_unit_spans_a_quarter_of_it():
    long = [("L", dt.date(2010, 1, 1) + dt.timedelta(days=i), 1.0) for i in range(1000)]
    late = [("S", dt.date(2013, 12, 1) + dt.timedelta(days=i), 1.0) for i in range(3)]
    daily = pl.DataFrame(long + late, schema=["unit_id", "date", "sales"], orient="row")
    canonical.validate(daily, None, "t.parquet")  # grid 1,432 days… under the floor
    far = [("S", dt.date(2022, 12, 1) + dt.timedelta(days=i), 1.0) for i in range(3)]
    daily = pl.DataFrame(long + far, schema=["unit_id", "date", "sales"], orient="row")
    with pytest.raises(InputError, match="unit S, value '2022-12-03'"):
        canonical.validate(daily, None, "t.parquet")  # 4,720 days: over 4 × 1,000 and 3,660


@pytest.mark.parametrize("dtype", [pl.Categorical, "enum"])
def test_a_categorical_or_enum_date_column_parses(tmp_path, good_daily, dtype):
    if dtype == "enum":
        dtype = pl.Enum(sorted(good_daily["date"].unique()))
    good_daily.with_columns(pl.col("date").cast(dtype)).write_parquet(tmp_path / "d.parquet")
    daily, _ = canonical.read_tables(tmp_path / "d.parquet")
    panel = densify(daily)
    assert str(panel.dates[0]) == "2024-01-01" and panel.n_days == 7


def test_a_csv_header_with_a_column_twice_is_refused(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("unit_id,date,sales,sales\nA,2024-01-01,1,2\n")
    with pytest.raises(InputError) as err:
        canonical.read_tables(path)
    assert (err.value.problem, err.value.column) == ("duplicate column", "sales")


def test_infer_format_reads_what_a_path_holds(tmp_path, good_daily):
    m5_folder = tmp_path / "m5"
    m5_folder.mkdir()
    (m5_folder / "calendar.csv").write_text("d,date\n")
    (m5_folder / "sales_train_validation.csv").write_text("id\n")
    frn_like = pl.DataFrame({c: [1] for c in (*FRN_COLUMNS, "city_id")})
    frn_like.write_parquet(tmp_path / "frn.parquet")
    frn_like.write_parquet(tmp_path / "frn_no_suffix")
    good_daily.write_parquet(tmp_path / "daily.parquet")
    good_daily.write_csv(tmp_path / "daily.csv")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    assert infer_format(m5_folder) == "m5"
    assert infer_format(tmp_path / "frn.parquet") == "frn"
    assert infer_format(tmp_path / "frn_no_suffix") == "frn"
    for name in ("daily.parquet", "daily.csv", "junk.parquet", "."):
        assert infer_format(tmp_path / name) == "canonical", name
    (m5_folder / "calendar.csv").unlink()
    assert infer_format(m5_folder) == "canonical"


def test_infer_format_names_a_missing_path(tmp_path):
    with pytest.raises(InputError) as err:
        infer_format(tmp_path / "nowhere.parquet")
    assert err.value.file == str(tmp_path / "nowhere.parquet")
    assert err.value.problem == "file not found"


def test_synthetic_data_with_a_path_is_refused(tmp_path, good_daily):
    good_daily.write_csv(tmp_path / "d.csv")
    with pytest.raises(InputError, match="synthetic data takes no --data path; pass --format"):
        load_panel(Config(), tmp_path / "d.csv")
    cfg = load_config(None, [f"data.path='{tmp_path / 'd.csv'}'"])
    with pytest.raises(InputError, match="synthetic data takes no --data path"):
        load_panel(cfg)
