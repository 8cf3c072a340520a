"""Stage 2a: demand pretraining of the encoder and sales head, and the forecast's WAPE.

Symbols: ``t`` a forecast origin (a unit-day); ``H`` forecast days; ``d̂_t`` the reference
rate (units/day); ``W`` days of history.

Days of the panel (``orpr.baselines.split.time_split``), with ``V = pretrain.val_days``:

    [0, min_history)  [min_history, holdout − V)   [holdout − V, holdout)   [holdout, stop)
     history only      training origins            validation origins       evaluation (WAPE)

A training state's targets are cut at the validation start and a validation state's at the
held-out start, so neither training nor early stopping ever sees an evaluation day. Each
epoch samples ``demand_samples`` origins afresh from the training pool (FreshRetailNet has
~2.7 M training unit-days; sampling keeps an epoch short). The pinball loss weighs each state
by ``d̂_t``: the error in units over the batch's volume, which is how WAPE weighs. Pretraining states carry a random
position and α (the decision objective is unknown here), so the encoder learns that they
do not move demand.

WAPE = ``Σ |ŷ − y| / Σ y`` over held-out in-stock days (stockout fraction 0, where latent
demand equals sales), for the model's median and two naive forecasts: *seasonal naive* (the
same weekday in the last week before ``t``) and *mean28* (the mean of the 28 days before ``t``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from orpr.config import TrainConfig
from orpr.data.panel import Panel
from orpr.data.rate import reference_rates
from orpr.model.features import (
    Calendar,
    Features,
    FeatureSource,
    FeatureSpec,
    Position,
    build_features,
    feature_source,
    known_calendar,
)
from orpr.model.network import ModelSpec, ORPRModel, pinball_loss, to_tensors

PRETRAIN_STAGE = 0


class DemandData(NamedTuple):
    """Arrays every demand task reads.

    Attributes:
        src, cal: feature sources of the whole panel.
        d_hat: reference rate, units/day ``(unit, day)``.
        demand: latent demand, 0 where unlisted, units ``(unit, day)``.
        listed: listed days ``(unit, day)``; in_stock: listed and stockout fraction 0.
        lead_time: ``L`` per unit, days ``(unit,)``.
    """

    src: FeatureSource
    cal: Calendar
    d_hat: np.ndarray
    demand: np.ndarray
    listed: np.ndarray
    in_stock: np.ndarray
    lead_time: np.ndarray


class Wape(NamedTuple):
    """WAPE of three forecasts on the same held-out in-stock unit-days (fractions)."""

    model: float
    seasonal_naive: float
    mean28: float
    days: int


def demand_data(panel: Panel, d_hat: np.ndarray, spec: FeatureSpec) -> DemandData:
    """Gather-ready arrays of ``panel`` with reference rates ``d_hat`` ``(unit, day)``."""
    return DemandData(
        feature_source(panel, spec),
        known_calendar(panel),
        d_hat,
        np.where(panel.active, panel.demand, 0.0),
        panel.active,
        panel.active & (panel.stockout_fraction == 0),
        panel.units.lead_time,
    )


def random_positions(
    rng: np.random.Generator, lead_time: np.ndarray, d_hat: np.ndarray, slots: int
) -> Position:
    """Random α in [0.8, 0.99], on-hand up to 10 days and orders in the ``L − 1`` slots."""
    n = len(d_hat)
    in_flight = np.arange(slots)[None, :] < (lead_time[:, None] - 1)
    return Position(
        rng.uniform(0.8, 0.99, n),
        rng.uniform(0.0, 10.0, n) * d_hat,
        rng.uniform(0.0, 2.0, (n, slots)) * d_hat[:, None] * in_flight,
    )


def demand_targets(
    demand: np.ndarray,
    ok: np.ndarray,
    units: np.ndarray,
    days: np.ndarray,
    d_hat: np.ndarray,
    horizon: int,
    stop: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Demand of days ``t … t+H−1`` ÷ ``d̂_t`` ``(n, H)``, and which of them count ``(n, H)``.

    A day counts when it is before ``stop`` and ``ok`` (listed, or in stock for WAPE).
    """
    day = days[:, None] + np.arange(horizon)[None, :]  # (n, H)
    inside = day < stop
    day = np.minimum(day, demand.shape[1] - 1)
    rows = units[:, None]
    return demand[rows, day] / d_hat[:, None], inside & ok[rows, day]


