"""The exact lost-sales oracle against textbook cases with known answers.

Instances follow Zipkin (2008): Poisson demand with mean 5, holding cost h = 1 per unit and day,
penalty p per lost unit, lead time L in days. Symbols as in ``orpr.stationary``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from orpr.errors import InputError
from orpr.stationary import (
    Demand,
    Truncation,
    base_stock_cost,
    base_stock_rule,
    daily_costs,
    leftover_matrix,
    next_states,
    parse_demand,
    policy_cost,
    relative_value_iteration,
    simulate_policy,
    solve_lost_sales,
    stage_cost,
    stock_for_demand,
    table_rule,
    truncation_delta,
)

POISSON_5 = Demand("poisson", 5.0)

# Zipkin (2008), "Old and new methods for lost-sales inventory systems", optimal average cost per
# period for Poisson demand with mean 5 and h = 1, keyed by (L, p); printed to two decimals.
ZIPKIN_2008_OPTIMAL = {
    (1, 4): 4.04, (1, 9): 5.44, (1, 19): 6.68, (1, 39): 7.84,
    (2, 4): 4.40, (2, 9): 6.09, (2, 19): 7.66, (2, 39): 9.11,
    (3, 4): 4.60, (3, 9): 6.53, (3, 19): 8.36, (3, 39): 10.04,
    (4, 4): 4.73, (4, 9): 6.84, (4, 19): 8.89, (4, 39): 10.79,
}  # fmt: skip


def scipy_law(law: Demand):
    """The same daily demand as a scipy distribution on ``{0, 1, …}``."""
    if law.kind == "poisson":
        return stats.poisson(law.mean)
    return stats.geom(1 / (1 + law.mean), loc=-1)


def newsvendor_cost(law: Demand, level: int, penalty: float, holding: float) -> float:
    """``G(y) = h E(y − D)^+ + p E(D − y)^+`` by a direct sum over a long support."""
    k = np.arange(2_000)
    f = scipy_law(law).pmf(k)
    return float(f @ (holding * np.maximum(level - k, 0) + penalty * np.maximum(k - level, 0)))


def test_demand_text_is_read_and_anything_else_is_rejected_naming_the_flag():
    assert parse_demand("poisson:5") == Demand("poisson", 5.0)
    assert parse_demand(" geometric : 2.5 ") == Demand("geometric", 2.5)
    for text in ["poisson", "poisson:-1", "poisson:0", "normal:5", "geometric:5:1", ""]:
        with pytest.raises(InputError) as caught:
            parse_demand(text)
        assert caught.value == InputError(
            "--demand", "expected poisson:MEAN or geometric:MEAN", value=text
        )


@pytest.mark.parametrize(
    ("lead_time", "penalty", "holding", "flag"),
    [(-1, 4, 1, "--lead-time"), (1.5, 4, 1, "--lead-time"), (1, 0, 1, "--penalty"),
     (1, 4, -1, "--holding"), (4, 9, 1, "--lead-time")],
)  # fmt: skip
def test_impossible_or_oversized_instances_are_input_errors(lead_time, penalty, holding, flag):
    demand = "geometric:5" if lead_time == 4 else "poisson:5"  # geometric, L = 4: too large
    with pytest.raises(InputError) as caught:
        solve_lost_sales(demand, lead_time, penalty, holding)
    assert caught.value.file == flag


@settings(max_examples=30, deadline=None)
@given(
    kind=st.sampled_from(["poisson", "geometric"]),
    mean=st.floats(0.2, 8.0),
    n=st.integers(1, 30),
    penalty=st.floats(0.5, 40.0),
)
def test_leftover_law_and_stage_cost_equal_direct_sums_over_demand(kind, mean, n, penalty):
    law = Demand(kind, mean)
    k = np.arange(3_000)
    f = scipy_law(law).pmf(k)
    for stock in range(n):
        left = np.maximum(stock - k, 0)
        expected = np.bincount(left, weights=f, minlength=n)[:n]
        np.testing.assert_allclose(leftover_matrix(law, n)[stock], expected, atol=1e-12)
        cost = f @ (1.0 * left + penalty * np.maximum(k - stock, 0))
        assert stage_cost(law, n, penalty=penalty, holding=1.0)[stock] == pytest.approx(cost)


@pytest.mark.parametrize(
    ("law", "penalty"),
    [(POISSON_5, 1.0), (POISSON_5, 4.0), (POISSON_5, 9.0), (POISSON_5, 39.0),
     (Demand("geometric", 3.0), 9.0)],
)  # fmt: skip
def test_with_zero_lead_time_the_optimum_is_the_newsvendor_at_the_critical_fractile(law, penalty):
    # With L = 0 each day is a newsvendor that starts from yesterday's leftover. Every day costs
    # at least min_y G(y) = G(y*), y* = min{y : F(y) ≥ p / (p + h)}; ordering up to y* is always
    # possible once x ≤ y*, and the leftover (y* − D)^+ never exceeds y*. So g = G(y*).
    level = int(scipy_law(law).ppf(penalty / (penalty + 1.0)))
    result = relative_value_iteration(law, 0, penalty=penalty, holding=1.0)
    assert result.gain == pytest.approx(newsvendor_cost(law, level, penalty, 1.0), abs=1e-6)
    assert result.policy[0] == level
    assert all(result.policy[x] == max(level - x, 0) for x in range(level + 1))


def brute_force_optimum(law, lead_time, penalty, truncation) -> float:
    """Least gain from the empty state over every stationary deterministic policy.

    Transitions come straight from the timeline; each policy's limiting matrix is the limit of
    powers of its lazy chain ``(I + P) / 2``, which covers multichain policies too.
    """
    top, q_max = truncation
    pipe = range(q_max + 1) if lead_time == 2 else [None]
    states = [(x, q) for x in range(top + 1) for q in pipe if x + (q or 0) <= top]
    index = {state: i for i, state in enumerate(states)}
    k = np.arange(200)
    f = scipy_law(law).pmf(k)
    rows, costs = {}, {}
    for (x, due), order in itertools.product(states, range(q_max + 1)):
        if x + (due or 0) + order > top:
            continue
        row = np.zeros(len(states))
        for d, prob in enumerate(f):
            left = max(x - d, 0)
            row[index[(left + due, order) if lead_time == 2 else (left + order, None)]] += prob
        rows[(x, due), order] = row
        costs[(x, due), order] = f @ (np.maximum(x - k, 0) + penalty * np.maximum(k - x, 0))
    menus = [[q for q in range(q_max + 1) if (s, q) in rows] for s in states]
    policies = list(itertools.product(*menus))
    chains = np.array([[rows[s, q] for s, q in zip(states, pol, strict=True)] for pol in policies])
    cost = np.array([[costs[s, q] for s, q in zip(states, pol, strict=True)] for pol in policies])
    limit = (np.eye(len(states)) + chains) / 2
    for _ in range(60):  # (I + P)/2 to the power 2^60, rows renormalised against drift
        limit = limit @ limit
        limit /= limit.sum(axis=2, keepdims=True)
    empty = index[(0, 0) if lead_time == 2 else (0, None)]
    return float(np.min(np.einsum("pj,pj->p", limit[:, empty], cost)))


@pytest.mark.parametrize(
    ("law", "lead_time", "penalty", "truncation"),
    [(Demand("poisson", 1.5), 1, 9.0, Truncation(5, 3)),
     (Demand("poisson", 1.0), 2, 4.0, Truncation(4, 2)),
     (Demand("geometric", 0.8), 2, 19.0, Truncation(4, 2))],
)  # fmt: skip
def test_value_iteration_equals_brute_force_over_all_stationary_policies(
    law, lead_time, penalty, truncation
):
    result = relative_value_iteration(
        law, lead_time, penalty=penalty, holding=1.0, truncation=truncation, tolerance=1e-9
    )
    assert result.gain == pytest.approx(brute_force_optimum(law, lead_time, penalty, truncation))


@pytest.mark.parametrize(("lead_time", "penalty"), sorted(ZIPKIN_2008_OPTIMAL))
def test_optimal_costs_reproduce_zipkin_2008_table_for_poisson_mean_5(lead_time, penalty):
    result = relative_value_iteration(POISSON_5, lead_time, penalty=penalty, holding=1.0)
    assert result.bound < 1e-6
    assert abs(result.gain - ZIPKIN_2008_OPTIMAL[lead_time, penalty]) <= 0.005 + 1e-6


@pytest.mark.parametrize(("lead_time", "penalty"), [(1, 19), (2, 4), (3, 39)])
def test_best_base_stock_costs_no_less_than_capped_base_stock_no_less_than_the_optimum(
    lead_time, penalty
):
    result = solve_lost_sales("poisson:5", lead_time, penalty, 1)
    slack = result.bound + abs(result.truncation_delta)
    assert 0 <= result.optimal_cost <= result.capped_base_stock_cost + slack
    assert result.capped_base_stock_cost <= result.base_stock_cost
    level, cap = result.capped_base_stock_levels
    exact = base_stock_cost(level, cap, POISSON_5, lead_time, float(penalty), 1.0)
    assert exact == pytest.approx(result.capped_base_stock_cost)


def test_the_best_base_stock_level_beats_its_neighbours():
    result = solve_lost_sales("poisson:5", 2, 9, 1)
    level = result.base_stock_level
    for other in (level - 1, level + 1):
        assert base_stock_cost(other, None, POISSON_5, 2, 9.0, 1.0) > result.base_stock_cost


def test_the_optimal_policy_evaluated_exactly_costs_the_value_iteration_gain():
    result = relative_value_iteration(POISSON_5, 3, penalty=9.0, holding=1.0)
    exact = policy_cost(
        table_rule(result.policy), POISSON_5, 3, penalty=9.0, holding=1.0,
        start=np.zeros(3, dtype=np.int64), max_position=result.truncation.max_position,
    )  # fmt: skip
    assert exact == pytest.approx(result.gain, abs=result.bound)


def test_enlarging_the_truncation_does_not_change_the_optimum():
    result = relative_value_iteration(POISSON_5, 3, penalty=19.0, holding=1.0)
    delta = truncation_delta(result, POISSON_5, 3, penalty=19.0, holding=1.0)
    assert abs(delta) < 2e-6


def test_a_truncation_that_binds_is_caught_by_the_enlargement_check():
    tight = relative_value_iteration(
        POISSON_5, 1, penalty=39.0, holding=1.0, truncation=Truncation(10, 4)
    )
    assert truncation_delta(tight, POISSON_5, 1, penalty=39.0, holding=1.0) > 0.1


@pytest.mark.parametrize(
    ("law", "lead_time", "penalty"),
    [(POISSON_5, 0, 9.0), (POISSON_5, 2, 9.0), (POISSON_5, 3, 19.0),
     (Demand("geometric", 5.0), 1, 4.0)],
)  # fmt: skip
def test_simulating_the_optimal_policy_reproduces_its_cost_within_three_standard_errors(
    law, lead_time, penalty
):
    result = relative_value_iteration(law, lead_time, penalty=penalty, holding=1.0)
    estimate = simulate_policy(
        result.policy, law, lead_time, penalty=penalty, holding=1.0, days=200_000, seed=7
    )
    assert abs(estimate.mean - result.gain) < 3 * estimate.stderr


def base_stock_table(lead_time: int, level: int, cap: int | None) -> np.ndarray:
    """The (capped) base-stock rule written out as a policy table over ``IP ≤ S``."""
    largest = level if cap is None else min(cap, level)
    shape = (level + 1,) + (largest + 1,) * max(lead_time - 1, 0)
    states = np.indices(shape).reshape(len(shape), -1).T
    orders = np.where(states.sum(axis=1) <= level, base_stock_rule(level, cap)(states), -1)
    return orders.reshape(shape)


@pytest.mark.parametrize(("lead_time", "level", "cap"), [(1, 16, None), (3, 26, 6)])
def test_simulating_a_base_stock_policy_reproduces_its_exact_stationary_cost(lead_time, level, cap):
    table = base_stock_table(lead_time, level, cap)
    estimate = simulate_policy(
        table, POISSON_5, lead_time, penalty=19.0, holding=1.0, days=200_000, seed=3
    )
    exact = base_stock_cost(level, cap, POISSON_5, lead_time, 19.0, 1.0)
    assert abs(estimate.mean - exact) < 3 * estimate.stderr


@settings(max_examples=40, deadline=None)
@given(
    lead_time=st.integers(0, 3),
    level=st.integers(0, 12),
    cap=st.one_of(st.none(), st.integers(1, 6)),
    demands=st.lists(st.integers(0, 15), min_size=1, max_size=40),
)
def test_simulated_days_follow_the_oracle_transition_model_exactly(lead_time, level, cap, demands):
    table = base_stock_table(lead_time, level, cap)
    simulated = daily_costs(table, lead_time, np.array(demands), penalty=9.0, holding=1.0)
    state = np.zeros((1, max(lead_time, 1)), dtype=np.int64)
    for day, demand in enumerate(demands):
        order = table_rule(table)(state)
        stock = stock_for_demand(state, order, lead_time)
        left = np.maximum(stock - demand, 0)
        assert simulated[day] == left[0] + 9.0 * max(demand - stock[0], 0)
        state = next_states(state, order, left, lead_time)


def test_result_prints_exactly_the_cli_json_keys_and_looks_orders_up():
    result = solve_lost_sales("poisson:5", 2, 4, 1)
    assert set(result.to_json()) == {
        "optimal_cost", "base_stock_cost", "base_stock_level", "capped_base_stock_cost",
        "capped_base_stock_levels", "bound", "iterations", "truncation_delta",
    }  # fmt: skip
    assert result.order(0, 0) == result.policy[0, 0] > 0
