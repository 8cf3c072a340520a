"""Model inputs: three scale-free streams for any batch of (unit, day ``t``) states.

Symbols: ``t`` the decision (or forecast-origin) day; ``W`` days of history (``window``);
``P`` days per sales or calendar token (``patch``); ``Cd`` days of known calendar;
``L`` lead time and ``R`` review period (days); ``d̂_t`` the reference rate (units/day);
``α`` the service target; ``c`` unit value, ``h`` holding rate, ``p`` lost-sale penalty.

Streams (DESIGN §6), every quantity divided by ``d̂_t``:

- **sales**: the ``W`` days before ``t``, ``C_SALES`` channels a day (latent demand, its
  log1p, sales, stockout fraction, discount, promo, holiday, listed, day of week as sin/cos),
  patched ``P`` days per token: ``(n, W/P, P·C_SALES)``. Days before the data are zeros.
- **attributes**: ``L``, ``R``, ``log c``, ``h``, ``p/c``, ``log d̂_t``, the window's demand
  scale and variability (log mean, CV, zero share, listed share), the recent run rates (mean
  of the last 7 and 14 days ÷ ``d̂_t``, logged) and ABC–XYZ class (one-hot),
  ``(n, C_ATTR)``; plus category levels and location as hashed ids ``(n, F)`` (an unseen
  category still maps into a bucket).
- **objective**: the position token ``(n, C_POS)`` — ``α``, on-hand, inventory position and
  each pipeline slot in days of ``d̂_t`` — and the known calendar of days ``t … t+Cd−1``
  (promo, discount, holiday, inside the ``L + R`` coverage window, known, day of week),
  patched like sales: ``(n, Cd/P, P·C_CAL)``.

Only what is known at ``t`` enters: history arrays are read strictly before ``t``; the
calendar (promotions, prices, holidays are planned in advance) is read from ``t`` on.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from orpr.data.panel import Panel
from orpr.data.segments import XYZ_CV, abc_class

C_RAW = 7  # demand, sales, stockout fraction, discount, promo, holiday, listed
C_SALES = 10
C_CAL = 7
C_ATTR = 18
C_STATS = 8  # log mean, cv, zero share, listed share, mean of 7 and 14 days, abc, xyz
RECENT = (7, 14)  # days of the recent run rates
MAX_RATIO = 50.0  # a day's quantity above 50·d̂ is clipped (a launch or a data error)


@dataclass(frozen=True)
class FeatureSpec:
    """Shapes of the streams (all in days).

    Attributes:
        window: ``W``, days of sales history.
        patch: ``P``, days per sales or calendar token.
        calendar_days: ``Cd``, days of known calendar from ``t``.
        pipeline_slots: pipeline slots in the position token (later orders are summed
            into the last slot).
        hash_buckets: rows of the hashed category table (row 0 = no category).
    """

    window: int = 56
    patch: int = 7
    calendar_days: int = 14
    pipeline_slots: int = 8
    hash_buckets: int = 512

    @property
    def position_size(self) -> int:
        """Width of the position token: α, on-hand and IP (2 each), 2 per pipeline slot."""
        return 5 + 2 * self.pipeline_slots


class Position(NamedTuple):
    """The decision objective's state at ``t``, in units.

    Attributes:
        alpha: service target ``α`` ``(n,)``.
        on_hand: on-hand after day ``t``'s arrivals ``(n,)``.
        pipeline: outstanding orders ``(n, k)``; slot ``j`` arrives on ``t + 1 + j``.
    """

    alpha: np.ndarray
    on_hand: np.ndarray
    pipeline: np.ndarray


class Features(NamedTuple):
    """A batch of model inputs, float32 unless stated.

    Attributes:
        sales: ``(n, W/P, P·C_SALES)``.
        calendar: ``(n, Cd/P, P·C_CAL)``.
        position: ``(n, C_POS)``.
        attributes: ``(n, C_ATTR)``.
        categories: hashed ids, int64 ``(n, F)``; 0 = none.
    """

    sales: np.ndarray
    calendar: np.ndarray
    position: np.ndarray
    attributes: np.ndarray
    categories: np.ndarray


class FeatureSource(NamedTuple):
    """Per-panel arrays the streams are gathered from.

    Attributes:
        day0: absolute day index of the first day held.
        daily: raw history channels, float32 ``(unit, day, C_RAW)``.
        dow: day of week of each day held (Monday = 0) ``(day,)``.
        stats: rolling window statistics as of the *start* of each day, float32
            ``(unit, day + 1, C_STATS)``: entry ``j`` summarises held days ``[j − W, j)``.
        static: ``L/7, R/7, log c, 100·h, p/c``, float32 ``(unit, 5)``.
        coverage: ``L + R`` per unit, days ``(unit,)``.
        categories: hashed category-level and location ids, int64 ``(unit, F)``.
    """

    day0: int
    daily: np.ndarray
    dow: np.ndarray
    stats: np.ndarray
    static: np.ndarray
    coverage: np.ndarray
    categories: np.ndarray


class Calendar(NamedTuple):
    """The known calendar of every unit and day (planned in advance), float32 ``(unit, day)``."""

    promo: np.ndarray
    discount: np.ndarray
    holiday: np.ndarray
    dow: np.ndarray


def day_of_week(dates: np.ndarray) -> np.ndarray:
    """Monday = 0 … Sunday = 6 for datetime64 dates ``(day,)``."""
    return (dates.astype("datetime64[D]").astype(np.int64) + 3) % 7


def hash_ids(values: np.ndarray, field: int, buckets: int) -> np.ndarray:
    """Stable hashed ids in ``[1, buckets)`` of str ``values`` ``(n,)``; ``""`` → 0."""
    uniq, inverse = np.unique(values.astype(str), return_inverse=True)
    ids = np.array(
        [zlib.crc32(f"{field}:{u}".encode()) % (buckets - 1) + 1 if u else 0 for u in uniq],
        dtype=np.int64,
    )
    return ids[inverse.reshape(-1)]


def known_calendar(panel: Panel) -> Calendar:
    """The panel's calendar columns (the part of the future that is known at ``t``)."""
    return Calendar(
        panel.promo.astype(np.float32),
        panel.discount.astype(np.float32),
        panel.holiday.astype(np.float32),
        day_of_week(panel.dates),
    )


