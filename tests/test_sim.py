"""The simulator kernels against the plain-Python specification, invariants and hand cases."""

from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orpr.sim.kernel import (
    SimParams,
    SimState,
    Trajectory,
    initial_state,
    pipeline_length,
    simulate,
    simulate_totals,
)
from orpr.sim.reference import simulate_reference

FAST = settings(max_examples=60, deadline=None)


class Case(NamedTuple):
    """One simulator input: ``simulate(demand, target, state, params, day0, order_lead_time)``."""

    demand: np.ndarray
    target: np.ndarray
    state: SimState
    params: SimParams
    day0: int
    order_lead_time: np.ndarray | None

    def run(self) -> tuple[Trajectory, SimState]:
        return simulate(*self)


@st.composite
def cases(draw, stochastic=None, integral=False) -> Case:
    """Small random cases: L 0..6, R 1..7 with offsets, batch ≤ 20, ≤ 4 units × 25 days.

    ``stochastic``: per-order lead times (True), fixed ones (False) or either (None).
    ``integral``: integer-valued quantities, so every sum is exact.
    """
    n_batch = draw(st.integers(1, 3) | st.integers(8, 20))  # past one SIMD vector
    n_unit = draw(st.integers(1, 4))
    n_day = draw(st.integers(1, 25))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()) if stochastic is None else stochastic:
        order_lead_time = rng.integers(0, 7, (n_unit, n_day))
    else:
        order_lead_time = None
    lead_time = rng.integers(0, 7, n_unit)
    period = rng.integers(1, 8, n_unit)
    params = SimParams(lead_time, period, rng.integers(0, 7, n_unit) % period)
    n_slot = pipeline_length(lead_time, order_lead_time) + int(rng.integers(0, 3))

    def quantity(scale, shape):  # a mix of zeros, whole numbers and fractions
        values = rng.integers(0, scale + 1, shape).astype(np.float64)
        if not integral:
            values = np.where(rng.random(shape) < 0.5, values, rng.uniform(0, scale, shape))
        return np.where(rng.random(shape) < 0.25, 0.0, values)

    pipeline = quantity(10, (n_batch, n_unit, n_slot))
    state = SimState(quantity(30, (n_batch, n_unit)), pipeline)
    demand = quantity(12, (n_unit, n_day))
    target = quantity(50, (n_batch, n_unit, n_day))
    return Case(demand, target, state, params, draw(st.integers(0, 400)), order_lead_time)


def member(case: Case, b: int, u: int) -> tuple[Trajectory, SimState]:
    """The reference run of batch member ``b`` of unit ``u``."""
    state = SimState(case.state.on_hand[b, u], case.state.pipeline[b, u])
    params = SimParams(*(int(a[u]) for a in case.params))
    lead = None if case.order_lead_time is None else case.order_lead_time[u]
    return simulate_reference(case.demand[u], case.target[b, u], state, params, case.day0, lead)


def take(result: tuple[Trajectory, SimState], b: int, u: int) -> list[np.ndarray]:
    """Every array of a kernel result, restricted to member ``b`` of unit ``u``."""
    flows, end = result
    return [a[b, u] for a in flows] + [end.on_hand[b, u], end.pipeline[b, u]]


@settings(max_examples=200, deadline=None)
@given(cases())
def test_kernel_equals_plain_python_reference(case):
    result = case.run()
    for b in range(case.target.shape[0]):
        for u in range(case.demand.shape[0]):
            expected = member(case, b, u)
            got = take(result, b, u)
            for name, x, y in zip(
                [*Trajectory._fields, "end on_hand", "end pipeline"],
                got,
                [*expected[0], *expected[1]],
                strict=True,
            ):
                assert np.array_equal(x, y), (name, b, u)


@FAST
@given(cases())
def test_units_are_conserved_over_the_window(case):
    flows, end = case.run()
    start = case.state.on_hand + case.state.pipeline.sum(-1) + flows.orders.sum(-1)
    finish = end.on_hand + end.pipeline.sum(-1) + flows.sales.sum(-1)
    np.testing.assert_allclose(start, finish, rtol=1e-12, atol=1e-9)


@FAST
@given(cases())
def test_sales_are_bounded_by_demand_and_available_stock_and_nothing_is_negative(case):
    flows, end = case.run()
    opening = np.concatenate([case.state.on_hand[..., None], flows.on_hand[..., :-1]], axis=-1)
    assert np.all(flows.sales <= case.demand)
    assert np.all(flows.sales <= opening + flows.arrivals)
    assert np.array_equal(flows.lost, case.demand - flows.sales)
    for a in (*flows, *end):
        assert np.all(a >= 0)


