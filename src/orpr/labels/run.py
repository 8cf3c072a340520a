"""Stage 1 end to end: α, rolling labels, the label policy against the baselines, MILP gaps.

Symbols: α service target, ``v*`` label (inventory days), ``λ*`` group multiplier (days),
``H`` replay horizon, ``L, R`` lead time and review period (days).

The labels cover the training period ``[split.train_start, split.holdout_start)`` of
``evaluate.time_split`` and never see the held-out days. The label policy (the labels walked
as a policy) and the baselines (fitted and backtested by ``evaluate``'s machinery over the
same days, from the same warm-up) are scored on the same unit-days: after the first
``split.warmup_days`` days, and for each unit from its first label on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from orpr.backtest import run_sharded
from orpr.calibrate import MODES, Calibration, calibrate_alpha
from orpr.compute import Engine, LocalEngine, open_engine
from orpr.config import Config
from orpr.errors import InputError
from orpr.evaluate import BASELINES, Split, build_policy, time_split
from orpr.labels.artifacts import Labels, label_meta, to_labels
from orpr.labels.replay import LabelInputs, label_inputs
from orpr.labels.rolling import LabelTrace, StateRows, roll_labels
from orpr.mckp import loss_budget
from orpr.mckp_exact import GapCheck, compare_with_milp
from orpr.metrics import Metrics, summarize, window_totals
from orpr.panel import Panel
from orpr.policies import days_of_cover
from orpr.rate import reference_rates

LABEL_POLICY = "or_labels"
"""Name of the label policy in the comparison table."""


class PolicyRow(NamedTuple):
    """One policy's metrics on the training period."""

    name: str
    oracle: bool
    metrics: Metrics


class GroupPrices(NamedTuple):
    """One row per decision (day × group), arrays ``(decision,)``: ``day``, ``group`` code,
    ``lam`` (``λ*``, days), ``met`` (the budget held) and ``units`` deciding."""

    day: np.ndarray
    group: np.ndarray
    lam: np.ndarray
    met: np.ndarray
    units: np.ndarray


class LabelRun(NamedTuple):
    """Everything ``orpr labels`` prints and writes.

    Attributes:
        labels: the labelled states and their candidate table.
        alpha: the α used.
        calibration: the α search, or None when α is given.
        prices: ``λ*`` of every decision group.
        policies: the label policy first, then the baselines, on the training period.
        gaps: Lagrangian-vs-MILP checks on sampled groups.
        meta: counts, window, rules, config hash, wall time.
    """

    labels: Labels
    alpha: float
    calibration: Calibration | None
    prices: GroupPrices
    policies: tuple[PolicyRow, ...]
    gaps: tuple[GapCheck, ...]
    meta: dict[str, Any]


def make_labels(
    panel: Panel, cfg: Config, progress: Callable[[int, int], None] | None = None
) -> LabelRun:
    """Generate the OR labels of the training period and score the label policy.

    Args:
        panel: the panel (only its training period is labelled).
        cfg: the run configuration (``labels``, ``split``, ``policy`` sections).
        progress: called as ``progress(days_done, days)`` while labels are rolled.

    Raises:
        InputError: an invalid ``[labels]`` section or too short a panel.
    """
    began = time.perf_counter()
    check_labels_config(cfg)
    split = time_split(panel, cfg)
    train = (split.train_start, split.holdout_start)
    d_hat = reference_rates(
        panel.demand, panel.active, cfg.split.history_days, cfg.split.rate_floor
    )
    inputs = label_inputs(
        panel, d_hat, cfg.labels, continuation_days(panel, d_hat, split, cfg), seed=cfg.seed
    )
    warmup = cfg.split.warmup_days
    with open_engine(cfg.compute) as engine:  # unit shards: in-process or on Ray
        alpha, calibration, trace = label_alpha(panel, inputs, train, cfg, progress, engine)
        if trace is None:
            trace = roll_labels(inputs, *train, alpha, cfg.labels, progress, engine)
        mask = label_mask(trace, panel.active, warmup)
        baselines = [
            baseline_row(name, panel, d_hat, split, cfg, mask, engine) for name in BASELINES
        ]
    policies = (PolicyRow(LABEL_POLICY, True, trace_metrics(trace, panel, warmup)), *baselines)
    gaps = gap_checks(trace.rows, inputs.group, alpha, cfg)
    meta = label_meta(panel, trace, inputs, cfg, time.perf_counter() - began)
    labels = to_labels(trace, panel, inputs.grid, meta)
    return LabelRun(
        labels, alpha, calibration, group_prices(trace.rows, inputs.group), policies, gaps, meta
    )


