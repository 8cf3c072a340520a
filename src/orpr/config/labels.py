"""Config section of stage 1: rolling OR labels (DESIGN §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from orpr.config.rules import Section, at_least, require

Group = Literal["all", "category"]
"""Knapsack decision groups."""

AlphaMode = Literal["given", "in_stock", "turnover", "cost"]
"""Where the labels' service target α comes from."""

Continuation = Literal["hold", "incumbent"]
"""What a candidate does after its decision day."""


@dataclass(frozen=True)
class LabelsConfig(Section):
    """Stage 1: rolling OR labels from candidate replay and the group knapsack (DESIGN §5)."""

    v_max: float = 30.0
    """Largest inventory-days candidate v, days (the grid is 0, v_step, …, v_max)."""
    v_step: float = 0.5
    """Spacing of the v grid, days."""
    horizon_days: int = 0
    """Replay horizon H, days (0 = each unit's L + 2R); never below horizon_min or L + 1."""
    horizon_min: int = 7
    """Shortest replay horizon H, days."""
    group: Group = "all"
    """Knapsack decision group: all (every unit reviewing that day) | category (per top level)."""
    alpha_mode: AlphaMode = "given"
    """α source: given (policy.alpha) | in_stock | turnover (bisection on α to reach target) |
    cost (no service budget: each unit takes its least h·c·I + p·lost candidate)."""
    scenarios: int = 0
    """Futures each candidate is replayed over: 0 = the realised demand (hindsight labels) |
    K > 0 = the mean over K futures resampled day by day from the unit's own last
    scenario_days (no realised demand on or after the decision day), count."""
    scenario_days: int = 56
    """Days of the past the futures are resampled from, days."""
    continuation: Continuation = "hold"
    """What a candidate does after its decision day: hold (order up to v over H) | incumbent
    (order up to the tuned incumbent's days: labels improve on today's rule)."""
    target: float = 0.95
    """Calibration target: in-stock rate in (0, 1), or turnover days > 0."""
    alpha_range: tuple[float, float] = (0.5, 0.999)
    """Bracket of the α bisection, service fraction."""
    calibration_steps: int = 8
    """Bisection steps of the α calibration (each replays all labels), steps."""
    lam_range: tuple[float, float] = (1e-4, 1e8)
    """Bracket of the λ bisection, days (value-days of stock per value of lost demand)."""
    lam_steps: int = 32
    """Geometric bisection steps on λ (a lattice of 2^steps intervals), steps."""
    milp_groups: int = 5
    """Decision groups sampled for the exact MILP check (0 = no check), groups."""
    milp_max_units: int = 40
    """Largest MILP check: bigger groups are subsampled to this many units, units."""
    milp_time_limit: float = 20.0
    """HiGHS time limit per MILP check, seconds."""

    def check(self) -> None:
        ok = self.v_step > 0 and self.v_max >= 0
        require(ok, "v_step", "v_step must be > 0 and v_max ≥ 0", self.v_step)
        at_least(self, 0, "horizon_min", "horizon_days")
        if self.alpha_mode == "in_stock":
            require(0 < self.target < 1, "target", "must lie in (0, 1)", self.target)
        if self.alpha_mode == "turnover":
            require(self.target > 0, "target", "turnover target must be > 0 days", self.target)
        lo, hi = self.alpha_range
        require(0 < lo < hi < 1, "alpha_range", "need 0 < lo < hi < 1", self.alpha_range)
        lo, hi = self.lam_range
        require(0 < lo < hi, "lam_range", "need 0 < lo < hi", self.lam_range)
        require(1 <= self.lam_steps <= 52, "lam_steps", "must lie in 1 … 52", self.lam_steps)
        at_least(self, 1, "milp_max_units")
        at_least(self, 0, "milp_groups", "calibration_steps")
        ok = self.scenarios >= 0
        require(ok, "scenarios", "must be ≥ 0 (0: the realised future)", self.scenarios)
        at_least(self, 1, "scenario_days")

    @property
    def grid(self) -> tuple[float, ...]:
        """The candidate inventory days v, ascending, days."""
        count = int(round(self.v_max / self.v_step)) + 1
        return tuple(round(k * self.v_step, 10) for k in range(count))
