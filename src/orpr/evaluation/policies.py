"""Every policy, registered: importing this module fills ``orpr.baselines.registry``.

Each policy registers itself in its own module: the baselines in ``orpr.baselines.fit`` and
``orpr.baselines.forecast``,
``or_hindsight`` in ``orpr.labels.hindsight``, ``optimal`` in ``orpr.evaluation.optimal`` and
the model policies in ``orpr.model.policy``. Evaluation, the frontier, recommendations and the
pilot find them here, by name.
"""

from __future__ import annotations

import typing

from orpr.baselines import fit, forecast
from orpr.baselines.registry import (
    REGISTRY,
    FitInputs,
    PolicySpec,
    build_policy,
    policy_spec,
    sweep,
)
from orpr.config.policy import PolicyName
from orpr.evaluation import optimal
from orpr.labels import hindsight
from orpr.model import policy

POLICIES: tuple[str, ...] = typing.get_args(PolicyName)
"""Every policy, in the order tables and messages list them: the names ``eval.policies`` takes."""
REGISTERED_BY = (fit, forecast, hindsight, optimal, policy)
"""The modules whose import registers the policies."""

for _name in POLICIES:  # registration order depends on import order; list in POLICIES order
    REGISTRY[_name] = REGISTRY.pop(_name)

ORACLES = tuple(name for name, spec in REGISTRY.items() if spec.oracle)
"""Policies that read the future or know the demand law: marked in tables, never recommended."""
KNOBS = {name: spec.knob for name, spec in REGISTRY.items() if spec.knob}
"""The frontier's service knob of each policy family."""

__all__ = [
    "KNOBS",
    "ORACLES",
    "POLICIES",
    "FitInputs",
    "PolicySpec",
    "build_policy",
    "policy_spec",
    "sweep",
]
