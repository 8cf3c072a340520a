"""Evaluation protocol: time split, every policy in one rolling backtest, one table.

Split (DESIGN §9): the last ``split.holdout_days`` days are held out; the training period is
everything before. Policies are fitted or tuned on the training period only, then walked
over the held-out days (``orpr.baselines.backtest``). Results are reported overall, per ABC–XYZ
segment (classes from the training period) and on promotion days. With a location hold-out
(``split.holdout_locations``, ``orpr.evaluation.locations``) the units of some stores are left out of all
fitting and also scored apart (``Evaluation.locations``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from orpr.baselines.backtest import BacktestResult, run_sharded
from orpr.baselines.daily import forecast_accuracy
from orpr.baselines.forecast import ForecastBaseStock
from orpr.baselines.rules import BaseStock, Incumbent
from orpr.baselines.split import Split, time_split
from orpr.compute import open_engine
from orpr.config import Config
from orpr.data.panel import Panel
from orpr.data.rate import reference_rates
from orpr.data.segments import abc_xyz
from orpr.errors import InputError
from orpr.evaluation.jsonable import metrics_dict
from orpr.evaluation.locations import LocationScores, held_out_units, location_scores
from orpr.evaluation.policies import FitInputs, build_policy
from orpr.sim.metrics import Metrics, summarize


class PolicyReport(NamedTuple):
    """One policy's metrics on the held-out days."""

    name: str
    oracle: bool
    overall: Metrics
    segments: dict[str, Metrics]
    promo: Metrics


class Evaluation(NamedTuple):
    """Everything a table, a report or ``metrics.json`` needs."""

    reports: list[PolicyReport]
    results: list[BacktestResult]
    segments: np.ndarray
    split: Split
    meta: dict[str, Any]
    locations: LocationScores | None = None

    def to_json(self) -> dict[str, Any]:
        """The evaluation as ``metrics.json`` (DESIGN §11)."""
        reports = self.reports
        return {
            "policies": {r.name: {**metrics_dict(r.overall), "oracle": r.oracle} for r in reports},
            "segments": {
                s: {r.name: metrics_dict(r.segments[s]) for r in reports}
                for s in sorted({s for r in reports for s in r.segments})
            },
            "promo": {r.name: metrics_dict(r.promo) for r in reports},
            "meta": self.meta,
            **({"locations": self.locations.to_json()} if self.locations is not None else {}),
        }


def evaluate(panel: Panel, cfg: Config, policies: tuple[str, ...] | None = None) -> Evaluation:
    """Fit, backtest and score the named policies (default: ``cfg.eval.policies``)."""
    names = tuple(dict.fromkeys(policies or cfg.eval.policies))  # unique, in order
    if not names:
        raise InputError("--policies", "name at least one policy")
    split = time_split(panel, cfg)
    d_hat = reference_rates(
        panel.demand, panel.active, cfg.split.history_days, cfg.split.rate_floor
    )
    held = held_out_units(panel, cfg)  # units at stores held out of fitting (location hold-out)
    inputs = FitInputs(panel, d_hat, split, cfg, held)
    built = [build_policy(name, inputs) for name in names]
    train = panel.take_days(0, split.holdout_start)
    segments = abc_xyz(train.demand, train.active, panel.units.unit_cost)
    warmup = cfg.split.warmup_days
    with open_engine(cfg.compute) as engine:  # the unit-wise baselines are walked in shards
        results = [
            run_sharded(
                engine,
                panel,
                p,
                d_hat,
                split.holdout_start,
                split.stop,
                warmup,
                whole=not isinstance(p, Incumbent | BaseStock),
            )
            for p in built
        ]
    reports = [score(panel, r, segments) for r in results]
    meta = {
        "source": panel.source,
        "units": panel.n_units,
        "days": panel.n_days,
        "holdout_start": str(panel.dates[split.holdout_start]),
        "holdout_days": split.stop - split.holdout_start,
        "alpha": cfg.policy.alpha,
        "warmup_days": warmup,
        "parameters": dict(panel.units.sources),
        "tuning": {
            p.name: tuning_meta(p) for p in built if isinstance(p, Incumbent | ForecastBaseStock)
        },
    }
    if "forecast_base_stock" in names:  # its forecaster's accuracy next to simple forecasts
        fit = np.flatnonzero(~held)
        meta["forecast"] = forecast_accuracy(
            panel, fit, split.train, split.stop, cfg.policy, cfg.seed
        )
    locations = location_scores(panel, results, held) if held.any() else None
    return Evaluation(reports, results, segments, split, meta, locations)


def tuning_meta(policy: Incumbent | ForecastBaseStock) -> dict[str, Any]:
    """What tuning chose: the incumbent's safety days and training fill rate per category, or
    forecast_base_stock's quantile and its fill rate on the validation days."""
    if isinstance(policy, ForecastBaseStock):
        return {"quantile": policy.quantile, "validation_fill_rate": policy.fill_rate}
    return {
        str(c): {"safety_days": float(sd), "training_fill_rate": float(f)}
        for c, sd, f in zip(
            policy.categories, policy.category_safety, policy.category_fill, strict=True
        )
    }


def score(panel: Panel, result: BacktestResult, segments: np.ndarray) -> PolicyReport:
    """Metrics of one backtest: overall, per segment and on promotion days."""
    window = slice(result.start, result.stop)
    active = panel.active[:, window]
    overall = result.totals(panel.units, active)
    by_segment = {s: summarize(overall, segments == s) for s in np.unique(segments)}
    promo = summarize(result.totals(panel.units, active & (panel.promo[:, window] > 0)))
    return PolicyReport(result.policy, result.oracle, summarize(overall), by_segment, promo)
