"""Config section of stage 3 (RLOO alignment, DESIGN §7) and stage 4 (expert fine-tune, §8)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from orpr.config.rules import Section, at_least, fraction, require

Reward = Literal["pareto", "cost"]
"""What ``r_sim`` rewards."""

TieScale = Literal["sale", "reference"]
"""Scale of ``r_sim``'s λ*-scalarised tie-break."""


@dataclass(frozen=True)
class RLConfig(Section):
    """Stage 3 (RLOO alignment, DESIGN §7) and stage 4 (expert promotion fine-tune, §8)."""

    samples: int = 8
    """K: actions sampled per decision state (leave-one-out needs at least 2), actions."""
    omega: float = 0.5
    """ω: weight of the rule reward r_rule against the simulated reward r_sim, in [0, 1]."""
    beta: float = 0.05
    """β: weight of KL(π ‖ π_ref) in the loss, per nat."""
    rule_scale: float = 0.0
    """Grid distance, in days, at which r_rule reaches −1 (0 = the grid's span), days."""
    against_weight: float = 2.0
    """Weight of r_rule when v_k deviates against the direction the label moves the position, ratio."""
    alpha: float = 0.0
    """Service target of stage 3, the lost share of demand value it may leave (1 − α) (0 =
    the labels' α), fraction."""
    dual_lr: float = 0.05
    """Step of log m per optimiser step, m the multiplier on λ* that holds the mode's lost
    share at 1 − α (0 = λ* as labelled), per step."""
    reward: Reward = "pareto"
    """r_sim: pareto (±1 when one outcome Pareto-dominates the reference's, else the λ*-priced
    tie-break) | cost (the λ*-priced cost saved against the reference, unclipped), name."""
    tie_scale: TieScale = "sale"
    """Scale of r_sim's λ*-scalarised tie-break: sale (demand value of the window) | reference
    (the reference action's stock + λ*·loss), name."""
    epochs: int = 6
    """Epochs of RLOO, epochs."""
    states: int = 16384
    """Labelled states sampled afresh per epoch, states."""
    batch_size: int = 256
    """States per optimiser step (each with K actions), states."""
    lr: float = 2e-4
    """AdamW learning rate of the decision head, per step."""
    encoder_lr_scale: float = 0.0
    """Encoder learning rate as a fraction of lr (0 = encoder frozen), ratio."""
    expert: str = ""
    """Expert labels file (unit_id, date, v_expert; CSV or Parquet); empty = the built-in planner rule."""
    expert_epochs: int = 4
    """Epochs of the promotion fine-tune (stage 4), epochs."""
    expert_warm_epochs: int = 1
    """Of those, epochs of cross-entropy warm start on v_expert before RLOO, epochs."""
    expert_omega: float = 0.8
    """ω of stage 4: planners' guidance weighs more on promotions than the labels elsewhere, in [0, 1]."""
    expert_warm_lr: float = 1e-3
    """AdamW learning rate of the warm start (the RLOO epochs after it use lr), per step."""
    expert_beta: float = 0.05
    """β of stage 4: KL to the general (stage-3) policy, per nat."""
    expert_lookahead: int = 0
    """Days after t whose promotions make a state a promotion state (0 = L + R), days."""
    uplift_cap: float = 3.0
    """Largest promotion uplift the planner rule applies, ratio."""

    def check(self) -> None:
        ok = self.samples >= 2
        require(ok, "samples", "leave-one-out needs at least 2 samples", self.samples)
        ok = 0.0 <= self.alpha < 1.0
        require(ok, "alpha", "must lie in [0, 1) (0 = the labels' α)", self.alpha)
        fraction(self, "omega", "expert_omega", closed=True)
        at_least(self, 0, "beta", "expert_beta", "dual_lr", "rule_scale", "lr")
        at_least(self, 0, "encoder_lr_scale", "against_weight", "expert_warm_lr", "uplift_cap")
        at_least(self, 0, "epochs", "expert_epochs", "expert_warm_epochs", "expert_lookahead")
        at_least(self, 1, "batch_size", "states")