def origins(units: int, first: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (unit, day) with day in ``[first, stop)``, flattened ``(units · days,)``."""
    days = np.arange(first, stop)
    return np.repeat(np.arange(units), len(days)), np.tile(days, units)


class DemandTask:
    """Encoder + sales head on sampled unit-days, pinball loss."""

    name = "demand"

    def __init__(
        self,
        data: DemandData,
        spec: ModelSpec,
        cfg: TrainConfig,
        days: tuple[int, int, int],
        seed: int,
    ):
        """Sample from ``days = (first origin, validation start, held-out start)``."""
        first, val_start, holdout = days
        self.data, self.fspec, self.cfg, self.seed = data, spec.features, cfg, seed
        self.horizon, self.quantiles = spec.horizon, spec.quantiles
        self.val_start, self.holdout = val_start, holdout
        self.epochs = cfg.demand_epochs
        n_units = data.d_hat.shape[0]
        self.pool = origins(n_units, first, val_start)
        vu, vd = origins(n_units, val_start, holdout)
        pick = np.random.default_rng([seed, PRETRAIN_STAGE, 10**6]).permutation(len(vu))
        pick = np.sort(pick[: cfg.val_samples])
        self.val = (vu[pick], vd[pick])

    def phase(self, epoch: int) -> str:
        return "encoder + sales head"

    def batches(self, epoch: int) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, PRETRAIN_STAGE, epoch])
        n = len(self.pool[0])
        order = rng.permutation(n)[: min(self.cfg.demand_samples, n)]
        size = self.cfg.batch_size
        return [order[i : i + size] for i in range(0, len(order), size)]

    def features(self, units: np.ndarray, days: np.ndarray, rng: np.random.Generator) -> Features:
        d = self.data
        d_hat = d.d_hat[units, days]
        pos = random_positions(rng, d.lead_time[units], d_hat, self.fspec.pipeline_slots)
        return build_features(d.src, d.cal, units, days, d_hat, pos, self.fspec)

    def pinball(
        self,
        model: ORPRModel,
        units: np.ndarray,
        days: np.ndarray,
        stop: int,
        rng: np.random.Generator,
    ) -> torch.Tensor:
        d = self.data
        x = to_tensors(self.features(units, days, rng))
        d_hat = d.d_hat[units, days]
        y, mask = demand_targets(d.demand, d.listed, units, days, d_hat, self.horizon, stop)
        pred = model.sales_head(model.encoder(x))  # (B, H, Q)
        return pinball_loss(
            pred,
            torch.from_numpy(y).float(),
            torch.from_numpy(mask),
            self.quantiles,
            torch.from_numpy(d_hat),
        )

    def loss(self, model: ORPRModel, batch: np.ndarray, epoch: int, index: int) -> torch.Tensor:
        rng = np.random.default_rng([self.seed, PRETRAIN_STAGE, epoch, index])
        return self.pinball(model, self.pool[0][batch], self.pool[1][batch], self.val_start, rng)

    def validate(self, model: ORPRModel) -> float:
        model.eval()
        rng = np.random.default_rng([self.seed, PRETRAIN_STAGE, 10**6 + 1])
        units, days = self.val
        total, size = 0.0, 4 * self.cfg.batch_size
        with torch.inference_mode():
            for i in range(0, len(units), size):
                part = slice(i, i + size)
                loss = self.pinball(model, units[part], days[part], self.holdout, rng)
                total += loss.item() * len(units[part])
        model.train()
        return total / len(units) if len(units) else float("nan")

    def optimizer(self, model: ORPRModel, epoch: int) -> torch.optim.Optimizer:
        model.set_dropout(model.spec.dropout)
        model.requires_grad_(False)
        params = [*model.encoder.parameters(), *model.sales_head.parameters()]
        for p in params:
            p.requires_grad_(True)
        return torch.optim.AdamW(params, lr=self.cfg.demand_lr, weight_decay=self.cfg.weight_decay)


def forecast_wape(
    model: ORPRModel,
    data: DemandData,
    fspec: FeatureSpec,
    window: tuple[int, int],
    samples: int,
    seed: int,
    batch: int = 1024,
) -> Wape:
    """WAPE of the model's median and of two naive forecasts at sampled held-out origins.

    Args:
        model: the trained model (its sales head).
        data: the panel's arrays.
        fspec: stream shapes.
        window: ``(start, stop)`` of the evaluation period; forecasts stop at ``stop``.
        samples: origins drawn (seeded) from all units × days of the window.
        seed: the draw's seed.
        batch: states per forward pass.
    """
    start, stop = window
    units, days = origins(data.d_hat.shape[0], start, stop)
    pick = np.sort(np.random.default_rng([seed, 99]).permutation(len(units))[:samples])
    units, days = units[pick], days[pick]
    horizon = model.spec.horizon
    d_hat = data.d_hat[units, days]
    y, mask = demand_targets(data.demand, data.in_stock, units, days, d_hat, horizon, stop)
    median = model.spec.quantiles.index(0.5) if 0.5 in model.spec.quantiles else 1
    pred = np.zeros_like(y)
    rng = np.random.default_rng([seed, 98])
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(units), batch):
            part = slice(i, i + batch)
            pos = random_positions(
                rng, data.lead_time[units[part]], d_hat[part], fspec.pipeline_slots
            )
            x = build_features(data.src, data.cal, units[part], days[part], d_hat[part], pos, fspec)
            pred[part] = model.sales_head(model.encoder(to_tensors(x)))[..., median].numpy()
    naive = seasonal_naive(data.demand, units, days, horizon)
    mean28 = reference_rates(data.demand, data.listed, 28, 0.0)[units, days][:, None]
    scale = d_hat[:, None]
    return Wape(
        wape(pred * scale, y * scale, mask),
        wape(naive, y * scale, mask),
        wape(np.broadcast_to(mean28, y.shape), y * scale, mask),
        int(mask.sum()),
    )


def seasonal_naive(
    demand: np.ndarray, units: np.ndarray, days: np.ndarray, horizon: int
) -> np.ndarray:
    """Forecast of day ``t + k``: demand on the same weekday in the last week before ``t``.

    That is day ``t + k − 7·(⌊k/7⌋ + 1)``, always before ``t``; 0 before the data starts.
    Returns units ``(n, H)``.
    """
    k = np.arange(horizon)[None, :]
    day = days[:, None] + k - 7 * (k // 7 + 1)  # (n, H)
    return np.where(day >= 0, demand[units[:, None], np.maximum(day, 0)], 0.0)


def wape(forecast: np.ndarray, actual: np.ndarray, mask: np.ndarray) -> float:
    """``Σ |forecast − actual| / Σ actual`` over the masked entries (NaN if no demand)."""
    denom = float(actual[mask].sum())
    return float(np.abs(forecast - actual)[mask].sum() / denom) if denom > 0 else float("nan")
