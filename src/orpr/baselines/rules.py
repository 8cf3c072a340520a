"""Replenishment policies: what is known at review day ``t`` → inventory days per unit.

Every policy answers one question (the seam between OR and ML): for the units reviewing on
day ``t``, how many inventory days ``v`` to hold, i.e. order up to ``S_t = v · d̂_t``.
The contract (``DecisionContext`` → inventory days) is in ``orpr.baselines.contract``.

Symbols: ``L`` lead time, ``R`` review period (days), ``d̂_t`` reference rate (units/day).

Baselines (DESIGN §9):
- ``incumbent``: days of cover ``v = L + R + safety``, with ``safety`` tuned per top-level
  category on the training period to reach the service target α (see ``orpr.baselines.tuning``) —
  the stand-in for a retailer's current practice.
- ``base_stock``: order up to the ``q``-quantile of the ``(L + R)``-day demand sums seen over
  recent history, ``v = S / d̂_t``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from orpr.baselines.contract import DecisionContext


def days_of_cover(
    lead_time: np.ndarray, review_period: np.ndarray, safety: np.ndarray
) -> np.ndarray:
    """The incumbent's rule ``v = L + R + safety``, inventory days ``(n,)``."""
    return lead_time + review_period + safety


@dataclass(frozen=True)
class Incumbent:
    """Days-of-cover policy with per-category safety days.

    Attributes:
        safety: safety days per unit ``(unit,)`` (tuned per category; see ``orpr.baselines.tuning``).
        categories: the top-level categories tuned, ``(k,)`` (empty if set by hand).
        category_safety: the safety days chosen per category ``(k,)``.
        category_fill: the training-period value fill rate reached per category ``(k,)``.
    """

    safety: np.ndarray
    categories: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=str))
    category_safety: np.ndarray = field(default_factory=lambda: np.empty(0))
    category_fill: np.ndarray = field(default_factory=lambda: np.empty(0))
    name: str = "incumbent"
    oracle: bool = False

    def decide(self, ctx: DecisionContext) -> np.ndarray:
        units = ctx.history.units
        return days_of_cover(
            units.lead_time[ctx.units], units.review_period[ctx.units], self.safety[ctx.units]
        ).astype(np.float64)


def demand_sum_quantile(demand: np.ndarray, active: np.ndarray, span: int, q: float) -> np.ndarray:
    """``q``-quantile of the sums of ``span`` consecutive active days of demand, per row.

    Args:
        demand: recent demand, units ``(n, day)``.
        active: the unit was listed that day, bool ``(n, day)``; windows touching an inactive
            day (before launch) are left out.
        span: days per sum (``L + R``), ≥ 1.
        q: quantile in (0, 1).

    Returns:
        Units ``(n,)``; a row with no fully active window gets its mean active-day demand ×
        ``span`` (NaN with no active day at all, for the caller to replace).
    """
    n, days = demand.shape
    d = np.where(active, demand, 0.0)
    mean = d.sum(axis=1) / np.where(active.any(axis=1), active.sum(axis=1), np.nan)
    if days < span:
        return mean * span
    sums = _window_sums(d, span)  # (n, days - span + 1)
    full = _window_sums(active.astype(np.float64), span) == span
    out = mean * span
    every = full.all(axis=1)  # the common case: np.quantile, vectorised
    if every.any():
        out[every] = np.quantile(sums[every], q, axis=1)
    some = full.any(axis=1) & ~every  # recently launched: only the fully active windows
    if some.any():
        out[some] = np.nanquantile(np.where(full[some], sums[some], np.nan), q, axis=1)
    return out


def _window_sums(x: np.ndarray, span: int) -> np.ndarray:
    """Sums of ``span`` consecutive days, ``(n, days − span + 1)``."""
    csum = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=1)], axis=1)
    return csum[:, span:] - csum[:, :-span]


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
        demand, active = hist.demand[rows, lo:], hist.active[rows, lo:]
        span = hist.units.lead_time[rows] + hist.units.review_period[rows]
        level = np.zeros(len(rows))
        for k in np.unique(span):
            same = span == k
            level[same] = demand_sum_quantile(demand[same], active[same], int(k), self.quantile)
        # no active day in the window yet: hold L + R days of d̂
        return np.where(np.isnan(level), span, level / ctx.d_hat)
