"""Stage 2 end to end: demand pretraining, then the decision head on OR labels (DESIGN §6).

``pretrain(panel, labels_dir, cfg, out_dir)`` trains both stages (``orpr.training.demand``,
``orpr.training.labels``) with the shared loop (``orpr.training.loop``), writes the model and its
figures, and resumes from whatever ``out_dir`` already holds. Run directory::

    out_dir/
      model.safetensors, model.json   the trained model (best validated weights) + spec, grid
      pretrain.json                   parameters, WAPE, label accuracy, losses, throughput
      checkpoint/state.safetensors    the training state (resume point; stage "done" at the end)

Figures: the forecast's WAPE on held-out in-stock days next to seasonal-naive and 28-day-mean
forecasts, and the decision's label accuracy (exact and within ±1 grid step, ``z = μ``) on
labelled held-out days — or, as labels cover only the training period, on labelled states of
the validation days that early stopping did not use. The ``pretrained`` policy
(``orpr.model.policy``) decides with the saved model.

Resume and Ray Train: ``orpr.training.resumable`` (one checkpoint, resumed only under the
``pretrain`` stage's fingerprint, ``orpr.config.stages.PRETRAIN``, chained to the labels'). With
``[compute] engine = "ray"`` both stages train data-parallel on ``compute.workers`` Ray Train
workers; one worker reaches the local run's weights.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from orpr.baselines.split import time_split
from orpr.config import Config, ModelConfig
from orpr.config.stages import PRETRAIN
from orpr.data.panel import Panel
from orpr.data.rate import reference_rates
from orpr.errors import InputError
from orpr.io import write_json
from orpr.labels.artifacts import labels_fingerprint
from orpr.model.checkpoint import save_model
from orpr.model.features import FeatureSpec
from orpr.model.network import ModelSpec, ORPRModel, count_parameters
from orpr.training.demand import DemandData, DemandTask, Wape, demand_data, forecast_wape
from orpr.training.labels import Accuracy, LabelTable, LabelTask, label_accuracy, read_labels
from orpr.training.loop import LoopState, Progress, set_determinism
from orpr.training.resumable import Checkpoint, run_stages, train_on_ray

__all__ = ["PretrainRun", "model_spec", "pretrain", "training_days"]
STATE = Path("checkpoint") / "state.safetensors"
STAGES = ("demand", "labels")


class PretrainRun(NamedTuple):
    """What a pretraining run did and scored.

    Attributes:
        out_dir: the run directory.
        parameters: model parameter count.
        complete: False when ``pretrain.max_steps`` stopped it (run again to resume).
        steps: optimiser steps taken, both stages.
        loops: each stage's loop state (per-epoch losses, throughput).
        wape: forecast WAPE on held-out in-stock days (None until complete).
        accuracy: label accuracy of the decision head (None until complete).
        label_states: labelled states trained on (before the validation days).
    """

    out_dir: Path
    parameters: int
    complete: bool
    steps: int
    loops: dict[str, LoopState]
    wape: Wape | None
    accuracy: Accuracy | None
    label_states: int

    def to_json(self, details: bool = False) -> dict[str, Any]:
        """``{"parameters", "wape": {"model", "seasonal_naive", "mean28"}, "label_accuracy":
        {"exact", "within_1"}}`` (figures None until the run is complete); ``details`` adds
        ``"details"``: steps, per-epoch losses and throughput per stage, and the sizes behind
        the figures."""
        w, a = self.wape, self.accuracy
        out: dict[str, Any] = {
            "parameters": self.parameters,
            "wape": {
                "model": _num(w.model if w else None),
                "seasonal_naive": _num(w.seasonal_naive if w else None),
                "mean28": _num(w.mean28 if w else None),
            },
            "label_accuracy": {
                "exact": _num(a.exact if a else None),
                "within_1": _num(a.within_1 if a else None),
            },
        }
        if details:
            out["details"] = {
                "steps": self.steps,
                "stages": {
                    name: {"epochs": s.history, "samples_per_s": _num(s.samples_per_s)}
                    for name, s in self.loops.items()
                },
                "wape_days": w.days if w else 0,
                "label_accuracy_states": a.states if a else 0,
                "label_accuracy_period": a.period if a else None,
            }
        return out


def model_spec(cfg: ModelConfig, n_bins: int) -> ModelSpec:
    """The model's sizes from the ``[model]`` section and the label grid's size."""
    features = FeatureSpec(
        cfg.window, cfg.patch, cfg.calendar_days, cfg.pipeline_slots, cfg.hash_buckets
    )
    return ModelSpec(
        features,
        cfg.d_model,
        cfg.layers,
        cfg.heads,
        cfg.d_ff,
        cfg.dropout,
        cfg.latent,
        cfg.decoder_hidden,
        cfg.horizon,
        tuple(cfg.quantiles),
        n_bins,
    )


def training_days(panel: Panel, cfg: Config) -> tuple[int, int, int, int]:
    """``(first origin, validation start, held-out start, stop)`` day indices."""
    split = time_split(panel, cfg)
    val_start = split.holdout_start - cfg.pretrain.val_days
    first = cfg.pretrain.min_history
    if val_start <= first:
        raise InputError(
            panel.source,
            "too few training days for min_history + val_days",
            column="pretrain.val_days",
            value=cfg.pretrain.val_days,
        )
    return first, val_start, split.holdout_start, split.stop


class Prepared(NamedTuple):
    """What both stages train on (the day split, the labels, the features, the fresh model) and
    the ``pretrain`` stage's fingerprint."""

    days: tuple[int, int, int, int]
    table: LabelTable
    data: DemandData
    model: ORPRModel
    fingerprint: str