def continuation_days(
    panel: Panel, d_hat: np.ndarray, split: Split, cfg: Config
) -> np.ndarray | None:
    """What candidates do after their decision day: None (``hold``), or the incumbent's
    inventory days per unit, tuned on the training period (``incumbent``)."""
    if cfg.labels.continuation != "incumbent":
        return None
    incumbent = build_policy("incumbent", panel, d_hat, split, cfg)
    u = panel.units
    return days_of_cover(u.lead_time, u.review_period, incumbent.safety).astype(np.float64)


def check_labels_config(cfg: Config) -> None:
    """Range checks of the ``[labels]`` section; an InputError naming the key."""
    lc, source = cfg.labels, "config"
    problems = {
        "v_step": (lc.v_step > 0 and lc.v_max >= 0, "v_step must be > 0 and v_max ≥ 0"),
        "horizon_min": (lc.horizon_min >= 0 and lc.horizon_days >= 0, "must be ≥ 0"),
        "group": (lc.group in ("all", "category"), "valid: all, category"),
        "alpha_mode": (lc.alpha_mode in (*MODES, "cost"), f"valid: {', '.join(MODES)}, cost"),
        "target": (lc.alpha_mode != "in_stock" or 0 < lc.target < 1, "must lie in (0, 1)"),
        "alpha_range": (0 < lc.alpha_range[0] < lc.alpha_range[1] < 1, "need 0 < lo < hi < 1"),
        "lam_range": (0 < lc.lam_range[0] < lc.lam_range[1], "need 0 < lo < hi"),
        "lam_steps": (1 <= lc.lam_steps <= 52, "must lie in 1 … 52"),
        "milp_max_units": (lc.milp_max_units >= 1 and lc.milp_groups >= 0, "must be ≥ 1"),
    }
    if lc.alpha_mode == "turnover" and lc.target <= 0:
        problems["target"] = (False, "turnover target must be > 0 days")
    for key, (ok, message) in problems.items():
        if not ok:
            raise InputError(source, message, column=f"labels.{key}", value=getattr(lc, key))


def label_alpha(
    panel: Panel,
    inputs: LabelInputs,
    train: tuple[int, int],
    cfg: Config,
    progress: Callable[[int, int], None] | None = None,
    engine: Engine | None = None,
) -> tuple[float, Calibration | None, LabelTrace | None]:
    """α of the labels: ``policy.alpha``, or calibrated on ``train`` (with its label run);
    label runs go to ``engine`` (default: in this process)."""
    lc = cfg.labels
    if lc.alpha_mode in ("given", "cost"):  # cost: α is not a constraint, only recorded
        return cfg.policy.alpha, None, None

    def measure(alpha: float) -> tuple[float, LabelTrace]:
        trace = roll_labels(inputs, *train, alpha, lc, progress, engine)
        m = trace_metrics(trace, panel, cfg.split.warmup_days)
        return (m.in_stock_rate if lc.alpha_mode == "in_stock" else m.turnover_days), trace

    calibration, trace = calibrate_alpha(
        measure, lc.alpha_mode, lc.target, lc.alpha_range, lc.calibration_steps
    )
    return calibration.alpha, calibration, trace


