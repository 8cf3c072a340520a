"""The embedded synthetic retail dataset: canonical tables with known true demand.

Units are products × stores; each product has a top-level category ``cat_1`` and a
subcategory ``cat_2``, and is listed in every store (the last product in as many stores as
the unit count allows). Daily demand of unit ``u`` on day ``t`` is a gamma–Poisson count

    d_ut ~ Poisson(λ_ut · g_ut),   g_ut ~ Gamma(k_u, 1 / k_u),
    λ_ut = b_u · W[weekday] · exp(trend_u · t / 365) · H^holiday · U_c^promo,

with a lognormal base rate ``b_u`` (product popularity × store size: fast and slow movers),
weekday uplift ``W`` (weekends +30 %), a mild per-unit trend, ``HOLIDAY_UPLIFT`` on the
``HOLIDAYS`` dates and a per-category promotion uplift ``U_c``. The demand class sets the
day-to-day shape ``k_u``: smooth (``k = 25``), erratic (``k = 2``, 30 % of products), or
intermittent (units with ``b_u`` below 0.8 a day, ``k = 0.4``: mostly zero days, occasional
bursts). Quantities are integer counts,
stored as floats. Promotions come in runs of 3–5 days, started at a rate that makes
``cfg.promo_rate`` of unit-days promoted; a promoted day has ``discount = 1 − depth_u``
(``depth_u`` uniform in 10–35 %), other days 1.0.

Demand spreads over the day by the unit's hourly profile (its category's morning peak and
larger evening peak, perturbed per unit; zero outside business hours 06–22). **Censoring**: a unit-day
stocks out with probability proportional to ``sqrt(λ_ut / b_u)`` (busy days run out more),
scaled so ``cfg.stockout_rate`` of unit-days are censored; ``FULL_OUT_SHARE`` of those are out
from opening, the others from an hour drawn uniformly in 07…21. Sales are the demand of the
hours before the stockout (a binomial thinning of ``d_ut`` by the profile's mass there);
``stockout_fraction`` = out-of-stock business hours / 16; ``true_demand = d_ut``.

The ``in_stock_share`` column is what an analyst could compute: hourly profiles estimated
(``profiles.estimate_profiles``, shrunk to ``cat_2``) from the hourly sales of fully in-stock
training days (before ``fit_until``; ``load_panel`` holds out the last
``split.holdout_days``) — simulated as their sufficient statistic, a multinomial of the
unit's in-stock demand over its true profile — applied to every censored day's hourly stock
flags (``profiles.in_stock_share``). Same config → identical tables. Generation runs in blocks of
``BLOCK_UNITS`` units, each with its own seeded stream, so memory stays bounded; use
``generate_arrays`` for dense ``(unit, day)`` arrays without building tables.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import polars as pl

from orpr.config import SyntheticConfig
from orpr.data import latent, profiles

BLOCK_UNITS = 4096
"""Units per generation block (each block has its own random stream)."""
WEEKDAY_UPLIFT = np.array([1.0, 0.95, 0.95, 1.0, 1.1, 1.3, 1.3])
"""Demand multiplier by weekday, Monday first."""
HOLIDAYS = ("01-01", "02-10", "04-04", "05-01", "06-10", "09-17", "10-01", "12-25")
"""Holiday dates, MM-DD, every year."""
HOLIDAY_UPLIFT = 1.4
"""Demand multiplier on holidays."""
PROMO_RUN_DAYS = (3, 4, 5)
"""Lengths of promotion runs, days (equally likely)."""
CLASS_SHAPE = {"smooth": 25.0, "erratic": 2.0, "intermittent": 0.4}
"""Gamma shape ``k`` of the daily demand multiplier per demand class."""
FULL_OUT_SHARE = 0.1
"""Share of censored unit-days that are out of stock all business hours."""
SUBCATEGORIES = 3
"""Subcategories (``cat_2``) per top-level category."""


class UnitDesign(NamedTuple):
    """Per-unit draws, arrays ``(unit,)`` unless stated."""

    unit_id: np.ndarray
    location: np.ndarray
    cat_1: np.ndarray
    cat_2: np.ndarray
    base_rate: np.ndarray
    shape: np.ndarray
    trend: np.ndarray
    promo_depth: np.ndarray
    promo_uplift: np.ndarray
    profile: np.ndarray
    """True hourly demand profile, ``(unit, 24)``, rows summing to 1."""


class SyntheticArrays(NamedTuple):
    """The synthetic dataset as dense arrays."""

    unit_id: np.ndarray
    """Unit ids ``"S{store}_P{product}"``, str ``(unit,)``."""
    location: np.ndarray
    """Store ``"S{store}"``, str ``(unit,)``."""
    cat_1: np.ndarray
    """Top-level category, str ``(unit,)``."""
    cat_2: np.ndarray
    """Subcategory, str ``(unit,)``."""
    dates: np.ndarray
    """Date grid, datetime64[D] ``(day,)``."""
    holiday: np.ndarray
    """Holiday flag, int8 ``(day,)``."""
    sales: np.ndarray
    """Recorded (censored) sales, float64 counts ``(unit, day)``."""
    true_demand: np.ndarray
    """Uncensored demand, float64 counts ``(unit, day)``."""
    stockout_fraction: np.ndarray
    """Out-of-stock business hours / 16, float64 ``(unit, day)``."""
    in_stock_share: np.ndarray
    """Estimated share of the day's demand in in-stock hours, float64 ``(unit, day)``."""
    discount: np.ndarray
    """Price ratio, float64 ``(unit, day)``."""
    promo: np.ndarray
    """Promotion flag, int8 ``(unit, day)``."""
    profile: np.ndarray
    """True hourly demand profile, float64 ``(unit, 24)``."""


