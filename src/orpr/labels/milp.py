"""Exact optima of the group knapsack, to check the Lagrangian solver against (DESIGN §5).

Symbols as in ``orpr.labels.knapsack``: ``stock_iv`` (value-days), ``loss_iv`` (value), budget ``B``
(value), one candidate v per unit i. ``brute_force_mckp`` enumerates every choice (tests, tiny
groups); ``milp_mckp`` solves the binary program with HiGHS (``scipy.optimize.milp``);
``compare_with_milp`` reports the relative gap ``(Lagrangian − exact) / exact``, which is
≥ 0 up to the MILP's tolerance: the Lagrangian choice is feasible, the exact one optimal.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array, vstack

from orpr.labels.knapsack import solve_mckp, totals


class ExactSolution(NamedTuple):
    """The MILP optimum of a group: ``choice (n,)``, total ``stock``, and HiGHS's ``status``
    (0 = optimal; see ``scipy.optimize.milp``)."""

    choice: np.ndarray
    stock: float
    status: int


def brute_force_mckp(stock: np.ndarray, loss: np.ndarray, budget: float) -> ExactSolution:
    """The exact optimum by enumerating all ``m^n`` choices (tests only: tiny groups).

    Among equal stocks the first enumerated choice (lexicographically smallest) wins;
    ``status`` is 2 (infeasible) when no choice meets the budget.
    """
    n, m = stock.shape
    best, best_stock = None, np.inf
    for combo in itertools.product(range(m), repeat=n):
        choice = np.array(combo, dtype=np.int64)
        s, lo = totals(stock, loss, choice)
        if lo <= budget and s < best_stock:
            best, best_stock = choice, s
    if best is None:
        return ExactSolution(np.full(n, m - 1, dtype=np.int64), np.inf, 2)
    return ExactSolution(best, best_stock, 0)


def milp_mckp(
    stock: np.ndarray, loss: np.ndarray, budget: float, time_limit: float = 20.0
) -> ExactSolution:
    """The exact optimum with HiGHS (``scipy.optimize.milp``) on binaries ``x_iv``.

    ``min Σ stock_iv x_iv`` s.t. ``Σ_v x_iv = 1`` per unit and ``Σ loss_iv x_iv ≤ B``.
    """
    n, m = stock.shape
    one_each = csr_array(
        (np.ones(n * m), (np.repeat(np.arange(n), m), np.arange(n * m))), shape=(n, n * m)
    )
    rows = vstack([one_each, csr_array(loss.reshape(1, -1))])
    lower = np.concatenate([np.ones(n), [-np.inf]])
    upper = np.concatenate([np.ones(n), [budget]])
    with _quiet_stdout():
        result = milp(
            stock.reshape(-1),
            constraints=LinearConstraint(rows, lower, upper),
            integrality=np.ones(n * m),
            bounds=Bounds(0, 1),
            options={"time_limit": time_limit, "mip_rel_gap": 1e-9},
        )
    if result.x is None:
        return ExactSolution(np.full(n, m - 1, dtype=np.int64), np.inf, int(result.status))
    choice = np.argmax(result.x.reshape(n, m), axis=1)
    return ExactSolution(choice, totals(stock, loss, choice)[0], int(result.status))


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null: HiGHS prints some MIP diagnostics straight to
    stdout even with ``disp`` off, which would corrupt ``--json`` output."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def relative_gap(heuristic: float, exact: float) -> float:
    """``(heuristic − exact) / exact``; 0 when both are 0, ``inf`` if only ``exact`` is."""
    if exact == 0.0:
        return 0.0 if heuristic == 0.0 else float("inf")
    return (heuristic - exact) / exact


class GapCheck(NamedTuple):
    """Lagrangian against the exact optimum on one group.

    Attributes:
        units: units in the group.
        lagrangian: Σ stock of ``solve_mckp``'s choice, value-days.
        exact: Σ stock of the MILP optimum, value-days (``inf`` if HiGHS found none).
        gap: ``(lagrangian − exact) / exact`` (NaN if there is no exact optimum).
        status: HiGHS status (0 = optimal, 1 = time or iteration limit, 2 = infeasible).
    """

    units: int
    lagrangian: float
    exact: float
    gap: float
    status: int


def compare_with_milp(
    stock: np.ndarray,
    loss: np.ndarray,
    budget: float,
    steps: int = 32,
    lam_range: tuple[float, float] = (1e-4, 1e8),
    time_limit: float = 20.0,
) -> GapCheck:
    """Solve one group both ways and report the relative gap."""
    heuristic = solve_mckp(stock, loss, budget, steps, lam_range)
    exact = milp_mckp(stock, loss, budget, time_limit)
    gap = relative_gap(heuristic.stock, exact.stock) if np.isfinite(exact.stock) else np.nan
    return GapCheck(stock.shape[0], heuristic.stock, exact.stock, gap, exact.status)
