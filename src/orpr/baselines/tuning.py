"""Tuning a policy's service knob on the training period.

The incumbent's safety days are chosen per top-level category: every safety value on the
grid is simulated at once (the batch dimension of the kernel) over the training window, and
each category takes the smallest safety whose value fill rate ``1 − Σ c·lost / Σ c·d``
reaches the service target α — or the largest on the grid if none does. With the objective
``cost`` it takes instead the safety of least ``Σ (h·c·I + p·lost)`` over its units (ties to
the smaller safety): the best days-of-cover rule for the units' own costs.
"""

from __future__ import annotations

import numpy as np

from orpr.baselines.backtest import order_up_to, sim_params, steady_state
from orpr.baselines.rules import Incumbent, days_of_cover
from orpr.data.panel import Panel
from orpr.sim.kernel import pipeline_length, simulate_totals


def simulate_inventory_days(
    panel: Panel,
    inventory_days: np.ndarray,
    d_hat: np.ndarray,
    start: int,
    stop: int,
    warmup: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Replay constant-rule decisions for a batch of settings over ``[start, stop)``.

    Every unit starts in the days-of-cover steady position (as in ``backtest``); the first
    ``warmup`` days are simulated but not summed.

    Args:
        panel: the panel (its latent demand is replayed).
        inventory_days: ``v`` per setting and unit, ``(batch, unit)``, held over the window.
        d_hat: reference rates, units/day ``(unit, day)`` for the whole panel.
        start, stop: the simulated days, absolute day indices.
        warmup: leading days left out of the sums.

    Returns:
        ``(stock, lost)``: sums of end-of-day on-hand and of lost units, ``(batch, unit)``.
    """
    params = sim_params(panel)
    demand = np.ascontiguousarray(np.where(panel.active, panel.demand, 0.0)[:, start:stop])
    rate = d_hat[:, start:stop]
    target = order_up_to(inventory_days[:, :, None], rate[None], panel.units.whole_units)
    cover = (params.lead_time + params.review_period) * rate[:, 0]
    state = steady_state(
        np.broadcast_to(cover, inventory_days.shape),
        rate[:, 0],
        params.lead_time,
        pipeline_length(params.lead_time),
    )
    n = panel.n_units
    window = (np.full(n, warmup, dtype=np.int64), np.full(n, stop - start, dtype=np.int64))
    return simulate_totals(demand, target, state, params, *window, day0=start)


def category_fill_rates(
    lost: np.ndarray, panel: Panel, start: int, stop: int
) -> tuple[np.ndarray, np.ndarray]:
    """Value fill rate per setting and category over the days ``[start, stop)``.

    Args:
        lost: lost units per setting and unit over those days ``(batch, unit)``.

    Returns:
        ``(categories (k,), fill (batch, k))``.
    """
    cost = panel.units.unit_cost
    demand_value = (np.where(panel.active, panel.demand, 0.0)[:, start:stop].sum(axis=1)) * cost
    names, inverse = np.unique(panel.units.category, return_inverse=True)
    lost_value = np.zeros((lost.shape[0], len(names)))
    np.add.at(lost_value.T, inverse, (lost * cost).T)
    total = np.bincount(inverse, weights=demand_value, minlength=len(names))
    with np.errstate(invalid="ignore", divide="ignore"):
        fill = np.where(total > 0, 1.0 - lost_value / np.where(total > 0, total, 1.0), 1.0)
    return names, fill


def smallest_meeting(fill: np.ndarray, grid: np.ndarray, alpha: float) -> np.ndarray:
    """Per column, the smallest grid value whose fill rate reaches α (else the largest).

    Args:
        fill: fill rate per grid value and group ``(grid, group)``.
        grid: the knob values, ascending ``(grid,)``.
        alpha: the service target.
    """
    ok = fill >= alpha
    first = np.where(ok.any(axis=0), ok.argmax(axis=0), len(grid) - 1)
    return grid[first]


def category_costs(stock: np.ndarray, lost: np.ndarray, panel: Panel) -> np.ndarray:
    """Holding plus lost-sales cost ``Σ (h·c·I + p·lost)`` per setting and category,
    ``(batch, k)``, categories in ``np.unique`` order."""
    u = panel.units
    cost = stock * (u.holding_rate * u.unit_cost) + lost * u.lost_penalty  # (batch, unit)
    _, inverse = np.unique(u.category, return_inverse=True)
    out = np.zeros((cost.shape[0], inverse.max(initial=-1) + 1))
    np.add.at(out.T, inverse, cost.T)
    return out


def fit_incumbent(
    panel: Panel,
    d_hat: np.ndarray,
    start: int,
    stop: int,
    alpha: float,
    safety_grid: tuple[float, ...],
    warmup: int = 0,
    objective: str = "service",
) -> Incumbent:
    """Tune the incumbent's safety days per category, scored on ``[start + warmup, stop)``:
    the least safety reaching α (``service``) or the safety of least cost (``cost``)."""
    grid = np.sort(np.asarray(safety_grid, dtype=np.float64))
    u = panel.units
    v = days_of_cover(u.lead_time[None], u.review_period[None], grid[:, None]).astype(np.float64)
    stock, lost = simulate_inventory_days(panel, v, d_hat, start, stop, warmup)
    names, fill = category_fill_rates(lost, panel, start + warmup, stop)
    if objective == "cost":
        chosen = grid[np.argmin(category_costs(stock, lost, panel), axis=0)]
    else:
        chosen = smallest_meeting(fill, grid, alpha)
    safety = chosen[np.searchsorted(names, u.category)]
    return Incumbent(
        safety=safety,
        categories=names,
        category_safety=chosen,
        category_fill=fill[np.searchsorted(grid, chosen), np.arange(len(names))],
    )
