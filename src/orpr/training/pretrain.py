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

With ``[compute] engine = "ray"`` both stages train data-parallel on ``compute.workers`` Ray
Train workers (``train_on_ray``); one worker reaches the local run's weights.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from orpr.baselines.split import time_split
from orpr.compute.data_parallel import fit_on_ray, worker_rank
from orpr.config import Config, ModelConfig
from orpr.data.panel import Panel
from orpr.data.rate import reference_rates
from orpr.errors import InputError
from orpr.io import write_json
from orpr.model.checkpoint import load_tensors, save_model, save_tensors, spec_to_json
from orpr.model.features import FeatureSpec
from orpr.model.network import ModelSpec, ORPRModel, count_parameters
from orpr.model.policy import PretrainedPolicy, load_policy
from orpr.training.demand import DemandData, DemandTask, Wape, demand_data, forecast_wape
from orpr.training.labels import Accuracy, LabelTable, LabelTask, label_accuracy, read_labels
from orpr.training.loop import LoopState, fit, loop_from_json, set_determinism

__all__ = [
    "PretrainRun",
    "PretrainedPolicy",
    "load_policy",
    "model_spec",
    "pretrain",
    "pretrain_json",
    "render_pretrain",
]
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


def model_spec(cfg: ModelConfig, n_bins: int) -> ModelSpec:
    """The model's sizes from the ``[model]`` section and the label grid's size."""
    if cfg.window % cfg.patch or cfg.calendar_days % cfg.patch:
        raise InputError(
            "[model]",
            "window and calendar_days must be multiples of patch",
            column="model.patch",
            value=cfg.patch,
        )
    if cfg.d_model % cfg.heads:
        raise InputError(
            "[model]", "d_model must be a multiple of heads", column="model.heads", value=cfg.heads
        )
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


def pretrain(
    panel: Panel,
    labels_dir: str | Path,
    cfg: Config,
    out_dir: str | Path,
    progress: bool = True,
) -> PretrainRun:
    """Train (or resume) both stages on ``panel`` and the labels; write the run directory.

    Args:
        panel: the whole panel; the held-out days are only scored, never trained on.
        labels_dir: the labels directory (``labels.parquet``, ``candidates.npz``).
        cfg: the run configuration (``[model]``, ``[pretrain]``, ``[split]``, ``seed``).
        out_dir: the run directory; a checkpoint there is resumed.
        progress: show rich progress bars.
    """
    out = Path(out_dir)
    if cfg.compute.engine == "ray":  # train on Ray Train workers, then score here from the result
        cfg = dataclasses.replace(cfg, compute=dataclasses.replace(cfg.compute, engine="local"))
        train_on_ray(panel, labels_dir, cfg, out)
    set_determinism(cfg.seed, cfg.pretrain.threads)
    days = training_days(panel, cfg)
    table = read_labels(labels_dir, panel)
    spec = model_spec(cfg.model, len(table.grid))
    d_hat = reference_rates(
        panel.demand, panel.active, cfg.split.history_days, cfg.split.rate_floor
    )
    data = demand_data(panel, d_hat, spec.features)
    model = ORPRModel(spec)
    train_rows = table.days < days[1]
    complete, loops = _train(model, data, table, cfg, days, out, progress)
    if not complete:
        return _run(out, model, loops, None, None, int(train_rows.sum()))
    alpha = float(np.median(table.alpha[train_rows])) if train_rows.any() else cfg.policy.alpha
    save_model(
        out,
        model,
        table.grid.tolist(),
        {
            "alpha": alpha,
            "parameters": count_parameters(model),
            "seed": cfg.seed,
            "labels": str(labels_dir),
        },
    )
    wape, accuracy = _score(model, data, table, cfg, days)
    run = _run(out, model, loops, wape, accuracy, int(train_rows.sum()))
    write_json(out / "pretrain.json", {**pretrain_json(run), "details": _details(run)})
    return run


def train_on_ray(panel: Panel, labels_dir: str | Path, cfg: Config, out: Path) -> None:
    """Both stages, data-parallel on ``compute.workers`` Ray Train workers (``TorchTrainer``).

    Every worker runs this module's ``pretrain`` on its share of each batch with gradients
    averaged (``orpr.training.loop``); rank 0 writes ``out`` (its finished checkpoint is then
    scored by the caller), the others a scratch copy. With one worker the weights are the
    local run's. ``out`` and ``labels_dir`` must be paths every node of the cluster sees.
    """
    config = {
        "labels_dir": str(Path(labels_dir).resolve()),
        "cfg": cfg,
        "out_dir": str(out.resolve()),
    }
    fit_on_ray(_train_worker, config, {"panel": panel}, cfg.compute, out / "ray_train", "pretrain")


def _train_worker(config: dict[str, Any]) -> None:
    """One Ray Train worker of ``train_on_ray``."""
    import ray

    out, (rank, _) = Path(config["out_dir"]), worker_rank()
    panel = ray.get(config["panel"])
    if rank == 0:
        pretrain(panel, config["labels_dir"], config["cfg"], out, progress=False)
        return
    with tempfile.TemporaryDirectory(prefix=f"orpr-rank{rank}-") as scratch:
        if (out / STATE).is_file():  # resume from rank 0's checkpoint, as rank 0 does
            shutil.copytree(out / STATE.parent, Path(scratch) / STATE.parent)
        pretrain(panel, config["labels_dir"], config["cfg"], scratch, progress=False)


