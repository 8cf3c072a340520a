"""Config sections of the baselines and the backtest: the service knobs and what is evaluated."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from orpr.config.rules import ConfigValueError, Section, at_least, fraction, grid, require

Objective = Literal["service", "cost"]
"""What the incumbent's tuning aims at."""

PolicyName = Literal[
    "incumbent", "base_stock", "or_hindsight", "optimal", "pretrained", "orpr", "orpr_expert"
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

    def check(self) -> None:
        fraction(self, "alpha", "base_stock_quantile")
        grid("safety_days", self.safety_days, low=0)
        at_least(self, 1, "base_stock_history_days")


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
