"""Metrics and segments on hand-computed cases."""

import numpy as np
import pytest

from orpr.data.segments import abc_class, abc_xyz, xyz_class
from orpr.sim.metrics import fill_rate, in_stock, summarize, turnover_days, window_totals


def test_turnover_days_is_inventory_value_over_sales_value():
    assert turnover_days(30.0, 10.0) == 3.0
    assert turnover_days(0.0, 0.0) == 0.0
    assert turnover_days(5.0, 0.0) == float("inf")


def test_fill_rate_is_one_without_demand():
    assert fill_rate(0.0, 0.0) == 1.0
    assert fill_rate(9.0, 10.0) == 0.9


def test_in_stock_needs_positive_stock_that_covers_demand():
    available = np.array([0.0, 3.0, 3.0, 2.0])
    demand = np.array([0.0, 3.0, 2.0, 5.0])
    assert in_stock(available, demand).tolist() == [False, True, True, False]


def test_window_totals_match_a_hand_computed_two_unit_case():
    on_hand = np.array([[2.0, 0.0], [1.0, 1.0]])
    sales = np.array([[3.0, 2.0], [1.0, 0.0]])
    lost = np.array([[0.0, 1.0], [0.0, 0.0]])
    cost = np.array([2.0, 10.0])
    h = np.array([0.5, 0.1])
    p = np.array([4.0, 1.0])
    mask = np.ones((2, 2), dtype=bool)
    m = summarize(window_totals(on_hand, sales, lost, cost, h, p, mask))
    # inventory value: 2*(2+0) + 10*(1+1) = 24; sales value: 2*5 + 10*1 = 20
    assert m.turnover_days == pytest.approx(24 / 20)
    # holding: 0.5*2*2 + 0.1*10*2 = 4; lost: 4*1 = 4
    assert m.holding_cost == pytest.approx(4.0)
    assert m.lost_sales_cost == pytest.approx(4.0)
    assert m.total_cost == pytest.approx(8.0)
    # available = on_hand + sales: [[5,2],[2,1]] vs demand [[3,3],[1,0]] -> in stock 3 of 4
    assert m.in_stock_rate == pytest.approx(0.75)
    # value fill: sales 20 / demand (2*6 + 10*1 = 22)
    assert m.fill_rate == pytest.approx(20 / 22)
    assert m.inventory_value == pytest.approx(12.0)
    assert m.unit_days == 4


def test_masked_days_do_not_count():
    on_hand = np.array([[2.0, 100.0]])
    sales = np.array([[1.0, 1.0]])
    lost = np.zeros((1, 2))
    mask = np.array([[True, False]])
    m = summarize(window_totals(on_hand, sales, lost, np.ones(1), np.ones(1), np.ones(1), mask))
    assert m.holding_cost == 2.0
    assert m.unit_days == 1


def test_abc_classes_follow_cumulative_value_shares():
    value = np.array([70.0, 1.0, 10.0, 15.0, 4.0])
    # sorted: 70 (0 before) A, 15 (70 before) A, 10 (85) B, 4 (95) C, 1 (99) C
    assert abc_class(value).tolist() == ["A", "C", "B", "A", "C"]


def test_xyz_classes_follow_the_coefficient_of_variation():
    steady = np.full(10, 5.0)
    erratic = np.array([1.0, 9.0] * 5)  # cv = 4/5 = 0.8
    intermittent = np.array([0.0] * 9 + [10.0])  # cv = 3
    demand = np.stack([steady, erratic, intermittent])
    assert xyz_class(demand, np.ones_like(demand, dtype=bool)).tolist() == ["X", "Y", "Z"]


def test_abc_xyz_combines_both_letters():
    demand = np.array([[5.0, 5.0], [0.0, 1.0]])
    seg = abc_xyz(demand, np.ones_like(demand, dtype=bool), np.ones(2))
    assert seg.tolist() == ["AX", "BY"]