def feature_source(panel: Panel, spec: FeatureSpec, day0: int = 0) -> FeatureSource:
    """Gather-ready arrays of ``panel``, whose first day is absolute day ``day0``."""
    active = panel.active
    demand = np.where(active, panel.demand, 0.0)
    daily = np.stack(
        [
            demand,
            np.where(active, panel.sales, 0.0),
            panel.stockout_fraction,
            panel.discount,
            panel.promo,
            panel.holiday,
            active,
        ],
        axis=-1,
    ).astype(np.float32)  # (unit, day, C_RAW)
    u = panel.units
    static = np.stack(
        [
            u.lead_time / 7.0,
            u.review_period / 7.0,
            np.log(u.unit_cost),
            100.0 * u.holding_rate,
            u.lost_penalty / u.unit_cost,
        ],
        axis=-1,
    ).astype(np.float32)
    fields = [u.categories[:, k] for k in range(u.categories.shape[1])] + [u.location]
    categories = np.stack(
        [hash_ids(col, k, spec.hash_buckets) for k, col in enumerate(fields)], axis=-1
    )
    return FeatureSource(
        day0,
        daily,
        day_of_week(panel.dates),
        rolling_stats(demand, active, u.unit_cost, spec.window),
        static,
        (u.lead_time + u.review_period).astype(np.int64),
        categories,
    )


