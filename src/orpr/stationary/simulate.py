"""Simulate a stationary policy day by day and estimate its average cost by batch means.

Symbols as in :mod:`orpr.stationary`. The loop follows the simulator's event order literally, with
orders kept by due day rather than as the oracle's shifted pipeline vector, so agreement with the
oracle's cost is a check of the transition model and not a restatement of it.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from orpr.stationary.law import Demand


class SimulationEstimate(NamedTuple):
    """Average cost per day over the kept days, with its batch-means standard error.

    Attributes:
        mean: average of ``h I_t + p lost_t`` over the kept days (cost per day).
        stderr: standard deviation of the batch averages over ``√batches``.
        days: number of days kept (after the warm-up).
    """

    mean: float
    stderr: float
    days: int


@numba.njit(cache=False)
def _daily_costs(policy, shape, lead_time, demands, holding, penalty):
    due = np.zeros(lead_time + 1, np.int64)  # due[t mod (L+1)]: units arriving on day t
    costs = np.empty(len(demands))
    on_hand = 0
    for t in range(len(demands)):
        slot = t % (lead_time + 1)
        on_hand += due[slot]  # 1. orders due today arrive
        due[slot] = 0
        index = on_hand
        inside = on_hand < shape[0]
        for i in range(1, lead_time):
            coming = due[(t + i) % (lead_time + 1)]
            inside = inside and coming < shape[i]
            index = index * shape[i] + coming
        order = policy[index] if inside else -1  # 2. order, due on day t + L
        if order < 0:
            raise ValueError("state outside the policy table")
        if lead_time == 0:
            on_hand += order
        else:
            due[(t + lead_time) % (lead_time + 1)] += order
        sales = min(on_hand, demands[t])  # 3. sales; the rest is lost
        on_hand -= sales
        costs[t] = holding * on_hand + penalty * (demands[t] - sales)  # 4. costs
    return costs


def daily_costs(
    policy: np.ndarray, lead_time: int, demands: np.ndarray, *, penalty: float, holding: float
) -> np.ndarray:
    """Cost ``h I_t + p lost_t`` of each day when ``policy`` meets ``demands`` from an empty system.

    Args:
        policy: order per state, indexed ``[x, q_1, …, q_{L-1}]`` as in
            :class:`orpr.stationary.dp.ValueIteration` (``-1`` outside the table).
        lead_time: ``L``, days.
        demands: ``(days,)`` integer demands.
        penalty: ``p``, cost per lost unit.
        holding: ``h``, cost per unit of end-of-day on-hand.

    Returns:
        ``(days,)`` costs.

    Raises:
        ValueError: if the system leaves the table.
    """
    table = np.ascontiguousarray(policy, dtype=np.int64)
    shape = np.array(table.shape, dtype=np.int64)
    demands = np.asarray(demands, dtype=np.int64)
    return _daily_costs(table.ravel(), shape, lead_time, demands, float(holding), float(penalty))


def simulate_policy(
    policy: np.ndarray,
    demand: Demand,
    lead_time: int,
    *,
    penalty: float,
    holding: float,
    days: int,
    seed: int,
    warmup: int = 1_000,
    batches: int = 50,
) -> SimulationEstimate:
    """Run ``policy`` for ``warmup + days`` days from an empty system (see :func:`daily_costs`).

    Args:
        policy: order per state, indexed ``[x, q_1, …, q_{L-1}]``.
        demand: daily demand, drawn from ``numpy.random.default_rng(seed)``.
        lead_time: ``L``, days.
        penalty: ``p``, cost per lost unit.
        holding: ``h``, cost per unit of end-of-day on-hand.
        days: days kept for the estimate; a multiple of ``batches`` is used.
        seed: seed of the demand stream.
        warmup: days dropped at the start.
        batches: number of batches for the standard error.

    Returns:
        The average cost and its standard error.
    """
    demands = demand.sample(np.random.default_rng(seed), warmup + days)
    costs = daily_costs(policy, lead_time, demands, penalty=penalty, holding=holding)
    kept = days - days % batches
    means = costs[warmup : warmup + kept].reshape(batches, -1).mean(axis=1)
    return SimulationEstimate(
        float(means.mean()), float(means.std(ddof=1) / np.sqrt(batches)), kept
    )
