"""Config sections of the baselines and the backtest: the service knobs and what is evaluated."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from orpr.config.rules import (
    ConfigValueError,
    Section,
    at_least,
    fraction,
    grid,
    positive,
    require,
)

Objective = Literal["service", "cost"]
"""What the incumbent's tuning aims at."""

PolicyName = Literal[
    "incumbent",
    "base_stock",
    "forecast_base_stock",
    "or_hindsight",
    "optimal",
    "pretrained",
    "orpr",
    "orpr_expert",
]
"""Every policy, in the order tables and messages list them (``orpr.evaluation.policies``
registers one under each name)."""


@dataclass(frozen=True)
class PolicyConfig(Section):
    """The baselines' service knobs."""

    alpha: float = 0.95
    """Service target α: allowed lost demand is (1 − α) of demand, in value."""
    base_stock_quantile: float = 0.9
    """Quantile of recent (L + R)-day demand that base_stock orders up to."""
    base_stock_history_days: int = 56
    """Days of recent history whose (L + R)-day demand sums base_stock takes the quantile of."""
    safety_days: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
    """Safety-day grid that the incumbent's per-category tuning searches, days."""
    incumbent_objective: Objective = "service"
    """What the incumbent's tuning aims at: service (least safety reaching α) | cost (least
    holding + lost-sales cost on the training period)."""

    forecast_quantiles: tuple[float, ...] = (
        0.5,
        0.6,
        0.7,
        0.75,
        0.8,
        0.85,
        0.9,
        0.925,
        0.95,
        0.96,
        0.97,
        0.98,
        0.99,
    )
    """Quantiles of its coverage-window demand that forecast_base_stock's tuning searches for
    the least one reaching α on the validation days, in (0, 1)."""
    forecast_val_days: int = 14
    """Last training days on which forecast_base_stock's residuals are measured and its
    quantile tuned (the forecaster is first fitted on the days before them), days."""
    forecast_samples: int = 200_000
    """Training origins (unit-days) the LightGBM forecaster is fitted on, a seeded sample, count."""
    forecast_trees: int = 300
    """Boosting rounds of the LightGBM forecaster, count."""
    forecast_leaves: int = 31
    """Leaves per tree of the LightGBM forecaster, count."""
    forecast_learning_rate: float = 0.05
    """Shrinkage of the LightGBM forecaster, per round."""

    def check(self) -> None:
        fraction(self, "alpha", "base_stock_quantile")
        grid("safety_days", self.safety_days, low=0)
        at_least(self, 1, "base_stock_history_days")
        require(bool(self.forecast_quantiles), "forecast_quantiles", "list at least one value")
        for q in self.forecast_quantiles:
            require(0.0 < q < 1.0, "forecast_quantiles", "quantiles must lie in (0, 1)", q)
        at_least(self, 1, "forecast_val_days", "forecast_samples", "forecast_trees")
        at_least(self, 2, "forecast_leaves")
        positive(self, "forecast_learning_rate")


@dataclass(frozen=True)
class EvalConfig(Section):
    """The rolling backtest."""

    policies: tuple[PolicyName, ...] = ("incumbent", "base_stock")
    """Policies to evaluate, by name."""
    frontier: bool = True
    """Sweep each policy family over its service knob: the service–cost frontier, on/off."""
    frontier_safety_offsets: tuple[float, ...] = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 4.0)
    """Days added to every category's tuned incumbent safety (0 = as tuned, always run), days."""
    frontier_quantiles: tuple[float, ...] = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
    """Quantiles of (L + R)-day demand that base_stock is swept over, in (0, 1)."""
    frontier_alphas: tuple[float, ...] = (0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999)
    """Service targets α that or_hindsight re-solves its knapsack at, in (0, 1)."""
    frontier_model_alphas: tuple[float, ...] = ()
    """Service targets α fed to the model policies' objective stream (empty = no sweep: each
    sweep point is a full backtest with model inference), in (0, 1)."""
    report: bool = True
    """Write report.html next to metrics.json when evaluate is given --out, on/off."""

    def check(self) -> None:
        require(bool(self.policies), "policies", "name at least one policy")
        for name, in_unit in (
            ("frontier_safety_offsets", False),
            ("frontier_quantiles", True),
            ("frontier_alphas", True),
            ("frontier_model_alphas", True),
        ):
            for value in getattr(self, name):
                if not math.isfinite(value) or (in_unit and not 0.0 < value < 1.0):
                    raise ConfigValueError(
                        name, "knob values must be finite (quantiles and α in (0, 1))", value
                    )
