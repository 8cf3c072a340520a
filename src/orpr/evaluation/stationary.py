"""The stationary benchmark: the pipeline's policies against the exact lost-sales optimum.

On ``data.format = "stationary"`` (``orpr.stationary.instance``: i.i.d. demand, one lead time
``L``, daily review, whole units, ``c = 1``) every unit is an independent replication of the
instance that ``orpr oracle lost-sales`` solves exactly (DESIGN §10). The held-out backtest is
then a long simulation of each policy, and its daily cost ``h·I_t + p·lost_t`` per unit-day is
the policy's long-run average cost.

Symbols: ``g*`` the optimal average cost per day; ``ḡ_u`` a unit's mean daily cost over the
scored days; ``n`` units. A policy's cost is ``ḡ = mean_u ḡ_u``, its standard error
``sd_u(ḡ_u) / √n`` (units are independent, so whatever the autocorrelation within a unit's
path, the unit means are i.i.d.). The gap is ``100·(ḡ − g*) / g*`` in percent. All policies
replay the same demand paths, so the difference to the simulated ``optimal`` policy is paired
unit by unit: ``paired_gap_pct`` and its standard error (much smaller than either cost's)
measure how far a policy is from the optimum on the very same demand.
The simulated ``optimal`` policy is in ``orpr.evaluation.optimal``.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from orpr.baselines.backtest import BacktestResult
from orpr.config import Config
from orpr.data.panel import Panel
from orpr.evaluation.optimal import OPTIMAL, instance_oracle, solve_instance
from orpr.stationary.chain import base_stock_cost
from orpr.stationary.law import parse_demand


def plug_in_json(cfg: Config, optimum: float) -> dict[str, float]:
    """``plug_in_base_stock`` of the run's instance and window, with its gap to the optimum."""
    st = cfg.stationary
    cost, v = plug_in_base_stock(
        st.demand, st.lead_time, st.penalty, st.holding, cfg.split.history_days
    )
    return {
        "cost": cost,
        "inventory_days": v,
        "history_days": cfg.split.history_days,
        "gap_pct": gap_pct(cost, optimum),
    }


@functools.lru_cache(maxsize=8)
def plug_in_base_stock(
    demand: str, lead_time: int, penalty: float, holding: float, history_days: int
) -> tuple[float, float]:
    """The best days-of-cover rule when the mean is estimated: ``S = rint(v·d̂)`` with ``d̂``
    the mean of ``history_days`` i.i.d. days, the ``v`` of least exact expected cost over the
    law of ``d̂`` (the sum of the days: Poisson or negative binomial), and that cost.

    It is what estimating the rate costs a base-stock policy: the policies of the benchmark
    all act on ``v·d̂``, the optimum on the demand law itself.
    """
    law = parse_demand(demand)
    total = law.over_days(history_days)
    sums = np.arange(int(total.ppf(1e-9)), int(total.isf(1e-9)) + 1)
    weight = total.pmf(sums)
    weight /= weight.sum()
    d_hat = sums / history_days
    level = solve_instance(demand, lead_time, penalty, holding).base_stock_level
    steps = np.arange(-0.6, 0.6 + 1e-9, 0.01)  # v within 3 units of S*, days
    best = (math.inf, math.nan)
    for v in level / law.mean + steps:
        levels = np.maximum(np.rint(v * d_hat).astype(np.int64), 0)
        cost = sum(
            w * base_stock_cost(int(s), None, law, lead_time, penalty, holding)
            for s, w in zip(*_pooled(levels, weight), strict=True)
        )
        if cost < best[0]:
            best = (float(cost), float(v))
    return best


def _pooled(levels: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct levels and their total weight."""
    distinct, inverse = np.unique(levels, return_inverse=True)
    return distinct, np.bincount(inverse, weights=weight)


def unit_costs(panel: Panel, result: BacktestResult) -> np.ndarray:
    """Each unit's mean daily cost ``h·c·I_t + p·lost_t`` over the scored days ``(unit,)``."""
    u = panel.units
    daily = (
        result.on_hand * (u.holding_rate * u.unit_cost)[:, None]
        + result.lost * u.lost_penalty[:, None]
    )
    return daily.mean(axis=1)


def mean_and_stderr(values: np.ndarray) -> tuple[float, float]:
    """Mean of i.i.d. ``values`` and its standard error (NaN with fewer than two)."""
    n = len(values)
    if n < 2:
        return float(np.mean(values)) if n else float("nan"), float("nan")
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(n))


def gap_pct(cost: float, optimum: float) -> float:
    """``100·(cost − optimum) / optimum``, percent."""
    return 100.0 * (cost - optimum) / optimum


def stationary_summary(panel: Panel, cfg: Config, results: list[BacktestResult]) -> dict[str, Any]:
    """The benchmark's figures: the oracle's costs, and every policy's long-run cost with its
    standard error, its gap to the optimum and (with ``optimal`` simulated) its paired gap."""
    oracle = instance_oracle(cfg)
    optimum = oracle.optimal_cost
    per_unit = {r.policy: unit_costs(panel, r) for r in results}
    reference = per_unit.get(OPTIMAL)
    policies: dict[str, Any] = {}
    for name, costs in per_unit.items():
        mean, stderr = mean_and_stderr(costs)
        row = {
            "cost": mean,
            "stderr": stderr,
            "gap_pct": gap_pct(mean, optimum),
            "gap_stderr_pct": 100.0 * stderr / optimum,
        }
        if reference is not None and name != OPTIMAL:
            diff, diff_se = mean_and_stderr(costs - reference)
            row |= {
                "paired_gap_pct": 100.0 * diff / optimum,
                "paired_gap_stderr_pct": 100.0 * diff_se / optimum,
            }
        policies[name] = row
    st = cfg.stationary
    first = results[0]
    return {
        "instance": {
            "demand": st.demand,
            "lead_time": st.lead_time,
            "penalty": st.penalty,
            "holding": st.holding,
            "units": panel.n_units,
            "scored_days": first.stop - first.start,
        },
        "oracle": {
            **oracle.to_json(),
            "base_stock_gap_pct": gap_pct(oracle.base_stock_cost, optimum),
            "capped_base_stock_gap_pct": gap_pct(oracle.capped_base_stock_cost, optimum),
        },
        "plug_in_base_stock": plug_in_json(cfg, optimum),
        "policies": policies,
    }
