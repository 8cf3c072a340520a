"""The stationary lost-sales model: demand, stage cost and one day's transition.

Symbols are those of :mod:`orpr.stationary`: on-hand after arrivals ``x``, pipeline ``q_1 … q_{L-1}``
(``q_i`` arrives at the start of day ``t + i``), order ``q``, lead time ``L``, holding cost ``h``,
penalty ``p``, demand ``D`` with pmf ``f`` and mean ``m``.

A state is an integer vector of ``max(L, 1)`` components: ``(x,)`` when ``L = 0`` and
``(x, q_1, …, q_{L-1})`` when ``L ≥ 1``. Its components sum to the inventory position ``IP``
before ordering. The stock that meets day ``t``'s demand is ``a = x + q`` when ``L = 0`` (the order
arrives at once) and ``a = x`` otherwise; the day leaves ``(a − D)^+`` on the shelf.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import numpy as np
from scipy import stats

from orpr.errors import InputError

_DEMAND = re.compile(r"^\s*(poisson|geometric)\s*:\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*$")


class Demand(NamedTuple):
    """I.i.d. daily demand on ``{0, 1, 2, …}``.

    Attributes:
        kind: ``"poisson"`` (``f(k) = e^{-m} m^k / k!``) or ``"geometric"``
            (``f(k) = (1 − θ) θ^k`` with ``θ = m / (1 + m)``).
        mean: ``m``, units per day, > 0.
    """

    kind: str
    mean: float

    def pmf(self, n: int) -> np.ndarray:
        """``f(0), …, f(n − 1)``, shape ``(n,)``."""
        k = np.arange(n)
        if self.kind == "poisson":
            return stats.poisson.pmf(k, self.mean)
        theta = self.mean / (1.0 + self.mean)
        return (1.0 - theta) * theta**k

    def over_days(self, days: int) -> Any:
        """Law of demand summed over ``days`` days: Poisson(``days m``) or negative binomial."""
        if self.kind == "poisson":
            return stats.poisson(self.mean * days)
        return stats.nbinom(days, 1.0 / (1.0 + self.mean))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` independent demands drawn from ``rng``, shape ``(size,)``, int64."""
        if self.kind == "poisson":
            return rng.poisson(self.mean, size).astype(np.int64)
        return rng.geometric(1.0 / (1.0 + self.mean), size).astype(np.int64) - 1


def parse_demand(text: str) -> Demand:
    """Read ``"poisson:MEAN"`` or ``"geometric:MEAN"`` (MEAN > 0).

    Raises:
        InputError: on anything else, naming ``--demand``.
    """
    match = _DEMAND.match(text)
    if match is None or float(match.group(2)) <= 0.0:
        raise InputError("--demand", "expected poisson:MEAN or geometric:MEAN", value=text)
    return Demand(match.group(1), float(match.group(2)))


def leftover_matrix(demand: Demand, n: int) -> np.ndarray:
    """``P[a, k] = Pr{(a − D)^+ = k}`` for stock ``a`` and leftover ``k`` in ``0 … n − 1``.

    Exact, with no truncation of the demand: ``P[a, k] = f(a − k)`` for ``1 ≤ k ≤ a`` and
    ``P[a, 0] = Pr{D ≥ a}``, so the demand tail is folded into "the shelf is emptied".

    Returns:
        Lower-triangular array of shape ``(n, n)`` whose rows sum to one.
    """
    f = demand.pmf(n)
    a, k = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    matrix = np.where((k >= 1) & (k <= a), f[np.clip(a - k, 0, n - 1)], 0.0)
    matrix[:, 0] = 1.0 - np.concatenate(([0.0], np.cumsum(f)[:-1]))
    return matrix


def stage_cost(demand: Demand, n: int, *, penalty: float, holding: float) -> np.ndarray:
    """Expected cost of a day that starts with stock ``a``: ``c(a) = h E(a − D)^+ + p E(D − a)^+``.

    Exact for any demand tail, through ``E(D − a)^+ = E(a − D)^+ + m − a``.

    Returns:
        ``c(0), …, c(n − 1)``, shape ``(n,)``.
    """
    a = np.arange(n)
    over = np.concatenate(([0.0], np.cumsum(np.cumsum(demand.pmf(n)))[:-1]))
    # E(a − D)^+ = Σ_{j<a} Pr{D ≤ j}
    return holding * over + penalty * (over + demand.mean - a)


def stock_for_demand(states: np.ndarray, orders: np.ndarray, lead_time: int) -> np.ndarray:
    """Stock ``a`` that meets today's demand: ``x + q`` if ``L = 0`` else ``x``; shape ``(n,)``."""
    return states[:, 0] + orders if lead_time == 0 else states[:, 0].copy()


def next_states(
    states: np.ndarray, orders: np.ndarray, leftover: np.ndarray, lead_time: int
) -> np.ndarray:
    """Tomorrow's state after arrivals, given today's state, order and leftover ``(a − D)^+``.

    ``(x, q_1, …, q_{L-1})`` with order ``q`` and leftover ``k`` becomes
    ``(k + q_1, q_2, …, q_{L-1}, q)``; with ``L = 1`` it becomes ``(k + q,)`` and with ``L = 0``
    it becomes ``(k,)``.

    Args:
        states: ``(n, max(L, 1))`` states.
        orders: ``(n,)`` orders placed today.
        leftover: ``(n,)`` end-of-day on-hand.
        lead_time: ``L``.

    Returns:
        ``(n, max(L, 1))`` next states.
    """
    if lead_time == 0:
        return leftover[:, None].copy()
    if lead_time == 1:
        return (leftover + orders)[:, None]
    return np.column_stack([leftover + states[:, 1], states[:, 2:], orders])