class BlockDraws(NamedTuple):
    """One block's draws, arrays ``(unit, day)``."""

    sales: np.ndarray
    true_demand: np.ndarray
    promo: np.ndarray
    discount: np.ndarray
    stockout_hour: np.ndarray
    """Hour the shelf empties, int8 (24 = never)."""


def generate_tables(
    cfg: SyntheticConfig, fit_until: int | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The synthetic dataset as canonical daily and unit tables.

    Args:
        cfg: size, rates and seed.
        fit_until: first held-out day index; the hourly profiles behind ``in_stock_share``
            are estimated from days ``[0, fit_until)`` only (``None`` = all days).

    Returns:
        ``daily``: one row per unit-day — unit_id, date, sales, true_demand (counts, Float64),
        stockout_fraction, in_stock_share, discount (Float64), promo, holiday (Int8).
        ``units``: unit_id, location, cat_1, cat_2 (str).
    """
    arrays = generate_arrays(cfg, fit_until)
    n_units, n_days = arrays.sales.shape
    quantities = ("sales", "true_demand", "stockout_fraction", "in_stock_share", "discount")
    daily = pl.DataFrame(
        {
            "unit_id": pl.Series(arrays.unit_id).gather(np.repeat(np.arange(n_units), n_days)),
            "date": pl.Series(arrays.dates).gather(np.tile(np.arange(n_days), n_units)),
            **{name: getattr(arrays, name).reshape(-1) for name in quantities},
            "promo": arrays.promo.reshape(-1),
            "holiday": np.broadcast_to(arrays.holiday, (n_units, n_days)).reshape(-1),
        }
    )
    names = ("unit_id", "location", "cat_1", "cat_2")
    units = pl.DataFrame({name: getattr(arrays, name).astype(str) for name in names})
    return daily, units


def generate_arrays(cfg: SyntheticConfig, fit_until: int | None = None) -> SyntheticArrays:
    """The synthetic dataset as dense arrays (the fast path behind ``generate_tables``).

    Args:
        cfg: size, rates and seed.
        fit_until: first held-out day index; the hourly profiles behind ``in_stock_share``
            are estimated from days ``[0, fit_until)`` only (``None`` = all days). The
            draws do not depend on it.
    """
    n_blocks = -(-cfg.units // BLOCK_UNITS)
    seeds = np.random.SeedSequence(cfg.seed).spawn(1 + n_blocks)
    design = draw_units(cfg, np.random.default_rng(seeds[0]))
    dates = np.datetime64(cfg.start, "D") + np.arange(cfg.days)
    train = latent.training_mask(cfg.days, fit_until)
    holiday = np.array([str(d)[5:] in HOLIDAYS for d in dates], dtype=np.int8)
    grid = (cfg.units, cfg.days)
    joined = BlockDraws(*(np.empty(grid, dtype=t) for t in (float, float, np.int8, float, np.int8)))
    totals, days = np.zeros((cfg.units, profiles.HOURS)), np.zeros(cfg.units)
    for b, seq in enumerate(seeds[1:]):
        block = slice(b * BLOCK_UNITS, min((b + 1) * BLOCK_UNITS, cfg.units))
        rng = np.random.default_rng(seq)
        draws = _simulate_block(cfg, design, block, dates, holiday, rng)
        totals[block], days[block] = _in_stock_totals(draws, design.profile[block], train, rng)
        for whole, part in zip(joined, draws, strict=True):
            whole[block] = part
    profile_hat = profiles.estimate_profiles(totals, days, design.cat_2)
    hour = joined.stockout_hour
    hours_out = profiles.BUSINESS_END - np.maximum(hour, profiles.BUSINESS_START)
    return SyntheticArrays(
        unit_id=design.unit_id,
        location=design.location,
        cat_1=design.cat_1,
        cat_2=design.cat_2,
        dates=dates,
        holiday=holiday,
        sales=joined.sales,
        true_demand=joined.true_demand,
        stockout_fraction=np.where(hour < profiles.BUSINESS_END, hours_out / 16.0, 0.0),
        in_stock_share=_observed_share(hour, profile_hat),
        discount=joined.discount,
        promo=joined.promo,
        profile=design.profile,
    )


def draw_units(cfg: SyntheticConfig, rng: np.random.Generator) -> UnitDesign:
    """Products × stores with categories, base rates, demand classes and hourly profiles."""
    n_products = math.ceil(cfg.units / cfg.stores)
    product, store = np.divmod(np.arange(cfg.units), cfg.stores)
    cat = rng.integers(cfg.categories, size=n_products)
    sub = rng.integers(SUBCATEGORIES, size=n_products)
    popularity = rng.lognormal(math.log(2.5), 1.1, size=n_products)
    store_size = rng.lognormal(0.0, 0.3, size=cfg.stores)
    erratic = rng.random(n_products) < 0.3
    base = popularity[product] * store_size[store]
    shape = np.where(
        base < 0.8,
        CLASS_SHAPE["intermittent"],
        np.where(erratic[product], CLASS_SHAPE["erratic"], CLASS_SHAPE["smooth"]),
    )
    uplift = rng.uniform(1.4, 2.4, size=cfg.categories)
    morning = rng.uniform(8.5, 10.5, size=cfg.categories)
    evening = rng.uniform(17.0, 19.5, size=cfg.categories)
    weight = rng.uniform(0.15, 0.4, size=cfg.categories)
    c = cat[product]
    profile = _bump_profile(
        morning[c] + rng.normal(0.0, 0.5, size=cfg.units),
        evening[c] + rng.normal(0.0, 0.75, size=cfg.units),
        np.clip(weight[c] * rng.lognormal(0.0, 0.3, size=cfg.units), 0.05, 0.9),
    )
    return UnitDesign(
        unit_id=np.array([f"S{s}_P{p}" for s, p in zip(store, product, strict=True)]),
        location=np.array([f"S{s}" for s in store]),
        cat_1=np.array([f"C{k}" for k in c]),
        cat_2=np.array([f"C{k}.{j}" for k, j in zip(c, sub[product], strict=True)]),
        base_rate=base,
        shape=shape,
        trend=rng.normal(0.0, 0.15, size=cfg.units),
        promo_depth=rng.uniform(0.1, 0.35, size=n_products)[product],
        promo_uplift=uplift[c],
        profile=profile,
    )


def _bump_profile(morning: np.ndarray, evening: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Hourly profiles ``(unit, 24)``: a morning and an evening peak (hours, ``(unit,)``)
    mixed by ``weight`` on top of a small floor, zero outside business hours."""
    hour = np.arange(profiles.HOURS) + 0.5

    def bump(centre: np.ndarray) -> np.ndarray:
        return np.exp(-0.5 * ((hour - centre[:, None]) / 1.8) ** 2)

    profile = weight[:, None] * bump(morning) + (1 - weight[:, None]) * bump(evening) + 0.03
    profile = profile * profiles.business_hours()
    return profile / profile.sum(axis=1, keepdims=True)


def _simulate_block(
    cfg: SyntheticConfig,
    design: UnitDesign,
    block: slice,
    dates: np.ndarray,
    holiday: np.ndarray,
    rng: np.random.Generator,
) -> BlockDraws:
    """Draw demand, promotions and stockouts of the units in ``block``."""
    n_units, n_days = block.stop - block.start, len(dates)
    promo = _promo_runs(rng, n_units, n_days, cfg.promo_rate)
    base = design.base_rate[block, None]
    rate = (
        base
        * WEEKDAY_UPLIFT[latent.weekday(dates)]
        * np.exp(design.trend[block, None] * np.arange(n_days) / 365.0)
        * HOLIDAY_UPLIFT**holiday
        * np.where(promo == 1, design.promo_uplift[block, None], 1.0)
    )
    shape = design.shape[block, None]
    demand = rng.poisson(rate * rng.gamma(shape, 1.0 / shape, size=rate.shape))
    pressure = np.sqrt(rate / base)
    p_out = np.clip(cfg.stockout_rate * pressure / pressure.mean(), 0.0, 0.95)
    sales, hour = _censor(rng, demand, p_out, design.profile[block])
    return BlockDraws(
        sales=sales.astype(np.float64),
        true_demand=demand.astype(np.float64),
        promo=promo,
        discount=np.where(promo == 1, 1.0 - design.promo_depth[block, None], 1.0),
        stockout_hour=hour,
    )


def _censor(
    rng: np.random.Generator, demand: np.ndarray, p_out: np.ndarray, profile: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Stock out unit-days with probability ``p_out`` and keep the demand before the hour.

    Args:
        rng: the block's generator.
        demand: true demand, int ``(unit, day)``.
        p_out: stockout probability, ``(unit, day)``.
        profile: true hourly profile, ``(unit, 24)``.

    Returns:
        ``sales`` int ``(unit, day)``, and the stockout hour int8 ``(unit, day)`` (24 = none).
    """
    rows, days = np.nonzero(rng.random(demand.shape) < p_out)
    first = rng.integers(profiles.BUSINESS_START + 1, profiles.BUSINESS_END, size=len(rows))
    first[rng.random(len(rows)) < FULL_OUT_SHARE] = profiles.BUSINESS_START
    before = np.cumsum(profile, axis=1) - profile
    sales = demand.copy()
    sales[rows, days] = rng.binomial(demand[rows, days], np.clip(before[rows, first], 0, 1))
    hour = np.full(demand.shape, profiles.HOURS, dtype=np.int8)
    hour[rows, days] = first
    return sales, hour


def _promo_runs(rng: np.random.Generator, n_units: int, n_days: int, rate: float) -> np.ndarray:
    """Promotion flags int8 ``(unit, day)``: runs of ``PROMO_RUN_DAYS`` covering ``rate``."""
    if rate <= 0:
        return np.zeros((n_units, n_days), dtype=np.int8)
    longest = max(PROMO_RUN_DAYS)
    starts = rng.random((n_units, n_days + longest - 1)) < _promo_start_rate(rate)
    rows, cols = np.nonzero(starts)
    length = rng.choice(np.array(PROMO_RUN_DAYS), size=len(rows))
    diff = np.zeros((n_units, n_days + 2 * longest), dtype=np.int32)
    np.add.at(diff, (rows, cols), 1)
    np.add.at(diff, (rows, cols + length), -1)
    covered = np.cumsum(diff, axis=1)[:, longest - 1 : longest - 1 + n_days] > 0
    return covered.astype(np.int8)


def _promo_start_rate(rate: float) -> float:
    """Daily run-start probability whose runs cover ``rate`` of days (bisection)."""
    lengths = np.array(PROMO_RUN_DAYS)
    survival = np.array([(lengths > k).mean() for k in range(lengths.max())])
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if 1.0 - np.prod(1.0 - mid * survival) < rate:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _in_stock_totals(
    draws: BlockDraws, profile: np.ndarray, train: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Hourly sales summed over each unit's fully in-stock training days, and its selling ones.

    The sum of a unit's daily multinomial splits over one profile is one multinomial of the
    summed demand, so the hourly rows need not be materialised. ``train`` (bool ``(day,)``)
    marks the days to learn from.

    Returns:
        ``totals`` float ``(unit, 24)`` and ``days`` float ``(unit,)``, as
        ``profiles.in_stock_hour_totals`` computes them from hourly rows.
    """
    full = (draws.stockout_hour >= profiles.BUSINESS_END) & train
    n_sold = np.where(full, draws.true_demand, 0).sum(axis=1).astype(np.int64)
    totals = rng.multinomial(n_sold, profile)
    return totals.astype(np.float64), ((draws.true_demand > 0) & full).sum(axis=1).astype(float)


def _observed_share(stockout_hour: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """``profiles.in_stock_share`` of each unit-day, float ``(unit, day)``.

    A day's flags are "out from its stockout hour on", so each unit needs the share for
    only 25 flag patterns (stockout hour 0…24, 24 = never), looked up per day.
    """
    patterns = np.arange(profiles.HOURS)[None, :] >= np.arange(profiles.HOURS + 1)[:, None]
    share = np.empty(stockout_hour.shape)
    for start in range(0, len(profile), BLOCK_UNITS):
        block = slice(start, start + BLOCK_UNITS)
        table = profiles.in_stock_share(patterns[None], profile[block, None, :])
        share[block] = np.take_along_axis(table, stockout_hour[block].astype(np.intp), axis=1)
    return share
