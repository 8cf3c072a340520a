"""The group knapsack: Lagrangian choices, bisection, slack fill, against exact optima."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orpr.labels.knapsack import best_uniform, fill_slack, loss_budget, solve_mckp, totals
from orpr.labels.lagrangian import lagrangian_choice, lagrangian_mckp, lam_lattice, monotone_rows
from orpr.labels.milp import brute_force_mckp, compare_with_milp, milp_mckp, relative_gap


@st.composite
def groups(draw, max_units=3, max_candidates=4, monotone=None):
    """A tiny group: integer stock and loss ``(n, m)`` (ties are common) and a budget."""
    n = draw(st.integers(1, max_units))
    m = draw(st.integers(1, max_candidates))
    cells = st.lists(st.integers(0, 9), min_size=n * m, max_size=n * m)
    stock = np.array(draw(cells), dtype=float).reshape(n, m)
    loss = np.array(draw(cells), dtype=float).reshape(n, m)
    if monotone if monotone is not None else draw(st.booleans()):
        stock, loss = np.sort(stock, axis=1), -np.sort(-loss, axis=1)
    share = draw(st.floats(0.0, 1.0))
    budget = share * float(loss.sum(axis=0).max())
    return stock, loss, budget


def staircase_group(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monotone, simulator-like outcomes: stock rises and loss falls in steps with v."""
    rng = np.random.default_rng(seed)
    v = np.arange(m) * 0.5
    rate = rng.lognormal(0.0, 1.0, n)[:, None]
    need = rng.gamma(2.0, 2.0, (n, 1))
    stock = np.floor(np.maximum(v - 1.0, 0.0) * 3.0) * rate * rng.uniform(0.5, 2.0, (n, 1))
    loss = np.ceil(np.maximum(need - v, 0.0) * 2.0) * rate
    return stock, loss, rate[:, 0] * 14.0


def test_loss_budget_is_the_allowed_share_of_sales():
    assert loss_budget(np.array([10.0, 30.0]), 0.95) == pytest.approx(2.0)


def test_lam_lattice_is_geometric_from_low_to_high():
    assert lam_lattice(0, 4, (1e-2, 1e2)) == pytest.approx(1e-2)
    assert lam_lattice(16, 4, (1e-2, 1e2)) == pytest.approx(1e2)
    assert lam_lattice(8, 4, (1e-2, 1e2)) == pytest.approx(1.0)


def test_relative_gap_is_the_excess_over_the_exact_optimum():
    assert relative_gap(101.0, 100.0) == pytest.approx(0.01)
    assert relative_gap(0.0, 0.0) == 0.0


@settings(max_examples=60, deadline=None)
@given(groups(max_units=5, max_candidates=6), st.floats(0.0, 20.0))
def test_lagrangian_choice_is_the_first_argmin_of_stock_plus_lambda_loss(group, lam):
    stock, loss, _ = group
    expected = np.argmin(stock + lam * loss, axis=1)
    assert np.array_equal(lagrangian_choice(stock, loss, lam), expected)


@settings(max_examples=80, deadline=None)
@given(groups())
def test_lagrangian_solution_is_optimal_for_its_own_loss(group):
    """Everett (1963): a Lagrangian choice is the brute-force optimum at its own loss."""
    stock, loss, budget = group
    found = lagrangian_mckp(stock, loss, budget, steps=24)
    if found is None or found.loss > budget:
        return
    exact = brute_force_mckp(stock, loss, found.loss)
    assert found.stock == pytest.approx(exact.stock, abs=1e-9)


