"""Replenishment policies: what is known at review day ``t`` → inventory days per unit.

Every policy answers one question (the seam between OR and ML): for the units reviewing on
day ``t``, how many inventory days ``v`` to hold, i.e. order up to ``S_t = v · d̂_t``.
A policy sees only ``DecisionContext.history`` (days before ``t``) and the current
position; an oracle (``oracle = True``) may look ahead and is marked so in every table.

Symbols: ``L`` lead time, ``R`` review period (days), ``d̂_t`` reference rate (units/day).

Baselines (DESIGN §9):
- ``incumbent``: days of cover ``v = L + R + safety``, with ``safety`` tuned per top-level
  category on the training period to reach the service target α (see ``orpr.tuning``) —
  the stand-in for a retailer's current practice.
- ``base_stock``: order up to the ``q``-quantile of the ``(L + R)``-day demand sums seen over
  recent history, ``v = S / d̂_t``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from orpr.panel import Panel


class DecisionContext(NamedTuple):
    """What a policy may know when units review on day ``t``.

    Attributes:
        day: ``t``, the absolute day index in the panel.
        units: indices of the units reviewing on ``t``, ``(n,)``.
        history: the panel up to (not including) day ``t``.
        d_hat: reference rate ``d̂_t`` of those units, units per day ``(n,)``.
        on_hand: on-hand after day ``t``'s arrivals, units ``(n,)``.
        pipeline: orders still outstanding, ``(n, slots)``; slot ``k`` arrives on day ``t+1+k``.
    """

    day: int
    units: np.ndarray
    history: Panel
    d_hat: np.ndarray
    on_hand: np.ndarray
    pipeline: np.ndarray


class Policy(Protocol):
    """The policy contract: inventory days for the reviewing units."""

    name: str
    oracle: bool

    def decide(self, ctx: DecisionContext) -> np.ndarray:
        """Inventory days ``v ≥ 0`` for ``ctx.units``, ``(n,)``."""
        ...


def days_of_cover(lead_time: np.ndarray, review_period: np.ndarray, safety: np.ndarray) -> np.ndarray:
    """The incumbent's rule ``v = L + R + safety``, inventory days ``(n,)``."""
    return lead_time + review_period + safety


@dataclass(frozen=True)
class Incumbent:
    """Days-of-cover policy with per-category safety days.

    Attributes:
        safety: safety days per unit ``(unit,)`` (tuned per category; see ``orpr.tuning``).
    """

    safety: np.ndarray
    name: str = "incumbent"
    oracle: bool = False

    def decide(self, ctx: DecisionContext) -> np.ndarray:
        units = ctx.history.units
        return days_of_cover(
            units.lead_time[ctx.units], units.review_period[ctx.units], self.safety[ctx.units]
        ).astype(np.float64)


def demand_sum_quantile(demand: np.ndarray, span: int, q: float) -> np.ndarray:
    """``q``-quantile of the sums of ``span`` consecutive days of demand, per row.

    Args:
        demand: recent demand, units ``(n, day)``.
        span: days per sum (``L + R``), ≥ 1.
        q: quantile in (0, 1).

    Returns:
        Units ``(n,)``; with fewer days than ``span``, the total scaled up to ``span`` days.
    """
    n, days = demand.shape
    if days == 0:
        return np.zeros(n)
    if days < span:
        return demand.sum(axis=1) * span / days
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(demand, axis=1)], axis=1)
    sums = csum[:, span:] - csum[:, :-span]
    return np.quantile(sums, q, axis=1)


@dataclass(frozen=True)
class BaseStock:
    """Order up to a quantile of recent ``(L + R)``-day demand.

    Attributes:
        quantile: ``q`` in (0, 1).
        history_days: days of recent history the sums are taken over.
    """

    quantile: float
    history_days: int
    name: str = "base_stock"
    oracle: bool = False

    def decide(self, ctx: DecisionContext) -> np.ndarray:
        hist = ctx.history
        lo = max(0, hist.n_days - self.history_days)
        rows = ctx.units
        demand = np.where(hist.active[rows, lo:], hist.demand[rows, lo:], 0.0)
        span = hist.units.lead_time[ctx.units] + hist.units.review_period[ctx.units]
        level = np.zeros(len(ctx.units))
        for k in np.unique(span):
            same = span == k
            level[same] = demand_sum_quantile(demand[same], int(k), self.quantile)
        return level / ctx.d_hat
