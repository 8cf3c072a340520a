"""``forecast_base_stock``: order up to a quantile of a LightGBM forecast of the coverage window.

The predict-then-optimise baseline (``orpr.baselines.forecaster``): on each review day ``t``
the policy forecasts the latent demand ``ŷ`` of ``[t, t + L + R)`` from what is known at
``t`` and orders up to ``S = ŷ + Q_q(y − ŷ)``, the ``q``-quantile of the window's demand built
from out-of-sample errors; its inventory days are ``v = S / d̂_t``.

Fitting, on the training period only (validation days ``V = policy.forecast_val_days``, the
last ``V`` training days):

1. the forecaster is fitted on the origins whose windows end before the validation days;
2. its errors on the validation origins give the residual table (in-sample errors would
   understate them);
3. ``q`` is the least quantile of ``policy.forecast_quantiles`` whose backtest over the
   validation days reaches the value fill rate α (``policy.alpha``), the largest if none does;
4. the forecaster is refitted on every training origin, keeping the residual table and ``q``.

With a location hold-out, steps 1–4 use the units of the other stores only. The frontier
sweeps ``q`` (``eval.frontier_quantiles``) around the tuned forecaster.

Symbols: α service target, ``L`` lead time, ``R`` review period (days), ``d̂_t`` reference
rate (units/day), ``q`` quantile.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np

from orpr.baselines.backtest import run_backtest
from orpr.baselines.contract import DecisionContext, Policy
from orpr.baselines.forecaster import (
    HISTORY,
    Calendar,
    Origins,
    Residuals,
    calendar_of,
    fit_booster,
    predict,
    residual_table,
    sample_origins,
    window_demand,
)
from orpr.baselines.registry import FitInputs, PolicySpec, register
from orpr.data.panel import Panel
from orpr.errors import InputError
from orpr.sim.metrics import summarize

NAME = "forecast_base_stock"
MIN_FIT_DAYS = 7
"""Fewest days of origins before the validation days that the first forecaster is fitted on."""


@dataclass(frozen=True)
class ForecastBaseStock:
    """Order up to the ``quantile`` of a forecast of the coverage window's demand.

    Attributes:
        booster: the LightGBM forecaster of the window's demand over its scale.
        residuals: out-of-sample errors ``y − ŷ`` by the size of ``ŷ``.
        calendar: the planned calendar of the panel the policy walks.
        quantile: ``q`` in (0, 1).
        fill_rate: the validation days' value fill rate at ``q`` (NaN when set by hand).
    """

    booster: lgb.Booster
    residuals: Residuals
    calendar: Calendar
    quantile: float
    fill_rate: float = float("nan")
    name: str = NAME
    oracle: bool = False
    forecasts: dict = field(default_factory=dict, compare=False, repr=False)

    def decide(self, ctx: DecisionContext) -> np.ndarray:
        units = np.asarray(ctx.units, dtype=np.int64)
        key = (ctx.day, units.tobytes())
        if key not in self.forecasts:  # shared by the variants of a quantile sweep
            origins = Origins(units, np.full(units.size, ctx.day, dtype=np.int64))
            self.forecasts[key] = predict(self.booster, ctx.history, self.calendar, origins)
        mean = self.forecasts[key]
        level = np.maximum(mean + self.residuals.quantile(mean, self.quantile), 0.0)
        return level / ctx.d_hat


def validation_start(inputs: FitInputs) -> int:
    """The first validation day; an InputError if the training period is too short for it."""
    split, cfg = inputs.split, inputs.cfg
    start = split.holdout_start - cfg.policy.forecast_val_days
    if start - cfg.split.warmup_days < 1 or start - MIN_FIT_DAYS < max(split.train_start, HISTORY):
        raise InputError(
            inputs.panel.source,
            "too few training days for forecast_base_stock's validation days "
            f"(history + {MIN_FIT_DAYS} days to fit on + policy.forecast_val_days)",
            column="policy.forecast_val_days",
            value=cfg.policy.forecast_val_days,
        )
    return start


def tune_quantile(
    policy: ForecastBaseStock, panel: Panel, d_hat: np.ndarray, inputs: FitInputs
) -> tuple[float, float]:
    """The least ``q`` on the grid whose validation backtest reaches α (else the largest), and
    the validation days' value fill rate at it."""
    cfg = inputs.cfg
    start, stop = validation_start(inputs), inputs.split.holdout_start
    for q in cfg.policy.forecast_quantiles:
        variant = dataclasses.replace(policy, quantile=q)
        r = run_backtest(panel, variant, d_hat, start, stop, cfg.split.warmup_days)
        fill = summarize(r.totals(panel.units, panel.active[:, start:stop])).fill_rate
        if fill >= cfg.policy.alpha:
            break
    return q, fill


def fitting_units(inputs: FitInputs) -> tuple[Panel, np.ndarray]:
    """The panel and ``d̂`` of the units fitting reads (all but a location hold-out's)."""
    panel, d_hat = inputs.panel, inputs.d_hat
    fit = np.flatnonzero(~inputs.held) if inputs.holds_out else np.arange(panel.n_units)
    return panel.take_units(fit), d_hat[fit]


def forecaster_on(part: Panel, start: int, stop: int, inputs: FitInputs) -> lgb.Booster:
    """The forecaster fitted on the origins of ``part`` whose windows lie in ``[start, stop)``."""
    p, seed = inputs.cfg.policy, inputs.cfg.seed
    every = np.arange(part.n_units)
    return fit_booster(
        part, sample_origins(part, every, start, stop, p.forecast_samples, seed), p, seed
    )


def validation_policy(inputs: FitInputs, part: Panel) -> ForecastBaseStock:
    """Steps 1–2: the forecaster fitted before the validation days and its errors on them,
    at the grid's first quantile, walking ``part`` (the fitting units)."""
    p, val, stop = inputs.cfg.policy, validation_start(inputs), inputs.split.holdout_start
    first = forecaster_on(part, inputs.split.train_start, val, inputs)
    every = np.arange(part.n_units)
    checks = sample_origins(part, every, val, stop, p.forecast_samples, inputs.cfg.seed + 1)
    mean = predict(first, part, calendar_of(part), checks)
    residuals = residual_table(mean, window_demand(part, checks))
    return ForecastBaseStock(first, residuals, calendar_of(part), p.forecast_quantiles[0])


def forecast_base_stock(inputs: FitInputs) -> ForecastBaseStock:
    """The policy fitted, tuned and refitted on the training period (see the module)."""
    part, part_rate = fitting_units(inputs)
    trial = validation_policy(inputs, part)
    q, fill = tune_quantile(trial, part, part_rate, inputs)
    final = forecaster_on(part, inputs.split.train_start, inputs.split.holdout_start, inputs)
    return ForecastBaseStock(final, trial.residuals, calendar_of(inputs.panel), q, fill)


def quantile_sweep(
    inputs: FitInputs, quantiles: tuple[float, ...]
) -> Iterator[tuple[float, Policy]]:
    """The fitted policy at each quantile ``q`` (fitted once; forecasts shared)."""
    base = forecast_base_stock(inputs)
    for q in quantiles:
        yield q, dataclasses.replace(base, quantile=q)


register(
    PolicySpec(
        NAME, forecast_base_stock, knob="quantile", sweep=quantile_sweep, fits_without_held=True
    )
)