def rolling_stats(
    demand: np.ndarray, active: np.ndarray, unit_cost: np.ndarray, window: int
) -> np.ndarray:
    """Demand scale, variability and ABC–XYZ class over the ``window`` days before each day.

    Args:
        demand: latent demand, 0 on unlisted days, units ``(unit, day)``.
        active: listed, bool ``(unit, day)``.
        unit_cost: ``c`` ``(unit,)``; ABC ranks units by ``Σ c·d`` over the window.
        window: ``W``, days.

    Returns:
        float32 ``(unit, day + 1, C_STATS)``: log(mean + 0.01), CV, zero share, listed share,
        mean demand of the last 7 and 14 listed days (units), ABC code (A = 0, B = 1, C = 2),
        XYZ code (X = 0, Y = 1, Z = 2); entry ``j`` uses days ``[j − W, j)``.
    """

    def window_sum(x: np.ndarray, span: int = window) -> np.ndarray:
        c = np.zeros((x.shape[0], x.shape[1] + 1))
        np.cumsum(x, axis=1, out=c[:, 1:])
        hi = np.arange(x.shape[1] + 1)
        return c[:, hi] - c[:, np.maximum(hi - span, 0)]  # (unit, day + 1)

    listed = active.astype(np.float64)
    n = window_sum(listed)
    s1, s2 = window_sum(demand), window_sum(demand**2)
    zeros = window_sum((active & (demand <= 0)).astype(np.float64))
    recent = [window_sum(demand, k) / np.maximum(window_sum(listed, k), 1.0) for k in RECENT]
    mean = s1 / np.maximum(n, 1.0)
    std = np.sqrt(np.maximum(s2 / np.maximum(n, 1.0) - mean**2, 0.0))
    cv = np.where(mean > 0, std / np.where(mean > 0, mean, 1.0), np.inf)
    xyz = np.where(cv <= XYZ_CV[0], 0, np.where(cv <= XYZ_CV[1], 1, 2))
    abc = np.stack([abc_class(unit_cost * s1[:, j]) for j in range(s1.shape[1])], axis=1)
    abc_code = np.searchsorted(np.array(["A", "B", "C"]), abc)
    return np.stack(
        [
            np.log(mean + 0.01),
            np.minimum(cv, 5.0),
            zeros / np.maximum(n, 1.0),
            n / window,
            *recent,
            abc_code,
            xyz,
        ],
        axis=-1,
    ).astype(np.float32)


def build_features(
    src: FeatureSource,
    cal: Calendar,
    units: np.ndarray,
    days: np.ndarray,
    d_hat: np.ndarray,
    position: Position,
    spec: FeatureSpec,
) -> Features:
    """The three streams for states ``(units[i], days[i])``.

    Args:
        src: history arrays; must hold the ``W`` days before each ``t`` that exist.
        cal: the known calendar, absolute days.
        units: unit indices ``(n,)``.
        days: absolute day ``t`` of each state ``(n,)`` (or a scalar).
        d_hat: ``d̂_t`` per state, units/day ``(n,)``.
        position: the objective state per row.
        spec: stream shapes.
    """
    units = np.asarray(units, dtype=np.int64)
    days = np.broadcast_to(np.asarray(days, dtype=np.int64), units.shape)
    d_hat = np.asarray(d_hat, dtype=np.float64)
    return Features(
        sales_stream(src, units, days, d_hat, spec),
        calendar_stream(cal, units, days, src.coverage[units], spec),
        position_features(position, d_hat, spec.pipeline_slots),
        attribute_features(src, units, days, d_hat),
        src.categories[units],
    )


