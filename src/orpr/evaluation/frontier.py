"""The service–cost frontier: each policy family swept over its service knob (DESIGN §9).

A policy is only better if it is cheaper at the same service. Each family is backtested over
the held-out days (``orpr.baselines.backtest``, the same walk and warm-up as ``evaluate``) at every value
of its knob, and each run gives one point: in-stock rate against holding cost.

Knobs (symbols: α service target, ``L`` lead time, ``R`` review period, ``q`` quantile):

- ``incumbent`` — ``safety_offset``, days added to every category's tuned safety:
  ``v = L + R + safety_c + δ`` (floored at ``v = 0``). The safety is tuned once at
  ``policy.alpha``; offset 0 is the incumbent as evaluated and is always run, since its
  in-stock rate is the comparison's reference.
- ``base_stock`` — ``quantile`` ``q`` of recent ``(L + R)``-day demand.
- ``or_hindsight`` — ``alpha``: the knapsack re-solved at each α (the labels' problem).
- ``pretrained``, ``orpr``, ``orpr_expert`` — ``alpha`` fed to the model's objective stream.

The comparison: along each family's curve, the holding cost at the incumbent's in-stock rate
``r₀``, interpolated linearly between the two efficient points (no other point of the family
has a higher in-stock rate at a lower holding cost) that bracket ``r₀``. A family whose every
point lies above ``r₀`` gets its cheapest point's cost as an upper bound; one that never
reaches ``r₀`` gets none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from orpr.baselines.backtest import BacktestResult, run_backtest
from orpr.baselines.split import time_split
from orpr.config import Config
from orpr.data.panel import Panel
from orpr.data.rate import reference_rates
from orpr.errors import InputError
from orpr.evaluation.jsonable import finite
from orpr.evaluation.locations import held_out_units
from orpr.evaluation.policies import KNOBS, FitInputs, sweep
from orpr.model.run_dir import MODEL_POLICIES
from orpr.sim.metrics import Metrics, summarize

REFERENCE = "incumbent"
"""The family whose as-evaluated in-stock rate the others are compared at."""


class FrontierPoint(NamedTuple):
    """One backtest of a family at one knob value, on every unit's held-out days.

    Attributes:
        policy: the family's name.
        knob: the knob's name (``safety_offset`` days, ``quantile``, ``alpha``).
        value: the knob's value.
        in_stock_rate: share of unit-days in stock.
        holding_cost: Σ h·c·I, money.
        turnover_days: Σ c·I / Σ c·sales, days.
        fill_rate: Σ c·sales / Σ c·d.
        total_cost: holding + lost-sales cost, money.
    """

    policy: str
    knob: str
    value: float
    in_stock_rate: float
    holding_cost: float
    turnover_days: float
    fill_rate: float
    total_cost: float


class AtService(NamedTuple):
    """A family's cost at the reference in-stock rate.

    Attributes:
        policy: the family.
        holding_cost: interpolated holding cost (an upper bound when ``status`` says so;
            None when the family never reaches the rate), money.
        turnover_days: interpolated on the same segment, days (None likewise).
        status: ``interpolated`` | ``upper_bound`` | ``unreached``.
        holding_change: ``holding_cost / reference − 1`` against the incumbent (None if unknown).
    """

    policy: str
    holding_cost: float | None
    turnover_days: float | None
    status: str
    holding_change: float | None


class Frontier(NamedTuple):
    """Every family's curve and the comparison at the incumbent's in-stock rate.

    Attributes:
        points: the backtests, family by family, knob ascending.
        reference_in_stock: the incumbent's in-stock rate as evaluated (offset 0), ``r₀``.
        at_reference: each family's cost at ``r₀``.
        oracles: the families that look ahead (not implementable).
    """

    points: tuple[FrontierPoint, ...]
    reference_in_stock: float
    at_reference: tuple[AtService, ...]
    oracles: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``frontier`` block of ``metrics.json``."""
        return {
            "knobs": {p.policy: p.knob for p in self.points},
            "points": [{k: finite(v) for k, v in p._asdict().items()} for p in self.points],
            "oracles": list(self.oracles),
            "reference_policy": REFERENCE,
            "reference_in_stock_rate": finite(self.reference_in_stock),
            "at_reference_in_stock": {
                a.policy: {
                    "holding_cost": finite(a.holding_cost),
                    "turnover_days": finite(a.turnover_days),
                    "status": a.status,
                    "holding_change": finite(a.holding_change),
                }
                for a in self.at_reference
            },
        }


def default_knobs(cfg: Config) -> dict[str, tuple[float, ...]]:
    """Knob values per family from ``[eval]`` (the incumbent's always include offset 0)."""
    e = cfg.eval
    knobs = {
        "incumbent": tuple(sorted({0.0, *e.frontier_safety_offsets})),
        "base_stock": tuple(sorted(e.frontier_quantiles)),
        "forecast_base_stock": tuple(sorted(e.frontier_quantiles)),
        "or_hindsight": tuple(sorted(e.frontier_alphas)),
    }
    knobs.update({name: tuple(sorted(e.frontier_model_alphas)) for name in MODEL_POLICIES})
    return knobs


