"""Metrics of a simulated window, per unit and in total (DESIGN §4).

Symbols: ``I_t`` end-of-day on-hand, ``c`` unit value, ``h`` holding rate (fraction of ``c``
per unit-day), ``p`` penalty per lost unit, ``d_t`` latent demand.

- ``turnover_days`` = Σ c·I_t / Σ c·sales_t
- ``in_stock_rate`` = share of unit-days whose available stock (start-of-day on-hand after
  arrivals) is positive and covers the day's demand
- ``fill_rate`` = Σ c·sales / Σ c·demand (value-weighted across units, like α)
- ``holding_cost`` = Σ h·c·I_t, ``lost_sales_cost`` = Σ p·lost_t, ``total_cost`` their sum
- ``inventory_value`` = Σ c·I_t per scored day (unit-days ÷ units scored), i.e. the average
  value on hand on a day

Per-unit sums (``WindowTotals``) are kept so that any subset of units (an ABC–XYZ
segment) or of days (promotion days) is scored with the same ratios.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def priced_cost(stock: np.ndarray, loss: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """``stock + λ·loss`` (broadcast), the cost in days of stock value at the price ``λ`` of a
    lost value; where ``λ`` is infinite (stock is free) the loss alone."""
    lam = np.asarray(lam, dtype=np.float64)
    finite = np.isfinite(lam)
    return np.where(finite, stock + np.where(finite, lam, 0.0) * loss, loss)


class Metrics(NamedTuple):
    """The KPIs of a set of unit-days (money in the data's currency, days in days)."""

    turnover_days: float
    in_stock_rate: float
    fill_rate: float
    holding_cost: float
    lost_sales_cost: float
    total_cost: float
    inventory_value: float
    unit_days: int


class WindowTotals(NamedTuple):
    """Per-unit sums over the scored days, arrays ``(unit,)``."""

    inventory_value: np.ndarray
    sales_value: np.ndarray
    demand_value: np.ndarray
    holding_cost: np.ndarray
    lost_sales_cost: np.ndarray
    in_stock_days: np.ndarray
    days: np.ndarray


def turnover_days(inventory_value: float, sales_value: float) -> float:
    """Days of sales held: Σ c·I / Σ c·sales (``inf`` with stock and no sales, 0 with neither)."""
    if sales_value > 0:
        return inventory_value / sales_value
    return float("inf") if inventory_value > 0 else 0.0


def fill_rate(sales_value: float, demand_value: float) -> float:
    """Share of demand served, Σ sales / Σ demand (1 when there was no demand)."""
    return sales_value / demand_value if demand_value > 0 else 1.0


def in_stock(available: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Unit-days whose available stock is positive and covers the demand, bool, any shape."""
    return (available > 0) & (available >= demand)


def holding_cost(
    on_hand: np.ndarray, unit_cost: np.ndarray, holding_rate: np.ndarray
) -> np.ndarray:
    """``h · c · I_t`` per unit-day; ``on_hand (unit, day)``, ``unit_cost, holding_rate (unit,)``."""
    return on_hand * (unit_cost * holding_rate)[:, None]


def lost_sales_cost(lost: np.ndarray, lost_penalty: np.ndarray) -> np.ndarray:
    """``p · lost_t`` per unit-day; ``lost (unit, day)``, ``lost_penalty (unit,)``."""
    return lost * lost_penalty[:, None]


def window_totals(
    on_hand: np.ndarray,
    sales: np.ndarray,
    lost: np.ndarray,
    unit_cost: np.ndarray,
    holding_rate: np.ndarray,
    lost_penalty: np.ndarray,
    mask: np.ndarray,
) -> WindowTotals:
    """Sum a simulated window per unit over the days where ``mask`` holds.

    Args:
        on_hand: end-of-day on-hand ``I_t``, units ``(unit, day)``.
        sales: units sold ``(unit, day)``.
        lost: lost demand ``(unit, day)``.
        unit_cost, holding_rate, lost_penalty: ``c, h, p`` per unit ``(unit,)``.
        mask: unit-days to score, bool ``(unit, day)``.
    """
    m = mask.astype(np.float64)
    demand = sales + lost
    available = on_hand + sales
    c = unit_cost[:, None]
    return WindowTotals(
        inventory_value=(c * on_hand * m).sum(axis=1),
        sales_value=(c * sales * m).sum(axis=1),
        demand_value=(c * demand * m).sum(axis=1),
        holding_cost=(holding_cost(on_hand, unit_cost, holding_rate) * m).sum(axis=1),
        lost_sales_cost=(lost_sales_cost(lost, lost_penalty) * m).sum(axis=1),
        in_stock_days=(in_stock(available, demand) & mask).sum(axis=1),
        days=mask.sum(axis=1),
    )


def summarize(totals: WindowTotals, select: np.ndarray | None = None) -> Metrics:
    """The KPIs of the selected units (bool or index ``(unit,)``; all units if ``None``)."""
    t = totals if select is None else WindowTotals(*(a[select] for a in totals))
    inventory = float(t.inventory_value.sum())
    holding = float(t.holding_cost.sum())
    lost = float(t.lost_sales_cost.sum())
    days = int(t.days.sum())
    return Metrics(
        turnover_days=turnover_days(inventory, float(t.sales_value.sum())),
        in_stock_rate=float(t.in_stock_days.sum()) / days if days else float("nan"),
        fill_rate=fill_rate(float(t.sales_value.sum()), float(t.demand_value.sum())),
        holding_cost=holding,
        lost_sales_cost=lost,
        total_cost=holding + lost,
        inventory_value=inventory * (t.days > 0).sum() / days if days else 0.0,
        unit_days=days,
    )
