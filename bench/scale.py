"""Benchmark the compute seam: paper-scale label generation on the local and the Ray engine.

The case is ``bench/labels.py``'s, built by its ``make_case``: 70,210 synthetic units × 365
days, weekly review, L = 1…7, 61 candidates, H = L + 2R, one knapsack per review day over
every unit reviewing that day. Engines:

- ``local``: one shard in this process (the default; numba uses every core);
- ``ray``: a local Ray instance on this machine's cores, ``--shards`` shard hosts (default:
  one per core, each with a core's share of numba threads); the knapsack stays on the driver.

Every case runs in a fresh process, so its peak memory is its own. Timed: d̂ and the whole
rolling label run — for Ray including putting the inputs into the object store, spawning
the shards, one round trip per review day and gathering the trajectories. Not timed: building
the case, starting Ray and its hosts and a small warm-up run on the same engine (numba loads
its kernels in every process); that start-up is reported as ``ray_start_s``. A digest of the
labels and trajectories shows that both engines gave the same result.

The paper-scale case runs once per engine and is also the last point of the scaling series
(10k, 35k, 70,210 units by default).

Usage: ``python bench/scale.py [--json] [--units 10000,35000] [--shards N]``; ``--json``
prints ``{"local_wall_s", "ray_wall_s", "overhead_pct", "scaling": [{"units", "engine",
"wall_s"}], "local_peak_rss_mb", "ray_peak_rss_mb", ...}``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

from labels import DAYS, UNITS, label_run, make_case
from orpr.compute import RayEngine, open_engine
from orpr.config import ComputeConfig, LabelsConfig


def run_case(engine: str, units: int, shards: int) -> dict[str, Any]:
    """One label run on ``engine``; its figures (call in a fresh process)."""
    cfg = LabelsConfig(horizon_min=0)
    demand, params, unit_cost = make_case(units, DAYS)
    began = time.perf_counter()
    with open_engine(ComputeConfig(engine, shards=shards if engine == "ray" else 1)) as eng:
        label_run(*make_case(64, 70, seed=1), cfg, eng)  # warm-up: kernels load in each process
        start_s = time.perf_counter() - began
        began = time.perf_counter()
        trace, _ = label_run(demand, params, unit_cost, cfg, eng)
        wall = time.perf_counter() - began
        hosts = eng.peak_rss_mb() if isinstance(eng, RayEngine) else []
    digest = hashlib.sha256()
    for arr in (*trace.rows[:9], trace.rows.on_hand, trace.rows.pipeline, *trace.flows):
        digest.update(arr.tobytes())
    driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "engine": engine,
        "units": units,
        "wall_s": round(wall, 2),
        "states": int(trace.rows.unit.size),
        "digest": digest.hexdigest()[:16],
        "start_s": round(start_s, 1),
        "driver_rss_mb": round(driver),
        "hosts_rss_mb": [round(h) for h in hosts],
        "peak_rss_mb": round(driver + sum(hosts)),
    }


def in_process(engine: str, units: int, shards: int) -> dict[str, Any]:
    """``run_case`` in a fresh Python process."""
    cmd = [sys.executable, __file__, "--case", engine, str(units), "--shards", str(shards)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument(
        "--units",
        default="10000,35000",
        help="smaller sizes of the scaling series, comma-separated",
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=os.cpu_count() or 1,
        help="Ray shard hosts (default: one per core)",
    )
    parser.add_argument("--case", nargs=2, metavar=("ENGINE", "UNITS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case[0], int(args.case[1]), args.shards)))
        return
    load = os.getloadavg()[0]
    sizes = sorted({int(u) for u in args.units.split(",") if u} | {UNITS})
    runs = [in_process(engine, n, args.shards) for n in sizes for engine in ("local", "ray")]
    paper = {r["engine"]: r for r in runs if r["units"] == UNITS}
    local, ray = paper["local"], paper["ray"]
    figures = {
        "local_wall_s": local["wall_s"],
        "ray_wall_s": ray["wall_s"],
        "overhead_pct": round(100 * (ray["wall_s"] / local["wall_s"] - 1), 1),
        "scaling": [
            {"units": r["units"], "engine": r["engine"], "wall_s": r["wall_s"]} for r in runs
        ],
        "local_peak_rss_mb": local["peak_rss_mb"],
        "ray_peak_rss_mb": ray["peak_rss_mb"],
        "ray_driver_rss_mb": ray["driver_rss_mb"],
        "ray_hosts_rss_mb": ray["hosts_rss_mb"],
        "ray_start_s": ray["start_s"],
        "shards": args.shards,
        "states": local["states"],
        "identical": all(len({r["digest"] for r in runs if r["units"] == n}) == 1 for n in sizes),
        "load_avg": [round(load, 2), round(os.getloadavg()[0], 2)],
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(
        f"{UNITS:,} units × {DAYS} days, {local['states']:,} labelled states; "
        f"ray: {args.shards} shards on {os.cpu_count()} cores"
    )
    print(f"  local: {local['wall_s']:8.1f} s   peak memory {local['peak_rss_mb']:,} MB")
    print(
        f"  ray:   {ray['wall_s']:8.1f} s   peak memory {ray['peak_rss_mb']:,} MB (driver "
        f"{ray['driver_rss_mb']:,} + shards {ray['hosts_rss_mb']}; start-up {ray['start_s']} s)"
    )
    print(f"  Ray overhead: {figures['overhead_pct']:+.1f} %   same labels: {figures['identical']}")
    print("  scaling (s, and s per 1,000 units):")
    for r in runs:
        print(
            f"    {r['engine']:5s} {r['units']:7,d} units  {r['wall_s']:7.1f} s  "
            f"{1000 * r['wall_s'] / r['units']:.3f}"
        )
    print(f"  load average {figures['load_avg'][0]} before, {figures['load_avg'][1]} after")


if __name__ == "__main__":
    main()
