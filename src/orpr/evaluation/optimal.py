"""The ``optimal`` policy of the stationary benchmark: the exact optimum run in the backtest.

On each day it orders ``q*(x, q_1, …, q_{L-1})`` read from the oracle's table (on-hand after
arrivals and the pipeline, rounded to whole units), i.e. inventory days ``(IP + q*) / d̂``.
It knows the true demand law, so it is marked an oracle and is never recommended.

Symbols: ``x`` on-hand after arrivals, ``q_i`` pipeline, ``q*`` the optimal order, ``IP``
inventory position, ``L`` lead time, ``d̂`` reference rate (units/day).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from orpr.baselines.contract import DecisionContext
from orpr.baselines.registry import FitInputs, PolicySpec, register
from orpr.config import Config
from orpr.errors import InputError
from orpr.stationary.solve import OracleResult, solve_lost_sales

OPTIMAL = "optimal"
"""Name of the exact optimal policy in the stationary benchmark's tables."""


@functools.lru_cache(maxsize=8)
def solve_instance(demand: str, lead_time: int, penalty: float, holding: float) -> OracleResult:
    """The oracle's solution of one instance (memoised: the policy and the summary share it)."""
    return solve_lost_sales(demand, lead_time, penalty, holding)


def instance_oracle(cfg: Config) -> OracleResult:
    """The oracle's solution of ``cfg.stationary``; an InputError unless the data is that instance."""
    if cfg.data.format != "stationary":
        raise InputError(
            "--policies", "the exact optimum needs data.format = stationary", value=OPTIMAL
        )
    st = cfg.stationary
    return solve_instance(st.demand, st.lead_time, st.penalty, st.holding)


def oracle_states(on_hand: np.ndarray, pipeline: np.ndarray, lead_time: int) -> np.ndarray:
    """The oracle's states ``(x, q_1, …, q_{L-1})`` of ``n`` units, int64 ``(n, max(L, 1))``:
    on-hand after arrivals and the orders due on days ``t + 1 … t + L − 1``, rounded to whole
    units (the backtest's first days start from a fractional steady position)."""
    parts = [on_hand[:, None], pipeline[:, : max(lead_time - 1, 0)]]
    return np.rint(np.concatenate(parts, axis=1)).astype(np.int64)


def table_orders(policy: np.ndarray, states: np.ndarray) -> np.ndarray:
    """Orders read from the oracle's table ``[x, q_1, …]``, int64 ``(n,)``; 0 for a state off
    the table or outside its truncation (a position above ``S̄``: the optimum orders nothing)."""
    inside = np.all((states >= 0) & (states < np.array(policy.shape)), axis=1)
    orders = np.zeros(len(states), dtype=np.int64)
    if inside.any():
        orders[inside] = policy[tuple(states[inside].T)]
    return np.maximum(orders, 0)


@dataclass(frozen=True)
class OptimalPolicy:
    """The exact optimal policy of the instance, as inventory days ``(IP + q*) / d̂``."""

    policy: np.ndarray
    lead_time: int
    name: str = OPTIMAL
    oracle: bool = True

    def decide(self, ctx: DecisionContext) -> np.ndarray:
        states = oracle_states(ctx.on_hand, ctx.pipeline, self.lead_time)
        position = ctx.on_hand + ctx.pipeline.sum(axis=1)
        target = np.rint(position) + table_orders(self.policy, states)
        return target / ctx.d_hat


def optimal_policy(cfg: Config) -> OptimalPolicy:
    """The ``optimal`` policy of ``cfg``'s stationary instance."""
    return OptimalPolicy(instance_oracle(cfg).policy, cfg.stationary.lead_time)


def fit_optimal(inputs: FitInputs) -> OptimalPolicy:
    """The registry's ``optimal``: nothing to fit, the oracle solves the configured instance."""
    return optimal_policy(inputs.cfg)


register(PolicySpec(OPTIMAL, fit_optimal, oracle=True))
