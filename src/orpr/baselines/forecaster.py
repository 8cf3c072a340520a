"""A LightGBM global forecaster of each decision's coverage-window demand.

The predict-then-optimise baseline a data scientist would build first: one gradient-boosted
model over every unit, fitted on the training period, that predicts the latent demand of the
coverage window ``[t, t + L + R)`` from what is known at the decision day ``t``:

- the latent demand of the last 28 days (lags 1–7, means over 7, 14 and 28 active days, the
  mean over in-stock days only, the same weekday's mean over four weeks) and the share of the
  last 7 days with a stockout;
- the weekday of ``t``;
- the planned calendar of the window (promotion share, mean discount, holidays) — planned in
  advance, so known at ``t``;
- the unit's ``L``, ``R``, unit value, top-level category and store (categorical).

The target is the window's demand over ``(L + R)·m₂₈`` (``m₂₈`` the 28-day mean, floored),
weighted by that scale, so one model serves slow and fast units. Its errors are measured out
of sample (``residual_table``) and binned by the size of the forecast, so a quantile of the
window's demand is ``ŷ + Q_q(ŷ − y | bin of ŷ)``, never a quantile of in-sample residuals.

Symbols: ``t`` decision day, ``L`` lead time, ``R`` review period (days), ``ŷ`` forecast of
the window's demand, ``y`` its realisation (units).
"""

from __future__ import annotations

from typing import NamedTuple

import lightgbm as lgb
import numpy as np

from orpr.config import PolicyConfig
from orpr.data.panel import Panel

HISTORY = 28
"""Days of demand history behind an origin's features."""
LAGS = 7
"""Daily lags of latent demand among the features."""
BINS = 5
"""Bins of ``ŷ`` (equal counts of validation origins) the residuals are pooled within."""
SCALE_FLOOR = 0.05
"""Floor of the target's scale ``(L + R)·m₂₈``, units."""
CATEGORICAL = ("category", "location")


class Calendar(NamedTuple):
    """The planned calendar of every unit and day ``(unit, day)``: known in advance."""

    promo: np.ndarray
    discount: np.ndarray
    holiday: np.ndarray


class Origins(NamedTuple):
    """Decision origins: unit indices and days, int64 ``(n,)``."""

    unit: np.ndarray
    day: np.ndarray


class Residuals(NamedTuple):
    """Out-of-sample errors ``y − ŷ`` pooled by the size of ``ŷ``.

    Attributes:
        edges: inner edges of the ``ŷ`` bins, units ``(BINS − 1,)``.
        errors: each bin's sorted errors, units.
    """

    edges: np.ndarray
    errors: tuple[np.ndarray, ...]

    def quantile(self, mean: np.ndarray, q: float) -> np.ndarray:
        """``Q_q(y − ŷ)`` of each forecast's bin ``(n,)``."""
        per_bin = np.array([np.quantile(e, q) if e.size else 0.0 for e in self.errors])
        return per_bin[np.searchsorted(self.edges, mean, side="right")]


def calendar_of(panel: Panel) -> Calendar:
    """The panel's planned calendar (promotions, discounts and holidays are known ahead)."""
    return Calendar(panel.promo, panel.discount, panel.holiday)


def spans(panel: Panel, units: np.ndarray) -> np.ndarray:
    """The coverage window ``L + R`` of each unit, days ``(n,)``."""
    u = panel.units
    return (u.lead_time[units] + u.review_period[units]).astype(np.int64)


