"""The record of one ``orpr labels`` run, and its figures as JSON.

Symbols: ``v*`` label (inventory days), ``λ*`` group multiplier (days), α service target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from orpr.io import write_json
from orpr.labels.artifacts import SUMMARY, Labels, write_tables
from orpr.labels.calibrate import Calibration
from orpr.labels.milp import GapCheck
from orpr.sim.metrics import Metrics

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantile levels reported for ``v*`` and ``λ*``."""


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

    def to_json(self) -> dict[str, Any]:
        """The run's figures as one JSON-safe object (``orpr labels --json``)."""
        run = self
        labels, prices = run.labels, run.prices
        gaps = [g for g in run.gaps if np.isfinite(g.gap)]
        return {
            "states": int(labels.day.size),
            "units_labelled": labels.meta["units_labelled"],
            "alpha": run.alpha,
            "alpha_mode": (
                labels.meta.get("alpha_mode", "given")
                if run.calibration is None
                else run.calibration.mode
            ),
            "calibration": None
            if run.calibration is None
            else {
                "target": run.calibration.target,
                "value": _finite(run.calibration.value),
                "met": run.calibration.met,
                "trials": [[a, _finite(m)] for a, m in run.calibration.trials],
            },
            "v_star": {
                "mean": float(labels.v_star.mean()) if labels.v_star.size else None,
                "quantiles": quantiles(labels.v_star),
                "histogram": v_histogram(labels.v_index, labels.grid),
            },
            "lam": {
                "decisions": int(prices.lam.size),
                "quantiles": quantiles(prices.lam),
                "budget_unmet": int((~prices.met).sum()),
            },
            "policies": {
                row.name: {
                    **{k: _finite(v) for k, v in row.metrics._asdict().items()},
                    "oracle": row.oracle,
                }
                for row in run.policies
            },
            "mckp_gap": {
                "checks": len(run.gaps),
                "mean": float(np.mean([g.gap for g in gaps])) if gaps else None,
                "max": float(np.max([g.gap for g in gaps])) if gaps else None,
                "groups": [
                    {
                        "units": g.units,
                        "lagrangian": g.lagrangian,
                        "exact": _finite(g.exact),
                        "gap": _finite(g.gap),
                        "status": g.status,
                    }
                    for g in run.gaps
                ],
            },
            "meta": run.labels.meta,
        }


def quantiles(values: np.ndarray, levels: tuple[float, ...] = QUANTILES) -> dict[str, float]:
    """``{"q05": …, …}`` of ``values`` (empty dict when there are none)."""
    if values.size == 0:
        return {}
    return {
        f"q{round(q * 100):02d}": float(x)
        for q, x in zip(levels, np.quantile(values, levels), strict=True)
    }


def v_histogram(v_index: np.ndarray, grid: np.ndarray) -> dict[str, int]:
    """Labels per grid value ``{"0.0": count, …}`` (every grid value, zeros included)."""
    counts = np.bincount(v_index, minlength=grid.size)
    return {f"{v:g}": int(c) for v, c in zip(grid, counts, strict=True)}


def _finite(x: float) -> float | int | None:
    """JSON-safe number: ints stay ints, non-finite floats become None."""
    if isinstance(x, int | np.integer):
        return int(x)
    return float(x) if np.isfinite(x) else None


def write_labels(run: LabelRun, out_dir: str | Path) -> list[Path]:
    """Write the labels' files and the run's figures (``labels_summary.json``) into ``out_dir``."""
    out = Path(out_dir)
    return [*write_tables(run.labels, out), write_json(out / SUMMARY, run.to_json())]
