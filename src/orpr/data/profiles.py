"""Hourly demand profiles and the in-stock share of a day's demand.

A unit's hourly profile ``π_u`` (24 shares summing to 1) is estimated from its hourly sales on
fully in-stock days, shrunk towards its group's (category's) profile with weight
``m_u / (m_u + PROFILE_PRIOR_DAYS)`` (``m_u``: selling in-stock days). A day's in-stock share
is the profile's mass over the hours in stock. Only business hours 06–22 (hours 6…21, the 16
hours FreshRetailNet's ``stock_hour6_22_cnt`` counts) can be out: the stock flag stays "out"
overnight until the morning restock. ``orpr.data.latent`` turns the share into latent demand.

Shapes: ``(row, 24)`` hourly rows (one row per unit-day), ``(unit, 24)`` profiles.
"""

from __future__ import annotations

import numpy as np

HOURS = 24
BUSINESS_START, BUSINESS_END = 6, 22
"""Business hours ``[6, 22)``: the 16 hours FreshRetailNet counts stockouts over."""
PROFILE_PRIOR_DAYS = 20.0
"""Shrinkage of a unit's hourly profile towards its group's, in selling in-stock days."""
CHUNK_ROWS = 500_000
"""Hourly rows processed at a time (bounds memory)."""


def business_hours() -> np.ndarray:
    """Hours that can be out of stock: bool ``(24,)``, True for hours 6…21."""
    hours = np.arange(HOURS)
    return (hours >= BUSINESS_START) & (hours < BUSINESS_END)


def in_stock_share(stock_status: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """The share of a day's demand that falls in its in-stock hours.

    Args:
        stock_status: hourly flags, 1 = out of stock, int ``(..., 24)``. Flags outside
            business hours are ignored (they carry over the night).
        profile: hourly demand profile, ≥ 0, float ``(..., 24)``, broadcast against
            ``stock_status``; need not be normalised. An all-zero profile counts as flat
            over business hours.

    Returns:
        ``Σ_h profile[h] · in_stock[h] / Σ_h profile[h]``, in [0, 1], shape ``(...)``.
    """
    profile = np.asarray(profile, dtype=np.float64)
    empty = profile.sum(axis=-1, keepdims=True) <= 0
    profile = np.where(empty, business_hours().astype(np.float64), profile)
    out = (np.asarray(stock_status) != 0) & business_hours()
    lost = (profile * out).sum(axis=-1)
    kept = (profile * ~out).sum(axis=-1)
    return kept / (kept + lost)


def in_stock_hour_totals(
    hourly_sales: np.ndarray,
    stock_status: np.ndarray,
    unit_index: np.ndarray,
    n_units: int,
    fit_rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's hourly sales summed over its fully in-stock days.

    Args:
        hourly_sales: sales per hour, float ``(row, 24)``, one row per unit-day.
        stock_status: 1 = out of stock, int ``(row, 24)``.
        unit_index: the unit of each row, int ``(row,)`` in ``[0, n_units)``.
        n_units: number of units.
        fit_rows: the rows to learn from (the training days), bool ``(row,)``; ``None`` =
            all rows.

    Returns:
        ``totals`` float ``(unit, 24)``: summed hourly sales over the rows with no business
        hour out; ``days`` float ``(unit,)``: how many of those rows had a sale.
    """
    hourly_sales, unit_index = np.asarray(hourly_sales), np.asarray(unit_index)
    full = ~((np.asarray(stock_status) != 0) & business_hours()).any(axis=1)
    rows = np.flatnonzero(full if fit_rows is None else full & np.asarray(fit_rows, dtype=bool))
    totals, days = np.zeros(n_units * HOURS), np.zeros(n_units)
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        sales = hourly_sales[chunk].astype(np.float64)
        cells = (unit_index[chunk, None] * HOURS + np.arange(HOURS)).reshape(-1)
        totals += np.bincount(cells, weights=sales.reshape(-1), minlength=n_units * HOURS)
        days += np.bincount(unit_index[chunk], weights=sales.sum(axis=1) > 0, minlength=n_units)
    return totals.reshape(n_units, HOURS), days


def estimate_profiles(
    totals: np.ndarray,
    days: np.ndarray,
    group: np.ndarray,
    prior_days: float = PROFILE_PRIOR_DAYS,
) -> np.ndarray:
    """Hourly demand profiles per unit, shrunk towards their group's profile.

    ``π_u = w_u · totals_u / Σ totals_u + (1 − w_u) · π_g``, ``w_u = m_u / (m_u + prior_days)``;
    ``π_g`` pools the totals of the group's units (volume-weighted), and the pool of all units
    stands in for a group without sales.

    Args:
        totals: hourly sales on fully in-stock days, float ``(unit, 24)``.
        days: selling fully in-stock days ``m_u``, float ``(unit,)``.
        group: group (e.g. category) of each unit, any hashable ``(unit,)``.
        prior_days: the shrinkage strength, in days.

    Returns:
        Profiles, float ``(unit, 24)``, each summing to 1 (flat over business hours when
        nothing at all sold).
    """
    totals = np.asarray(totals, dtype=np.float64)
    _, inverse = np.unique(np.asarray(group), return_inverse=True)
    pooled = np.zeros((inverse.max(initial=-1) + 1, HOURS))
    np.add.at(pooled, inverse, totals)
    overall = totals.sum(axis=0)
    pooled[pooled.sum(axis=1) == 0] = overall
    group_profile = _normalise(pooled)[inverse]
    own_total = totals.sum(axis=1, keepdims=True)
    weight = np.where(own_total[:, 0] > 0, days / (days + prior_days), 0.0)[:, None]
    own = totals / np.where(own_total > 0, own_total, 1.0)
    return weight * own + (1.0 - weight) * group_profile


def _normalise(profile: np.ndarray) -> np.ndarray:
    """Rows scaled to sum to 1; all-zero rows become flat over business hours."""
    total = profile.sum(axis=-1, keepdims=True)
    flat = np.broadcast_to(business_hours() / float(BUSINESS_END - BUSINESS_START), profile.shape)
    return np.where(total > 0, profile / np.where(total > 0, total, 1.0), flat)
