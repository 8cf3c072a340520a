"""Solve one instance: the optimum, the best base-stock and the best capped base-stock policy.

Symbols as in :mod:`orpr.stationary`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from orpr.errors import InputError
from orpr.stationary.chain import best_base_stock, best_capped_base_stock
from orpr.stationary.dp import (
    Truncation,
    default_truncation,
    relative_value_iteration,
    truncation_delta,
)
from orpr.stationary.law import Demand, parse_demand

MAX_STATE_ACTIONS = 15_000_000
"""Largest ``(S̄ + 1)(Q̄ + 1)^L`` of the enlarged truncation solved (120 MB per array)."""


class OracleResult(NamedTuple):
    """What :func:`solve_lost_sales` finds; costs are long-run averages per day.

    Attributes:
        optimal_cost: ``g``, the optimal cost (midpoint of the value-iteration bracket).
        base_stock_cost: exact cost of the best base-stock policy.
        base_stock_level: its level ``S``, units of inventory position.
        capped_base_stock_cost: exact cost of the best capped base-stock policy (Xin 2021).
        capped_base_stock_levels: its ``(S, r)``; ``r = S`` when no cap beats base-stock.
        bound: width of the bracket on ``g`` when the iteration stopped.
        iterations: value-iteration steps.
        truncation: the caps ``(S̄, Q̄)`` on inventory position and order.
        truncation_delta: how much an enlarged truncation lowers ``g`` (≈ 0: it does not bind).
        policy: optimal order per state ``[x, q_1, …, q_{L-1}]``; ``-1`` outside the truncation.
    """

    optimal_cost: float
    base_stock_cost: float
    base_stock_level: int
    capped_base_stock_cost: float
    capped_base_stock_levels: tuple[int, int]
    bound: float
    iterations: int
    truncation: Truncation
    truncation_delta: float
    policy: np.ndarray

    def order(self, on_hand: int, *pipeline: int) -> int:
        """Optimal order in state ``(x, q_1, …, q_{L-1})``."""
        return int(self.policy[(on_hand, *pipeline)])

    def to_json(self) -> dict[str, object]:
        """The figures ``orpr oracle lost-sales --json`` prints."""
        return {
            "optimal_cost": self.optimal_cost,
            "base_stock_cost": self.base_stock_cost,
            "base_stock_level": self.base_stock_level,
            "capped_base_stock_cost": self.capped_base_stock_cost,
            "capped_base_stock_levels": list(self.capped_base_stock_levels),
            "bound": self.bound,
            "iterations": self.iterations,
            "truncation_delta": self.truncation_delta,
        }


def _check_instance(lead_time: int, penalty: float, holding: float) -> None:
    """Raise :class:`InputError` naming the flag of a value the model cannot take."""
    if isinstance(lead_time, bool) or not isinstance(lead_time, int | np.integer) or lead_time < 0:
        raise InputError(
            "--lead-time", "expected a whole number of days, 0 or more", value=lead_time
        )
    if not penalty > 0 or not math.isfinite(penalty):
        raise InputError("--penalty", "expected a positive cost per lost unit", value=penalty)
    if not holding > 0 or not math.isfinite(holding):
        raise InputError("--holding", "expected a positive cost per unit and day", value=holding)


def _check_size(truncation: Truncation, lead_time: int) -> None:
    top, q_max = truncation.enlarged()
    size = (top + 1) * (q_max + 1) ** max(lead_time, 1)
    if size > MAX_STATE_ACTIONS:
        raise InputError(
            "--lead-time",
            f"too large for the exact oracle: {size:.1e} state-order pairs, limit "
            f"{MAX_STATE_ACTIONS:.0e}; use a shorter lead time or a smaller mean",
            value=lead_time,
        )


def check_solvable(demand: str, lead_time: int, penalty: float, holding: float) -> None:
    """Raise the InputError ``solve_lost_sales`` would raise on this instance, without solving
    it: bad demand text, lead time or costs, or a state space over the size limit."""
    law = parse_demand(demand)
    _check_instance(lead_time, penalty, holding)
    truncation = default_truncation(law, lead_time, penalty=float(penalty), holding=float(holding))
    _check_size(truncation, lead_time)


def _base_stock_levels(demand: Demand, lead_time: int, penalty: float, holding: float) -> range:
    """Starting levels for base-stock: ``S`` within two sd below the backorder level."""
    over_lead_time = demand.over_days(lead_time + 1)
    level = int(over_lead_time.ppf(penalty / (penalty + holding)))
    spread = math.ceil(2 * over_lead_time.std())
    return range(max(0, level - spread), level + 2)


def solve_lost_sales(
    demand: str, lead_time: int, penalty: float, holding: float, tolerance: float = 1e-6
) -> OracleResult:
    """Optimal, best base-stock and best capped base-stock costs of a lost-sales instance.

    Args:
        demand: ``"poisson:MEAN"`` or ``"geometric:MEAN"`` (units per day).
        lead_time: ``L``, days from order to arrival (0: arrives before that day's demand).
        penalty: ``p``, cost per lost unit.
        holding: ``h``, cost per unit of end-of-day on-hand.
        tolerance: width the bracket on the optimal cost must shrink below.

    Raises:
        InputError: bad demand text, lead time, costs, or an instance too large to solve.
    """
    law = parse_demand(demand)
    _check_instance(lead_time, penalty, holding)
    costs = {"penalty": float(penalty), "holding": float(holding)}
    truncation = default_truncation(law, lead_time, **costs)
    _check_size(truncation, lead_time)
    optimum = relative_value_iteration(
        law, lead_time, truncation=truncation, tolerance=tolerance, **costs
    )
    delta = truncation_delta(optimum, law, lead_time, **costs)
    level, base_cost = best_base_stock(
        law, lead_time, levels=_base_stock_levels(law, lead_time, **costs), **costs
    )
    mean, spread = law.mean, law.over_days(1).std()
    caps = range(max(1, math.floor(mean)), math.ceil(mean + 2 * spread) + 1)
    pair, capped_cost = best_capped_base_stock(
        law, lead_time, levels=range(max(0, level - 1), level + 4), caps=caps, **costs
    )
    if base_cost <= capped_cost:
        pair, capped_cost = (level, level), base_cost
    return OracleResult(
        optimal_cost=optimum.gain,
        base_stock_cost=base_cost,
        base_stock_level=level,
        capped_base_stock_cost=capped_cost,
        capped_base_stock_levels=pair,
        bound=optimum.bound,
        iterations=optimum.iterations,
        truncation=truncation,
        truncation_delta=delta,
        policy=optimum.policy,
    )
