"""The ``or_hindsight`` policy: the OR labels as a policy in the backtest (an oracle).

Symbols: t decision day, ``H`` replay horizon (days), ``v`` inventory days, α service target.

On each review day t it takes the reviewing units' positions from the backtest
(``DecisionContext.on_hand`` and ``pipeline``), replays every candidate v on the panel's
*future* latent demand ``[t, t + H)`` and solves the knapsack across those units with the
labels' α — the same function (``replay.decide_groups``) that makes the labels. It sees the
future, so it is marked ``oracle`` and is not implementable. Near the panel's end the replay
window is cut at the last day.

With a location hold-out, a calibrated α (``labels.alpha_mode`` other than ``given``) is
calibrated on the other stores' units; the oracle then solves each day's knapsack over all
units reviewing that day, as the labels do. Its frontier knob is α: the knapsack re-solved at
each α.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from orpr.baselines.contract import DecisionContext, Policy
from orpr.baselines.registry import FitInputs, PolicySpec, register
from orpr.config import Config, LabelsConfig
from orpr.data.panel import Panel
from orpr.labels.alpha import label_alpha
from orpr.labels.decide import decide_groups
from orpr.labels.replay import LabelInputs, Positions, Workspace, label_inputs


@dataclass(frozen=True)
class HindsightOracle:
    """Knapsack decisions on realised future demand.

    Attributes:
        inputs: the whole panel's demand, ``d̂``, parameters, groups, horizons and grid.
        alpha: the service target α of the knapsack.
        config: λ bisection settings.
    """

    inputs: LabelInputs
    alpha: float
    config: LabelsConfig
    name: str = "or_hindsight"
    oracle: bool = True
    workspace: Workspace = field(default_factory=Workspace, compare=False, repr=False)

    def decide(self, ctx: DecisionContext) -> np.ndarray:
        positions = context_positions(ctx, self.inputs.slots)
        stop = self.inputs.demand.shape[1]
        decision = decide_groups(
            self.inputs, ctx.day, stop, positions, self.alpha, self.config, self.workspace
        )
        return self.inputs.grid[decision.choice]


def context_positions(ctx: DecisionContext, slots: int) -> Positions:
    """The simulator's start-of-day state from a decision context.

    ``ctx.on_hand`` is after day t's arrivals and ``ctx.pipeline[:, k]`` arrives on day
    t + 1 + k, so the start-of-day pipeline is ``[0, ctx.pipeline…]`` with on-hand as given
    (today's arrivals already counted in it).
    """
    n = len(ctx.units)
    pipeline = np.zeros((n, slots))
    width = min(ctx.pipeline.shape[1], slots - 1)
    pipeline[:, 1 : 1 + width] = ctx.pipeline[:, :width]
    on_hand = np.asarray(ctx.on_hand, dtype=np.float64)
    return Positions(np.asarray(ctx.units), on_hand, pipeline, np.zeros(n, dtype=bool))


def oracle_inputs(panel: Panel, d_hat: np.ndarray, cfg: LabelsConfig) -> LabelInputs:
    """The label inputs of the oracle: always on the realised future (``labels.scenarios`` is
    for training labels, not for the oracle), each candidate held over its horizon."""
    return label_inputs(panel, d_hat, cfg)._replace(scenarios=0)


def hindsight_oracle(
    panel: Panel, d_hat: np.ndarray, train: tuple[int, int], cfg: Config
) -> HindsightOracle:
    """The oracle for ``panel`` with the labels' α (calibrated on ``train`` if configured).

    Args:
        panel: the whole panel (the oracle reads its future demand).
        d_hat: reference rates ``(unit, day)``.
        train: the training days ``(start, stop)`` on which α is calibrated.
        cfg: the run configuration.
    """
    inputs = oracle_inputs(panel, d_hat, cfg.labels)
    alpha, _, _ = label_alpha(panel, inputs, train, cfg)
    return HindsightOracle(inputs, alpha, cfg.labels)


def oracle_without(
    panel: Panel, d_hat: np.ndarray, train: tuple[int, int], cfg: Config, fit: np.ndarray
) -> HindsightOracle:
    """``or_hindsight`` whose α (if calibrated) is calibrated on the units ``fit`` only."""
    alpha = cfg.policy.alpha
    if cfg.labels.alpha_mode != "given":
        part = panel.take_units(fit)
        alpha, _, _ = label_alpha(part, oracle_inputs(part, d_hat[fit], cfg.labels), train, cfg)
    return HindsightOracle(oracle_inputs(panel, d_hat, cfg.labels), alpha, cfg.labels)


def fit_oracle(inputs: FitInputs) -> HindsightOracle:
    """The registry's ``or_hindsight``: α calibrated on the fitting units' training period."""
    panel, d_hat, split, cfg, held = inputs
    if inputs.holds_out:
        return oracle_without(panel, d_hat, split.train, cfg, np.flatnonzero(~held))
    return hindsight_oracle(panel, d_hat, split.train, cfg)


def oracle_alphas(inputs: FitInputs, alphas: tuple[float, ...]) -> Iterator[tuple[float, Policy]]:
    """The oracle at each α (nothing calibrated: α is the knob)."""
    oracle_in = oracle_inputs(inputs.panel, inputs.d_hat, inputs.cfg.labels)
    for a in alphas:
        yield a, HindsightOracle(oracle_in, a, inputs.cfg.labels)


register(
    PolicySpec(
        "or_hindsight",
        fit_oracle,
        oracle=True,
        knob="alpha",
        sweep=oracle_alphas,
        fits_without_held=True,
    )
)