def frontier(
    panel: Panel,
    cfg: Config,
    policies: tuple[str, ...] | None = None,
    knobs: Mapping[str, tuple[float, ...]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Frontier:
    """Sweep the named families (default ``cfg.eval.policies``; the incumbent always) over
    their knobs (default ``default_knobs(cfg)``) and compare them at the incumbent's service.

    Policies are fitted as ``evaluate`` fits them (a location hold-out included); every point
    is scored on all units' active held-out days.

    Args:
        panel: the whole panel.
        cfg: the run configuration.
        policies: family names; unknown names are an InputError.
        knobs: knob values per family, in the ranges ``[eval]`` allows; a family with none
            is left out.
        progress: called as ``progress(points_done, points)``.
    """
    knobs = {**default_knobs(cfg), **(knobs or {})}
    knobs["incumbent"] = tuple(sorted({0.0, *knobs["incumbent"]}))
    names = list(dict.fromkeys((REFERENCE, *(policies or cfg.eval.policies))))
    unknown = [n for n in names if n not in KNOBS]
    if unknown:
        raise InputError(
            "--policies", f"no frontier knob; valid: {', '.join(KNOBS)}", value=unknown[0]
        )
    split = time_split(panel, cfg)
    d_hat = reference_rates(
        panel.demand, panel.active, cfg.split.history_days, cfg.split.rate_floor
    )
    held = held_out_units(panel, cfg)
    total, points, oracles = sum(len(knobs[n]) for n in names), [], set()
    inputs = FitInputs(panel, d_hat, split, cfg, held)
    for name in names:
        for value, policy in sweep(name, inputs, knobs[name]):
            r = run_backtest(
                panel, policy, d_hat, split.holdout_start, split.stop, cfg.split.warmup_days
            )
            points.append(point(name, value, held_out_metrics(panel, r)))
            oracles |= {name} if policy.oracle else set()
            if progress is not None:
                progress(len(points), total)
    return compare(tuple(points))._replace(oracles=tuple(sorted(oracles)))


def held_out_metrics(panel: Panel, result: BacktestResult) -> Metrics:
    """A backtest's metrics over every unit's active days of its window."""
    return summarize(result.totals(panel.units, panel.active[:, result.start : result.stop]))


def point(name: str, value: float, m: Metrics) -> FrontierPoint:
    """The frontier point of family ``name`` at knob ``value`` with metrics ``m``."""
    return FrontierPoint(
        name,
        KNOBS[name],
        float(value),
        m.in_stock_rate,
        m.holding_cost,
        m.turnover_days,
        m.fill_rate,
        m.total_cost,
    )


def compare(points: tuple[FrontierPoint, ...]) -> Frontier:
    """Each family's holding cost at the incumbent's in-stock rate (its offset-0 point)."""
    ref = next(p for p in points if p.policy == REFERENCE and p.value == 0.0)
    target = ref.in_stock_rate
    rows = []
    for name in dict.fromkeys(p.policy for p in points):
        mine = [p for p in points if p.policy == name]
        x = np.array([p.in_stock_rate for p in mine])
        ys = np.array([[p.holding_cost, p.turnover_days] for p in mine])
        (holding, turnover), status = value_at(x, ys, target)
        change = (
            None if holding is None or ref.holding_cost <= 0 else holding / ref.holding_cost - 1
        )
        rows.append(AtService(name, holding, turnover, status, change))
    return Frontier(points, target, tuple(rows))


def efficient(x: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Indices of the efficient points, by ``x`` ascending: no other point has ``x`` at least
    as high at a lower ``cost`` (of equal points, one is kept).

    Args:
        x: service of each point (in-stock rate) ``(n,)``.
        cost: cost of each point (holding cost) ``(n,)``.
    """
    order = np.lexsort((cost, -x))  # x descending, then cost ascending
    keep, cheapest = [], np.inf
    for i in order:
        if cost[i] < cheapest:
            keep.append(i)
            cheapest = cost[i]
    return np.array(keep[::-1], dtype=np.int64)


def value_at(x: np.ndarray, ys: np.ndarray, target: float) -> tuple[tuple[float | None, ...], str]:
    """Values ``ys`` at service ``target``, interpolated along the efficient frontier.

    Args:
        x: service of each point ``(n,)``.
        ys: values of each point ``(n, k)``; column 0 is the cost the frontier is built on.
        target: the service to read the values at.

    Returns:
        ``(values (k,), status)``: ``interpolated`` between the efficient points bracketing
        ``target`` (or at one equal to it); ``upper_bound`` — every point serves more than
        ``target``, values of the cheapest; ``unreached`` — no point serves ``target``, Nones.
    """
    keep = efficient(x, ys[:, 0])
    xe, ye = x[keep], ys[keep]
    if target > xe[-1]:
        return (None,) * ys.shape[1], "unreached"
    if target < xe[0]:
        return tuple(float(v) for v in ye[0]), "upper_bound"
    hi = int(np.searchsorted(xe, target, side="left"))
    if xe[hi] == target or hi == 0:
        return tuple(float(v) for v in ye[hi]), "interpolated"
    w = (target - xe[hi - 1]) / (xe[hi] - xe[hi - 1])
    return tuple(float(v) for v in (1 - w) * ye[hi - 1] + w * ye[hi]), "interpolated"
