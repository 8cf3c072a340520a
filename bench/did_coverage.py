"""Coverage of the DiD 95 % interval on simulated pilots: how often it holds the true effect.

The case: the synthetic panel of a small demo-like config (80 units, 140 days, 28 held-out
days), a pilot from the first held-out day with a seeded random half of the units treated
(``orpr.deploy.pilot``), repeated over ``--seeds`` treated draws, for a treatment with an effect
(``base_stock``) and a placebo (``incumbent``, true effect 0). A well-calibrated interval
holds the true effect in about 95 % of draws; the pre-trend test rejects at 5 % in about
5 % of them.

Usage: ``python bench/did_coverage.py [--seeds N] [--units N] [--json]``; ``--json`` prints
``{"seeds", "units", "coverage": {POLICY: {OUTCOME: share}}, "pretrend_rejections":
{POLICY: {OUTCOME: share}}, "wall_s"}``.
"""

from __future__ import annotations

import argparse
import json
import time

from orpr.config import load_config
from orpr.data import load_panel
from orpr.deploy.pilot import run_pilot

POLICIES = ("base_stock", "incumbent")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--units", type=int, default=80)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    base = [f"synthetic.units={args.units}", "synthetic.days=140", "split.holdout_days=28"]
    panel = load_panel(load_config("configs/demo.toml", base))
    began = time.perf_counter()
    covered: dict[str, dict[str, list[bool]]] = {p: {} for p in POLICIES}
    rejected: dict[str, dict[str, list[bool]]] = {p: {} for p in POLICIES}
    for policy in POLICIES:
        for seed in range(args.seeds):
            cfg = load_config(
                "configs/demo.toml", [*base, f'did.policy="{policy}"', f"did.seed={seed}"]
            )
            pilot, result = run_pilot(panel, cfg)
            for name, e in result.effects.items():
                truth = pilot.truth[name]
                covered[policy].setdefault(name, []).append(e.ci_low <= truth <= e.ci_high)
                rejected[policy].setdefault(name, []).append(
                    e.pretrend_p is not None and e.pretrend_p < 0.05
                )
    share = {p: {k: sum(v) / len(v) for k, v in d.items()} for p, d in covered.items()}
    pre = {p: {k: sum(v) / len(v) for k, v in d.items()} for p, d in rejected.items()}
    figures = {
        "seeds": args.seeds,
        "units": args.units,
        "coverage": share,
        "pretrend_rejections": pre,
        "wall_s": round(time.perf_counter() - began, 1),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(
        f"{args.seeds} pilots per policy, {args.units} units; 95 % interval holds the true effect:"
    )
    for policy in POLICIES:
        print(f"  {policy:11s} " + "  ".join(f"{k} {v:.0%}" for k, v in share[policy].items()))
    print("pre-trend test rejects at 5 %:")
    for policy in POLICIES:
        print(f"  {policy:11s} " + "  ".join(f"{k} {v:.0%}" for k, v in pre[policy].items()))


if __name__ == "__main__":
    main()
