"""Run configuration: one frozen dataclass per stage, loaded from a TOML preset.

Every field carries a one-line docstring with its unit. ``load_config`` reads a preset,
applies dotted ``--set section.key=value`` overrides, and rejects unknown keys by listing
the valid ones. Each section checks its own values when it is built (``orpr.config.rules``),
so a loaded ``Config`` is valid as a whole before any work starts; mode switches are
``Literal`` types. The resolved config is written into every run directory.

Modules: ``data`` (data, synthetic, stationary, units, split), ``policy`` (policy, eval),
``labels``, ``model`` (model, pretrain), ``rl``, ``run`` (compute, did and the whole
``Config``), ``load`` (presets, overrides, coercion), ``rules`` (the checks they share).
"""

from orpr.config.data import (
    DataConfig,
    Format,
    Latent,
    SplitConfig,
    StationaryConfig,
    SyntheticConfig,
    UnitRulesConfig,
)
from orpr.config.labels import AlphaMode, Continuation, Group, LabelsConfig
from orpr.config.load import config_to_dict, load_config
from orpr.config.model import ModelConfig, TrainConfig
from orpr.config.policy import EvalConfig, Objective, PolicyConfig
from orpr.config.rl import Reward, RLConfig, TieScale
from orpr.config.rules import ConfigValueError
from orpr.config.run import ComputeConfig, Config, DidConfig, Engine

__all__ = [
    "AlphaMode",
    "ComputeConfig",
    "Config",
    "ConfigValueError",
    "Continuation",
    "DataConfig",
    "DidConfig",
    "Engine",
    "EvalConfig",
    "Format",
    "Group",
    "LabelsConfig",
    "Latent",
    "ModelConfig",
    "Objective",
    "PolicyConfig",
    "RLConfig",
    "Reward",
    "SplitConfig",
    "StationaryConfig",
    "SyntheticConfig",
    "TieScale",
    "TrainConfig",
    "UnitRulesConfig",
    "config_to_dict",
    "load_config",
]
