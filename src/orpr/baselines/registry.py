"""The policy registry: every policy by name, with how it is fitted and swept.

A policy's own module registers it (``register(PolicySpec(...))``); ``orpr.evaluation.policies``
imports every such module, so that importing it fills the registry. Nothing else chooses a
policy by name.

Each entry says how the policy is fitted on the training period (``fit``), whether it reads the
future (``oracle``), which service knob the frontier sweeps (``knob``) and how (``sweep``), and
whether its fitting leaves the stores of a location hold-out out (``fits_without_held``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np

from orpr.baselines.contract import Policy
from orpr.baselines.split import Split
from orpr.config import Config
from orpr.data.panel import Panel
from orpr.errors import InputError


class FitInputs(NamedTuple):
    """What fitting a policy may read.

    Attributes:
        panel: the whole panel; fitting reads only its training period (oracles excepted).
        d_hat: reference rates ``d̂``, units per day ``(unit, day)``.
        split: the time split.
        cfg: the run configuration.
        held: units at the stores of a location hold-out, bool ``(unit,)``; None = none.
    """

    panel: Panel
    d_hat: np.ndarray
    split: Split
    cfg: Config
    held: np.ndarray | None = None

    @property
    def holds_out(self) -> bool:
        """Whether a location hold-out restricts fitting."""
        return self.held is not None and bool(self.held.any())


Sweep = Callable[[FitInputs, tuple[float, ...]], Iterator[tuple[float, Policy]]]


class PolicySpec(NamedTuple):
    """One registered policy.

    Attributes:
        name: the policy's name in configs, tables and ``metrics.json``.
        fit: the policy fitted on the training period.
        oracle: it reads the future (marked in every table; never recommended).
        knob: the frontier's service knob (``safety_offset`` days, ``quantile``, ``alpha``);
            empty = not swept.
        sweep: ``(knob value, policy)`` for each value, fitting once.
        fits_without_held: its fitting leaves a location hold-out's stores out.
        model: its decisions come from a trained model of the run directory.
    """

    name: str
    fit: Callable[[FitInputs], Policy]
    oracle: bool = False
    knob: str = ""
    sweep: Sweep | None = None
    fits_without_held: bool = False
    model: bool = False


REGISTRY: dict[str, PolicySpec] = {}
"""Every registered policy, in registration order."""


def register(spec: PolicySpec) -> PolicySpec:
    """Add ``spec`` to the registry (a name registers once)."""
    if spec.name in REGISTRY:
        raise ValueError(f"policy '{spec.name}' is registered twice")
    REGISTRY[spec.name] = spec
    return spec


def policy_spec(name: str, option: str = "--policies") -> PolicySpec:
    """The registered policy ``name``; an InputError listing the valid names otherwise."""
    if name not in REGISTRY:
        raise InputError(option, f"unknown policy; valid: {', '.join(REGISTRY)}", value=name)
    return REGISTRY[name]


def build_policy(name: str, inputs: FitInputs) -> Policy:
    """The named policy, fitted on the training period (of the units not ``inputs.held``)."""
    return policy_spec(name).fit(inputs)


def sweep(
    name: str, inputs: FitInputs, values: tuple[float, ...]
) -> Iterator[tuple[float, Policy]]:
    """``(knob value, policy)`` of ``name`` at each value; an InputError if it has no knob."""
    spec = policy_spec(name)
    if spec.sweep is None:
        swept = ", ".join(n for n, s in REGISTRY.items() if s.sweep is not None)
        raise InputError("--policies", f"no frontier knob; valid: {swept}", value=name)
    if values:
        yield from spec.sweep(inputs, values)
