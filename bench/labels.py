"""Benchmark rolling label generation at the paper's scale (DESIGN §5, issue 3).

The case: 70,210 synthetic units (the paper's SKU–DC pairs) × 365 days, weekly review
(R = 7, review offsets spread over the week), lead times L = 1…7, the 61-candidate grid
v = 0, 0.5, …, 30, horizon H = L + 2R. Demand is gamma–Poisson around a log-normal rate with
a weekday pattern (seeded; built directly as arrays, not timed). Timed: the reference rate d̂
and the whole rolling label generation from day 28 on — candidate replay with the kernel,
one knapsack per review day across the units reviewing that day, and each unit's advance
under its label.

Usage: ``python bench/labels.py [--json]``; ``--json`` prints
``{"units", "days", "candidates", "states", "wall_s", "peak_rss_mb"}``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

from orpr.compute import Engine
from orpr.config import LabelsConfig
from orpr.data.rate import reference_rates
from orpr.labels.replay import LabelInputs, horizons
from orpr.labels.rolling import LabelTrace, roll_labels
from orpr.sim.kernel import SimParams

UNITS, DAYS, REVIEW, HISTORY, ALPHA = 70_210, 365, 7, 28, 0.95
WEEKDAY = np.array([1.0, 0.95, 0.95, 1.0, 1.1, 1.3, 1.3])


def make_case(n_unit: int, n_day: int, seed: int = 0) -> tuple[np.ndarray, SimParams, np.ndarray]:
    """Seeded demand ``(unit, day)``, parameters and unit values ``(unit,)``."""
    rng = np.random.default_rng(seed)
    rate = rng.lognormal(0.0, 1.2, n_unit)
    shape = np.where(rng.random(n_unit) < 0.3, 2.0, 25.0)[:, None]
    mean = rate[:, None] * WEEKDAY[np.arange(n_day) % 7][None, :]
    demand = rng.poisson(mean * rng.gamma(shape, 1.0 / shape, (n_unit, n_day))).astype(np.float64)
    params = SimParams(
        rng.integers(1, 8, n_unit),
        np.full(n_unit, REVIEW, dtype=np.int64),
        rng.integers(0, REVIEW, n_unit),
    )
    return demand, params, rng.uniform(1.0, 10.0, n_unit)


def label_run(
    demand: np.ndarray,
    params: SimParams,
    unit_cost: np.ndarray,
    cfg: LabelsConfig,
    engine: Engine | None = None,
) -> tuple[LabelTrace, float]:
    """d̂ and the rolling labels over ``[HISTORY, day)`` with one decision group per day, on
    ``engine`` (default: in this process); also returns the seconds spent on d̂."""
    n_unit, n_day = demand.shape
    began = time.perf_counter()
    d_hat = reference_rates(demand, np.ones(demand.shape, dtype=bool), HISTORY, 0.01)
    rate_s = time.perf_counter() - began
    inputs = LabelInputs(
        demand,
        d_hat,
        params,
        unit_cost,
        np.zeros(n_unit, dtype=np.int64),
        horizons(params, cfg),
        np.asarray(cfg.grid),
    )
    return roll_labels(inputs, HISTORY, n_day, ALPHA, cfg, engine=engine), rate_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--units", type=int, default=UNITS, help="units (default: paper scale)")
    args = parser.parse_args()
    cfg = LabelsConfig(horizon_min=0)
    warm = make_case(64, 70, seed=1)  # compile the kernels outside the timed run
    label_run(*warm, cfg)
    demand, params, unit_cost = make_case(args.units, DAYS)
    began = time.perf_counter()
    trace, rate_s = label_run(demand, params, unit_cost, cfg)
    wall = time.perf_counter() - began
    figures = {
        "units": args.units,
        "days": DAYS,
        "candidates": len(cfg.grid),
        "states": int(trace.rows.unit.size),
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(
        f"{figures['units']:,} units × {DAYS} days, R = {REVIEW}, L = 1…7, "
        f"{figures['candidates']} candidates, H = L + 2R"
    )
    print(f"  labelled states: {figures['states']:,}")
    print(
        f"  wall time:       {wall:,.1f} s (d̂ {rate_s:.1f} s; replay, knapsacks and "
        f"advance {wall - rate_s:.1f} s)"
    )
    print(f"  peak memory:     {figures['peak_rss_mb']:,.0f} MB")


if __name__ == "__main__":
    main()