@FAST
@given(cases())
def test_a_batch_member_does_not_depend_on_the_others(case):
    together = case.run()
    for b in range(case.target.shape[0]):
        alone = case._replace(
            target=case.target[b : b + 1],
            state=SimState(case.state.on_hand[b : b + 1], case.state.pipeline[b : b + 1]),
        ).run()
        for x, y in zip([*together[0], *together[1]], [*alone[0], *alone[1]], strict=True):
            assert np.array_equal(x[b], y[0])


@FAST
@given(cases(), st.data())
def test_splitting_a_window_with_the_returned_state_equals_one_run(case, data):
    n_day = case.demand.shape[1]
    split = data.draw(st.integers(0, n_day))
    lead = case.order_lead_time
    first, middle = case._replace(
        demand=case.demand[:, :split],
        target=case.target[..., :split],
        order_lead_time=None if lead is None else lead[:, :split],
    ).run()
    second, end = case._replace(
        demand=case.demand[:, split:],
        target=case.target[..., split:],
        state=middle,
        day0=case.day0 + split,
        order_lead_time=None if lead is None else lead[:, split:],
    ).run()
    whole, whole_end = case.run()
    for x, y, z in zip(first, second, whole, strict=True):
        assert np.array_equal(np.concatenate([x, y], axis=-1), z)
    assert np.array_equal(end.on_hand, whole_end.on_hand)
    assert np.array_equal(end.pipeline, whole_end.pipeline)


@settings(max_examples=20, deadline=None)
@given(cases())
def test_runs_are_deterministic(case):
    one, two = case.run(), case.run()
    for x, y in zip([*one[0], *one[1]], [*two[0], *two[1]], strict=True):
        assert np.array_equal(x, y)


@FAST
@given(cases())
def test_no_order_is_placed_on_a_day_without_review(case):
    flows, _ = case.run()
    lead_time, period, offset = case.params
    days = case.day0 + np.arange(case.demand.shape[1])
    review = (days[None, :] - offset[:, None]) % period[:, None] == 0
    assert np.all(flows.orders[:, ~review] == 0)


@FAST
@given(cases(stochastic=True, integral=True))
def test_orders_never_cross_with_stochastic_lead_times(case):
    """Each order arrives whole, in order, at max(its drawn arrival day, the previous one's)."""
    case = case._replace(state=SimState(case.state.on_hand, np.zeros_like(case.state.pipeline)))
    flows, _ = case.run()
    for b in range(case.target.shape[0]):
        for u in range(case.demand.shape[0]):
            placed = np.flatnonzero(flows.orders[b, u])
            drawn = placed + case.order_lead_time[u, placed]
            expected = np.maximum.accumulate(drawn) if placed.size else drawn
            arrived = np.zeros_like(flows.arrivals[b, u])
            np.add.at(
                arrived,
                expected[expected < arrived.size],
                flows.orders[b, u, placed][expected < arrived.size],
            )
            assert np.array_equal(arrived, flows.arrivals[b, u])


