"""Config sections of the data: where the panel comes from, the generators, unit rules, split."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from orpr.config.rules import (
    ConfigValueError,
    Section,
    at_least,
    grid,
    iso_date,
    positive,
    require,
    span,
)

Format = Literal["synthetic", "stationary", "canonical", "frn", "m5"]
"""Input formats."""

Latent = Literal["hourly_profile", "sales"]
"""Latent-demand estimators."""


@dataclass(frozen=True)
class DataConfig(Section):
    """Where the panel comes from."""

    format: Format = "synthetic"
    """Input format: synthetic | canonical | frn | m5."""
    path: str = ""
    """Data file (or folder, for m5 and canonical with a unit table); relative paths are
    resolved from the working directory. Empty for synthetic."""
    max_units: int = 0
    """Keep a seeded random sample of this many units (0 = all units)."""
    sample_seed: int = 0
    """Seed of the unit sample."""
    latent: Latent = "hourly_profile"
    """Latent-demand estimator for censored days: hourly_profile | sales (no correction)."""

    def check(self) -> None:
        at_least(self, 0, "max_units", "sample_seed")


@dataclass(frozen=True)
class SyntheticConfig(Section):
    """The embedded retail-like generator (used when ``data.format = "synthetic"``)."""

    units: int = 400
    """Number of units (products × stores)."""
    days: int = 182
    """Number of days."""
    start: str = "2024-01-01"
    """First date, YYYY-MM-DD."""
    stores: int = 8
    """Number of stores the units are spread over."""
    categories: int = 6
    """Number of top-level categories."""
    promo_rate: float = 0.08
    """Share of unit-days on promotion."""
    stockout_rate: float = 0.25
    """Target share of unit-days with some out-of-stock hours in the recorded history."""
    seed: int = 7
    """Seed of the generator."""

    def check(self) -> None:
        at_least(self, 1, "units", "days", "stores", "categories")
        for name in ("promo_rate", "stockout_rate"):
            value = getattr(self, name)
            require(0.0 <= value < 0.95, name, "must lie in [0, 0.95)", value)
        iso_date("start", self.start)
        at_least(self, 0, "seed")


@dataclass(frozen=True)
class StationaryConfig(Section):
    """The stationary benchmark instance (used when ``data.format = "stationary"``): i.i.d.
    daily demand, one lead time, daily review, whole units, no promotions and no censoring —
    the classical lost-sales model that ``orpr oracle lost-sales`` solves exactly."""

    demand: str = "poisson:5"
    """Daily demand law: poisson:MEAN | geometric:MEAN, units per day."""
    lead_time: int = 2
    """``L``, days from order to arrival."""
    penalty: float = 9.0
    """``p``, cost per lost unit."""
    holding: float = 1.0
    """``h``, cost per unit of end-of-day on-hand per day."""
    units: int = 256
    """Independent replications of the instance (units), count."""
    days: int = 1200
    """Days per unit (training and held-out), days."""
    start: str = "2024-01-01"
    """First date, YYYY-MM-DD."""
    seed: int = 3
    """Seed of the demand draws."""

    def check(self) -> None:
        # The demand text and whether the exact oracle can solve the instance are checked by
        # orpr.stationary.instance when the instance is generated (that needs the solver).
        for name, ok in (
            ("lead_time", self.lead_time >= 0),
            ("penalty", 0 < self.penalty < math.inf),
            ("holding", 0 < self.holding < math.inf),
            ("units", self.units >= 1),
            ("days", self.days >= 1),
            ("seed", self.seed >= 0),
        ):
            if not ok:
                raise ConfigValueError(
                    name,
                    "out of range (L ≥ 0; p, h > 0 and finite; units, days ≥ 1; seed ≥ 0)",
                    getattr(self, name),
                )
        iso_date("start", self.start)


@dataclass(frozen=True)
class UnitRulesConfig(Section):
    """Replenishment parameters for units whose data does not carry them.

    Each parameter is drawn per top-level category (seeded), so every unit of a category
    shares it; the draw is uniform over the choices (integers) or the range (reals).
    """

    lead_time: tuple[int, ...] = (1, 2, 3)
    """Lead-time choices, days from order to arrival (0 = arrives before that day's demand)."""
    review_period: tuple[int, ...] = (1,)
    """Review-period choices, days between order opportunities."""
    unit_cost: tuple[float, float] = (1.0, 10.0)
    """Range of unit value c, money per unit."""
    holding_rate: tuple[float, float] = (0.002, 0.01)
    """Range of holding rate h, fraction of unit value per unit-day."""
    penalty_ratio: tuple[float, float] = (0.3, 1.0)
    """Range of the lost-sale penalty p as a fraction of unit value, money per lost unit ÷ c."""
    seed: int = 11
    """Seed of the per-category draws."""
    whole_units: bool = False
    """Goods come in whole units: order-up-to levels are rounded to whole numbers, on/off."""

    def check(self) -> None:
        grid("lead_time", self.lead_time, low=0)
        grid("review_period", self.review_period, low=1)
        span("unit_cost", self.unit_cost, positive=True)
        span("holding_rate", self.holding_rate)
        span("penalty_ratio", self.penalty_ratio)
        at_least(self, 0, "seed")


@dataclass(frozen=True)
class SplitConfig(Section):
    """The time split between the training period and the held-out period."""

    holdout_days: int = 28
    """Length of the held-out period at the end of the panel, days."""
    history_days: int = 28
    """Days of history behind the reference rate d̂ (mean latent demand), days."""
    rate_floor: float = 0.01
    """Floor of the reference rate d̂, units per day (keeps inventory days finite)."""
    warmup_days: int = 14
    """Days simulated before a scored window (policy deciding, not scored), days."""
    holdout_locations: float = 0.0
    """Stores never fitted or tuned on and scored apart: a fraction (< 1) or a whole count
    (≥ 1) of the stores, drawn with the run's seed (0 = none), fraction or stores."""

    def check(self) -> None:
        at_least(self, 1, "holdout_days", "history_days")
        at_least(self, 0, "warmup_days")
        positive(self, "rate_floor")
        spec = self.holdout_locations
        require(
            spec >= 0 and (spec < 1 or float(spec).is_integer()),
            "holdout_locations",
            "a fraction in (0, 1) or a whole number of stores",
            spec,
        )
