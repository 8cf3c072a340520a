"""Benchmark the foundation model at its default size on this CPU.

The case: the embedded synthetic panel (2,000 units × 182 days), the default ``[model]`` and
``[pretrain]`` settings (batch size, threads), and labelled states drawn at random over the
training days with the default grid (v = 0, 0.5, …, 30). Throughput counts whole steps —
feature gathering, forward, backward, clipping and the optimiser — after a warm-up:

- demand pretraining, samples per second;
- the decision head on labels, samples per second, the frozen-encoder and unfrozen phases
  weighted by the default epochs of each;
- inference: decisions per second of the ``pretrained`` policy on one review day of every
  unit (features from the history, a forward pass, the arg-max).

Usage: ``python bench/train.py [--json]``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from orpr.baselines.contract import DecisionContext
from orpr.config import load_config
from orpr.data import load_panel
from orpr.data.rate import reference_rates
from orpr.model.features import known_calendar
from orpr.model.network import ORPRModel, count_parameters
from orpr.model.policy import PretrainedPolicy
from orpr.training.demand import DemandTask, demand_data
from orpr.training.labels import LabelTable, LabelTask
from orpr.training.loop import set_determinism, train_step
from orpr.training.pretrain import model_spec, training_days

GRID = np.arange(61) * 0.5  # v, inventory days


def random_labels(n_units: int, days: tuple[int, int], d_hat: np.ndarray, n: int) -> LabelTable:
    """``n`` labelled states at random units and days in ``[days[0], days[1])``."""
    rng = np.random.default_rng(0)
    units, day = rng.integers(0, n_units, n), rng.integers(days[0], days[1], n)
    rate = d_hat[units, day]
    return LabelTable(
        units,
        day,
        rng.integers(0, len(GRID), n),
        np.full(n, 0.95),
        rate,
        rng.uniform(0, 3, n) * rate,
        rng.uniform(0, 1, (n, 2)) * rate[:, None],
        GRID,
    )


def steps_per_s(model: ORPRModel, task, epoch: int, steps: int, warmup: int = 3) -> float:
    """Samples per second of ``steps`` training steps of ``task`` in ``epoch``'s phase."""
    opt = task.optimizer(model, epoch)
    batches = task.batches(epoch)
    model.train()
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        train_step(model, opt, task.loss(model, batches[i % len(batches)], epoch, i), 1.0, 1.0)
    return steps * len(batches[0]) / (time.perf_counter() - start)


def decisions_per_s(
    model: ORPRModel, panel, d_hat: np.ndarray, day: int, repeats: int = 3
) -> float:
    """Decisions per second of the pretrained policy for every unit on ``day``."""
    policy = PretrainedPolicy(model.eval(), GRID, known_calendar(panel), 0.95)
    units = np.arange(panel.n_units)
    rate = d_hat[:, day]
    ctx = DecisionContext(
        day, units, panel.take_days(0, day), rate, rate * 2.0, np.zeros((panel.n_units, 2))
    )
    policy.decide(ctx)
    start = time.perf_counter()
    for _ in range(repeats):
        policy.decide(ctx)
    return repeats * panel.n_units / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per stage")
    parser.add_argument("--set", action="append", default=[], help="config override key=value")
    args = parser.parse_args()
    cfg = load_config("configs/demo.toml", ["synthetic.units=2000", *args.set])
    tc = cfg.pretrain
    set_determinism(cfg.seed, tc.threads)
    panel = load_panel(cfg)
    first, val_start, holdout, _ = training_days(panel, cfg)
    d_hat = reference_rates(
        panel.demand, panel.active, cfg.split.history_days, cfg.split.rate_floor
    )
    spec = model_spec(cfg.model, len(GRID))
    model = ORPRModel(spec)
    data = demand_data(panel, d_hat, spec.features)
    demand = DemandTask(data, spec, tc, (first, val_start, holdout), cfg.seed)
    table = random_labels(panel.n_units, (first, val_start), d_hat, 20 * tc.batch_size)
    labels = LabelTask(data, table, model, tc, (val_start, holdout), cfg.seed, demand)
    frozen_rate = steps_per_s(model, labels, 0, args.steps)
    unfrozen_rate = steps_per_s(model, labels, tc.frozen_epochs, args.steps)
    k = min(tc.frozen_epochs, tc.label_epochs) / max(tc.label_epochs, 1)
    out = {
        "pretrain_samples_per_s": steps_per_s(model, demand, 0, args.steps),
        "label_samples_per_s": 1.0 / (k / frozen_rate + (1 - k) / unfrozen_rate),
        "decisions_per_s": decisions_per_s(model, panel, d_hat, holdout),
        "parameters": count_parameters(model),
    }
    if args.json:
        print(json.dumps(out))
        return
    print(
        f"model at default size: {out['parameters']:,} parameters, "
        f"batch {tc.batch_size}, {tc.threads} threads"
    )
    print(f"demand pretraining: {out['pretrain_samples_per_s']:,.0f} samples/s")
    print(
        f"labels, encoder frozen: {frozen_rate:,.0f} samples/s; unfrozen: "
        f"{unfrozen_rate:,.0f} samples/s; default mix: {out['label_samples_per_s']:,.0f} samples/s"
    )
    print(
        f"inference (pretrained policy, {panel.n_units:,} units): "
        f"{out['decisions_per_s']:,.0f} decisions/s"
    )


if __name__ == "__main__":
    main()
