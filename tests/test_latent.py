"""Latent demand: in-stock shares, hourly profiles, uncensoring and its score."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orpr.config import SyntheticConfig
from orpr.data import latent, profiles
from orpr.data.panel import Panel, Units
from orpr.data.synthetic import generate_arrays


def make_panel(
    sales: np.ndarray,
    share: np.ndarray,
    stockout_fraction: np.ndarray | None = None,
    true_demand: np.ndarray | None = None,
    categories: np.ndarray | None = None,
    promo: np.ndarray | None = None,
    start: str = "2024-01-01",
) -> Panel:
    """A panel of the given ``(unit, day)`` arrays; unit parameters are placeholders."""
    n, days = sales.shape
    zeros = np.zeros(n)
    cats = np.full((n, 1), "all") if categories is None else categories
    units = Units(
        unit_id=np.array([f"u{i}" for i in range(n)]),
        location=np.full(n, "all"),
        categories=cats,
        lead_time=zeros.astype(np.int64),
        review_period=np.ones(n, dtype=np.int64),
        review_offset=zeros.astype(np.int64),
        unit_cost=np.ones(n),
        holding_rate=zeros,
        lost_penalty=zeros,
    )
    if stockout_fraction is None:
        stockout_fraction = np.where(share < 1, 1.0 - share, 0.0)
    return Panel(
        units=units,
        dates=np.datetime64(start, "D") + np.arange(days),
        sales=sales.astype(np.float64),
        demand=sales.astype(np.float64),
        stockout_fraction=stockout_fraction,
        discount=np.ones((n, days)),
        promo=np.zeros((n, days), dtype=np.int8) if promo is None else promo,
        holiday=np.zeros((n, days), dtype=np.int8),
        active=np.ones((n, days), dtype=bool),
        in_stock_share=share,
        true_demand=true_demand,
    )


def synthetic_panel(cfg: SyntheticConfig) -> Panel:
    """The synthetic dataset as a panel, straight from its arrays."""
    arrays = generate_arrays(cfg)
    return make_panel(
        arrays.sales,
        arrays.in_stock_share,
        arrays.stockout_fraction,
        arrays.true_demand,
        np.stack([arrays.cat_1, arrays.cat_2], axis=1),
        arrays.promo,
        cfg.start,
    )


def status_out(hours: range) -> np.ndarray:
    flags = np.zeros(24, dtype=np.int8)
    flags[list(hours)] = 1
    return flags


def test_in_stock_share_is_the_profile_mass_of_in_stock_business_hours():
    flat = profiles.business_hours() / 16.0
    assert profiles.in_stock_share(status_out(range(18, 22)), flat) == pytest.approx(0.75)
    peaks = np.zeros(24)
    peaks[[9, 19]] = 0.5
    assert profiles.in_stock_share(status_out(range(15, 22)), peaks) == pytest.approx(0.5)
    assert profiles.in_stock_share(status_out(range(6, 22)), flat) == pytest.approx(0.0)


def test_in_stock_share_ignores_overnight_flags_and_profile_scale():
    profile = np.arange(24, dtype=float)
    overnight = status_out(range(0, 6)) | status_out(range(22, 24))
    assert profiles.in_stock_share(overnight, profile) == pytest.approx(1.0)
    out = status_out(range(20, 24))
    expected = 1.0 - (20 + 21) / profile.sum()
    assert profiles.in_stock_share(out, profile) == pytest.approx(expected)
    assert profiles.in_stock_share(out, 7.0 * profile) == pytest.approx(expected)


def test_in_stock_share_of_an_empty_profile_counts_business_hours():
    assert profiles.in_stock_share(status_out(range(14, 22)), np.zeros(24)) == pytest.approx(0.5)


def test_in_stock_share_broadcasts_flag_patterns_against_profiles():
    shapes = np.random.default_rng(0).random((3, 24))
    patterns = np.stack([status_out(range(h, 22)) for h in range(6, 22)])
    table = profiles.in_stock_share(patterns[None], shapes[:, None, :])
    assert table.shape == (3, 16)
    assert table[1, 4] == pytest.approx(profiles.in_stock_share(patterns[4], shapes[1]))


def test_in_stock_hour_totals_sum_only_fully_in_stock_days():
    sales = np.zeros((4, 24))
    sales[:, 10] = [1.0, 2.0, 4.0, 0.0]
    status = np.zeros((4, 24), dtype=np.int8)
    status[1, 20] = 1  # a business-hour stockout: excluded
    status[2, 23] = 1  # overnight only: still fully in stock
    totals, days = profiles.in_stock_hour_totals(sales, status, np.array([0, 0, 0, 1]), 2)
    assert totals[0, 10] == 5.0 and totals.sum() == 5.0
    np.testing.assert_array_equal(days, [2.0, 0.0])


def test_estimated_profile_recovers_a_known_profile_and_shrinks_sparse_units():
    rng = np.random.default_rng(1)
    true = profiles.business_hours() * np.exp(-0.5 * ((np.arange(24) - 18) / 2.0) ** 2)
    true /= true.sum()
    hourly = np.zeros((305, 24))
    hourly[:300] = rng.multinomial(20, true, size=300)
    hourly[300:, 12] = 1.0  # unit 2: five selling days, all at noon
    unit = np.repeat([0, 2], [300, 5])
    totals, days = profiles.in_stock_hour_totals(hourly, np.zeros_like(hourly), unit, 3)
    profile = profiles.estimate_profiles(totals, days, np.array(["a", "a", "a"]), prior_days=20.0)
    assert np.abs(profile[0] - true).max() < 0.01
    group = totals.sum(axis=0) / totals.sum()
    np.testing.assert_allclose(profile[1], group)  # no in-stock sales: the group's profile
    noon = np.eye(24)[12]
    np.testing.assert_allclose(profile[2], 0.2 * noon + 0.8 * group)  # w = 5 / (5 + 20)
    np.testing.assert_allclose(profile.sum(axis=1), 1.0)


def test_uncensor_moves_from_the_sales_ratio_to_the_expected_level():
    sales, share, mu = np.array([[4.0]]), np.array([[0.5]]), np.array([[10.0]])
    assert latent.uncensor(sales, share, mu, np.array([1e-9]))[0, 0] == pytest.approx(8.0)
    assert latent.uncensor(sales, share, mu, np.array([1e9]))[0, 0] == pytest.approx(9.0)
    posterior = 4.0 + 0.5 * 10.0 * (2.0 + 4.0) / (2.0 + 0.5 * 10.0)
    assert latent.uncensor(sales, share, mu, np.array([2.0]))[0, 0] == pytest.approx(posterior)
    assert latent.uncensor(sales, np.ones((1, 1)), mu, np.array([2.0]))[0, 0] == 4.0


def test_local_level_averages_in_stock_days_in_the_trailing_window():
    sales = np.array([[1.0, 100.0, 3.0, 5.0, 7.0]])
    in_stock = np.array([[True, False, True, True, True]])
    level = latent.local_level(sales, in_stock, window=2)
    np.testing.assert_allclose(level, [[1.0, 1.0, 3.0, 4.0, 6.0]])


def test_local_level_never_uses_later_days():
    rng = np.random.default_rng(3)
    sales = rng.gamma(2.0, 3.0, size=(4, 60))
    in_stock = rng.random((4, 60)) > 0.3
    before = latent.local_level(sales, in_stock)
    sales[:, 40:] *= 5.0
    after = latent.local_level(sales, in_stock)
    np.testing.assert_array_equal(before[:, :40], after[:, :40])
    never = latent.local_level(sales, np.zeros_like(in_stock), window=1)
    np.testing.assert_allclose(never, 0.0)


def test_demand_shape_is_large_for_steady_sales_and_small_for_erratic_ones():
    expected = np.full((2, 4), 5.0)
    sales = np.array([[5.0, 5.0, 5.0, 5.0], [0.0, 10.0, 0.0, 10.0]])
    shape = latent.demand_shape(sales, expected, np.ones((2, 4), dtype=bool))
    np.testing.assert_allclose(shape, [latent.SHAPE_MAX, 1.0])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 5), days=st.integers(1, 40))
def test_estimate_demand_never_lowers_demand_and_leaves_uncensored_days_untouched(seed, n, days):
    rng = np.random.default_rng(seed)
    sales = rng.poisson(rng.uniform(0, 20, size=(n, 1)), size=(n, days)).astype(float)
    share = np.where(rng.random((n, days)) < 0.3, rng.random((n, days)), 1.0)
    panel = latent.estimate_demand(make_panel(sales, share))
    assert np.all(np.isfinite(panel.demand))
    assert np.all(panel.demand >= panel.sales)
    np.testing.assert_array_equal(panel.demand[share == 1.0], sales[share == 1.0])


def test_fully_out_days_get_the_expected_demand_of_their_weekday_and_neighbours():
    sales = np.tile([10.0, 10.0, 10.0, 10.0, 10.0, 20.0, 20.0], 6)[None, :].copy()
    share = np.ones_like(sales)
    share[0, 33], sales[0, 33] = 0.0, 0.0  # a Saturday (2024-01-01 is a Monday)
    panel = latent.estimate_demand(make_panel(sales, share))
    assert panel.demand[0, 33] == pytest.approx(20.0, rel=0.05)  # weekday mean: 12.9


def test_sales_method_keeps_sales_and_unknown_methods_are_refused():
    panel = make_panel(np.array([[1.0, 2.0]]), np.array([[1.0, 0.5]]))
    np.testing.assert_array_equal(latent.estimate_demand(panel, "sales").demand, panel.sales)
    with pytest.raises(ValueError, match="unknown latent-demand method"):
        latent.estimate_demand(panel, "magic")


def test_latent_wape_is_below_half_the_sales_wape_on_synthetic_data():
    panel = latent.estimate_demand(synthetic_panel(SyntheticConfig()))
    latent_wape, sales_wape = latent.score(panel)
    assert sales_wape > 0.3
    assert latent_wape < 0.5 * sales_wape


def test_latent_wape_beats_sales_on_a_small_synthetic_panel_with_other_seeds():
    for seed in (1, 2):
        panel = latent.estimate_demand(synthetic_panel(SyntheticConfig(units=100, seed=seed)))
        latent_wape, sales_wape = latent.score(panel)
        assert latent_wape < 0.7 * sales_wape


def test_score_needs_true_demand():
    with pytest.raises(ValueError, match="no true demand"):
        latent.score(make_panel(np.ones((1, 2)), np.ones((1, 2))))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 6), days=st.integers(2, 70))
def test_no_estimate_before_fit_until_depends_on_a_later_day(seed, n, days):
    """Cell factors, A_u and start-up levels learn from training days; levels trail."""
    rng = np.random.default_rng(seed)
    fit_until = int(rng.integers(1, days))

    def draw() -> dict[str, np.ndarray]:
        share = np.where(rng.random((n, days)) < 0.4, rng.random((n, days)), 1.0)
        return {
            "sales": rng.poisson(rng.uniform(0, 15, size=(n, 1)), size=(n, days)).astype(float),
            "share": share,
            "promo": (rng.random((n, days)) < 0.2).astype(np.int8),
        }

    base, other = draw(), draw()
    late = np.arange(days) >= fit_until
    changed = {k: np.where(late, other[k], v) for k, v in base.items()}
    categories = rng.choice(["a", "b"], size=(n, 1))
    estimates = [
        latent.estimate_demand(
            make_panel(d["sales"], d["share"], categories=categories, promo=d["promo"]),
            fit_until=fit_until,
        ).demand
        for d in (base, changed)
    ]
    np.testing.assert_array_equal(estimates[0][:, :fit_until], estimates[1][:, :fit_until])


def test_held_out_days_change_earlier_estimates_without_fit_until():
    """The leak the split closes: fitted on every day, a later day moves earlier ones."""
    sales = np.tile([10.0, 10.0, 10.0, 10.0, 10.0, 20.0, 20.0], 8)[None, :].copy()
    share = np.ones_like(sales)
    share[0, 12], sales[0, 12] = 0.5, 4.0
    later = sales.copy()
    later[0, 42:] *= 3.0
    for fit_until, moved in ((None, True), (42, False)):
        a, b = (
            latent.estimate_demand(make_panel(s, share), fit_until=fit_until).demand[0, 12]
            for s in (sales, later)
        )
        assert bool(a != b) == moved


def test_start_level_takes_the_first_in_stock_training_days_then_own_sales_then_category():
    sales = np.array(
        [
            [9.0, 2.0, 4.0, 6.0, 50.0, 50.0],  # in stock from day 1: mean of days 1..2 (window 2)
            [1.0, 3.0, 5.0, 8.0, 8.0, 8.0],  # never in stock in training: mean active sales
            [0.0, 0.0, 0.0, 0.0, 7.0, 7.0],  # listed only from day 4 (held out): category mean
            [0.0, 6.0, 0.0, 0.0, 0.0, 0.0],  # in stock on day 1 only
        ]
    )
    in_stock = np.array(
        [
            [False, True, True, True, True, True],
            [False, False, False, False, True, True],
            [False, False, False, False, True, True],
            [False, True, False, False, False, False],
        ]
    )
    active = np.ones_like(in_stock)
    active[2, :4] = False
    group = np.array([0, 1, 0, 0])
    start = latent.start_level(sales, in_stock, active, group, fit_until=4, window=2)
    category_mean = (2.0 + 4.0 + 6.0 + 6.0) / 4  # group 0's in-stock training unit-days
    np.testing.assert_allclose(start, [3.0, 17.0 / 4, category_mean, 6.0])


def test_local_level_uses_the_start_level_before_the_first_in_stock_day():
    sales = np.array([[0.0, 0.0, 4.0, 6.0]])
    in_stock = np.array([[False, False, True, True]])
    level = latent.local_level(sales, in_stock, window=2, start=np.array([5.0]))
    np.testing.assert_allclose(level, [[5.0, 5.0, 4.0, 5.0]])


def test_training_mask_clips_to_the_grid():
    assert latent.training_mask(4, None).tolist() == [True] * 4
    assert latent.training_mask(4, 2).tolist() == [True, True, False, False]
    assert latent.training_mask(4, 9).all() and not latent.training_mask(4, -1).any()


def test_hour_totals_learn_only_from_the_rows_to_fit():
    sales = np.zeros((3, 24))
    sales[:, 10] = [1.0, 2.0, 4.0]
    status = np.zeros((3, 24), dtype=np.int8)
    fit = np.array([True, True, False])
    totals, days = profiles.in_stock_hour_totals(sales, status, np.zeros(3, dtype=int), 1, fit)
    assert totals[0, 10] == 3.0 and days[0] == 2.0
