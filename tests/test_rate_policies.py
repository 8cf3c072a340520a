"""Reference rate, baseline rules and the tuning choice, on hand-computed cases."""

import numpy as np
import pytest

from orpr.baselines.rules import days_of_cover, demand_sum_quantile
from orpr.baselines.tuning import smallest_meeting
from orpr.data.rate import reference_rates


def test_reference_rate_uses_only_the_days_before():
    demand = np.array([[1.0, 2.0, 3.0, 4.0, 100.0]])
    active = np.ones_like(demand, dtype=bool)
    rate = reference_rates(demand, active, window=2, floor=0.01)
    assert rate[0].tolist() == [0.01, 1.0, 1.5, 2.5, 3.5]


def test_reference_rate_skips_inactive_days_and_is_floored():
    demand = np.array([[0.0, 0.0, 6.0, 0.0]])
    active = np.array([[False, False, True, True]])
    rate = reference_rates(demand, active, window=3, floor=0.5)
    assert rate[0].tolist() == [0.5, 0.5, 0.5, 6.0]


def test_reference_rate_does_not_move_when_the_future_changes():
    rng = np.random.default_rng(0)
    demand = rng.gamma(2.0, 1.0, size=(3, 40))
    active = np.ones_like(demand, dtype=bool)
    before = reference_rates(demand, active, 28, 0.01)
    demand[:, 30:] *= 10
    after = reference_rates(demand, active, 28, 0.01)
    assert np.array_equal(before[:, :31], after[:, :31])


def test_days_of_cover_adds_lead_time_review_period_and_safety():
    assert days_of_cover(np.array([2]), np.array([7]), np.array([1.5])).tolist() == [10.5]


def test_demand_sum_quantile_on_a_known_series():
    demand = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    active = np.ones_like(demand, dtype=bool)
    # two-day sums: 3, 5, 7, 9 -> median 6
    assert demand_sum_quantile(demand, active, 2, 0.5).tolist() == [6.0]
    # short history is scaled up to the span
    assert demand_sum_quantile(demand[:, :1], active[:, :1], 3, 0.5).tolist() == [3.0]


def test_demand_sum_quantile_ignores_days_before_launch():
    demand = np.array([[0.0, 0.0, 0.0, 0.0, 4.0, 6.0, 4.0]])
    active = np.array([[False] * 4 + [True] * 3])
    # only the active two-day windows count: 10, 10
    assert demand_sum_quantile(demand, active, 2, 0.5).tolist() == [10.0]
    # too few active days for a window: mean active demand x span
    assert demand_sum_quantile(demand, active, 4, 0.5).tolist() == [pytest.approx(56 / 3 * 1)]
    assert np.isnan(demand_sum_quantile(demand, np.zeros_like(active), 2, 0.5)[0])


def test_tuning_takes_the_smallest_setting_that_meets_the_target():
    grid = np.array([0.0, 1.0, 2.0])
    fill = np.array([[0.90, 0.96, 0.80], [0.97, 0.99, 0.85], [0.99, 1.0, 0.90]])
    assert smallest_meeting(fill, grid, 0.95).tolist() == [1.0, 0.0, 2.0]


@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
def test_demand_sum_quantile_rises_with_the_quantile(q):
    rng = np.random.default_rng(1)
    demand = rng.poisson(3.0, size=(5, 56)).astype(float)
    active = np.ones_like(demand, dtype=bool)
    lo = demand_sum_quantile(demand, active, 3, q)
    hi = demand_sum_quantile(demand, active, 3, min(q + 0.05, 0.99))
    assert np.all(hi >= lo)


def test_units_index_of_finds_each_id_and_marks_unknown_ones():
    from orpr.config import load_config
    from orpr.data import load_panel

    units = load_panel(load_config("configs/demo.toml", ["synthetic.units=20"])).units
    ids = units.unit_id.astype(str)
    assert units.index_of(ids[::-1]).tolist() == list(range(len(ids)))[::-1]
    assert units.index_of(np.array([ids[3], "nowhere"])).tolist() == [3, -1]
