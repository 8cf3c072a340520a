"""Exact long-run average cost of a fixed policy from the stationary distribution of its chain.

Symbols as in :mod:`orpr.stationary`. A stationary policy (an order for every state) makes the state
a Markov chain. Starting from one state, the states it reaches are enumerated breadth-first (a
state is the integer code ``Σ_i s_i B^i`` with ``B = 1 + max IP``), the transition matrix ``P``
is built as a ``scipy.sparse`` CSR matrix (one entry per leftover ``k = (a − D)^+``, so exact in
the demand tail), and the stationary distribution ``π P = π`` is found by power iteration on the
lazy chain ``(I + P) / 2``, which has the same ``π`` and is aperiodic whatever the policy. The
cost is ``g = Σ_s π(s) c(a(s))``.

Base-stock orders ``q = (S − IP)^+``; capped base-stock (Xin 2021) orders
``q = min((S − IP)^+, r)``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable

import numpy as np
from scipy import sparse

from orpr.stationary.law import Demand, leftover_matrix, next_states, stage_cost, stock_for_demand

OrderRule = Callable[[np.ndarray], np.ndarray]
"""Maps states ``(n, max(L, 1))`` to orders ``(n,)``."""


def base_stock_rule(level: int, cap: int | None = None) -> OrderRule:
    """Order up to ``S`` on inventory position, at most ``r`` per day if ``cap`` is given."""

    def rule(states: np.ndarray) -> np.ndarray:
        orders = np.maximum(level - states.sum(axis=1), 0)
        return orders if cap is None else np.minimum(orders, cap)

    return rule


def table_rule(policy: np.ndarray) -> OrderRule:
    """Look orders up in a policy table indexed ``[x, q_1, …, q_{L-1}]``."""

    def rule(states: np.ndarray) -> np.ndarray:
        return policy[tuple(states.T)]

    return rule


def _branches(
    states: np.ndarray, orders: np.ndarray, leftover: np.ndarray, lead_time: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row per (state, leftover ``k``): source row, next state, probability."""
    stock = stock_for_demand(states, orders, lead_time)
    counts = stock + 1
    source = np.repeat(np.arange(len(states)), counts)
    left = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    following = next_states(states[source], orders[source], left, lead_time)
    return source, following, leftover[stock[source], left]