@settings(max_examples=80, deadline=None)
@given(groups(), st.floats(0.0, 50.0))
def test_knapsack_equals_brute_force_when_the_budget_is_a_lagrangian_loss(group, lam):
    stock, loss, _ = group
    budget = totals(stock, loss, lagrangian_choice(stock, loss, lam))[1]
    sol = solve_mckp(stock, loss, budget, steps=24)
    assert sol.stock == pytest.approx(brute_force_mckp(stock, loss, budget).stock, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(groups())
def test_knapsack_meets_the_budget_and_is_never_below_brute_force(group):
    stock, loss, budget = group
    sol = solve_mckp(stock, loss, budget, steps=24)
    exact = brute_force_mckp(stock, loss, budget)
    assert sol.met == (exact.status == 0)
    if sol.met:
        assert sol.loss <= budget
        assert sol.stock >= exact.stock - 1e-9
        assert (sol.stock, sol.loss) == pytest.approx(totals(stock, loss, sol.choice))


@settings(max_examples=100, deadline=None)
@given(groups(max_units=6, max_candidates=6))
def test_knapsack_stock_is_never_above_any_common_v_meeting_the_budget(group):
    stock, loss, budget = group
    sol = solve_mckp(stock, loss, budget, steps=24)
    for column in range(stock.shape[1]):
        if loss[:, column].sum() <= budget:
            assert sol.stock <= stock[:, column].sum() + 1e-9


@settings(max_examples=80, deadline=None)
@given(groups(max_units=6, max_candidates=6, monotone=True), st.floats(0.0, 1.0))
def test_a_smaller_budget_never_gets_a_lossier_lagrangian_choice(group, shrink):
    stock, loss, budget = group
    wide = lagrangian_mckp(stock, loss, budget, steps=24)
    narrow = lagrangian_mckp(stock, loss, budget * shrink, steps=24)
    if wide is not None and narrow is not None:
        assert narrow.loss <= wide.loss + 1e-9
        assert narrow.lam >= wide.lam


@settings(max_examples=60, deadline=None)
@given(groups(max_units=6, max_candidates=6))
def test_filling_the_slack_never_adds_stock_or_breaks_the_budget(group):
    stock, loss, budget = group
    start = np.argmin(np.where(loss <= loss.min(axis=1, keepdims=True), stock, np.inf), axis=1)
    if totals(stock, loss, start)[1] > budget:
        return
    filled = fill_slack(stock, loss, start, budget)
    assert totals(stock, loss, filled)[1] <= budget
    assert totals(stock, loss, filled)[0] <= totals(stock, loss, start)[0]


def test_an_unreachable_budget_takes_the_largest_v_and_is_flagged():
    stock = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]])
    loss = np.array([[5.0, 3.0, 1.0], [4.0, 2.0, 1.0]])
    sol = solve_mckp(stock, loss, budget=1.0)
    assert not sol.met
    assert sol.choice.tolist() == [2, 2]


def test_a_budget_met_by_the_cheapest_choice_has_zero_price():
    stock = np.array([[0.0, 1.0], [0.0, 2.0]])
    loss = np.array([[1.0, 0.0], [1.0, 0.0]])
    sol = solve_mckp(stock, loss, budget=2.0)
    assert sol.lam == 0.0
    assert sol.choice.tolist() == [0, 0]


@pytest.mark.parametrize("seed", [4, 5])
def test_bisection_on_open_rows_finds_the_price_a_full_bisection_finds(seed):
    stock, loss, sale = staircase_group(400, 31, seed)
    stock[:40] = stock[:40, ::-1]  # some rows not monotone
    budget = loss_budget(sale, 0.9)
    steps, lam_range = 20, (1e-3, 1e5)
    lo, hi = -1, 2**steps
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lam = lam_lattice(mid, steps, lam_range)
        if totals(stock, loss, np.argmin(stock + lam * loss, axis=1))[1] <= budget:
            hi = mid
        else:
            lo = mid
    found = lagrangian_mckp(stock, loss, budget, steps, lam_range)
    assert found.lam == pytest.approx(lam_lattice(hi, steps, lam_range))
    assert found.loss <= budget


def test_the_simulators_staircase_rows_are_monotone():
    stock, loss, _ = staircase_group(50, 21, seed=0)
    assert monotone_rows(stock, loss).all()
    assert not monotone_rows(stock[:, ::-1], loss)[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_knapsack_matches_the_milp_on_small_groups(seed):
    """The gap is ≥ 0 (the MILP is exact) and small; it is not always zero, because a
    discrete knapsack has a duality gap: the Lagrangian only reaches each unit's convex-hull
    candidates, and the slack fill is greedy."""
    stock, loss, sale = staircase_group(30, 21, seed)
    budget = loss_budget(sale, 0.95)
    check = compare_with_milp(stock, loss, budget, time_limit=20.0)
    assert check.status == 0
    assert -1e-6 <= check.gap <= 0.01
    exact = milp_mckp(stock, loss, budget)
    assert totals(stock, loss, exact.choice)[1] <= budget * (1 + 1e-9)


def test_best_common_v_is_the_cheapest_column_meeting_the_budget():
    stock = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    loss = np.array([[3.0, 1.0, 0.0], [3.0, 1.0, 0.0]])
    assert best_uniform(stock, loss, 2.0) == 1
    assert best_uniform(stock, loss, -1.0) is None


def test_a_large_group_is_solved_quickly_and_meets_its_budget():
    stock, loss, sale = staircase_group(10_000, 61, seed=3)
    sol = solve_mckp(stock, loss, loss_budget(sale, 0.95))
    assert sol.met and sol.loss <= sol.budget
    assert sol.source in ("lagrangian", "greedy")
