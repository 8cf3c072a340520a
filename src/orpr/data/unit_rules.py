"""Replenishment parameters for units whose data does not carry them.

Rule: each top-level category draws its lead time ``L`` and review period ``R`` from the
configured choices, and its unit value ``c``, holding rate ``h`` and penalty ratio ``p / c``
uniformly from the configured ranges — all with one seeded generator, categories taken in
sorted order, so the same config and category set always give the same parameters. Each
unit's review offset is drawn uniformly from ``[0, R)`` by a generator seeded from the same
seed and the unit's position, which spreads review days over the week.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from orpr.config import UnitRulesConfig


class UnitParameters(NamedTuple):
    """Per-unit replenishment parameters, arrays ``(unit,)``."""

    lead_time: np.ndarray
    review_period: np.ndarray
    review_offset: np.ndarray
    unit_cost: np.ndarray
    holding_rate: np.ndarray
    lost_penalty: np.ndarray


def assign_parameters(category: np.ndarray, rules: UnitRulesConfig) -> UnitParameters:
    """Draw ``L, R, offset, c, h, p`` for units from their top-level category.

    Args:
        category: top-level category of each unit, ``(unit,)``.
        rules: the configured choices and ranges, and the seed.
    """
    names, inverse = np.unique(np.asarray(category).astype(str), return_inverse=True)
    rng = np.random.default_rng(rules.seed)
    k = len(names)
    lead = rng.choice(np.asarray(rules.lead_time, dtype=np.int64), size=k)
    review = rng.choice(np.asarray(rules.review_period, dtype=np.int64), size=k)
    cost = rng.uniform(*rules.unit_cost, size=k)
    holding = rng.uniform(*rules.holding_rate, size=k)
    ratio = rng.uniform(*rules.penalty_ratio, size=k)
    review_u = review[inverse]
    return UnitParameters(
        lead_time=lead[inverse],
        review_period=review_u,
        review_offset=draw_review_offsets(review_u, rules),
        unit_cost=cost[inverse],
        holding_rate=holding[inverse],
        lost_penalty=(ratio * cost)[inverse],
    )


def draw_review_offsets(review_period: np.ndarray, rules: UnitRulesConfig) -> np.ndarray:
    """Each unit's review offset, uniform in ``[0, R)`` (seeded by ``rules.seed``), ``(unit,)``."""
    draw = np.random.default_rng([rules.seed, 1]).integers(0, 1 << 30, size=len(review_period))
    return draw % review_period
