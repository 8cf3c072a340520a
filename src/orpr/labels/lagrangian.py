"""Lagrangian relaxation of the group knapsack (``orpr.labels.knapsack``): prices, choices, bisection.

Symbols: unit i (row), candidate v (column j, ascending v), ``stock_iv`` (value-days),
``loss_iv`` (value), budget ``B`` (value), λ the price of one value of lost demand (days).

For a price λ each unit picks ``v_i(λ) = argmin_v stock_iv + λ·loss_iv`` (ties to the lower
column). Raising λ never raises the group's total loss, so ``lagrangian_mckp`` bisects λ
geometrically on a fixed lattice ``λ_k = λ_lo · (λ_hi/λ_lo)^(k / 2^s)``, ``k = 0 … 2^s``, for
the smallest lattice price whose choice meets the budget. A fixed lattice makes the answer a
function of the data alone, so a smaller budget never gets a lossier choice.

A choice that minimises ``Σ stock + λ·Σ loss`` is optimal for its own total loss (Everett,
1963). The last step of λ switches whole units at once and may leave budget unused; units
tied at λ* — common, since a unit of stock held k whole days before it covers a lost sale gives
the integer slope k — are moved back one at a time while the budget holds (``_complete``),
and any mix of tied choices is still a Lagrangian choice.

Speed: each bisection step re-chooses only the units whose choice can still move between the
bracket's ends, over the columns it can still take (``_span``), so a 10,000-unit group costs
a few full passes, not one per step.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np


def lam_lattice(k: int, steps: int, lam_range: tuple[float, float]) -> float:
    """The k-th point of the geometric λ lattice, ``λ_lo · (λ_hi/λ_lo)^(k / 2^steps)``, days."""
    lo, hi = lam_range
    return float(lo * (hi / lo) ** (k / 2.0**steps))


def lagrangian_choice(stock: np.ndarray, loss: np.ndarray, lam: float) -> np.ndarray:
    """``argmin_v stock_iv + λ·loss_iv`` per unit, ties to the lower column.

    Args:
        stock, loss: float64 ``(n, m)``, value-days and value.
        lam: ``λ ≥ 0``, days.

    Returns:
        Column per unit, int64 ``(n,)``.
    """
    return _at(_float_rows(stock), _float_rows(loss), float(lam)).choice


def monotone_rows(stock: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """Rows whose stock never falls and loss never rises along the grid, bool ``(n,)``.

    On such a row the Lagrangian choice never moves to a lower column as λ rises (the gain
    of a higher column over a lower one, ``Δstock + λ·Δloss``, falls with λ), so between two
    prices it lies between their choices. The simulator's rows are monotone: a higher
    order-up-to level holds at least as much stock and loses no more, day by day.
    """
    out = np.empty(stock.shape[0], dtype=np.bool_)
    _monotone(_float_rows(stock), _float_rows(loss), out)
    return out


@numba.njit(cache=True)
def _monotone(stock, loss, out):
    n, m = stock.shape
    for i in range(n):
        ok = True
        for j in range(1, m):
            if stock[i, j] < stock[i, j - 1] or loss[i, j] > loss[i, j - 1]:
                ok = False
                break
        out[i] = ok


def _float_rows(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


class LagrangianPoint(NamedTuple):
    """A choice at a price: ``choice (n,)``, ``lam`` (days), and each row's chosen stock
    ``held (n,)`` (value-days) and loss ``lost (n,)`` (value)."""

    choice: np.ndarray
    lam: float
    held: np.ndarray
    lost: np.ndarray

    @property
    def stock(self) -> float:
        return float(self.held.sum())

    @property
    def loss(self) -> float:
        return float(self.lost.sum())


def point_of(stock, loss, choice, lam) -> LagrangianPoint:
    """A given choice ``(n,)`` at price ``lam`` as a ``LagrangianPoint``."""
    rows = np.arange(stock.shape[0])
    return LagrangianPoint(choice, lam, stock[rows, choice], loss[rows, choice])


def _at(stock, loss, lam, skip=None) -> LagrangianPoint:
    """The Lagrangian choice of every row at ``lam``; rows in ``skip`` (bool) take column 0."""
    n, m = stock.shape
    base = point_of(stock, loss, np.zeros(n, np.int64), lam)
    rows = np.arange(n) if skip is None else np.flatnonzero(~skip)
    return _redo(
        stock, loss, lam, base, rows, np.zeros(rows.size, np.int64), np.full(rows.size, m - 1)
    )


def _redo(stock, loss, lam, base: LagrangianPoint, rows, first, last) -> LagrangianPoint:
    """``base`` with ``rows`` re-chosen at ``lam`` over their columns ``first … last``."""
    out = LagrangianPoint(base.choice.copy(), lam, base.held.copy(), base.lost.copy())
    _choose(stock, loss, lam, rows, first, last, out.choice, out.held, out.lost)
    return out


def _span(low: LagrangianPoint, high: LagrangianPoint, monotone: np.ndarray, m: int):
    """The rows whose choice can still move between two prices, and the columns it can
    take: ``(rows, first, last)``.

    A row whose choice is the same at both prices keeps it (ties included) at every price
    between, since ``stock_ij + λ·loss_ij`` is linear and the row minimum is concave in λ.
    A monotone row's choice lies between its two choices; others may take any column.
    """
    rows = np.flatnonzero(low.choice != high.choice)
    lo, hi, mono = low.choice[rows], high.choice[rows], monotone[rows]
    first = np.where(mono, np.minimum(lo, hi), 0)
    last = np.where(mono, np.maximum(lo, hi), m - 1)
    return rows, first, last


def lagrangian_mckp(
    stock: np.ndarray,
    loss: np.ndarray,
    budget: float,
    steps: int = 32,
    lam_range: tuple[float, float] = (1e-4, 1e8),
) -> LagrangianPoint | None:
    """The choice at the smallest feasible lattice λ, completed; None if λ_hi fails.

    Args:
        stock, loss: ``(n, m)``, value-days and value.
        budget: ``B``, value.
        steps: bisection steps ``s``.
        lam_range: ``(λ_lo, λ_hi)``, days.

    Total stock never falls as λ rises, so this is also the least feasible stock found.
    """
    stock, loss = _float_rows(stock), _float_rows(loss)
    monotone, m = monotone_rows(stock, loss), stock.shape[1]
    low = _at(stock, loss, 0.0, skip=monotone)  # a monotone row's cheapest column is its first
    if low.loss <= budget:
        return low
    high = _at(stock, loss, lam_lattice(2**steps, steps, lam_range))
    if high.loss > budget:
        return None
    lo, hi = -1, 2**steps  # lattice point hi meets the budget, lo does not (−1: λ = 0)
    span = _span(low, high, monotone, m)
    while hi - lo > 1 and span[0].size:
        mid = (lo + hi) // 2
        found = _redo(stock, loss, lam_lattice(mid, steps, lam_range), high, *span)
        if found.loss <= budget:
            hi, high = mid, found
        else:
            lo, low = mid, found
        span = _span(low, high, monotone, m)
    # every lattice λ in (lo, hi] gives high's choice: λ* is the first of them
    high = high._replace(lam=lam_lattice(lo + 1, steps, lam_range))
    return _complete(stock, loss, budget, low, high)


def _complete(stock, loss, budget, low: LagrangianPoint, high: LagrangianPoint) -> LagrangianPoint:
    """Move units still split between the final bracket's ends back to their λ_lo choice,
    best stock saving per unit of added loss first, while the budget holds.

    Those units are (numerically) tied at λ*: their ``stock + λ*·loss`` is the same at both
    choices, so any mix is still a Lagrangian solution — optimal for its own loss (Everett)
    — and uses budget the all-or-nothing step at λ* would leave idle. Units often tie
    exactly, because a unit of stock held k whole days before it covers a lost sale gives
    the integer slope k.
    """
    units = np.flatnonzero(low.choice != high.choice)
    if units.size < 2:
        return high
    rows_hi, rows_lo = (units, high.choice[units]), (units, low.choice[units])
    saved = stock[rows_hi] - stock[rows_lo]
    added = loss[rows_lo] - loss[rows_hi]
    order = np.lexsort((units, -saved / np.maximum(added, 1e-300)))
    fits = np.cumsum(added[order]) <= budget - high.loss
    choice = high.choice.copy()
    moved = units[order[fits]]  # a prefix: the running sum only grows
    choice[moved] = low.choice[moved]
    done = point_of(stock, loss, choice, high.lam)
    return done if done.loss <= budget else high  # (rounding of the running sum)


@numba.njit(cache=True)
def _choose(stock, loss, lam, rows, first, last, choice, held, lost):
    """For each ``rows[r]`` = i, choose the first argmin of ``stock + lam·loss`` over the
    columns ``first[r] … last[r]``; record it in ``choice[i]`` and its values in
    ``held[i]``, ``lost[i]``.

    Serial on purpose: a group is cheap, and a parallel region here costs more in thread
    wake-ups than it saves (and stalls when other processes hold the cores).
    """
    for r in range(rows.size):
        i = rows[r]
        k = first[r]
        best = stock[i, k] + lam * loss[i, k]
        for j in range(first[r] + 1, last[r] + 1):
            x = stock[i, j] + lam * loss[i, j]
            if x < best:
                best = x
                k = j
        choice[i] = k
        held[i] = stock[i, k]
        lost[i] = loss[i, k]
