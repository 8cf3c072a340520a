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
from orpr.labels.calibrate import Calibration, calibrate_alpha
from orpr.labels.replay import LabelInputs
from orpr.labels.rolling import LabelTrace, roll_labels
from orpr.sim.metrics import Metrics, summarize, window_totals


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
