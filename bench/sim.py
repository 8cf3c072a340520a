"""Benchmark the simulator kernel on a label-shaped batch against the plain-Python reference.

The case: 50,000 units × 61 candidates (v = 0, 0.5, …, 30 inventory days × each unit's
reference rate d̂) × 28 days, L in 1..7 and R in 1..7 per unit, seeded gamma and Poisson demand.
Throughput is in unit-candidate-days per second, the median of several repeats after a JIT
warm-up:

- ``simulate_totals`` (label replay: sums over each unit's window, no trajectories);
- ``simulate`` with full trajectories, in chunks of units so memory stays bounded;
- ``simulate_reference`` (plain Python) on a sample of unit-candidates of the same case.

It also reports ``simulate_totals`` per CPU-second of all its threads and the load average, as
other processes on a shared machine lower the wall-clock figures, and the peak RSS.

Usage: ``python bench/sim.py [--json]``; ``--json`` prints ``kernel_per_s`` (the
``simulate_totals`` figure), ``reference_per_s``, ``ratio``, ``peak_rss_mb``, then extras.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from typing import NamedTuple

import numba
import numpy as np

from orpr.sim.kernel import (
    SimParams,
    SimState,
    initial_state,
    pipeline_length,
    simulate,
    simulate_totals,
)
from orpr.sim.reference import simulate_reference

GRID = np.arange(61) * 0.5  # v, inventory days


class Case(NamedTuple):
    """A label-shaped replay: demand ``(unit, day)``, constant targets ``(candidate, unit)``."""

    demand: np.ndarray
    target: np.ndarray
    on_hand: np.ndarray
    params: SimParams


def make_case(n_unit: int, n_day: int = 28, seed: int = 0) -> Case:
    """Seeded units: half Poisson, half gamma demand around a log-normal rate."""
    rng = np.random.default_rng(seed)
    rate = rng.lognormal(0.5, 1.2, n_unit)  # d̂, units per day
    poisson = rng.poisson(rate[:, None], (n_unit, n_day)).astype(np.float64)
    gamma = rng.gamma(0.8, rate[:, None] / 0.8, (n_unit, n_day))
    demand = np.where(rng.random(n_unit)[:, None] < 0.5, poisson, gamma)
    lead_time = rng.integers(1, 8, n_unit)
    period = rng.integers(1, 8, n_unit)
    params = SimParams(lead_time, period, rng.integers(0, 7, n_unit) % period)
    on_hand = rng.uniform(0.0, 2.0, n_unit) * (lead_time + period) * rate
    return Case(demand, GRID[:, None] * rate[None, :], on_hand, params)


def median_seconds(run, repeats: int, clock=time.perf_counter) -> float:
    """Median time of ``run()`` over ``repeats`` calls: wall time, or ``time.process_time``
    for the CPU time of all this process's threads (which other processes cannot inflate)."""
    times = []
    for _ in range(repeats):
        start = clock()
        run()
        times.append(clock() - start)
    return statistics.median(times)


def totals_per_s(case: Case, repeats: int = 5, clock=time.perf_counter) -> float:
    """``simulate_totals`` throughput over windows [L, day) — every day is simulated."""
    n_cand, n_unit = case.target.shape
    n_day = case.demand.shape[1]
    state = initial_state(case.on_hand, n_cand, pipeline_length(case.params.lead_time))
    start, stop = case.params.lead_time, np.full(n_unit, n_day)

    def run():
        simulate_totals(case.demand, case.target, state, case.params, start, stop)

    return n_cand * n_unit * n_day / median_seconds(run, repeats, clock)


def trajectory_per_s(case: Case, chunk: int = 500, repeats: int = 3) -> float:
    """``simulate`` throughput with full trajectories, ``chunk`` units at a time."""
    n_cand, n_unit = case.target.shape
    n_day = case.demand.shape[1]
    n_slot = pipeline_length(case.params.lead_time)

    def run():
        for lo in range(0, n_unit, chunk):
            part = slice(lo, min(lo + chunk, n_unit))
            target = np.broadcast_to(case.target[:, part, None], (n_cand, part.stop - lo, n_day))
            state = initial_state(case.on_hand[part], n_cand, n_slot)
            params = SimParams(*(a[part] for a in case.params))
            simulate(case.demand[part], target, state, params)

    return n_cand * n_unit * n_day / median_seconds(run, repeats)


def reference_per_s(case: Case, n_sample: int = 200, repeats: int = 3, seed: int = 1) -> float:
    """``simulate_reference`` throughput on ``n_sample`` random unit-candidates of the case."""
    rng = np.random.default_rng(seed)
    n_cand, n_unit = case.target.shape
    n_day = case.demand.shape[1]
    n_slot = pipeline_length(case.params.lead_time)
    runs = []  # the arguments of each sampled unit-candidate's run
    pairs = zip(rng.integers(0, n_cand, n_sample), rng.integers(0, n_unit, n_sample), strict=True)
    for b, u in pairs:
        state = SimState(case.on_hand[u], np.zeros(n_slot))
        params = SimParams(*(int(a[u]) for a in case.params))
        runs.append((case.demand[u], np.full(n_day, case.target[b, u]), state, params))

    def run():
        for args in runs:
            simulate_reference(*args)

    return n_sample * n_day / median_seconds(run, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    load = os.getloadavg()[0]  # other processes on the machine slow the wall-clock figures
    warm = make_case(64, seed=2)  # load the compiled kernels, start the thread pool
    totals_per_s(warm, repeats=1)
    trajectory_per_s(warm, chunk=32, repeats=1)
    case = make_case(50_000)
    kernel = totals_per_s(case)
    kernel_cpu = totals_per_s(case, clock=time.process_time)
    trajectory = trajectory_per_s(case)
    reference = reference_per_s(case)
    figures = {
        "kernel_per_s": kernel,
        "reference_per_s": reference,
        "ratio": kernel / reference,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "trajectory_per_s": trajectory,
        "threads": numba.get_num_threads(),
        "kernel_per_cpu_s": kernel_cpu,
        "load_average": load,
    }
    if args.json:
        print(json.dumps(figures))
        return
    n_cand, n_unit = case.target.shape
    print(
        f"case: {n_unit:,} units × {n_cand} candidates × {case.demand.shape[1]} days, "
        f"{figures['threads']} numba threads, load average {load:.1f} at start"
    )
    print("unit-candidate-days per second (median of repeats):")
    print(f"  {'simulate_totals (label replay)':<40}{kernel:>14,.0f}")
    print(f"  {'simulate, full trajectories (chunked)':<40}{trajectory:>14,.0f}")
    print(f"  {'simulate_reference (plain Python)':<40}{reference:>14,.0f}")
    print(f"  {'simulate_totals per CPU-second':<40}{kernel_cpu:>14,.0f}  (all threads' CPU time)")
    print(
        f"  kernel / reference: {figures['ratio']:,.0f}×   trajectories / reference: "
        f"{trajectory / reference:,.0f}×"
    )
    print(f"  peak memory: {figures['peak_rss_mb']:,.0f} MB")


if __name__ == "__main__":
    main()
