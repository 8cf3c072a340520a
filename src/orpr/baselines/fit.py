"""The baselines fitted on the training period, and their entries in the policy registry.

- ``incumbent``: safety days tuned per top-level category (``orpr.baselines.tuning``); with a
  location hold-out, tuned on the other stores' units only. A held-out unit gets its
  category's safety or — a category sold only at held-out stores — the safety tuned on all
  fitting units pooled (``pooled_safety``). Its frontier knob adds ``δ`` days to every
  category's safety, ``v = L + R + safety_c + δ`` floored at ``v = 0``.
- ``base_stock`` fits nothing (each unit's level comes from its own history); its knob is
  the quantile ``q``.

Symbols: α service target, ``L`` lead time, ``R`` review period (days).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np

from orpr.baselines.contract import Policy
from orpr.baselines.registry import FitInputs, PolicySpec, register
from orpr.baselines.rules import BaseStock, Incumbent, days_of_cover
from orpr.baselines.tuning import (
    category_fill_rates,
    fit_incumbent,
    simulate_inventory_days,
    smallest_meeting,
)
from orpr.config import Config
from orpr.data.panel import Panel

BASELINES = ("incumbent", "base_stock")
"""The implementable baselines, compared with every other policy."""


def incumbent(inputs: FitInputs) -> Incumbent:
    """The incumbent tuned on the training period (of the units not held out)."""
    panel, d_hat, split, cfg, held = inputs
    if inputs.holds_out:
        return incumbent_without(panel, d_hat, split.train, cfg, np.flatnonzero(~held))
    return tuned_incumbent(panel, d_hat, split.train, cfg)


def tuned_incumbent(panel: Panel, d_hat: np.ndarray, train: tuple[int, int], cfg: Config):
    """The incumbent tuned on ``train`` with the ``[policy]`` section's target and grid."""
    p = cfg.policy
    return fit_incumbent(
        panel,
        d_hat,
        *train,
        p.alpha,
        p.safety_days,
        cfg.split.warmup_days,
        p.incumbent_objective,
    )


def incumbent_without(
    panel: Panel, d_hat: np.ndarray, train: tuple[int, int], cfg: Config, fit: np.ndarray
) -> Incumbent:
    """The incumbent tuned on the units ``fit`` only, its safety mapped to every unit."""
    part = panel.take_units(fit)
    tuned = tuned_incumbent(part, d_hat[fit], train, cfg)
    category = panel.units.category
    known = np.isin(category, tuned.categories)
    safety = np.zeros(panel.n_units)
    if not known.all():
        safety[~known] = pooled_safety(part, d_hat[fit], train, cfg)
    safety[known] = tuned.category_safety[np.searchsorted(tuned.categories, category[known])]
    return Incumbent(safety, tuned.categories, tuned.category_safety, tuned.category_fill)


def pooled_safety(panel: Panel, d_hat: np.ndarray, train: tuple[int, int], cfg: Config) -> float:
    """The smallest safety on the grid whose value fill rate over all of ``panel``'s units
    reaches α (the largest if none does): the rule for a category without a fitting unit."""
    start, stop = train
    warmup = cfg.split.warmup_days
    grid = np.sort(np.asarray(cfg.policy.safety_days, dtype=np.float64))
    u = panel.units
    v = days_of_cover(u.lead_time[None], u.review_period[None], grid[:, None]).astype(np.float64)
    _, lost = simulate_inventory_days(panel, v, d_hat, start, stop, warmup)
    categories = u.categories.copy()
    categories[:, 0] = "all"  # one category: the fill rate of all units pooled
    pooled = dataclasses.replace(panel, units=dataclasses.replace(u, categories=categories))
    _, fill = category_fill_rates(lost, pooled, start + warmup, stop)
    return float(smallest_meeting(fill, grid, cfg.policy.alpha)[0])


def incumbent_offsets(
    inputs: FitInputs, offsets: tuple[float, ...]
) -> Iterator[tuple[float, Policy]]:
    """The incumbent, tuned once, with ``δ`` days added to every category's safety."""
    base = incumbent(inputs)
    u = inputs.panel.units
    floor = -(u.lead_time + u.review_period).astype(np.float64)  # v = L + R + s ≥ 0
    for offset in offsets:
        yield offset, dataclasses.replace(base, safety=np.maximum(base.safety + offset, floor))


def base_stock(inputs: FitInputs) -> BaseStock:
    """The ``[policy]`` section's base-stock rule (it fits nothing)."""
    p = inputs.cfg.policy
    return BaseStock(p.base_stock_quantile, p.base_stock_history_days)


def base_stock_quantiles(
    inputs: FitInputs, quantiles: tuple[float, ...]
) -> Iterator[tuple[float, Policy]]:
    """The base-stock rule at each quantile ``q``."""
    for q in quantiles:
        yield q, BaseStock(q, inputs.cfg.policy.base_stock_history_days)


def fit_baseline(name: str, inputs: FitInputs) -> Policy:
    """One of ``BASELINES`` fitted on the training period."""
    return {"incumbent": incumbent, "base_stock": base_stock}[name](inputs)


register(
    PolicySpec(
        "incumbent",
        incumbent,
        knob="safety_offset",
        sweep=incumbent_offsets,
        fits_without_held=True,
    )
)
register(
    PolicySpec(
        "base_stock",
        base_stock,
        knob="quantile",
        sweep=base_stock_quantiles,
        fits_without_held=True,
    )
)
