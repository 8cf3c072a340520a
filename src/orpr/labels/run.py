"""Stage 1 end to end: α, rolling labels, the label policy against the baselines, MILP gaps.

Symbols: α service target, ``v*`` label (inventory days), ``λ*`` group multiplier (days),
``H`` replay horizon, ``L, R`` lead time and review period (days).

The labels cover the training period ``[split.train_start, split.holdout_start)`` of
``baselines.split.time_split`` and never see the held-out days. The label policy (the labels
walked as a policy) and the baselines (fitted and backtested as ``evaluate`` does over the
same days, from the same warm-up) are scored on the same unit-days: after the first
``split.warmup_days`` days, and for each unit from its first label on.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from orpr.baselines.backtest import run_sharded
from orpr.baselines.fit import BASELINES, fit_baseline, tuned_incumbent
from orpr.baselines.registry import FitInputs
from orpr.baselines.rules import days_of_cover
from orpr.baselines.split import Split, time_split
from orpr.compute import Engine, LocalEngine, open_engine
from orpr.config import Config
from orpr.data.panel import Panel
from orpr.data.rate import reference_rates
from orpr.labels.alpha import label_alpha, label_mask, trace_metrics
from orpr.labels.artifacts import label_meta, to_labels
from orpr.labels.knapsack import loss_budget
from orpr.labels.milp import GapCheck, compare_with_milp
from orpr.labels.records import GroupPrices, LabelRun, PolicyRow
from orpr.labels.replay import label_inputs
from orpr.labels.rolling import StateRows, roll_labels
from orpr.sim.metrics import summarize

LABEL_POLICY = "or_labels"
"""Name of the label policy in the comparison table."""


def make_labels(
    panel: Panel, cfg: Config, progress: Callable[[int, int], None] | None = None
) -> LabelRun:
    """Generate the OR labels of the training period and score the label policy.

    Args:
        panel: the panel (only its training period is labelled).
        cfg: the run configuration (``labels``, ``split``, ``policy`` sections).
        progress: called as ``progress(days_done, days)`` while labels are rolled.

    Raises:
        InputError: too short a panel.
    """
    began = time.perf_counter()
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
    incumbent = tuned_incumbent(panel, d_hat, split.train, cfg)
    u = panel.units
    return days_of_cover(u.lead_time, u.review_period, incumbent.safety).astype(np.float64)


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
    policy = fit_baseline(name, FitInputs(panel, d_hat, split, cfg))
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
    return PolicyRow(name, policy.oracle, summarize(result.totals(panel.units, mask)))


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
