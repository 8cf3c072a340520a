"""A simulated pilot: a treatment policy on a random half of the units, the rest on incumbent.

The pilot starts on the first held-out day ``s`` (``baselines.split.time_split``). Every unit runs
the incumbent until ``s``; from ``s`` on, a seeded random share of the units
(``did.treated_share``, drawn with ``did.seed``) switches to the treatment policy
(``did.policy``), the others stay on incumbent. The backtest records the outcome panel of
``did.pre_days`` days before ``s`` (default: as many as the held-out days, after the
history and warm-up) and every day from ``s`` on.

Because units do not interact in the simulator, the same backtest with every unit on
incumbent is the treated units' exact counterfactual (and the controls' own path), so the
true average effect on the treated is known and can be set next to the DiD estimate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import polars as pl

from orpr.baselines.backtest import BacktestResult, run_backtest
from orpr.baselines.contract import DecisionContext, Policy
from orpr.baselines.split import time_split
from orpr.config import Config
from orpr.data.panel import Panel
from orpr.data.rate import reference_rates
from orpr.deploy.did import DidResult, estimate_did
from orpr.evaluation.policies import FitInputs, build_policy
from orpr.sim.metrics import holding_cost, in_stock, turnover_days


@dataclass(frozen=True)
class PilotPolicy:
    """Incumbent everywhere; the treatment on the treated units from day ``start`` on.

    Attributes:
        control: the policy before the pilot and on the control units.
        treatment: the policy of the treated units from ``start``.
        treated: bool ``(unit,)``.
        start: ``s``, absolute day index.
    """

    control: Policy
    treatment: Policy
    treated: np.ndarray
    start: int
    name: str = "pilot"
    oracle: bool = False

    def decide(self, ctx: DecisionContext) -> np.ndarray:
        v = np.asarray(self.control.decide(ctx), dtype=np.float64)
        on = self.treated[ctx.units] if ctx.day >= self.start else np.zeros(len(v), bool)
        if on.any():
            part = ctx._replace(
                units=ctx.units[on],
                d_hat=ctx.d_hat[on],
                on_hand=ctx.on_hand[on],
                pipeline=ctx.pipeline[on],
            )
            v[on] = self.treatment.decide(part)
        return v


class Pilot(NamedTuple):
    """A simulated pilot's outcome panel, design and true effects.

    Attributes:
        outcomes: one row per active unit-day (``did.OUTCOME_COLUMNS``).
        treated: treated unit ids, str ``(k,)``.
        start: ``s``, the first pilot day.
        policy: the treatment policy's name.
        truth: the true average effect on the treated per reported outcome.
        treated_share: ``did.treated_share``, the share of units treated.
        seed: ``did.seed``, the seed of the draw of treated units.
        source: the data the pilot ran on (path, or the format of generated data).
    """

    outcomes: pl.DataFrame
    treated: np.ndarray
    start: dt.date
    policy: str
    truth: dict[str, float]
    treated_share: float
    seed: int
    source: str


class PilotRun(NamedTuple):
    """A simulated pilot and the DiD estimate on its outcome panel."""

    pilot: Pilot
    did: DidResult

    def to_json(self) -> dict[str, Any]:
        """The DiD result with the true effects and the pilot's design, one JSON object."""
        p = self.pilot
        design = {
            "policy": p.policy,
            "treated_share": p.treated_share,
            "seed": p.seed,
            "source": p.source,
        }
        return {**self.did.to_json(p.truth), "pilot": design}


