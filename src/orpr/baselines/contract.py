"""The policy contract: what is known at review day ``t`` → inventory days per unit.

Every policy answers one question (the seam between OR and ML): for the units reviewing on
day ``t``, how many inventory days ``v`` to hold, i.e. order up to ``S_t = v · d̂_t``.
A policy sees only ``DecisionContext.history`` (days before ``t``) and the current
position; an oracle (``oracle = True``) may look ahead and is marked so in every table.

Symbols: ``L`` lead time, ``R`` review period (days), ``d̂_t`` reference rate (units/day).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np

from orpr.data.panel import Panel


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
