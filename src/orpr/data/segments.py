"""ABC–XYZ segmentation of units, the planner's way of grouping an assortment.

- **ABC** by value: units sorted by demand value ``Σ c·d`` (largest first); those making up
  the first 80 % of the total are ``A``, the next 15 % ``B``, the last 5 % ``C``.
- **XYZ** by variability: the coefficient of variation of daily demand over active days;
  ``X`` if CV ≤ 0.5, ``Y`` if CV ≤ 1.0, else ``Z`` (intermittent units land in ``Z``).

Both are computed on the training period only, so a unit's segment is known before the
held-out days begin.
"""

from __future__ import annotations

import numpy as np

ABC_SHARES = (0.80, 0.95)
XYZ_CV = (0.5, 1.0)


def abc_class(value: np.ndarray, shares: tuple[float, float] = ABC_SHARES) -> np.ndarray:
    """ABC class per unit from its demand value ``(unit,)``; returns str ``(unit,)``.

    A unit's class is set by the cumulative share of value *before* it, so the largest unit
    is always ``A`` even when it alone exceeds 80 %.
    """
    order = np.argsort(-value, kind="stable")
    total = value.sum()
    cum_before = np.concatenate([[0.0], np.cumsum(value[order])[:-1]])
    share_before = cum_before / total if total > 0 else np.zeros_like(cum_before)
    sorted_class = np.where(
        share_before < shares[0], "A", np.where(share_before < shares[1], "B", "C")
    )
    out = np.empty(len(value), dtype="<U1")
    out[order] = sorted_class
    return out


def xyz_class(
    demand: np.ndarray, active: np.ndarray, cv: tuple[float, float] = XYZ_CV
) -> np.ndarray:
    """XYZ class per unit from daily demand ``(unit, day)`` over active days; str ``(unit,)``."""
    n = active.sum(axis=1)
    d = np.where(active, demand, 0.0)
    mean = d.sum(axis=1) / np.maximum(n, 1)
    var = (np.where(active, (demand - mean[:, None]) ** 2, 0.0)).sum(axis=1) / np.maximum(n, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        coef = np.where(mean > 0, np.sqrt(var) / np.where(mean > 0, mean, 1.0), np.inf)
    return np.where(coef <= cv[0], "X", np.where(coef <= cv[1], "Y", "Z"))


def abc_xyz(demand: np.ndarray, active: np.ndarray, unit_cost: np.ndarray) -> np.ndarray:
    """Combined segment per unit, e.g. ``"AX"``, from training-period demand ``(unit, day)``."""
    value = (np.where(active, demand, 0.0) * unit_cost[:, None]).sum(axis=1)
    return np.char.add(abc_class(value), xyz_class(demand, active))