def simulate_pilot(panel: Panel, cfg: Config) -> Pilot:
    """Run the pilot of ``cfg.did`` on ``panel``: the factual and the all-incumbent backtest."""
    name = cfg.did.policy
    split = time_split(panel, cfg)
    start, stop = split.holdout_start, split.stop
    first = max(
        start - (cfg.did.pre_days or cfg.split.holdout_days),
        cfg.split.history_days + cfg.split.warmup_days,
    )
    d_hat = reference_rates(
        panel.demand, panel.active, cfg.split.history_days, cfg.split.rate_floor
    )
    inputs = FitInputs(panel, d_hat, split, cfg)
    control = build_policy("incumbent", inputs)
    treatment = control if name == "incumbent" else build_policy(name, inputs)
    treated = draw_treated(panel.n_units, cfg.did.treated_share, cfg.did.seed)
    pilot = PilotPolicy(control, treatment, treated, start)
    warmup = cfg.split.warmup_days
    factual = run_backtest(panel, pilot, d_hat, first, stop, warmup)
    counterfactual = run_backtest(panel, control, d_hat, first, stop, warmup)
    active = panel.active[:, first:stop]
    truth = true_effects(panel, factual, counterfactual, active & treated[:, None], start - first)
    ids = panel.units.unit_id.astype(str)
    return Pilot(
        outcome_panel(panel, factual),
        ids[treated],
        panel.dates[start].item(),
        name,
        truth,
        cfg.did.treated_share,
        cfg.did.seed,
        cfg.data.path or cfg.data.format,
    )


def draw_treated(n_units: int, share: float, seed: int) -> np.ndarray:
    """A seeded random ``share`` of ``n_units`` (at least one, never all), bool ``(unit,)``."""
    k = int(np.clip(round(share * n_units), 1, n_units - 1))
    treated = np.zeros(n_units, dtype=bool)
    treated[np.random.default_rng(seed).choice(n_units, size=k, replace=False)] = True
    return treated


class UnitDays(NamedTuple):
    """The per-unit-day outcomes of a backtest, ``(unit, day)``."""

    on_hand_value: np.ndarray
    sales_value: np.ndarray
    in_stock: np.ndarray
    holding_cost: np.ndarray


def unit_days(panel: Panel, result: BacktestResult) -> UnitDays:
    """Inventory value ``c·I_t``, sales value ``c·sales_t``, in-stock flag, ``h·c·I_t``."""
    c = panel.units.unit_cost[:, None]
    demand = result.sales + result.lost
    return UnitDays(
        c * result.on_hand,
        c * result.sales,
        in_stock(result.on_hand + result.sales, demand).astype(np.float64),
        holding_cost(result.on_hand, panel.units.unit_cost, panel.units.holding_rate),
    )


def outcome_panel(panel: Panel, result: BacktestResult) -> pl.DataFrame:
    """The outcome panel of a backtest: one row per active unit-day."""
    window = slice(result.start, result.stop)
    units, days = np.nonzero(panel.active[:, window])
    y = unit_days(panel, result)
    return pl.DataFrame(
        {
            "unit_id": panel.units.unit_id.astype(str)[units],
            "date": panel.dates[window][days],
            **{name: arr[units, days] for name, arr in y._asdict().items()},
        }
    )


def true_effects(
    panel: Panel,
    factual: BacktestResult,
    counterfactual: BacktestResult,
    treated: np.ndarray,
    start: int,
) -> dict[str, float]:
    """The treated units' post-period outcome under the pilot minus under incumbent.

    Args:
        treated: active treated unit-days of the window, bool ``(unit, day)``.
        start: ``s`` relative to the window's first day.
    """
    mask = treated.copy()
    mask[:, :start] = False
    y1, y0 = unit_days(panel, factual), unit_days(panel, counterfactual)

    def mean(x: np.ndarray) -> float:
        return float(x[mask].mean())

    return {
        "turnover_days": turnover_days(y1.on_hand_value[mask].sum(), y1.sales_value[mask].sum())
        - turnover_days(y0.on_hand_value[mask].sum(), y0.sales_value[mask].sum()),
        "in_stock_rate": mean(y1.in_stock - y0.in_stock),
        "holding_cost": mean(y1.holding_cost - y0.holding_cost),
        "inventory_value": mean(y1.on_hand_value - y0.on_hand_value),
        "sales_value": mean(y1.sales_value - y0.sales_value),
    }


def run_pilot(panel: Panel, cfg: Config) -> PilotRun:
    """The simulated pilot and the DiD estimate on its outcome panel."""
    pilot = simulate_pilot(panel, cfg)
    return PilotRun(
        pilot, estimate_did(pilot.outcomes, pilot.treated, pilot.start, cfg.did.bin_days)
    )
