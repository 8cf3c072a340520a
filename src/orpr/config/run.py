"""Config of a whole run: where its shardable stages run, ``orpr did``, and every section."""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from typing import Literal

from orpr.config.data import (
    DataConfig,
    SplitConfig,
    StationaryConfig,
    SyntheticConfig,
    UnitRulesConfig,
)
from orpr.config.labels import LabelsConfig
from orpr.config.model import ModelConfig, TrainConfig
from orpr.config.policy import EvalConfig, PolicyConfig, PolicyName
from orpr.config.rl import RLConfig
from orpr.config.rules import Section, at_least, fraction, require

Engine = Literal["local", "ray"]
"""Where the shardable stages run."""

DEPLOYABLE = tuple(p for p in typing.get_args(PolicyName) if p != "or_hindsight")
"""Policies a pilot can deploy (or_hindsight reads the future demand)."""


@dataclass(frozen=True)
class ComputeConfig(Section):
    """Where the shardable stages run: in-process or on a Ray cluster."""

    engine: Engine = "local"
    """local | ray, name."""
    address: str = ""
    """Ray cluster address (empty = start a local Ray instance), host:port or 'auto'."""
    shards: int = 1
    """Unit shards of label generation, evaluation and recommendation, count."""
    workers: int = 1
    """Data-parallel training workers (Ray Train), count."""

    def check(self) -> None:
        at_least(self, 1, "shards", "workers")


@dataclass(frozen=True)
class DidConfig(Section):
    """``orpr did``: difference-in-differences of a deployment and its simulated pilot."""

    bin_days: int = 7
    """Width of the event study's lead and lag bins relative to the start, days."""
    policy: str = "base_stock"
    """Treatment policy of the simulated pilot (the controls stay on incumbent), name."""
    treated_share: float = 0.5
    """Share of units the simulated pilot treats (a seeded random draw), in (0, 1)."""
    seed: int = 0
    """Seed of the simulated pilot's draw of treated units."""
    pre_days: int = 0
    """Days before the pilot's start that it observes (0 = as many as split.holdout_days), days."""

    def check(self) -> None:
        valid = f"not a deployable policy; valid: {', '.join(DEPLOYABLE)}"
        require(self.policy in DEPLOYABLE, "policy", valid, self.policy)
        fraction(self, "treated_share")
        at_least(self, 1, "bin_days")
        at_least(self, 0, "pre_days", "seed")


@dataclass(frozen=True)
class Config(Section):
    """A whole run's configuration."""

    name: str = "run"
    """Run name, used in reports."""
    seed: int = 0
    """Master seed of everything not seeded on its own."""
    data: DataConfig = field(default_factory=DataConfig)
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    stationary: StationaryConfig = field(default_factory=StationaryConfig)
    units: UnitRulesConfig = field(default_factory=UnitRulesConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    pretrain: TrainConfig = field(default_factory=TrainConfig)
    rl: RLConfig = field(default_factory=RLConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    did: DidConfig = field(default_factory=DidConfig)

    def check(self) -> None:
        at_least(self, 0, "seed")
