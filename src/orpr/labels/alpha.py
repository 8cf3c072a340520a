"""The labels' service target α: given, or calibrated on the training period.

Symbols: α service target, ``v*`` label (inventory days), ``L, R`` lead time and review
period (days).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from orpr.compute import Engine
from orpr.config import Config
from orpr.data.panel import Panel
from orpr.errors import InputError
from orpr.labels.calibrate import MODES, Calibration, calibrate_alpha
from orpr.labels.replay import LabelInputs
from orpr.labels.rolling import LabelTrace, roll_labels
from orpr.sim.metrics import Metrics, summarize, window_totals


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