def reachable_chain(
    rule: OrderRule, demand: Demand, lead_time: int, start: np.ndarray, max_position: int
) -> tuple[np.ndarray, sparse.csr_matrix]:
    """States reachable from ``start`` under ``rule`` and the transition matrix among them.

    Args:
        rule: the policy.
        demand: daily demand.
        lead_time: ``L``.
        start: one state, shape ``(max(L, 1),)``.
        max_position: a bound on ``IP`` after ordering along every path (units).

    Returns:
        States ``(n, max(L, 1))`` sorted by code, and ``P`` of shape ``(n, n)``.
    """
    radix = max_position + 1
    powers = radix ** np.arange(len(start), dtype=np.int64)
    leftover = leftover_matrix(demand, radix)
    known = np.array([start @ powers])
    frontier, pieces = start[None, :].astype(np.int64), []
    while len(frontier):
        source, following, prob = _branches(frontier, rule(frontier), leftover, lead_time)
        if following.max() >= radix:
            raise ValueError(f"a path exceeds max_position={max_position}")
        codes = following @ powers
        pieces.append(((frontier @ powers)[source], codes, prob))
        new = np.setdiff1d(codes, known)
        known = np.union1d(known, new)
        frontier = (new[:, None] // powers) % radix
    rows, cols, probs = (np.concatenate(part) for part in zip(*pieces, strict=True))
    n = len(known)
    matrix = sparse.csr_matrix(
        (probs, (np.searchsorted(known, rows), np.searchsorted(known, cols))), shape=(n, n)
    )
    return (known[:, None] // powers) % radix, matrix


def stationary_distribution(
    matrix: sparse.csr_matrix, tolerance: float = 1e-13, max_iterations: int = 100_000
) -> np.ndarray:
    """``π`` with ``π P = π``, ``Σ π = 1``, for a chain with one recurrent class.

    Power iteration ``π ← π (I + P) / 2`` from the uniform distribution, until
    ``‖π_{n+1} − π_n‖₁ < tolerance``.

    Raises:
        RuntimeError: if that takes more than ``max_iterations`` steps.
    """
    transposed = matrix.T.tocsr()
    dist = np.full(matrix.shape[0], 1.0 / matrix.shape[0])
    for _ in range(max_iterations):
        updated = 0.5 * (transposed @ dist + dist)
        updated /= updated.sum()
        if np.abs(updated - dist).sum() < tolerance:
            return updated
        dist = updated
    raise RuntimeError(f"power iteration did not converge in {max_iterations} steps")


def policy_cost(
    rule: OrderRule,
    demand: Demand,
    lead_time: int,
    *,
    penalty: float,
    holding: float,
    start: np.ndarray,
    max_position: int,
) -> float:
    """Exact long-run average cost per day of ``rule`` (see :func:`reachable_chain`)."""
    states, matrix = reachable_chain(rule, demand, lead_time, start, max_position)
    stock = stock_for_demand(states, rule(states), lead_time)
    cost = stage_cost(demand, max_position + 1, penalty=penalty, holding=holding)[stock]
    return float(stationary_distribution(matrix) @ cost)


@functools.lru_cache(maxsize=4096)
def base_stock_cost(
    level: int, cap: int | None, demand: Demand, lead_time: int, penalty: float, holding: float
) -> float:
    """Exact average cost of base-stock level ``S`` with optional cap ``r`` (memoised)."""
    start = np.zeros(max(lead_time, 1), dtype=np.int64)
    start[0] = level  # IP = S, nothing on order: recurrent, reached by zero-demand days
    return policy_cost(
        base_stock_rule(level, cap),
        demand,
        lead_time,
        penalty=penalty,
        holding=holding,
        start=start,
        max_position=level,
    )


def _interior_minimum(
    cost: Callable[[tuple[int, ...]], float], low: list[int], high: list[int], floor: list[int]
) -> tuple[tuple[int, ...], float]:
    """Least ``cost`` over the integer box ``[low, high]``, widened while the best is on an edge.

    An edge moves by two steps unless it is at its ``floor``; ties go to the smaller point.
    """
    costs: dict[tuple[int, ...], float] = {}
    while True:
        for point in itertools.product(*(range(a, b + 1) for a, b in zip(low, high, strict=True))):
            if point not in costs:
                costs[point] = cost(point)
        best = min(costs, key=lambda point: (costs[point], point))
        widened = False
        for axis, value in enumerate(best):
            if value == high[axis]:
                high[axis], widened = high[axis] + 2, True
            if value == low[axis] > floor[axis]:
                low[axis], widened = max(floor[axis], low[axis] - 2), True
        if not widened:
            return best, costs[best]


def best_base_stock(
    demand: Demand, lead_time: int, *, penalty: float, holding: float, levels: range
) -> tuple[int, float]:
    """The base-stock level ``S`` of least exact cost, and that cost.

    Searches ``levels``, widened while the best lies on its edge (costs are evaluated once).
    """
    (level,), cost = _interior_minimum(
        lambda point: base_stock_cost(point[0], None, demand, lead_time, penalty, holding),
        [levels.start],
        [levels.stop - 1],
        [0],
    )
    return level, cost


def best_capped_base_stock(
    demand: Demand, lead_time: int, *, penalty: float, holding: float, levels: range, caps: range
) -> tuple[tuple[int, int], float]:
    """The capped base-stock pair ``(S, r)`` of least exact cost (Xin 2021), and that cost.

    Searches the grid ``levels × caps``, widened while the best lies on its edge. Base-stock is
    the case ``r ≥ S``, where the cap never binds.
    """
    (level, cap), cost = _interior_minimum(
        lambda point: base_stock_cost(point[0], point[1], demand, lead_time, penalty, holding),
        [levels.start, caps.start],
        [levels.stop - 1, caps.stop - 1],
        [0, 1],
    )
    return (level, cap), cost
