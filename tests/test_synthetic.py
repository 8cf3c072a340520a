"""The embedded synthetic dataset: shape, determinism, censoring and retail features."""

from __future__ import annotations

import time

import numpy as np
import pytest

from orpr.config import SyntheticConfig
from orpr.data import synthetic

DAILY_COLUMNS = [
    "unit_id",
    "date",
    "sales",
    "true_demand",
    "stockout_fraction",
    "in_stock_share",
    "discount",
    "promo",
    "holiday",
]


@pytest.fixture(scope="module")
def default_arrays() -> synthetic.SyntheticArrays:
    return synthetic.generate_arrays(SyntheticConfig())


def test_the_same_config_gives_identical_tables_and_another_seed_does_not():
    cfg = SyntheticConfig(units=60, days=50)
    daily, units = synthetic.generate_tables(cfg)
    again, units_again = synthetic.generate_tables(cfg)
    assert daily.equals(again) and units.equals(units_again)
    other, _ = synthetic.generate_tables(SyntheticConfig(units=60, days=50, seed=8))
    assert not daily["true_demand"].equals(other["true_demand"])


def test_tables_have_the_requested_shape_and_only_canonical_columns():
    cfg = SyntheticConfig(units=30, days=20, stores=4, categories=3, start="2024-03-01")
    daily, units = synthetic.generate_tables(cfg)
    assert daily.columns == DAILY_COLUMNS
    assert units.columns == ["unit_id", "location", "cat_1", "cat_2"]
    assert daily.height == 30 * 20 and units.height == 30
    assert units["unit_id"].n_unique() == 30
    assert units["location"].n_unique() == 4
    assert units["cat_1"].n_unique() <= 3
    assert str(daily["date"].min()) == "2024-03-01" and str(daily["date"].max()) == "2024-03-20"
    per_unit = daily.group_by("unit_id").len()["len"]
    assert (per_unit == 20).all()


def test_censored_and_promoted_shares_match_the_config(default_arrays):
    cfg = SyntheticConfig()
    censored = default_arrays.stockout_fraction > 0
    assert censored.mean() == pytest.approx(cfg.stockout_rate, abs=0.02)
    assert default_arrays.promo.mean() == pytest.approx(cfg.promo_rate, abs=0.015)
    full_out = default_arrays.stockout_fraction == 1.0
    assert full_out.sum() / censored.sum() == pytest.approx(synthetic.FULL_OUT_SHARE, abs=0.03)


def test_true_demand_is_at_least_sales_with_equality_on_uncensored_days(default_arrays):
    sales, demand = default_arrays.sales, default_arrays.true_demand
    censored = default_arrays.stockout_fraction > 0
    assert np.all(demand >= sales)
    np.testing.assert_array_equal(sales[~censored], demand[~censored])
    assert (demand[censored] > sales[censored]).mean() > 0.5
    np.testing.assert_array_equal(sales, np.round(sales))


def test_stockout_fraction_counts_business_hours_and_share_follows_it(default_arrays):
    fraction = default_arrays.stockout_fraction
    share = default_arrays.in_stock_share
    np.testing.assert_array_equal(np.round(fraction * 16), fraction * 16)
    np.testing.assert_array_equal(share < 1.0, fraction > 0)
    np.testing.assert_array_equal(share[fraction == 1.0], 0.0)
    censored = (fraction > 0) & (fraction < 1)
    assert np.corrcoef(fraction[censored], share[censored])[0, 1] < -0.8


def test_in_stock_share_is_estimated_from_observed_sales_not_copied_from_the_truth(
    default_arrays,
):
    fraction, profile = default_arrays.stockout_fraction, default_arrays.profile
    hour = np.where(fraction > 0, 22 - np.round(fraction * 16), 24).astype(int)
    before = np.pad(np.cumsum(profile, axis=1), ((0, 0), (1, 0)))
    true_share = np.take_along_axis(before, hour, axis=1)
    censored = (fraction > 0) & (fraction < 1)
    error = np.abs(default_arrays.in_stock_share - true_share)[censored]
    assert 0.0 < error.mean() < 0.05