def pretrain(
    panel: Panel,
    labels_dir: str | Path,
    cfg: Config,
    out_dir: str | Path,
    progress: Progress | None = None,
) -> PretrainRun:
    """Train (or resume) both stages on ``panel`` and the labels; write the run directory.

    Args:
        panel: the whole panel; the held-out days are only scored, never trained on.
        labels_dir: the labels directory (``labels.parquet``, ``candidates.npz``).
        cfg: the run configuration (``[model]``, ``[pretrain]``, ``[split]``, ``seed``).
        out_dir: the run directory; a checkpoint there is resumed.
        progress: where the training loop reports its steps (None: nowhere).

    Raises:
        InputError: too few training days, a bad ``[model]`` size, or a checkpoint made under
            another fingerprint (``orpr.config.stages.PRETRAIN``).
    """
    out = Path(out_dir)
    if cfg.compute.engine == "ray":  # train on Ray Train workers, then score here from the result
        cfg = dataclasses.replace(cfg, compute=dataclasses.replace(cfg.compute, engine="local"))
        args = {"labels_dir": str(Path(labels_dir).resolve()), "cfg": cfg}
        train_on_ray(_train, args, {"panel": panel}, cfg.compute, out, "pretrain", (STATE.parent,))
    prep = _prepare(panel, labels_dir, cfg)
    complete, loops = _train(out, panel, labels_dir, cfg, prep, progress)
    train_rows = prep.table.days < prep.days[1]
    if not complete:
        return _run(out, prep.model, loops, None, None, int(train_rows.sum()))
    alpha = float(np.median(prep.table.alpha[train_rows])) if train_rows.any() else cfg.policy.alpha
    meta = {
        "alpha": alpha,
        "parameters": count_parameters(prep.model),
        "seed": cfg.seed,
        "labels": str(labels_dir),
        "fingerprint": prep.fingerprint,
    }
    save_model(out, prep.model, prep.table.grid.tolist(), meta)
    wape, accuracy = _score(prep.model, prep.data, prep.table, cfg, prep.days)
    run = _run(out, prep.model, loops, wape, accuracy, int(train_rows.sum()))
    write_json(out / "pretrain.json", run.to_json(details=True))
    return run


def _prepare(panel: Panel, labels_dir: str | Path, cfg: Config) -> Prepared:
    """Seed torch, read the labels, build the features and the model (its initial weights
    drawn from the seed)."""
    set_determinism(cfg.seed, cfg.pretrain.threads)
    days = training_days(panel, cfg)
    table = read_labels(labels_dir, panel)
    spec = model_spec(cfg.model, len(table.grid))
    d_hat = reference_rates(
        panel.demand, panel.active, cfg.split.history_days, cfg.split.rate_floor
    )
    data = demand_data(panel, d_hat, spec.features)
    fingerprint = PRETRAIN.fingerprint(cfg, [labels_fingerprint(labels_dir)])
    return Prepared(days, table, data, ORPRModel(spec), fingerprint)


def _train(
    out: Path,
    panel: Panel,
    labels_dir: str | Path,
    cfg: Config,
    prep: Prepared | None = None,
    progress: Progress | None = None,
) -> tuple[bool, dict[str, LoopState]]:
    """Run (or resume) both stages into ``out``; False if the step limit stopped them. (Also
    what each Ray Train worker runs: ``prep`` is then built here.)"""
    prep = prep or _prepare(panel, labels_dir, cfg)
    first, val_start, holdout, _ = prep.days
    demand = DemandTask(
        prep.data, prep.model.spec, cfg.pretrain, (first, val_start, holdout), cfg.seed
    )
    tasks = {
        "demand": lambda loops: demand,
        "labels": lambda loops: LabelTask(
            prep.data, prep.table, prep.model, cfg.pretrain, (val_start, holdout), cfg.seed, demand
        ),
    }
    checkpoint = Checkpoint(out / STATE, STAGES, prep.fingerprint)
    return run_stages(prep.model, tasks, checkpoint, cfg.pretrain, progress)


def _score(
    model: ORPRModel,
    data: DemandData,
    table: LabelTable,
    cfg: Config,
    days: tuple[int, int, int, int],
) -> tuple[Wape, Accuracy]:
    """Forecast WAPE on held-out origins; label accuracy on held-out (else validation) labels."""
    _, val_start, holdout, stop = days
    n = cfg.pretrain.heldout_samples
    wape = forecast_wape(model, data, model.spec.features, (holdout, stop), n, cfg.seed)
    test = np.flatnonzero(table.days >= holdout)
    val = np.flatnonzero((table.days >= val_start) & (table.days < holdout))
    val = np.setdiff1d(
        val, LabelTask(data, table, model, cfg.pretrain, days[1:3], cfg.seed).val_rows
    )
    rows, period = (test, "held-out") if len(test) else (val, "validation")
    rows = np.sort(np.random.default_rng([cfg.seed, 97]).permutation(rows)[:n])
    return wape, label_accuracy(model, data, table, rows, period)


def _run(
    out: Path,
    model: ORPRModel,
    loops: dict[str, LoopState],
    wape: Wape | None,
    accuracy: Accuracy | None,
    label_states: int,
) -> PretrainRun:
    steps = max(state.step for state in loops.values())
    return PretrainRun(
        out, count_parameters(model), wape is not None, steps, loops, wape, accuracy, label_states
    )


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)
