"""Exact oracle for the stationary lost-sales inventory model (Zipkin 2008 conventions).

Periodic review every day (``R = 1``), i.i.d. integer demand, a deterministic lead time, unmet
demand lost, linear holding and penalty costs, long-run average cost per day. The oracle gives
the optimal cost and policy (relative value iteration, :mod:`~orpr.stationary.dp`) and the exact cost
of the best base-stock and capped base-stock policies (stationary distributions,
:mod:`~orpr.stationary.chain`), against which the simulator and learned policies are checked.

Timeline of day ``t`` (the simulator's event order)::

    1. orders due on day t arrive              -> on-hand after arrivals x
    2. order q is placed                       -> arrives at the start of day t + L
                                                  (L = 0: at once, before demand)
    3. demand D_t; stock a = x + q (L = 0) or a = x (L >= 1);
       sales = min(a, D_t), lost_t = (D_t - a)^+
    4. end-of-day on-hand I_t = (a - D_t)^+;  cost h I_t + p lost_t

The state seen at step 2 is ``(x, q_1, …, q_{L-1})``, where ``q_i`` is the quantity arriving at
the start of day ``t + i`` (ordered on day ``t + i − L``); with ``L ≤ 1`` it is ``(x,)``. After
ordering ``q`` the next state is ``(I_t + q_1, q_2, …, q_{L-1}, q)`` (``L ≥ 2``), ``(I_t + q,)``
(``L = 1``) or ``(I_t,)`` (``L = 0``).

Demand is never truncated: a day that starts with stock ``a`` leaves ``(a − D)^+ ∈ {0, …, a}``,
so the whole tail ``Pr{D ≥ a}`` folds into "leftover 0", and the expected shortage is exact
through ``E(D − a)^+ = E(a − D)^+ + m − a``. Only the action set is truncated (``S̄``, ``Q̄``).

Symbols:
    x: on-hand after the day's arrivals, units.
    q_i: pipeline, units due at the start of day ``t + i``, ``i = 1 … L − 1``.
    q: today's order, units.
    L: lead time, days (``L ≥ 0``).
    D, f, m: daily demand, its pmf and mean (Poisson or geometric on ``{0, 1, …}``).
    a: stock that meets today's demand.
    IP: inventory position ``x + Σ q_i`` (before ordering).
    h: holding cost per unit of end-of-day on-hand ``I_t``.
    p: penalty per lost unit.
    c(a): expected cost of a day that starts with stock ``a``: ``h E(a − D)^+ + p E(D − a)^+``.
    P[a, k]: probability that stock ``a`` leaves ``k = (a − D)^+``.
    g: long-run average cost per day (the gain); optimal ``g`` is the oracle's answer.
    V: relative values, ``g + V = T V`` at the fixed point of the Bellman operator ``T``.
    S: base-stock level: order ``(S − IP)^+``.
    r: cap of the capped base-stock policy: order ``min((S − IP)^+, r)`` (Xin 2021).
    S̄, Q̄: truncation: inventory position after ordering ``≤ S̄``, order ``≤ Q̄``.

References:
    Zipkin, P. (2008). Old and new methods for lost-sales inventory systems. Operations
    Research 56(5), 1256–1263.
    Xin, L. (2021). Understanding the performance of capped base-stock policies in lost-sales
    inventory models. Operations Research 69(1), 61–70.
    Puterman, M. L. (1994). Markov Decision Processes, §8.5 (relative value iteration).

The instance as data — every unit an independent replication — is ``orpr.stationary.instance``
(``data.format = "stationary"``). The package imports only ``orpr.errors`` and ``orpr.config``,
so the data layer may read it; the benchmark's ``optimal`` policy and its summary against the
optimum are evaluation's (``orpr.evaluation.optimal``, ``orpr.evaluation.stationary``).
"""

from orpr.stationary.chain import (
    base_stock_cost,
    base_stock_rule,
    best_base_stock,
    best_capped_base_stock,
    policy_cost,
    reachable_chain,
    stationary_distribution,
    table_rule,
)
from orpr.stationary.dp import (
    Truncation,
    ValueIteration,
    default_truncation,
    relative_value_iteration,
    truncation_delta,
)
from orpr.stationary.law import (
    Demand,
    leftover_matrix,
    next_states,
    parse_demand,
    stage_cost,
    stock_for_demand,
)
from orpr.stationary.simulate import SimulationEstimate, daily_costs, simulate_policy
from orpr.stationary.solve import OracleResult, solve_lost_sales

__all__ = [
    "Demand",
    "OracleResult",
    "SimulationEstimate",
    "Truncation",
    "ValueIteration",
    "base_stock_cost",
    "base_stock_rule",
    "best_base_stock",
    "best_capped_base_stock",
    "daily_costs",
    "default_truncation",
    "leftover_matrix",
    "next_states",
    "parse_demand",
    "policy_cost",
    "reachable_chain",
    "relative_value_iteration",
    "simulate_policy",
    "solve_lost_sales",
    "stage_cost",
    "stationary_distribution",
    "stock_for_demand",
    "table_rule",
    "truncation_delta",
]