def sales_stream(
    src: FeatureSource, units: np.ndarray, days: np.ndarray, d_hat: np.ndarray, spec: FeatureSpec
) -> np.ndarray:
    """The ``W`` days before ``t`` ÷ ``d̂_t``, patched: float32 ``(n, W/P, P·C_SALES)``."""
    rel = (days - src.day0)[:, None] + np.arange(-spec.window, 0)[None, :]  # (n, W)
    held = rel >= 0
    rel = np.maximum(rel, 0)
    raw = src.daily[units[:, None], rel] * held[..., None]  # (n, W, C_RAW)
    scale = d_hat[:, None].astype(np.float32)
    q_demand = np.minimum(raw[..., 0] / scale, MAX_RATIO)
    q_sales = np.minimum(raw[..., 1] / scale, MAX_RATIO)
    angle = 2 * np.pi * src.dow[rel] / 7.0
    x = np.stack(
        [
            q_demand,
            np.log1p(q_demand),
            q_sales,
            *np.moveaxis(raw[..., 2:], -1, 0),
            np.sin(angle) * held,
            np.cos(angle) * held,
        ],
        axis=-1,
    )  # (n, W, C_SALES)
    n = len(units)
    return x.reshape(n, spec.window // spec.patch, spec.patch * C_SALES).astype(np.float32)


def calendar_stream(
    cal: Calendar, units: np.ndarray, days: np.ndarray, coverage: np.ndarray, spec: FeatureSpec
) -> np.ndarray:
    """Known calendar of days ``t … t+Cd−1``, patched: float32 ``(n, Cd/P, P·C_CAL)``."""
    k = np.arange(spec.calendar_days)[None, :]
    day = days[:, None] + k  # (n, Cd)
    known = day < cal.promo.shape[1]
    day = np.minimum(day, cal.promo.shape[1] - 1)
    rows = units[:, None]
    angle = 2 * np.pi * cal.dow[day] / 7.0
    x = (
        np.stack(
            [
                cal.promo[rows, day],
                cal.discount[rows, day],
                cal.holiday[rows, day],
                np.broadcast_to(k < coverage[:, None], day.shape),
                np.ones(day.shape),
                np.sin(angle),
                np.cos(angle),
            ],
            axis=-1,
        )
        * known[..., None]
    )  # (n, Cd, C_CAL)
    n = len(units)
    return x.reshape(n, spec.calendar_days // spec.patch, spec.patch * C_CAL).astype(np.float32)


def position_features(position: Position, d_hat: np.ndarray, slots: int) -> np.ndarray:
    """``α``, on-hand, inventory position and pipeline slots in days: float32 ``(n, C_POS)``."""
    n = len(d_hat)
    pipeline = np.zeros((n, slots))
    k = min(slots, position.pipeline.shape[1])
    pipeline[:, :k] = position.pipeline[:, :k]
    if position.pipeline.shape[1] > slots:
        pipeline[:, -1] += position.pipeline[:, slots:].sum(axis=1)
    on_hand = position.on_hand / d_hat
    in_days = [on_hand, on_hand + pipeline.sum(axis=1) / d_hat, *(pipeline / d_hat[:, None]).T]
    cols = [np.asarray(position.alpha, dtype=np.float64)]
    for x in in_days:
        cols += [np.clip(x, 0.0, 60.0) / 10.0, np.log1p(np.maximum(x, 0.0))]
    return np.stack(cols, axis=-1).astype(np.float32)


def attribute_features(
    src: FeatureSource, units: np.ndarray, days: np.ndarray, d_hat: np.ndarray
) -> np.ndarray:
    """Unit parameters, window statistics and ABC–XYZ one-hots: float32 ``(n, C_ATTR)``."""
    stats = src.stats[units, days - src.day0]  # (n, C_STATS)
    abc = np.eye(3, dtype=np.float32)[stats[:, 6].astype(np.int64)]
    xyz = np.eye(3, dtype=np.float32)[stats[:, 7].astype(np.int64)]
    log_rate = np.log(d_hat)[:, None]
    recent = np.log(stats[:, 4:6] / d_hat[:, None] + 0.01)  # run rates in days of d̂
    return np.concatenate(
        [src.static[units], log_rate, stats[:, :4], recent, abc, xyz], axis=1
    ).astype(np.float32)
