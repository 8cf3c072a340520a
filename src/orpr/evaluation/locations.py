"""Location hold-out: stores whose units are never fitted or tuned on, scored apart.

``split.holdout_locations`` says how many stores (``Units.location``) to hold out: a fraction
of the stores (< 1; rounded, at least one) or a count (a whole number ≥ 1). Which stores is
drawn with the run's ``seed``; at least one store always remains for fitting. Units at the
held-out stores take part in the backtest like every other unit, but nothing fitted on the
training period sees them:

- ``incumbent``: the safety days per top-level category are tuned on the other stores' units
  only; a held-out unit gets its category's safety, or — a category sold only at held-out
  stores — the safety tuned on all fitting units pooled (``orpr.baselines.fit``).
- ``or_hindsight``: a calibrated α (``labels.alpha_mode`` other than ``given``) is
  calibrated on the other stores' units. The oracle then solves each day's knapsack over all
  units reviewing that day, as the labels do; it fits nothing else (and sees the future;
  ``orpr.labels.hindsight``).
- ``base_stock`` fits nothing: each unit's level comes from its own history.
- Model policies (``pretrained``, ``orpr``, ``orpr_expert``) are as held out as their
  training was: ``orpr pretrain`` and ``orpr finetune`` train on the panel and labels they are
  given, which evaluation does not control. ``metrics.json`` marks each policy
  ``fitted_without_held_out`` true or false (the registry's ``fits_without_held``).

Not enforced (data preparation and reporting, not fitting a policy): the latent-demand
estimate's category profiles and cell factors (``orpr.data.latent``) pool all stores'
training days, and the ABC–XYZ classes are ranked over all units.

Symbols: α service target, ``L`` lead time, ``R`` review period (days).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from orpr.baselines.backtest import BacktestResult
from orpr.config import Config
from orpr.data.panel import Panel
from orpr.errors import InputError
from orpr.evaluation.jsonable import metrics_dict
from orpr.evaluation.policies import policy_spec
from orpr.sim.metrics import Metrics, summarize


class LocationScores(NamedTuple):
    """The held-out days split by store: units at held-out stores vs at fitting stores.

    Attributes:
        stores: the held-out stores, sorted.
        held_out: unit is at a held-out store, bool ``(unit,)``.
        fitted_without: per policy, whether its fitting left the held-out stores out.
        held_out_metrics: per policy, metrics of the held-out stores' units.
        fitted_metrics: per policy, metrics of the fitting stores' units.
    """

    stores: tuple[str, ...]
    held_out: np.ndarray
    fitted_without: dict[str, bool]
    held_out_metrics: dict[str, Metrics]
    fitted_metrics: dict[str, Metrics]

    def to_json(self) -> dict[str, Any]:
        """The ``locations`` block of ``metrics.json``."""
        return {
            "stores": list(self.stores),
            "held_out_units": int(self.held_out.sum()),
            "fitted_units": int((~self.held_out).sum()),
            "fitted_without_held_out": self.fitted_without,
            "held_out": {k: metrics_dict(m) for k, m in self.held_out_metrics.items()},
            "fitted": {k: metrics_dict(m) for k, m in self.fitted_metrics.items()},
        }


def held_out_stores(locations: np.ndarray, spec: float, seed: int) -> tuple[str, ...]:
    """The stores to hold out, drawn with ``seed``.

    Args:
        locations: store of each unit, str ``(unit,)``.
        spec: a fraction of the stores in (0, 1), a whole count ≥ 1, or 0 for none (as
            ``split.holdout_locations`` allows).
        seed: seed of the draw.

    Raises:
        InputError: no store left for fitting.
    """
    stores = np.unique(locations.astype(str))
    if spec == 0:
        return ()
    count = int(spec) if spec >= 1 else max(1, round(spec * len(stores)))
    if count >= len(stores):
        raise InputError(
            "config",
            f"holds out every store ({len(stores)}); leave one to fit on",
            column="split.holdout_locations",
            value=spec,
        )
    rng = np.random.default_rng([seed, 8121])
    return tuple(sorted(rng.choice(stores, size=count, replace=False).tolist()))


def held_out_units(panel: Panel, cfg: Config) -> np.ndarray:
    """Units at the held-out stores of ``cfg.split.holdout_locations``, bool ``(unit,)``."""
    stores = held_out_stores(panel.units.location, cfg.split.holdout_locations, cfg.seed)
    return np.isin(panel.units.location.astype(str), np.asarray(stores, dtype=str))


def fitted_without(name: str) -> bool:
    """Whether ``name``'s fitting leaves the held-out stores out (model policies: unknown, so no)."""
    return policy_spec(name).fits_without_held


def location_scores(
    panel: Panel, results: list[BacktestResult], held: np.ndarray
) -> LocationScores:
    """Each backtest scored on the held-out stores' units and on the fitting stores' units."""
    u = panel.units
    stores = tuple(sorted(set(u.location[held].astype(str).tolist())))
    held_m, fit_m = {}, {}
    for r in results:
        active = panel.active[:, r.start : r.stop]
        totals = r.totals(u, active)
        held_m[r.policy], fit_m[r.policy] = summarize(totals, held), summarize(totals, ~held)
    flags = {r.policy: fitted_without(r.policy) for r in results}
    return LocationScores(stores, held, flags, held_m, fit_m)
