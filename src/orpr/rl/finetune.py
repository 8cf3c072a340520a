"""Stages 3 and 4 end to end: RLOO alignment, then the expert promotion fine-tune.

``finetune(panel, model_dir, labels_dir, cfg, out_dir)`` starts from a pretrained model
(stage 2, the frozen reference ``π_ref``), aligns a copy of it with RLOO on the labelled
states (``orpr.rl.tasks.RLTask``), saves it as ``orpr``, then fine-tunes a copy of that on
promotion states against expert targets (``orpr.rl.expert``) with the KL anchored to the
stage-3 policy, saved as ``orpr_expert``. Run directory (``orpr.model.run_dir`` layout)::

    out_dir/
      pretrained/                     the reference model (copied when it lives elsewhere)
      orpr/, orpr_expert/             model.safetensors + model.json each
      finetune.json                   per-epoch and per-step figures, validation, targets
      checkpoint/finetune.safetensors the training state (resume point; stage "done" at the end)

Resume and Ray Train: ``orpr.training.resumable``, as pretraining. A checkpoint is resumed
only under the ``finetune`` stage's fingerprint (``orpr.config.stages.FINETUNE``: the config
it reads, chained to the labels' and the reference model's fingerprints); otherwise the run
stops with a one-line error. With ``[compute] engine = "ray"`` both stages train
data-parallel on ``compute.workers`` Ray Train workers; the driver then validates the
finished models. One worker reaches the local run's models and figures. The checkpoint does
not depend on the engine: a run stopped on Ray resumes locally and the other way round.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import shutil
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from orpr.config import Config
from orpr.config.stages import FINETUNE, input_fingerprint
from orpr.data.panel import Panel
from orpr.data.rate import reference_rates
from orpr.errors import InputError
from orpr.io import write_json
from orpr.labels.artifacts import labels_fingerprint
from orpr.model.checkpoint import load_model, save_model
from orpr.model.network import ORPRModel
from orpr.model.run_dir import MODEL_WEIGHTS, has_model
from orpr.model.run_dir import model_dir as find_model
from orpr.rl.expert import ExpertTargets, ExpertTask, expert_targets
from orpr.rl.outcomes import Outcomes, read_outcomes
from orpr.rl.tasks import RLTask
from orpr.training.demand import DemandData, demand_data
from orpr.training.labels import LabelTable, read_labels
from orpr.training.loop import LoopState, Progress, set_determinism
from orpr.training.pretrain import training_days
from orpr.training.resumable import Checkpoint, run_stages, train_on_ray

__all__ = ["FinetuneRun", "best_log_m", "finetune", "load_inputs", "train_stages"]
STATE = Path("checkpoint") / "finetune.safetensors"
STAGES = ("rloo", "expert")
OUTPUTS = {"rloo": "orpr", "expert": "orpr_expert"}


class FinetuneRun(NamedTuple):
    """What a fine-tune run did and scored.

    Attributes:
        out_dir: the run directory.
        complete: False when ``pretrain.max_steps`` stopped it (run again to resume).
        loops: each stage's loop state (epochs, per-step figures, throughput).
        validation: per policy (pretrained, orpr, orpr_expert), the mode action's figures on
            validation states — all of them and the promotion states.
        targets: the expert targets' source, count and uplift.
    """

    out_dir: Path
    complete: bool
    loops: dict[str, LoopState]
    validation: dict[str, dict[str, dict[str, float]]]
    targets: dict[str, Any]

    def to_json(self, details: bool = False) -> dict[str, Any]:
        """``{"complete", "stages": {stage: {"epochs", "final"}}, "validation",
        "expert_targets"}`` (``details`` adds every step's figures)."""
        stages = {}
        for name, state in self.loops.items():
            final = state.steps[-1] if state.steps else {}
            stages[name] = {
                "epochs": state.history,
                "final_step": final,
                "samples_per_s": state.samples_per_s
                if math.isfinite(state.samples_per_s)
                else None,
            }
            if details:
                stages[name]["steps"] = state.steps
        return {
            "complete": self.complete,
            "stages": stages,
            "validation": self.validation,
            "expert_targets": self.targets,
        }


class Inputs(NamedTuple):
    """What both stages train and validate on (``load_inputs``).

    Attributes:
        source: the reference model's directory.
        days: ``(first origin, validation start, held-out start, stop)`` day indices.
        reference: the frozen reference ``π_ref`` (the pretrained model).
        grid: the decision grid, inventory days.
        meta: the reference's ``model.json`` metadata.
        table, data, outcomes: the labelled states, their features and candidate outcomes.
        targets: the expert targets of the promotion states.
        fingerprint: the ``finetune`` stage's fingerprint (a checkpoint must match it).
    """

    source: Path
    days: tuple[int, int, int, int]
    reference: ORPRModel
    grid: list[float]
    meta: dict[str, Any]
    table: LabelTable
    data: DemandData
    outcomes: Outcomes
    targets: ExpertTargets
    fingerprint: str


def finetune(
    panel: Panel,
    model_dir: str | Path,
    labels_dir: str | Path,
    cfg: Config,
    out_dir: str | Path,
    progress: Progress | None = None,
) -> FinetuneRun:
    """Run (or resume) stages 3 and 4 from the pretrained model in ``model_dir``.

    Args:
        panel: the whole panel (the held-out days are never trained on).
        model_dir: a pretrained model (``model.safetensors`` + ``model.json``) or a run
            directory holding ``pretrained/``.
        labels_dir: the labels the model was trained on (``labels.parquet``, ``candidates.npz``).
        cfg: the run configuration (``[rl]``; ``[pretrain]`` for threads, checkpoint interval,
            patience and step limit; ``[split]``; ``seed``; ``[compute]`` engine and workers).
        out_dir: the run directory.
        progress: where the training loop reports its steps (None: nowhere).

    Raises:
        InputError: no model, labels on another grid, or a checkpoint of another fingerprint.
    """
    out = Path(out_dir)
    ray = cfg.compute.engine == "ray"
    cfg = dataclasses.replace(cfg, compute=dataclasses.replace(cfg.compute, engine="local"))
    inputs = load_inputs(panel, model_dir, labels_dir, cfg)  # bad input stops here, on the driver
    if ray:  # train on Ray Train workers; below, the finished checkpoint is only validated
        args = {
            "model_dir": str(Path(model_dir).resolve()),
            "labels_dir": str(Path(labels_dir).resolve()),
            "cfg": cfg,
        }
        shared = {"panel": panel, "targets": inputs.targets}
        keep = (STATE.parent, Path(OUTPUTS["rloo"]))  # a scratch rank resumes where rank 0 does
        train_on_ray(_train_worker, args, shared, cfg.compute, out, "finetune", keep)
    complete, loops = train_stages(inputs, labels_dir, cfg, out, progress)
    if not complete:
        return FinetuneRun(out, False, loops, {}, _targets_json(inputs.targets))
    if inputs.source.resolve() != (out / "pretrained").resolve():
        _copy_model(inputs.source, out / "pretrained")
    validation = _validate(out, inputs, cfg, loops)
    run = FinetuneRun(out, True, loops, validation, _targets_json(inputs.targets))
    write_json(out / "finetune.json", run.to_json(details=True))
    return run


def load_inputs(
    panel: Panel,
    model_dir: str | Path,
    labels_dir: str | Path,
    cfg: Config,
    targets: ExpertTargets | None = None,
) -> Inputs:
    """Seed torch (``set_determinism``) and load the reference, labels, outcomes and expert
    targets (``targets``: already found, e.g. by the driver of a Ray run).

    Raises:
        InputError: no model, labels on another grid, or a bad expert file.
    """

    source = find_model(model_dir, "pretrained")
    set_determinism(cfg.seed, cfg.pretrain.threads)
    days = training_days(panel, cfg)
    reference, grid, meta = load_model(source)
    table = read_labels(labels_dir, panel)
    if len(grid) != len(table.grid) or not np.allclose(grid, table.grid):
        raise InputError(
            str(labels_dir),
            "labels are on another decision grid than the model "
            f"({len(table.grid)} vs {len(grid)} values)",
            column="labels.v_max",
        )
    d_hat = reference_rates(
        panel.demand, panel.active, cfg.split.history_days, cfg.split.rate_floor
    )
    data = demand_data(panel, d_hat, reference.spec.features)
    outcomes = read_outcomes(labels_dir, table, panel.units.unit_cost)
    if targets is None:
        targets = expert_targets(
            panel, table, days[2], cfg.rl.expert, cfg.rl.uplift_cap, cfg.rl.expert_lookahead
        )
    return Inputs(
        source,
        days,
        reference,
        list(grid),
        meta,
        table,
        data,
        outcomes,
        targets,
        FINETUNE.fingerprint(
            cfg,
            [
                labels_fingerprint(labels_dir),
                input_fingerprint(meta.get("fingerprint"), source / MODEL_WEIGHTS),
            ],
        ),
    )


def train_stages(
    inputs: Inputs,
    labels_dir: str | Path,
    cfg: Config,
    out: Path,
    progress: Progress | None = None,
) -> tuple[bool, dict[str, LoopState]]:
    """Train (or resume) both stages into ``out`` (models, checkpoint); False with each
    stage's loop state when ``pretrain.max_steps`` stopped them."""
    model = copy.deepcopy(inputs.reference)
    model_meta = {
        "alpha": inputs.meta.get("alpha", cfg.policy.alpha),
        "seed": cfg.seed,
        "labels": str(labels_dir),
        "reference": str(inputs.source),
        "fingerprint": inputs.fingerprint,
    }

    def save(name: str) -> None:
        save_model(out / OUTPUTS[name], model, inputs.grid, {**model_meta, "stage": name})

    # RLOO against the reference, from m where its loop stands; the expert stage against the
    # stage-3 policy, from m where stage 3 kept its weights
    tasks = {
        "rloo": lambda loops: _task(
            "rloo", inputs, cfg, inputs.reference, _last_log_m(loops["rloo"])
        ),
        "expert": lambda loops: _task(
            "expert", inputs, cfg, load_model(out / OUTPUTS["rloo"])[0], best_log_m(loops["rloo"])
        ),
    }
    checkpoint = Checkpoint(out / STATE, STAGES, inputs.fingerprint)
    return run_stages(model, tasks, checkpoint, cfg.pretrain, progress, finished=save)


def _train_worker(
    out: Path,
    panel: Panel,
    targets: ExpertTargets,
    model_dir: str,
    labels_dir: str,
    cfg: Config,
) -> None:
    """What each Ray Train worker runs: both stages into ``out``."""
    train_stages(load_inputs(panel, model_dir, labels_dir, cfg, targets), labels_dir, cfg, out)


def _task(name: str, inputs: Inputs, cfg: Config, reference: ORPRModel, log_m: float) -> RLTask:
    """Stage ``name``'s task against ``reference`` with the multiplier starting at ``log_m``:
    RLOO on the labelled states (``rloo``), or the expert stage on the promotion states."""
    i = inputs
    common = (i.data, i.table, i.outcomes, reference, cfg.rl, i.days[1:3], cfg.seed)
    if name == "rloo":
        return RLTask(*common, cfg.pretrain.val_samples, log_m=log_m)
    targets = (i.targets.rows, i.targets.v_index)
    return ExpertTask(*common, cfg.pretrain.val_samples, *targets, log_m=log_m)


def _last_log_m(state: LoopState) -> float:
    """``log m`` where a stage's loop stands (0 before its first step); stored as logged, so a
    resumed run continues from the same float."""
    return float(state.steps[-1].get("log_m", 0.0)) if state.steps else 0.0


def best_log_m(state: LoopState) -> float:
    """``log m`` at the end of the stage's best validated epoch (its weights are the ones
    kept), else where the loop stands."""
    scored = [r for r in state.history if r.get("val") is not None and "log_m" in r]
    if not scored:
        return _last_log_m(state)
    return float(min(scored, key=lambda r: r["val"])["log_m"])


def _copy_model(source: Path, dest: Path) -> None:
    """Copy a trained model (weights first, JSON last: it counts only when whole)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("model.safetensors", "model.json"):
        tmp = dest / f".{name}.tmp"
        shutil.copyfile(source / name, tmp)
        tmp.replace(dest / name)


def _validate(
    out: Path, inputs: Inputs, cfg: Config, loops: dict[str, LoopState]
) -> dict[str, dict[str, dict[str, float]]]:
    """Each model's mode action on validation states (all, and promotion states)."""
    result: dict[str, dict[str, dict[str, float]]] = {}
    models = {"pretrained": inputs.reference}
    for name in OUTPUTS.values():
        if has_model(out / name):
            models[name] = load_model(out / name)[0]
    m = best_log_m(loops["rloo"])
    general = _task("rloo", inputs, cfg, inputs.reference, m)
    promo = _task("expert", inputs, cfg, inputs.reference, m)
    for name, model in models.items():
        result[name] = {}
        for label, task in (("all", general), ("promotion", promo)):
            task.validate(model)
            result[name][label] = dict(task.val_stats)
    return result


def _targets_json(t: ExpertTargets) -> dict[str, Any]:
    return {
        "source": t.source,
        "states": int(len(t.rows)),
        "unused_rows": int(t.unused),
        "uplift": t.uplift,
        "mean_v_expert": float(t.v_expert.mean()) if len(t.rows) else None,
    }
