"""The reference rate d̂: the demand scale that turns inventory days into units.

``d̂_t`` = mean latent demand over the ``W`` active days before day ``t`` (default
``W = 28``), floored at ``ε``. A decision of ``v`` inventory days is a target inventory
position ``S_t = v · d̂_t``. Only days before ``t`` enter, so ``d̂_t`` is known at ``t``.
"""

from __future__ import annotations

import numpy as np


def reference_rates(
    demand: np.ndarray, active: np.ndarray, window: int, floor: float
) -> np.ndarray:
    """``d̂`` for every unit and day, from the ``window`` days strictly before each day.

    Args:
        demand: latent demand, units ``(unit, day)``.
        active: the unit is listed that day, bool ``(unit, day)``; inactive days don't count.
        window: ``W``, days of history.
        floor: ``ε``, the smallest rate returned, units per day.

    Returns:
        ``d̂``, units per day ``(unit, day)``; ``ε`` where a unit has no active history yet.
    """
    active_demand = np.where(active, demand, 0.0)
    csum = _leading_zero_cumsum(active_demand)
    ccount = _leading_zero_cumsum(active.astype(np.float64))
    days = demand.shape[1]
    hi = np.arange(days)
    lo = np.maximum(hi - window, 0)
    total = csum[:, hi] - csum[:, lo]
    count = ccount[:, hi] - ccount[:, lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1.0), 0.0)
    return np.maximum(mean, floor)


def _leading_zero_cumsum(x: np.ndarray) -> np.ndarray:
    """Cumulative sum over days with a leading zero column: ``out[:, t] = Σ_{s<t} x[:, s]``."""
    out = np.zeros((x.shape[0], x.shape[1] + 1))
    np.cumsum(x, axis=1, out=out[:, 1:])
    return out
