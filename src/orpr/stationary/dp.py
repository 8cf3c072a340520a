"""Optimal average cost by relative value iteration on a truncated state space.

Symbols as in :mod:`orpr.stationary`. The Bellman operator of the average-cost problem is

    (TV)(x, q_1, …, q_{L-1}) = c(x) + min_q Σ_k P[x, k] V(k + q_1, q_2, …, q_{L-1}, q)   (L ≥ 1)
    (TV)(x) = min_q { c(x + q) + Σ_k P[x + q, k] V(k) }                                  (L = 0)

with ``P`` the leftover matrix and ``c`` the stage cost of :mod:`orpr.stationary.law`. Relative
value iteration repeats ``V ← TV − (TV)(0)``; the span bounds
``min_s (TV − V)(s) ≤ g ≤ max_s (TV − V)(s)`` bracket the optimal gain ``g`` (Puterman 1994,
§8.5), and the iteration stops when the bracket is narrower than a tolerance.

Truncation restricts actions, not states: orders ``q ≤ Q̄`` and inventory position after
ordering ``x + Σ q_i + q ≤ S̄``. The set of states with ``IP ≤ S̄`` and pipeline entries ``≤ Q̄``
is then closed, nothing is cut or folded, and the truncated optimum is an upper bound on the
true one that is non-increasing in ``(S̄, Q̄)``; :func:`truncation_delta` measures what is left.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from orpr.stationary.law import Demand, leftover_matrix, stage_cost


class Truncation(NamedTuple):
    """The finite action set.

    Attributes:
        max_position: ``S̄``, cap on the inventory position after ordering, units.
        max_order: ``Q̄``, cap on one order, units.
    """

    max_position: int
    max_order: int

    def enlarged(self) -> Truncation:
        """A truncation about a quarter larger in both caps (at least 2 units more)."""
        return Truncation(
            self.max_position + max(2, math.ceil(self.max_position / 4)),
            self.max_order + max(2, math.ceil(self.max_order / 4)),
        )


class ValueIteration(NamedTuple):
    """Outcome of :func:`relative_value_iteration`.

    Attributes:
        gain: ``g``, the optimal long-run average cost per day (midpoint of the bracket).
        bound: width of the bracket ``max(TV − V) − min(TV − V)`` that holds ``g``.
        iterations: number of applications of ``T``.
        truncation: the caps ``(S̄, Q̄)`` used.
        policy: optimal order per state, shape ``(S̄ + 1,)`` for ``L ≤ 1`` and
            ``(S̄ + 1,) + (Q̄ + 1,) * (L − 1)`` for ``L ≥ 2``, indexed ``[x, q_1, …, q_{L-1}]``;
            ``-1`` marks states outside the truncation (``IP > S̄``).
        relative_values: ``V`` with ``V(0) = 0``, same shape as ``policy``.
    """

    gain: float
    bound: float
    iterations: int
    truncation: Truncation
    policy: np.ndarray
    relative_values: np.ndarray


def default_truncation(
    demand: Demand, lead_time: int, *, penalty: float, holding: float
) -> Truncation:
    """Caps from demand quantiles, generous enough that :func:`truncation_delta` is negligible.

    ``S̄`` is the ``p / (p + h)`` quantile of demand over ``L + 1`` days (the optimal base-stock
    level had sales been backordered, above which lost-sales policies have no reason to raise the
    position) plus two standard deviations of one day's demand; ``Q̄`` is the ``1 − 10⁻³``
    quantile of one day. This is a guess that is checked, not assumed: for Poisson demand with
    mean 5 and ``L ≤ 4`` no optimal order reaches either cap.
    """
    level = demand.over_days(lead_time + 1).ppf(penalty / (penalty + holding))
    one_day = demand.over_days(1)
    max_position = int(level + math.ceil(2 * one_day.std()))
    return Truncation(max_position, min(int(one_day.ppf(1 - 1e-3)), max_position))


class _Bellman:
    """The operator ``T`` for one instance, with its arrays computed once."""

    def __init__(
        self, demand: Demand, lead_time: int, penalty: float, holding: float, caps: Truncation
    ) -> None:
        top, q_max = caps
        self.lead_time, self.top, self.q_max = lead_time, top, q_max
        self.leftover = leftover_matrix(demand, top + 1)
        self.cost = stage_cost(demand, top + 1, penalty=penalty, holding=holding)
        pipeline = (q_max + 1,) * max(lead_time - 1, 0)
        self.shape = (top + 1, *pipeline)
        grids = np.meshgrid(*(np.arange(n) for n in (*self.shape, q_max + 1)), indexing="ij")
        after = sum(grids)  # IP after ordering, shape (*self.shape, Q̄ + 1)
        self.valid = after[..., 0] <= top
        # c(x), or +inf where the order would lift IP above S̄; shape (x, (q_1…q_{L-1}), q)
        offset = np.where(after > top, np.inf, self.cost.reshape(-1, *[1] * (after.ndim - 1)))
        self.offset = offset.reshape(top + 1, -1, q_max + 1)

    def by_order(self, values: np.ndarray) -> np.ndarray:
        """``[state, q] ↦`` cost of ordering ``q`` then following ``V``; ``inf`` if infeasible.

        Returns:
            ``(S̄ + 1, ∏ pipeline, Q̄ + 1)`` for ``L ≥ 1``; ``(S̄ + 1, Q̄ + 1)`` for ``L = 0``.
        """
        top, q_max = self.top, self.q_max
        if self.lead_time == 0:
            stocked = np.full(top + 1 + q_max, np.inf)  # c(y) + Σ_k P[y, k] V(k), y = x + q
            stocked[: top + 1] = self.cost + self.leftover @ values
            return np.lib.stride_tricks.sliding_window_view(stocked, q_max + 1)
        flat = values.reshape(top + 1, -1)  # (x, (q_2 … q_{L-1}, q) as one axis)
        padded = np.zeros((top + 1 + q_max, flat.shape[1]))
        padded[: top + 1] = flat
        windows = np.lib.stride_tricks.sliding_window_view(padded, top + 1, axis=0)
        shifted = windows.transpose(2, 0, 1).reshape(top + 1, -1)  # [k, (q_1, ·)] = V(k + q_1, ·)
        ahead = (self.leftover @ shifted).reshape(self.offset.shape)  # Σ_k P[x, k] V(next)
        ahead += self.offset
        return ahead

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """``TV``, shape ``self.shape``; ``inf`` off ``self.valid``."""
        return self.by_order(values).min(axis=-1).reshape(self.shape)

    def greedy(self, values: np.ndarray) -> np.ndarray:
        """An order attaining the minimum in ``TV`` (the smallest one), shape ``self.shape``."""
        return self.by_order(values).argmin(axis=-1).reshape(self.shape)


def relative_value_iteration(
    demand: Demand,
    lead_time: int,
    *,
    penalty: float,
    holding: float,
    truncation: Truncation | None = None,
    tolerance: float = 1e-6,
    max_iterations: int = 100_000,
) -> ValueIteration:
    """Optimal long-run average cost ``g`` and policy of the lost-sales model.

    Args:
        demand: daily demand ``D``.
        lead_time: ``L ≥ 0``, days.
        penalty: ``p``, cost per lost unit.
        holding: ``h``, cost per unit of end-of-day on-hand.
        truncation: caps ``(S̄, Q̄)``; :func:`default_truncation` if omitted.
        tolerance: stop once the bracket on ``g`` is narrower than this (cost per day).
        max_iterations: stop here even if the bracket is wider (see ``bound``).

    Returns:
        The gain, its bracket width, the iteration count and the optimal policy.
    """
    truncation = truncation or default_truncation(
        demand, lead_time, penalty=penalty, holding=holding
    )
    bellman = _Bellman(demand, lead_time, penalty, holding, truncation)
    values = np.zeros(bellman.shape)
    iteration, low, high = 0, -np.inf, np.inf
    while high - low >= tolerance and iteration < max_iterations:
        iteration += 1
        updated = bellman(values)
        change = (updated - values)[bellman.valid]
        low, high = float(change.min()), float(change.max())
        values = np.where(bellman.valid, updated - updated.flat[0], 0.0)
    policy = np.where(bellman.valid, bellman.greedy(values), -1)
    return ValueIteration((low + high) / 2, high - low, iteration, truncation, policy, values)


def truncation_delta(
    solution: ValueIteration, demand: Demand, lead_time: int, *, penalty: float, holding: float
) -> float:
    """``g(S̄, Q̄) − g(enlarged)``: what re-solving with :meth:`Truncation.enlarged` would save.

    Non-negative up to the two brackets; a value within ``solution.bound`` means the truncation
    does not bind.
    """
    wider = relative_value_iteration(
        demand,
        lead_time,
        penalty=penalty,
        holding=holding,
        truncation=solution.truncation.enlarged(),
        tolerance=max(solution.bound, 1e-12),
    )
    return solution.gain - wider.gain