def _mean(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    count = mask.sum(axis=1)
    return np.where(count > 0, np.where(mask, x, 0.0).sum(axis=1) / np.maximum(count, 1), np.nan)


def features(history: Panel, calendar: Calendar, origins: Origins) -> np.ndarray:
    """The feature matrix of ``origins`` ``(n, features)``, float64 (NaN = unknown).

    Only days before each origin's day are read from ``history``'s demand, sales and
    stockouts; the calendar is read over the coverage window from the day on.
    """
    u, t = origins
    back = t[:, None] + np.arange(-HISTORY, 0)[None, :]  # (n, 28): the days before t
    ok = back >= 0
    back = np.maximum(back, 0)
    active = history.active[u[:, None], back] & ok
    demand = np.where(active, history.demand[u[:, None], back], 0.0)
    out = history.stockout_fraction[u[:, None], back] > 0
    span = spans(history, u)
    window = t[:, None] + np.arange(int(span.max(initial=1)))[None, :]
    inside = np.arange(window.shape[1])[None, :] < span[:, None]
    window = np.minimum(window, calendar.promo.shape[1] - 1)
    cal = [np.where(inside, a[u[:, None], window], 0.0) for a in calendar]
    units = history.units
    m28 = _mean(demand, active)
    cols = [
        *(demand[:, -k] for k in range(1, LAGS + 1)),
        _mean(demand[:, -7:], active[:, -7:]),
        _mean(demand[:, -14:], active[:, -14:]),
        m28,
        _mean(demand, active & ~out),
        _mean(demand[:, -7::-7][:, :4], active[:, -7::-7][:, :4]),
        out[:, -7:].mean(axis=1),
        (history.dates[0].astype("datetime64[D]").astype(np.int64) + t + 3) % 7,
        cal[0].sum(axis=1) / span,
        cal[1].sum(axis=1) / span,
        cal[2].sum(axis=1),
        span,
        units.lead_time[u],
        units.review_period[u],
        units.unit_cost[u],
        _codes(units.category)[u],
        _codes(units.location)[u],
    ]
    return np.column_stack(cols).astype(np.float64)


FEATURES = (
    *(f"lag{k}" for k in range(1, LAGS + 1)),
    *("mean7", "mean14", "mean28", "mean28_in_stock", "same_weekday"),
    *("stockout_share7", "weekday", "promo_share", "mean_discount", "holidays"),
    *("span", "lead_time", "review_period", "unit_cost", *CATEGORICAL),
)


def _codes(values: np.ndarray) -> np.ndarray:
    """Integer codes of string values, in sorted order."""
    return np.unique(values.astype(str), return_inverse=True)[1].astype(np.float64)


def scale(x: np.ndarray) -> np.ndarray:
    """The target's scale ``max((L + R)·m₂₈, SCALE_FLOOR)`` from the feature matrix ``x``."""
    m28 = np.nan_to_num(x[:, FEATURES.index("mean28")])
    return np.maximum(x[:, FEATURES.index("span")] * m28, SCALE_FLOOR)


def window_demand(panel: Panel, origins: Origins) -> np.ndarray:
    """The realised latent demand of each origin's coverage window ``(n,)``, units."""
    u, t = origins
    span = spans(panel, u)
    days = t[:, None] + np.arange(int(span.max(initial=1)))[None, :]
    inside = (np.arange(days.shape[1])[None, :] < span[:, None]) & (days < panel.n_days)
    days = np.minimum(days, panel.n_days - 1)
    listed = panel.active[u[:, None], days] & inside
    return np.where(listed, panel.demand[u[:, None], days], 0.0).sum(axis=1)


def sample_origins(
    panel: Panel, units: np.ndarray, start: int, stop: int, n: int, seed: int
) -> Origins:
    """Up to ``n`` seeded origins of ``units`` whose whole window lies in ``[start, stop)``,
    on days the unit is listed; every origin when there are fewer."""
    start = max(start, HISTORY)
    last = stop - spans(panel, units)  # the latest origin of each unit
    count = np.maximum(last - start + 1, 0)
    total = int(count.sum())
    if total == 0:
        return Origins(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    rng = np.random.default_rng([seed, 5077])
    flat = np.sort(rng.choice(total, size=n, replace=False)) if total > n else np.arange(total)
    owner = np.searchsorted(np.cumsum(count), flat, side="right")
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    origins = Origins(units[owner].astype(np.int64), start + flat - first[owner])
    keep = panel.active[origins.unit, origins.day]
    return Origins(origins.unit[keep], origins.day[keep])


def fit_booster(panel: Panel, origins: Origins, cfg: PolicyConfig, seed: int) -> lgb.Booster:
    """The LightGBM model of the windows' demand over their scale, weighted by the scale."""
    x = features(panel, calendar_of(panel), origins)
    s = scale(x)
    data = lgb.Dataset(
        x,
        label=window_demand(panel, origins) / s,
        weight=s,
        feature_name=list(FEATURES),
        categorical_feature=list(CATEGORICAL),
        free_raw_data=True,
    )
    params = booster_params(cfg, seed, "regression")
    return lgb.train(params, data, num_boost_round=cfg.forecast_trees)


def booster_params(cfg: PolicyConfig, seed: int, objective: str) -> dict[str, object]:
    """LightGBM's settings: the ``[policy]`` sizes, seeded and deterministic (one thread)."""
    return {
        "objective": objective,
        "learning_rate": cfg.forecast_learning_rate,
        "num_leaves": cfg.forecast_leaves,
        "min_data_in_leaf": 50,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "verbosity": -1,
    }


def predict(booster: lgb.Booster, history: Panel, calendar: Calendar, origins: Origins):
    """Forecasts ``ŷ ≥ 0`` of the origins' window demand ``(n,)``, units."""
    if origins.unit.size == 0:
        return np.zeros(0)
    x = features(history, calendar, origins)
    return np.maximum(booster.predict(x, num_threads=1) * scale(x), 0.0)


def residual_table(mean: np.ndarray, actual: np.ndarray) -> Residuals:
    """Errors ``y − ŷ`` pooled in ``BINS`` bins of ``ŷ`` with equal counts."""
    if mean.size == 0:
        return Residuals(np.empty(0), (np.zeros(1),))
    edges = np.unique(np.quantile(mean, np.linspace(0, 1, BINS + 1)[1:-1]))
    which = np.searchsorted(edges, mean, side="right")
    errors = tuple(np.sort(actual[which == b] - mean[which == b]) for b in range(edges.size + 1))
    return Residuals(edges, errors)