def test_promotions_come_in_runs_with_a_discount_and_an_uplift(default_arrays):
    promo, discount = default_arrays.promo, default_arrays.discount
    assert np.all(discount[promo == 1] < 1.0) and np.all(discount[promo == 0] == 1.0)
    starts = (np.diff(promo, axis=1, prepend=0) == 1).sum()
    assert promo.sum() / starts > 2.5
    demand, base = default_arrays.true_demand, default_arrays.true_demand.mean(axis=1)
    ratio = demand / np.maximum(base, 1e-9)[:, None]
    assert ratio[promo == 1].mean() > 1.3 * ratio[promo == 0].mean()


def test_demand_has_weekend_uplift_holidays_and_fast_and_intermittent_units(default_arrays):
    demand, dates = default_arrays.true_demand, default_arrays.dates
    weekday = (dates.astype(np.int64) + 3) % 7
    assert demand[:, weekday >= 5].mean() > 1.15 * demand[:, weekday < 5].mean()
    holidays = {str(d) for d in dates[default_arrays.holiday == 1]}
    assert "2024-01-01" in holidays and "2024-05-01" in holidays and len(holidays) >= 3
    means, zero_days = demand.mean(axis=1), (demand == 0).mean(axis=1)
    assert means.max() > 20 * np.median(means)
    assert (zero_days > 0.6).mean() > 0.05


def test_hourly_profiles_peak_in_business_hours_and_vanish_overnight(default_arrays):
    profile = default_arrays.profile
    np.testing.assert_allclose(profile.sum(axis=1), 1.0)
    assert np.all(profile[:, :6] == 0) and np.all(profile[:, 22:] == 0)
    assert 16 <= np.argmax(profile.mean(axis=0)) <= 20


def test_generation_in_several_blocks_is_deterministic(monkeypatch):
    monkeypatch.setattr(synthetic, "BLOCK_UNITS", 16)
    cfg = SyntheticConfig(units=50, days=30)
    first, second = synthetic.generate_arrays(cfg), synthetic.generate_arrays(cfg)
    for name in ("sales", "true_demand", "in_stock_share", "promo"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    assert (first.stockout_fraction > 0).mean() > 0.1


def test_the_default_size_generates_well_under_a_second():
    start = time.perf_counter()
    synthetic.generate_tables(SyntheticConfig())
    assert time.perf_counter() - start < 1.0


def test_profiles_behind_in_stock_share_learn_from_training_days_only(monkeypatch):
    """Redrawing the held-out days' demand and stockouts leaves earlier shares unchanged."""
    cfg, fit_until = SyntheticConfig(units=40, days=30), 20
    simulate = synthetic._simulate_block

    def redraw_late_days(*args):
        draws = simulate(*args)
        late = np.arange(cfg.days) >= fit_until
        flip = late & (np.random.default_rng(5).random(draws.sales.shape) < 0.5)
        hour = np.where(flip, 24 - draws.stockout_hour, draws.stockout_hour).astype(np.int8)
        demand = np.where(late, 3 * draws.true_demand, draws.true_demand)
        return draws._replace(true_demand=demand, stockout_hour=hour)

    plain = [synthetic.generate_arrays(cfg, f) for f in (fit_until, None)]
    monkeypatch.setattr(synthetic, "_simulate_block", redraw_late_days)
    changed = [synthetic.generate_arrays(cfg, f) for f in (fit_until, None)]
    a, b = plain[0].in_stock_share, changed[0].in_stock_share
    np.testing.assert_array_equal(a[:, :fit_until], b[:, :fit_until])
    assert not np.array_equal(plain[1].in_stock_share, changed[1].in_stock_share)


def test_the_draws_do_not_depend_on_the_split():
    cfg = SyntheticConfig(units=30, days=25)
    a, b = synthetic.generate_arrays(cfg, 10), synthetic.generate_arrays(cfg)
    for name in ("sales", "true_demand", "stockout_fraction", "promo"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