@FAST
@given(cases(), st.data(), st.booleans())
def test_totals_equal_the_sums_of_the_trajectories_over_the_windows(case, data, constant):
    n_unit, n_day = case.demand.shape
    pairs = st.tuples(st.integers(0, n_day), st.integers(0, n_day))
    drawn = data.draw(st.lists(pairs, min_size=n_unit, max_size=n_unit))
    bounds = np.sort(np.array(drawn, dtype=np.int64).reshape(n_unit, 2), axis=1)
    start, stop = bounds[:, 0], bounds[:, 1]
    target = case.target[..., 0] if constant else case.target
    if constant:
        case = case._replace(target=np.broadcast_to(target[..., None], case.target.shape))
    flows, _ = case.run()
    stock, lost = simulate_totals(
        case.demand, target, case.state, case.params, start, stop, case.day0, case.order_lead_time
    )
    days = np.arange(n_day)
    window = (days >= start[:, None]) & (days < stop[:, None])
    np.testing.assert_allclose(stock, (flows.on_hand * window).sum(-1), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(lost, (flows.lost * window).sum(-1), rtol=1e-12, atol=1e-9)


def run_one_unit(demand, target, on_hand, lead_time, period, offset=0, order_lead_time=None):
    """``simulate`` for one unit and one batch member with a constant target."""
    demand = np.array([demand], dtype=np.float64)
    n_slot = pipeline_length(np.array([lead_time]), order_lead_time)
    state = initial_state(np.array([on_hand], dtype=np.float64), 1, n_slot)
    params = SimParams(np.array([lead_time]), np.array([period]), np.array([offset]))
    if order_lead_time is not None:
        order_lead_time = np.array([order_lead_time])
    target = np.full((1, *demand.shape), float(target))
    flows, end = simulate(demand, target, state, params, order_lead_time=order_lead_time)
    return {name: list(a[0, 0]) for name, a in flows._asdict().items()}, end


def test_hand_case_with_a_one_day_lead_time_and_two_day_review():
    """S = 10, L = 1, R = 2, I = 4, d = 3, 5, 4, 6.

    Day 0 reviews: IP 4, order 6 (due day 1); sells 3, ends at 1. Day 1: 6 arrive, 7 on hand,
    sells 5, ends at 2. Day 2 reviews: IP 2, order 8 (due day 3); sells 2 of 4, 2 lost, ends at
    0. Day 3: 8 arrive, sells 6, ends at 2.
    """
    flows, end = run_one_unit([3, 5, 4, 6], target=10, on_hand=4, lead_time=1, period=2)
    assert flows == {
        "orders": [6, 0, 8, 0],
        "arrivals": [0, 6, 0, 8],
        "sales": [3, 5, 2, 6],
        "lost": [0, 0, 2, 0],
        "on_hand": [1, 2, 0, 2],
    }
    assert end.on_hand[0, 0] == 2 and not end.pipeline.any()


def test_hand_case_with_zero_lead_time_orders_arriving_before_demand():
    """S = 5, L = 0, R = 1, I = 0, d = 3, 7, 0: each order lands before the day's demand."""
    flows, _ = run_one_unit([3, 7, 0], target=5, on_hand=0, lead_time=0, period=1)
    assert flows == {
        "orders": [5, 3, 5],
        "arrivals": [5, 3, 5],
        "sales": [3, 5, 0],
        "lost": [0, 2, 0],
        "on_hand": [2, 0, 5],
    }


def test_hand_case_where_a_quick_order_waits_behind_a_slow_one():
    """S = 10, R = 1, I = 2, d = 2, 3, 0, 0, drawn lead times 3, 1, 0, 0.

    Day 0: IP 2, order 8 due day 3. Day 1: IP 8, order 2 drawn for day 2, but it may not
    overtake the first: it comes on day 3 too. 3 units are lost on day 1.
    """
    flows, _ = run_one_unit(
        [2, 3, 0, 0], 10, 2, lead_time=1, period=1, order_lead_time=[3, 1, 0, 0]
    )
    assert flows == {
        "orders": [8, 2, 0, 0],
        "arrivals": [0, 0, 0, 10],
        "sales": [2, 0, 0, 0],
        "lost": [0, 3, 0, 0],
        "on_hand": [0, 0, 0, 10],
    }


def test_pipeline_length_is_the_longest_lead_time_plus_one():
    assert pipeline_length(np.array([0, 3, 2])) == 4
    assert pipeline_length(np.array([1]), np.array([[0, 6]])) == 7
    assert pipeline_length(np.zeros(0, dtype=np.int64)) == 1


def test_initial_state_copies_on_hand_over_the_batch_with_nothing_on_order():
    state = initial_state(np.array([1.0, 2.0]), batch=3, pipeline_len=4)
    assert state.on_hand.shape == (3, 2) and np.all(state.on_hand == [1.0, 2.0])
    assert state.pipeline.shape == (3, 2, 4) and not state.pipeline.any()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c._replace(demand=c.demand[:1]), "shape"),
        (lambda c: c._replace(target=c.target[:, :, :2]), "shape"),
        (lambda c: c._replace(demand=c.demand.astype(np.float32)), "float64"),
        (lambda c: c._replace(state=SimState(c.state.on_hand, c.state.pipeline[..., :1])), "slots"),
        (lambda c: c._replace(params=c.params._replace(lead_time=np.array([1, -1]))), ">= 0"),
        (lambda c: c._replace(params=c.params._replace(review_offset=np.array([0, 3]))), "offset"),
        (lambda c: c._replace(order_lead_time=np.ones((2, 2), dtype=np.int64)), "order_lead_time"),
    ],
)
def test_programming_mistakes_raise_a_clear_value_error(change, message):
    params = SimParams(np.array([1, 2]), np.array([1, 3]), np.array([0, 2]))
    state = initial_state(np.zeros(2), 2, 3)
    case = Case(np.ones((2, 5)), np.ones((2, 2, 5)), state, params, 0, None)
    case.run()
    with pytest.raises(ValueError, match=message):
        change(case).run()
