"""How well demand is forecast day by day: WAPE and bias of simple forecasts and of LightGBM.

The cells (the same for every forecaster): every origin ``t`` of the held-out period and
horizon ``h = 1 … 14``, target day ``d = t + h − 1`` inside the period, on which the unit is
listed and fully in stock; the target is the day's latent demand (its sales, on such a day).
A point forecast is a median. Forecasters:

- ``mean28``: the mean latent demand of the 28 days before ``t`` (listed days);
- ``seasonal_naive``: the latent demand of the same weekday in the last week before ``t``
  (``d − 7·⌈h/7⌉``);
- ``lightgbm``: a LightGBM global model of the day's demand over the unit's 28-day mean
  (L1 loss weighted by that mean: the median), from the origin's features
  (``orpr.baselines.forecaster.features``), the horizon and the target day's weekday and
  planned calendar; fitted on training origins whose target days precede the held-out period.

``WAPE = Σ|ŷ − y| / Σy`` and ``bias = Σ(ŷ − y) / Σy`` over the cells.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np

from orpr.baselines.forecaster import (
    FEATURES,
    SCALE_FLOOR,
    Calendar,
    Origins,
    booster_params,
    calendar_of,
    features,
    sample_origins,
)
from orpr.config import PolicyConfig
from orpr.data.panel import Panel

HORIZON = 14
"""Days ahead forecast from each origin."""


def daily_features(history: Panel, calendar: Calendar, origins: Origins, h: np.ndarray):
    """The origin's features, the horizon, and the target day's weekday and calendar."""
    x = features(history, calendar, origins)
    d = np.minimum(origins.day + h - 1, calendar.promo.shape[1] - 1)
    weekday = (history.dates[0].astype("datetime64[D]").astype(np.int64) + d + 3) % 7
    cal = [a[origins.unit, d] for a in calendar]
    return np.column_stack([x, h, weekday, *cal]).astype(np.float64)


def _scale(x: np.ndarray) -> np.ndarray:
    return np.maximum(np.nan_to_num(x[:, FEATURES.index("mean28")]), SCALE_FLOOR / 7)


def fit_daily(panel: Panel, units: np.ndarray, start: int, stop: int, cfg: PolicyConfig, seed: int):
    """The LightGBM median model of a day's demand, on origins whose target days precede ``stop``."""
    o = sample_origins(panel, units, start, stop - HORIZON + 1, cfg.forecast_samples, seed + 7)
    h = np.random.default_rng([seed, 7411]).integers(1, HORIZON + 1, o.unit.size)
    x = daily_features(panel, calendar_of(panel), o, h)
    y = np.where(panel.active[o.unit, o.day + h - 1], panel.demand[o.unit, o.day + h - 1], 0.0)
    s = _scale(x)
    params = booster_params(cfg, seed, "l1")
    data = lgb.Dataset(x, label=y / s, weight=s, free_raw_data=True)
    return lgb.train(params, data, num_boost_round=cfg.forecast_trees)


def cells(panel: Panel, t: int, stop: int) -> tuple[Origins, np.ndarray]:
    """The scored cells of origin ``t``: ``(origins, horizons)`` with the target day before
    ``stop``, listed and fully in stock."""
    n = panel.n_units
    h = np.repeat(np.arange(1, HORIZON + 1), n)
    unit = np.tile(np.arange(n), HORIZON)
    d = t + h - 1
    keep = d < stop
    unit, h, d = unit[keep], h[keep], d[keep]
    ok = panel.active[unit, d] & (panel.stockout_fraction[unit, d] == 0)
    return Origins(unit[ok], np.full(ok.sum(), t, dtype=np.int64)), h[ok]


def forecast_accuracy(
    panel: Panel,
    fit_units: np.ndarray,
    train: tuple[int, int],
    stop: int,
    cfg: PolicyConfig,
    seed: int,
) -> dict[str, dict[str, float]]:
    """``{name: {"wape", "bias"}}`` of ``mean28``, ``seasonal_naive`` and ``lightgbm`` over the
    cells of the days ``[train[1], stop)``; the model is fitted on ``fit_units``' training days."""
    booster = fit_daily(panel, fit_units, *train, cfg, seed)
    calendar = calendar_of(panel)
    sums = {k: np.zeros(3) for k in ("mean28", "seasonal_naive", "lightgbm")}
    for t in range(train[1], stop):
        o, h = cells(panel, t, stop)
        if o.unit.size == 0:
            continue
        y = panel.demand[o.unit, t + h - 1]
        x = daily_features(panel, calendar, o, h)
        lag = t + h - 1 - 7 * ((h + 6) // 7)
        guesses = {
            "mean28": np.nan_to_num(x[:, FEATURES.index("mean28")]),
            "seasonal_naive": np.where(panel.active[o.unit, lag], panel.demand[o.unit, lag], 0.0),
            "lightgbm": np.maximum(booster.predict(x, num_threads=1) * _scale(x), 0.0),
        }
        for name, guess in guesses.items():
            sums[name] += (np.abs(guess - y).sum(), (guess - y).sum(), y.sum())
    return {
        k: {"wape": float(a / c) if c else None, "bias": float(b / c) if c else None}
        for k, (a, b, c) in sums.items()
    }
