"""Latent demand: recover what customers wanted on days the shelf ran empty.

On a stockout day recorded sales understate demand. FreshRetailNet-50K ("A Stockout-Annotated
Censored Demand Dataset for Latent Demand Recovery and Forecasting in Fresh Retail", Dingdong,
2025, arXiv:2505.16319) annotates hourly stock status so that the demand of the out-of-stock
hours can be reconstructed from the in-stock ones. This module does that with an hourly
demand profile:

1. **Profile.** A unit's hourly profile ``π_u`` (24 shares summing to 1) is estimated from
   its hourly sales on fully in-stock days, shrunk towards its group's (category's) profile
   with weight ``m_u / (m_u + PROFILE_PRIOR_DAYS)``, where ``m_u`` counts those days with a
   sale — a unit with few selling days borrows its category's shape.
2. **Share.** A day's in-stock share ``s = Σ_h π_u[h] · [hour h in stock]``. Only business
   hours 06–22 (hours 6…21, as FreshRetailNet's ``stock_hour6_22_cnt``) can be out; the
   flag stays "out" overnight until the morning restock, so other hours count as in stock.
3. **Uncensoring** (method ``"hourly_profile"``). With ``S`` the day's sales, ``s`` its
   in-stock share and ``μ`` its expected demand, let the day's demand rate be
   ``λ ~ Gamma(shape A_u, mean μ)``; sales are the in-stock hours' part,
   ``S | λ ~ Poisson(s λ)``, and the lost demand ``Poisson((1 − s) λ)``. Its posterior mean

       d = S + (1 − s) · μ (A_u + S) / (A_u + s μ)

   is also the best linear predictor of the day's demand from ``S``. It moves from the plain
   ratio ``S / s`` (``A_u → 0``: the day's own evidence) to ``S + (1 − s) μ`` (``A_u → ∞``:
   the usual level), trusting the day more the larger its in-stock share and volume, so a
   day out from the morning is not blown up from a handful of sales. ``d = S`` when fully in
   stock, and ``d ≥ S`` always; method ``"sales"`` keeps ``d = S``.
   ``μ``: the mean sales of the unit's fully in-stock active days among the ``LEVEL_WINDOW``
   days up to that day (trailing, so no estimate uses later days; the unit's in-stock mean so
   far if the window has none; its mean sales if never in stock), times a
   factor per (top-level category, weekday, promo, holiday) cell — the cell's in-stock sales
   over the same local means. ``A_u = Σ μ² / Σ (S − μ)²`` over the unit's fully in-stock
   days (one over the squared coefficient of variation of its daily sales around ``μ``),
   clipped to ``[SHAPE_MIN, SHAPE_MAX]``. The whole day-to-day variation counts as demand
   variation (no Poisson part is subtracted, so continuous or scaled quantities work too).
   The balance between ``S / s`` and ``μ`` reads quantities as item counts: in smaller
   recorded units it leans more on ``μ``. Measured: on the synthetic default, WAPE 0.27
   against 0.61 for sales; on FreshRetailNet in-stock days with stockouts imposed from a
   random hour (true demand known), 0.19 against 0.49 (plain ``S / s`` with a 0.2 floor on
   ``s``: 0.24).

``score`` measures the method where the truth is known (synthetic data): WAPE
``Σ |d − d_true| / Σ d_true`` over censored unit-days, next to the same for ``d = S``.

Shapes: ``(unit, day)`` daily arrays, ``(row, 24)`` hourly rows (one row per unit-day),
``(unit, 24)`` profiles.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from orpr.panel import Panel

HOURS = 24
BUSINESS_START, BUSINESS_END = 6, 22
"""Business hours ``[6, 22)``: the 16 hours FreshRetailNet counts stockouts over."""
SHAPE_MIN, SHAPE_MAX = 0.05, 100.0
"""Bounds of the gamma shape ``A_u`` of a unit's day-to-day demand variation."""
PROFILE_PRIOR_DAYS = 20.0
"""Shrinkage of a unit's hourly profile towards its group's, in selling in-stock days."""
LEVEL_WINDOW = 28
"""Length of the trailing window of in-stock days behind the expected demand ``μ``, days."""
CHUNK_ROWS = 500_000
"""Hourly rows processed at a time (bounds memory)."""
FULL_SHARE = 1.0 - 1e-9
"""A share at or above this counts as fully in stock."""


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
    hourly_sales: np.ndarray, stock_status: np.ndarray, unit_index: np.ndarray, n_units: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's hourly sales summed over its fully in-stock days.

    Args:
        hourly_sales: sales per hour, float ``(row, 24)``, one row per unit-day.
        stock_status: 1 = out of stock, int ``(row, 24)``.
        unit_index: the unit of each row, int ``(row,)`` in ``[0, n_units)``.
        n_units: number of units.

    Returns:
        ``totals`` float ``(unit, 24)``: summed hourly sales over the rows with no business
        hour out; ``days`` float ``(unit,)``: how many of those rows had a sale.
    """
    hourly_sales, unit_index = np.asarray(hourly_sales), np.asarray(unit_index)
    rows = np.flatnonzero(~((np.asarray(stock_status) != 0) & business_hours()).any(axis=1))
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


def weekday(dates: np.ndarray) -> np.ndarray:
    """Day of week, Monday = 0, int64 ``(day,)``, of datetime64 dates ``(day,)``."""
    return (np.asarray(dates).astype("datetime64[D]").astype(np.int64) + 3) % 7


def local_level(sales: np.ndarray, in_stock: np.ndarray, window: int = LEVEL_WINDOW) -> np.ndarray:
    """Mean sales of each unit's in-stock days among the ``window`` days up to each day.

    Trailing, so a day's estimate never uses later days: a policy deciding on day ``t``
    sees latent demand built from days up to ``t − 1`` only.

    Args:
        sales: daily sales, float ``(unit, day)``.
        in_stock: the days to average (fully in stock and active), bool ``(unit, day)``.
        window: length of the trailing window ``[t − window + 1, t]``, days.

    Returns:
        Local mean, float ``(unit, day)``; where the window holds no in-stock day, the mean of
        the unit's in-stock days so far (or, before its first one, of its first ``window``);
        0 for a unit never in stock.
    """
    values = np.where(in_stock, sales, 0.0)
    counts = in_stock.astype(np.float64)
    num, den = _trailing_sums(values, window), _trailing_sums(counts, window)
    so_far_num, so_far_den = np.cumsum(values, axis=1), np.cumsum(counts, axis=1)
    first = min(window, values.shape[1])
    start_num = values[:, :first].sum(axis=1, keepdims=True)
    start_den = counts[:, :first].sum(axis=1, keepdims=True)
    fallback_num = np.where(so_far_den > 0, so_far_num, start_num)
    fallback_den = np.where(so_far_den > 0, so_far_den, start_den)
    fallback = fallback_num / np.maximum(fallback_den, 1.0)
    return np.where(den > 0, num / np.maximum(den, 1.0), fallback)


def _trailing_sums(values: np.ndarray, window: int) -> np.ndarray:
    """Sums over the trailing windows ``[t − window + 1, t]`` (clipped at 0), ``(unit, day)``."""
    cum = np.cumsum(values, axis=1)
    lagged = np.zeros_like(cum)
    lagged[:, window:] = cum[:, :-window]
    return cum - lagged


def cell_factors(
    sales: np.ndarray, level: np.ndarray, in_stock: np.ndarray, cell: np.ndarray
) -> np.ndarray:
    """Multiplicative effect of each calendar cell relative to the local level.

    Args:
        sales: daily sales, float ``(unit, day)``.
        level: local level (``local_level``), float ``(unit, day)``.
        in_stock: the unit-days to learn from, bool ``(unit, day)``.
        cell: cell index of each unit-day, int ``(unit, day)`` ≥ 0.

    Returns:
        ``Σ sales / Σ level`` over the cell's in-stock unit-days, per unit-day ``(unit, day)``;
        1 for a cell without in-stock level.
    """
    n_cells = int(cell.max(initial=0)) + 1
    num = np.bincount(cell[in_stock], weights=sales[in_stock], minlength=n_cells)
    den = np.bincount(cell[in_stock], weights=level[in_stock], minlength=n_cells)
    factor = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
    return factor[cell]


def expected_demand(panel: Panel) -> np.ndarray:
    """The day's expected demand ``μ`` had it been fully in stock, float ``(unit, day)``.

    Local in-stock level (``local_level``) times the (top-level category, weekday, promo,
    holiday) cell factor (``cell_factors``).
    """
    sales = np.asarray(panel.sales, dtype=np.float64)
    in_stock = fully_in_stock(panel)
    level = local_level(sales, in_stock)
    never = ~in_stock.any(axis=1)
    if never.any():
        active_mean = np.where(panel.active, sales, 0.0).sum(axis=1) / np.maximum(
            panel.active.sum(axis=1), 1
        )
        level[never] = active_mean[never, None]
    _, category = np.unique(panel.units.category.astype(str), return_inverse=True)
    cell = (
        category[:, None] * 28
        + weekday(panel.dates)[None, :] * 4
        + (panel.promo != 0) * 2
        + (panel.holiday != 0)
    )
    return level * cell_factors(sales, level, in_stock, cell)


def fully_in_stock(panel: Panel) -> np.ndarray:
    """Active unit-days with no stockout at all, bool ``(unit, day)``."""
    full = (np.asarray(panel.in_stock_share) >= FULL_SHARE) & (panel.stockout_fraction <= 0)
    return full & panel.active


def demand_shape(sales: np.ndarray, expected: np.ndarray, in_stock: np.ndarray) -> np.ndarray:
    """Gamma shape ``A_u`` of each unit's day-to-day demand around its expected level.

    Args:
        sales: daily sales, float ``(unit, day)``.
        expected: expected demand ``μ``, float ``(unit, day)``.
        in_stock: the unit-days to learn from, bool ``(unit, day)``.

    Returns:
        ``Σ μ² / Σ (S − μ)²`` over ``in_stock``, float ``(unit,)``, clipped to
        ``[SHAPE_MIN, SHAPE_MAX]`` (``SHAPE_MAX`` when sales never deviate, ``SHAPE_MIN``
        for a unit without such days).
    """
    num = np.where(in_stock, expected**2, 0.0).sum(axis=1)
    den = np.where(in_stock, (sales - expected) ** 2, 0.0).sum(axis=1)
    shape = np.where(den > 0, num / np.where(den > 0, den, 1.0), SHAPE_MAX)
    shape = np.where(in_stock.any(axis=1), shape, SHAPE_MIN)
    return np.clip(shape, SHAPE_MIN, SHAPE_MAX)


def uncensor(
    sales: np.ndarray, share: np.ndarray, expected: np.ndarray, shape: np.ndarray
) -> np.ndarray:
    """Latent demand: the gamma–Poisson posterior mean of a partly out-of-stock day.

    Args:
        sales: recorded sales ``S``, float ``(unit, day)``.
        share: in-stock share ``s`` of the day's demand, in [0, 1], ``(unit, day)``.
        expected: expected demand ``μ`` of the day, ≥ 0, ``(unit, day)``.
        shape: gamma shape ``A_u`` > 0, ``(unit,)`` or ``(unit, day)``.

    Returns:
        ``d = S + (1 − s) μ (A + S) / (A + s μ)``, float ``(unit, day)``; ``d = S`` where
        ``s = 1``; never below ``S``.
    """
    sales = np.asarray(sales, dtype=np.float64)
    share = np.clip(np.asarray(share, dtype=np.float64), 0.0, 1.0)
    shape = np.asarray(shape, dtype=np.float64)
    shape = shape[:, None] if shape.ndim == 1 else shape
    expected = np.maximum(np.asarray(expected, dtype=np.float64), 0.0)
    rate = expected * (shape + sales) / (shape + share * expected)
    demand = sales + (1.0 - share) * rate
    return np.where(share >= FULL_SHARE, sales, np.maximum(demand, sales))


def estimate_demand(panel: Panel, method: str = "hourly_profile") -> Panel:
    """The panel with ``demand`` set by a latent-demand method.

    Args:
        panel: a panel whose ``in_stock_share`` is filled.
        method: ``"hourly_profile"`` (``uncensor`` with ``expected_demand`` and
            ``demand_shape``) or ``"sales"`` (``demand = sales``).

    Raises:
        ValueError: an unknown method.
    """
    sales = np.asarray(panel.sales, dtype=np.float64)
    if method == "sales":
        return replace(panel, demand=sales.copy())
    if method != "hourly_profile":
        raise ValueError(f"unknown latent-demand method {method!r}; valid: hourly_profile, sales")
    expected = expected_demand(panel)
    shape = demand_shape(sales, expected, fully_in_stock(panel))
    demand = uncensor(sales, panel.in_stock_share, expected, shape)
    return replace(panel, demand=np.where(panel.active, demand, sales))


def wape(estimate: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """Weighted absolute percentage error ``Σ |estimate − truth| / Σ truth`` over ``mask``."""
    truth_sum = float(np.sum(truth[mask]))
    return float(np.sum(np.abs(estimate[mask] - truth[mask]))) / max(truth_sum, 1e-12)


def score(panel: Panel) -> tuple[float, float]:
    """WAPE of ``panel.demand`` and of sales against the true demand on censored days.

    Args:
        panel: a panel with ``true_demand`` (synthetic data).

    Returns:
        ``(latent_wape, sales_wape)`` over active unit-days with ``stockout_fraction > 0``.

    Raises:
        ValueError: the panel has no true demand.
    """
    if panel.true_demand is None:
        raise ValueError("the panel has no true demand to score against")
    mask = panel.censored & panel.active
    truth = np.asarray(panel.true_demand, dtype=np.float64)
    return wape(panel.demand, truth, mask), wape(panel.sales, truth, mask)