def _train(
    model: ORPRModel,
    data: DemandData,
    table: LabelTable,
    cfg: Config,
    days: tuple[int, int, int, int],
    out: Path,
    progress: bool,
) -> tuple[bool, dict[str, LoopState]]:
    """Run (or resume) the stages in order; False if the step limit stopped them."""
    first, val_start, holdout, _ = days
    spec = model.spec
    stage, loops, resume = _resume_point(out, spec)
    demand = DemandTask(data, spec, cfg.pretrain, (first, val_start, holdout), cfg.seed)
    tasks = {
        "demand": lambda: demand,
        "labels": lambda: LabelTask(
            data, table, model, cfg.pretrain, (val_start, holdout), cfg.seed, demand
        ),
    }
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, disable=not progress) as bar:
        for name in STAGES[STAGES.index(stage) :] if stage in STAGES else ():
            save = _saver(out / STATE, name, loops, spec)
            if not fit(model, tasks[name](), cfg.pretrain, loops[name], save, resume, bar):
                return False, loops
            later = STAGES[STAGES.index(name) + 1 :]
            if later:
                loops[later[0]].step = loops[name].step
            resume = None
            _saver(out / STATE, later[0] if later else "done", loops, spec)(
                _weights(model), loops[name]
            )
    if stage == "done":
        model.load_state_dict({k[6:]: v for k, v in resume.items() if k.startswith("model.")})
    return True, loops


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


def _resume_point(
    out: Path, spec: ModelSpec
) -> tuple[str, dict[str, LoopState], dict[str, torch.Tensor] | None]:
    """The stage to continue, every stage's loop state and the checkpoint's tensors."""
    loops = {name: LoopState() for name in STAGES}
    if not (out / STATE).is_file():
        return STAGES[0], loops, None
    tensors, meta = load_tensors(out / STATE)
    if meta.get("spec") != spec_to_json(spec):
        raise InputError(
            str(out / STATE),
            "checkpoint was trained with a different [model] "
            "config or label grid; use another --out",
        )
    for name, state in meta["loops"].items():
        loops[name] = loop_from_json(state)
    return meta["stage"], loops, tensors


def _saver(path: Path, stage: str, loops: dict[str, LoopState], spec: ModelSpec):
    """Write the checkpoint: tensors plus ``{"stage", "loops", "spec"}`` as metadata."""

    def save(tensors: dict[str, torch.Tensor], state: LoopState) -> None:
        meta = {
            "stage": stage,
            "loops": {k: dataclasses.asdict(v) for k, v in loops.items()},
            "spec": spec_to_json(spec),
        }
        save_tensors(path, tensors, meta)

    return save


def _weights(model: ORPRModel) -> dict[str, torch.Tensor]:
    """A stage boundary's checkpoint: the weights and the torch RNG state."""
    out = {f"model.{k}": v for k, v in model.state_dict().items()}
    out["rng.torch"] = torch.get_rng_state()
    return out


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


def pretrain_json(run: PretrainRun) -> dict[str, Any]:
    """``{"parameters", "wape": {"model", "seasonal_naive", "mean28"},
    "label_accuracy": {"exact", "within_1"}}`` (figures None until the run is complete)."""
    w, a = run.wape, run.accuracy
    return {
        "parameters": run.parameters,
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


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _details(run: PretrainRun) -> dict[str, Any]:
    """Losses per epoch, throughput and the sizes behind the figures."""
    return {
        "steps": run.steps,
        "stages": {
            name: {"epochs": s.history, "samples_per_s": _num(s.samples_per_s)}
            for name, s in run.loops.items()
        },
        "wape_days": run.wape.days if run.wape else 0,
        "label_accuracy_states": run.accuracy.states if run.accuracy else 0,
        "label_accuracy_period": run.accuracy.period if run.accuracy else None,
    }


def render_pretrain(run: PretrainRun, console: Console | None = None) -> None:
    """Print the parameter count, per-epoch losses, WAPE and label accuracy."""
    console = console or Console()
    console.print(f"model parameters: {run.parameters:,}")
    losses = Table(title="Training (demand: pinball loss; labels: cross-entropy)")
    for col in ("stage", "epoch", "phase", "train", "validation"):
        losses.add_column(
            col, justify="right" if col in ("epoch", "train", "validation") else "left"
        )
    for name, state in run.loops.items():
        for rec in state.history:
            val = "–" if rec["val"] is None else f"{rec['val']:.4f}"
            losses.add_row(name, str(rec["epoch"]), rec["phase"], f"{rec['train']:.4f}", val)
    console.print(losses)
    if not run.complete:
        console.print(f"stopped after {run.steps} steps (pretrain.max_steps); run again to resume")
        return
    figures = Table(title=f"Held-out forecast WAPE ({run.wape.days:,} in-stock unit-days)")
    figures.add_column("forecast")
    figures.add_column("WAPE", justify="right")
    for label, value in (
        ("model (median)", run.wape.model),
        ("seasonal naive", run.wape.seasonal_naive),
        ("mean of 28 days", run.wape.mean28),
    ):
        figures.add_row(label, f"{value:.2%}")
    console.print(figures)
    a = run.accuracy
    console.print(
        f"label accuracy ({a.period}, {a.states:,} states): exact {a.exact:.1%}, "
        f"within ±1 step {a.within_1:.1%}"
    )