def label_mask(trace: LabelTrace, active: np.ndarray, warmup: int) -> np.ndarray:
    """Unit-days scored on the training period, bool ``(unit, stop − start − warmup)``:
    after the ``warmup`` days (as ``evaluate`` scores), active, from the unit's first label."""
    begin = min(trace.start + warmup, trace.stop)
    day = np.arange(begin, trace.stop)[None, :]
    return active[:, begin : trace.stop] & (day >= trace.first_day[:, None])


def trace_metrics(trace: LabelTrace, panel: Panel, warmup: int) -> Metrics:
    """The label policy's KPIs over its trajectory after ``warmup`` days."""
    u = panel.units
    keep = slice(min(warmup, trace.stop - trace.start), None)
    flows = [flow[:, keep] for flow in trace.flows]
    mask = label_mask(trace, panel.active, warmup)
    totals = window_totals(*flows, u.unit_cost, u.holding_rate, u.lost_penalty, mask)
    return summarize(totals)


def baseline_row(
    name: str,
    panel: Panel,
    d_hat: np.ndarray,
    split: Split,
    cfg: Config,
    mask: np.ndarray,
    engine: Engine | None = None,
) -> PolicyRow:
    """A baseline fitted and backtested on the training period as ``evaluate`` does (from a
    warm-up at its start, in unit shards on ``engine``), scored on ``mask``."""
    policy = build_policy(name, panel, d_hat, split, cfg)
    warmup = cfg.split.warmup_days
    begin = min(split.train_start + warmup, split.holdout_start)
    result = run_sharded(
        engine or LocalEngine(),
        panel,
        policy,
        d_hat,
        begin,
        split.holdout_start,
        begin - split.train_start,
    )
    u = panel.units
    totals = window_totals(
        result.on_hand, result.sales, result.lost, u.unit_cost, u.holding_rate, u.lost_penalty, mask
    )
    return PolicyRow(name, policy.oracle, summarize(totals))


def decision_keys(rows: StateRows, group: np.ndarray) -> np.ndarray:
    """One key per decision (day × group) for every state, int64 ``(state,)``."""
    return rows.day * (int(group.max(initial=0)) + 1) + group[rows.unit]


def group_prices(rows: StateRows, group: np.ndarray) -> GroupPrices:
    """``λ*`` and the budget flag of every decision, in day then group order."""
    keys = decision_keys(rows, group)
    _, first, count = np.unique(keys, return_index=True, return_counts=True)
    return GroupPrices(
        rows.day[first], group[rows.unit[first]], rows.lam[first], rows.met[first], count
    )


def gap_checks(
    rows: StateRows, group: np.ndarray, alpha: float, cfg: Config
) -> tuple[GapCheck, ...]:
    """Lagrangian vs MILP on ``milp_groups`` sampled decisions (seeded by ``cfg.seed``);
    a decision with more than ``milp_max_units`` units is checked on a seeded subsample."""
    lc = cfg.labels
    keys = decision_keys(rows, group)
    decisions = np.unique(keys)
    if lc.milp_groups == 0 or decisions.size == 0 or lc.alpha_mode == "cost":  # no knapsack
        return ()
    rng = np.random.default_rng(cfg.seed)
    picked = np.sort(rng.choice(decisions, min(lc.milp_groups, decisions.size), replace=False))
    checks = []
    for key in picked:
        idx = np.flatnonzero(keys == key)
        if idx.size > lc.milp_max_units:
            idx = np.sort(rng.choice(idx, lc.milp_max_units, replace=False))
        stock = rows.cand_stock[idx].astype(np.float64)
        loss = rows.cand_loss[idx].astype(np.float64)
        budget = loss_budget(rows.sale[idx], alpha)
        checks.append(
            compare_with_milp(stock, loss, budget, lc.lam_steps, lc.lam_range, lc.milp_time_limit)
        )
    return tuple(checks)
