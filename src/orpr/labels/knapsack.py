"""The multiple-choice knapsack of a decision group (DESIGN §5).

Symbols:
    i          a unit of the group; ``n`` units.
    v          a candidate inventory-days decision; column ``j`` of the grid, ``m`` candidates.
    stock_iv   Σ c·I over unit i's window if it holds v, value-days (money × days).
    loss_iv    Σ c·lost over that window, value (money).
    sale_i     Σ c·d over that window, value.
    α          service target; the budget is ``B = (1 − α) Σ_i sale_i``, value.
    λ          Lagrange multiplier: value-days of stock worth one value of lost demand, days.

Problem (one candidate per unit)::

    min Σ_i stock_{i,v(i)}   s.t.   Σ_i loss_{i,v(i)} ≤ B

``solve_mckp`` takes, in order:
1. the Lagrangian choice at the smallest feasible λ (``orpr.labels.lagrangian``: ``v_i(λ) = argmin_v
   stock_iv + λ·loss_iv``, ties to the smaller v, geometric bisection on λ); ``λ*`` is kept;
2. a greedy use of the budget it leaves (``fill_slack``): the knapsack is discrete, so the
   Lagrangian can only pick points on each unit's lower convex hull of (loss, stock), and its
   last step of λ may switch a large unit at once. Repeatedly, the move to a cheaper candidate
   with the most stock saved per unit of loss added that still fits is made;
3. the best *common* v meeting the budget, if it holds strictly less stock (m column sums),
   so the knapsack is never worse than a uniform rule.

The result can still sit above the exact optimum (the duality gap of a discrete problem);
``orpr.labels.milp`` measures it against HiGHS on sampled groups. If no choice meets the budget,
the largest v is returned, flagged (``met = False``).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from orpr.labels.lagrangian import lagrangian_mckp


class MckpSolution(NamedTuple):
    """A knapsack solution for one group.

    Attributes:
        choice: chosen column per unit, int64 ``(n,)``.
        lam: ``λ*``, the smallest lattice price whose Lagrangian choice meets the budget,
            days (0 if the cheapest choice does; ``λ_hi`` if none on the lattice does).
        stock: Σ stock of the choice, value-days.
        loss: Σ loss of the choice, value.
        budget: ``B``, value.
        met: the budget holds (False only when no choice meets it; the largest v is then
            returned).
        source: which step produced the choice: ``lagrangian``, ``greedy`` (step 2 moved
            units) or ``uniform`` (step 3).
    """

    choice: np.ndarray
    lam: float
    stock: float
    loss: float
    budget: float
    met: bool
    source: str


def loss_budget(sale: np.ndarray, alpha: float) -> float:
    """``B = (1 − α) Σ sale``, value; ``sale`` is ``(n,)`` value."""
    return (1.0 - alpha) * float(np.sum(sale))


def totals(stock: np.ndarray, loss: np.ndarray, choice: np.ndarray) -> tuple[float, float]:
    """Σ stock and Σ loss of a choice ``(n,)``."""
    rows = np.arange(stock.shape[0])
    return float(stock[rows, choice].sum()), float(loss[rows, choice].sum())


def best_uniform(stock: np.ndarray, loss: np.ndarray, budget: float) -> int | None:
    """The common column with the least Σ stock among those meeting the budget, or None."""
    ok = np.flatnonzero(loss.sum(axis=0) <= budget)
    if ok.size == 0:
        return None
    return int(ok[np.argmin(stock.sum(axis=0)[ok])])


def least_loss(stock: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """Per unit the column of least loss, ties to less stock, then to the lower column:
    the Lagrangian choice as λ → ∞ (the largest v on the simulator's monotone rows), ``(n,)``."""
    out = np.empty(stock.shape[0], dtype=np.int64)
    _least_loss(stock, loss, out)
    return out


def solve_mckp(
    stock: np.ndarray,
    loss: np.ndarray,
    budget: float,
    steps: int = 32,
    lam_range: tuple[float, float] = (1e-4, 1e8),
) -> MckpSolution:
    """Solve a group's knapsack (see the module docstring).

    Args:
        stock: ``stock_iv``, value-days ``(n, m)``, columns in ascending v.
        loss: ``loss_iv``, value ``(n, m)``.
        budget: ``B``, value.
        steps: λ bisection steps ``s`` (the lattice has ``2^s`` intervals).
        lam_range: ``(λ_lo, λ_hi)``, days.
    """
    stock = np.ascontiguousarray(stock, dtype=np.float64)
    loss = np.ascontiguousarray(loss, dtype=np.float64)
    floor = least_loss(stock, loss)
    if totals(stock, loss, floor)[1] > budget:  # no choice meets the budget
        largest = np.full(stock.shape[0], stock.shape[1] - 1, dtype=np.int64)
        return MckpSolution(
            largest, lam_range[1], *totals(stock, loss, largest), budget, False, "lagrangian"
        )
    found = lagrangian_mckp(stock, loss, budget, steps, lam_range)
    choice, lam = (floor, lam_range[1]) if found is None else (found.choice, found.lam)
    filled = fill_slack(stock, loss, choice, budget)
    source = "lagrangian" if np.array_equal(filled, choice) else "greedy"
    held, lost = totals(stock, loss, filled)
    column = best_uniform(stock, loss, budget)
    if column is not None:
        uniform = np.full(stock.shape[0], column, dtype=np.int64)
        u_held, u_lost = totals(stock, loss, uniform)
        if u_held < held:
            return MckpSolution(uniform, lam, u_held, u_lost, budget, True, "uniform")
    return MckpSolution(filled, lam, held, lost, budget, True, source)


def fill_slack(
    stock: np.ndarray, loss: np.ndarray, choice: np.ndarray, budget: float
) -> np.ndarray:
    """Spend the budget a feasible choice leaves on moves to cheaper candidates, greedily.

    Each round makes the move (one unit to one column) with the most stock saved per unit
    of loss added among those that still fit; moves that save stock without adding loss go
    first. Stops when no move fits.

    Args:
        stock, loss: float64 ``(n, m)``, value-days and value.
        choice: a choice meeting the budget, ``(n,)``.
        budget: ``B``, value.

    Returns:
        A new choice, ``(n,)``, meeting the budget with no more stock.
    """
    out = np.array(choice, dtype=np.int64)
    slack = budget - totals(stock, loss, out)[1]
    if slack <= 0.0:
        return out
    _fill(stock, loss, out, slack)
    return out if totals(stock, loss, out)[1] <= budget else np.array(choice, dtype=np.int64)


@numba.njit(cache=True)
def _best_move(stock, loss, choice, i, slack, col, ratio):
    """Unit i's best fitting move: ``col[i]`` (−1 if none) and its saving/added-loss ratio."""
    c = choice[i]
    col[i], ratio[i] = -1, -1.0
    for j in range(stock.shape[1]):
        saved = stock[i, c] - stock[i, j]
        added = loss[i, j] - loss[i, c]
        if saved <= 0.0 or added > slack:
            continue
        r = np.inf if added <= 0.0 else saved / added
        if r > ratio[i]:
            col[i], ratio[i] = j, r


@numba.njit(cache=True)
def _fill(stock, loss, choice, slack):
    """The greedy rounds of ``fill_slack``, in place on ``choice``."""
    n = stock.shape[0]
    col, ratio = np.empty(n, np.int64), np.empty(n)
    for i in range(n):
        _best_move(stock, loss, choice, i, slack, col, ratio)
    while True:
        i = np.argmax(ratio)
        if col[i] < 0:
            return
        slack -= loss[i, col[i]] - loss[i, choice[i]]
        choice[i] = col[i]
        for k in range(n):  # the slack shrank: moves that no longer fit are replaced
            if k == i or (col[k] >= 0 and loss[k, col[k]] - loss[k, choice[k]] > slack):
                _best_move(stock, loss, choice, k, slack, col, ratio)


@numba.njit(cache=True)
def _least_loss(stock, loss, out):
    n, m = stock.shape
    for i in range(n):
        k = 0
        for j in range(1, m):
            if loss[i, j] < loss[i, k] or (loss[i, j] == loss[i, k] and stock[i, j] < stock[i, k]):
                k = j
        out[i] = k
