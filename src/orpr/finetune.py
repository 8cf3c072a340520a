"""Stages 3 and 4 end to end: RLOO alignment, then the expert promotion fine-tune.

``finetune(panel, model_dir, labels_dir, cfg, out_dir)`` starts from a pretrained model
(stage 2, the frozen reference ``π_ref``), aligns a copy of it with RLOO on the labelled
states (``orpr.train_rl.RLTask``), saves it as ``orpr``, then fine-tunes a copy of that on
promotion states against expert targets (``orpr.expert``) with the KL anchored to the
stage-3 policy, saved as ``orpr_expert``. Run directory (``orpr.run_dir`` layout)::

    out_dir/
      pretrained/                     the reference model (copied when it lives elsewhere)
      orpr/, orpr_expert/             model.safetensors + model.json each
      finetune.json                   per-epoch and per-step figures, validation, targets
      checkpoint/finetune.safetensors the training state (resume point; stage "done" at the end)

A checkpoint is resumed only when it was made from the same model, labels and ``[rl]``
config (a hash in its metadata); otherwise the run stops with a one-line error.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import shutil
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from orpr.checkpoint import has_model, load_model, load_tensors, save_model, save_tensors
from orpr.config import Config, config_to_dict
from orpr.errors import InputError
from orpr.expert import ExpertTargets, expert_targets
from orpr.io import write_json
from orpr.model import ORPRModel
from orpr.panel import Panel
from orpr.pretrain import training_days
from orpr.rate import reference_rates
from orpr.train_demand import demand_data
from orpr.train_labels import read_labels
from orpr.train_loop import LoopState, fit, loop_from_json, set_determinism
from orpr.train_rl import ExpertTask, RLTask, read_outcomes

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


def finetune(
    panel: Panel, model_dir: str | Path, labels_dir: str | Path, cfg: Config,
    out_dir: str | Path, progress: bool = True,
) -> FinetuneRun:
    """Run (or resume) stages 3 and 4 from the pretrained model in ``model_dir``.

    Args:
        panel: the whole panel (the held-out days are never trained on).
        model_dir: a pretrained model (``model.safetensors`` + ``model.json``) or a run
            directory holding ``pretrained/``.
        labels_dir: the labels the model was trained on (``labels.parquet``, ``candidates.npz``).
        cfg: the run configuration (``[rl]``; ``[pretrain]`` for threads, checkpoint interval,
            patience and step limit; ``[split]``; ``seed``).
        out_dir: the run directory.
        progress: show rich progress bars.

    Raises:
        InputError: no model, labels on another grid, or a checkpoint of another config.
    """
    from orpr.run_dir import model_dir as find_model

    out = Path(out_dir)
    source = find_model(model_dir, "pretrained")
    set_determinism(cfg.seed, cfg.pretrain.threads)
    days = training_days(panel, cfg)
    reference, grid, meta = load_model(source)
    table = read_labels(labels_dir, panel)
    if len(grid) != len(table.grid) or not np.allclose(grid, table.grid):
        raise InputError(str(labels_dir), "labels are on another decision grid than the model "
                         f"({len(table.grid)} vs {len(grid)} values)", column="labels.v_max")
    d_hat = reference_rates(panel.demand, panel.active, cfg.split.history_days,
                            cfg.split.rate_floor)
    data = demand_data(panel, d_hat, reference.spec.features)
    outcomes = read_outcomes(labels_dir, table, panel.units.unit_cost)
    targets = expert_targets(panel, table, days[2], cfg.rl.expert, cfg.rl.uplift_cap,
                             cfg.rl.expert_lookahead)
    fingerprint = _fingerprint(source, labels_dir, cfg)
    stage, loops, resume = _resume_point(out, fingerprint)
    model = copy.deepcopy(reference)
    general: ORPRModel | None = None
    if stage in ("expert", "done") and has_model(out / OUTPUTS["rloo"]):
        general, _, _ = load_model(out / OUTPUTS["rloo"])
    model_meta = {"alpha": meta.get("alpha", cfg.policy.alpha), "seed": cfg.seed,
                  "labels": str(labels_dir), "reference": str(source)}
    val_samples = cfg.pretrain.val_samples
    tasks = {
        "rloo": lambda: RLTask(data, table, outcomes, reference, cfg.rl, days[1:3], cfg.seed,
                               val_samples, lam_scale=_last_scale(loops["rloo"])),
        "expert": lambda: ExpertTask(data, table, outcomes, general, cfg.rl, days[1:3],
                                     cfg.seed, val_samples, targets.rows, targets.v_index,
                                     lam_scale=best_scale(loops["rloo"])),
    }
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, disable=not progress) as bar:
        for name in STAGES[STAGES.index(stage):] if stage in STAGES else ():
            if name == "expert":
                if general is None:
                    general, _, _ = load_model(out / OUTPUTS["rloo"])
                if resume is None:
                    model.load_state_dict(general.state_dict())
            save = _saver(out / STATE, name, loops, fingerprint)
            if not fit(model, tasks[name](), cfg.pretrain, loops[name], save, resume, bar):
                return FinetuneRun(out, False, loops, {}, _targets_json(targets))
            later = STAGES[STAGES.index(name) + 1:]
            if later:
                loops[later[0]].step = loops[name].step
            resume = None
            save_model(out / OUTPUTS[name], model, list(grid), {**model_meta, "stage": name})
            _saver(out / STATE, later[0] if later else "done", loops, fingerprint)(
                {"rng.torch": torch.get_rng_state()}, loops[name])
    if source.resolve() != (out / "pretrained").resolve():
        _copy_model(source, out / "pretrained")
    validation = _validate(out, reference, data, table, outcomes, cfg, days, targets, loops)
    run = FinetuneRun(out, True, loops, validation, _targets_json(targets))
    write_json(out / "finetune.json", finetune_json(run, details=True))
    return run


def _last_scale(state: LoopState) -> float:
    """The multiplier ``m`` where a stage's loop stands (1 before its first step)."""
    return float(state.steps[-1].get("lam_scale", 1.0)) if state.steps else 1.0


def best_scale(state: LoopState) -> float:
    """The multiplier ``m`` at the end of the stage's best validated epoch (its weights are
    the ones kept), else where the loop stands."""
    scored = [r for r in state.history if r.get("val") is not None and "lam_scale" in r]
    if not scored:
        return _last_scale(state)
    return float(min(scored, key=lambda r: r["val"])["lam_scale"])


def _fingerprint(source: Path, labels_dir: str | Path, cfg: Config) -> str:
    """Hash of what a checkpoint depends on: the reference model, the labels, ``[rl]``."""
    parts = {
        "model": hashlib.sha256((source / "model.safetensors").read_bytes()).hexdigest(),
        "labels": json.loads((Path(labels_dir) / "labels_meta.json").read_text("utf-8"))
        .get("config_hash") if (Path(labels_dir) / "labels_meta.json").is_file() else None,
        "rl": config_to_dict(cfg.rl), "seed": cfg.seed,
        "pretrain": {k: getattr(cfg.pretrain, k) for k in ("val_days", "val_samples", "patience")},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _resume_point(out: Path, fingerprint: str
                  ) -> tuple[str, dict[str, LoopState], dict[str, torch.Tensor] | None]:
    """The stage to continue, every stage's loop state and the checkpoint's tensors."""
    loops = {name: LoopState() for name in STAGES}
    if not (out / STATE).is_file():
        return STAGES[0], loops, None
    tensors, meta = load_tensors(out / STATE)
    if meta.get("fingerprint") != fingerprint:
        raise InputError(str(out / STATE), "checkpoint was made from another model, labels or "
                         "[rl] config; use another --out")
    for name, state in meta["loops"].items():
        loops[name] = loop_from_json(state)
    resume = tensors if any(k.startswith("model.") for k in tensors) else None
    if resume is None and "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"])
    return meta["stage"], loops, resume


def _saver(path: Path, stage: str, loops: dict[str, LoopState], fingerprint: str):
    """Write the checkpoint: tensors plus ``{"stage", "loops", "fingerprint"}`` as metadata."""

    def save(tensors: dict[str, torch.Tensor], state: LoopState) -> None:
        meta = {"stage": stage, "loops": {k: dataclasses.asdict(v) for k, v in loops.items()},
                "fingerprint": fingerprint}
        save_tensors(path, tensors, meta)

    return save


def _copy_model(source: Path, dest: Path) -> None:
    """Copy a trained model (weights first, JSON last: it counts only when whole)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("model.safetensors", "model.json"):
        tmp = dest / f".{name}.tmp"
        shutil.copyfile(source / name, tmp)
        tmp.replace(dest / name)


def _validate(out: Path, reference: ORPRModel, data, table, outcomes, cfg: Config,
              days: tuple[int, int, int, int], targets: ExpertTargets,
              loops: dict[str, LoopState]) -> dict[str, dict[str, dict[str, float]]]:
    """Each model's mode action on validation states (all, and promotion states)."""
    result: dict[str, dict[str, dict[str, float]]] = {}
    models = {"pretrained": reference}
    for name in OUTPUTS.values():
        if has_model(out / name):
            models[name] = load_model(out / name)[0]
    val_samples = cfg.pretrain.val_samples
    m = best_scale(loops["rloo"])
    general = RLTask(data, table, outcomes, reference, cfg.rl, days[1:3], cfg.seed, val_samples,
                     lam_scale=m)
    promo = ExpertTask(data, table, outcomes, reference, cfg.rl, days[1:3], cfg.seed,
                       val_samples, targets.rows, targets.v_index, lam_scale=m)
    for name, model in models.items():
        result[name] = {}
        for label, task in (("all", general), ("promotion", promo)):
            task.validate(model)
            result[name][label] = dict(task.val_stats)
    return result


def _targets_json(t: ExpertTargets) -> dict[str, Any]:
    return {"source": t.source, "states": int(len(t.rows)), "unused_rows": int(t.unused),
            "uplift": t.uplift,
            "mean_v_expert": float(t.v_expert.mean()) if len(t.rows) else None}


def finetune_json(run: FinetuneRun, details: bool = False) -> dict[str, Any]:
    """``{"complete", "stages": {stage: {"epochs", "final"}}, "validation", "expert_targets"}``
    (``details`` adds every step's figures)."""
    stages = {}
    for name, state in run.loops.items():
        final = state.steps[-1] if state.steps else {}
        stages[name] = {
            "epochs": state.history,
            "final_step": final,
            "samples_per_s": _num(state.samples_per_s),
        }
        if details:
            stages[name]["steps"] = state.steps
    return {"complete": run.complete, "stages": stages, "validation": run.validation,
            "expert_targets": run.targets}


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def render_finetune(run: FinetuneRun, console: Console | None = None) -> None:
    """Print the per-epoch figures and the validation comparison."""
    console = console or Console()
    table = Table(title="Fine-tune epochs (validation states, the mode action z = μ)")
    for col in ("stage", "epoch", "phase", "train loss", "objective", "stock days",
                "lost share", "m", "Pareto rate", "mean v"):
        table.add_column(col, justify="left" if col in ("stage", "phase") else "right")
    for name, state in run.loops.items():
        for rec in state.history:
            table.add_row(name, str(rec["epoch"]), rec["phase"], _fmt(rec["train"]),
                          _fmt(rec.get("val_objective")), _fmt(rec.get("val_stock_days")),
                          _fmt(rec.get("val_loss_share"), "%"), _fmt(rec.get("lam_scale")),
                          _fmt(rec.get("val_pareto_rate"), "%"), _fmt(rec.get("val_mean_v")))
    console.print(table)
    if not run.complete:
        console.print("stopped by pretrain.max_steps; run again to resume")
        return
    val = Table(title="Validation states: each model's decisions against the pretrained model's")
    for col in ("policy", "states", "stock days", "lost share", "stock vs pretrained",
                "lost vs pretrained", "Pareto rate", "mean v"):
        val.add_column(col, justify="left" if col in ("policy", "states") else "right")
    for name, parts in run.validation.items():
        for label, v in parts.items():
            val.add_row(name, label, _fmt(v.get("val_stock_days")),
                        _fmt(v.get("val_loss_share"), "%"), _fmt(v.get("val_stock_vs_ref")),
                        _fmt(v.get("val_loss_vs_ref")), _fmt(v.get("val_pareto_rate"), "%"),
                        _fmt(v.get("val_mean_v")))
    console.print(val)
    t = run.targets
    console.print(f"expert targets: {t['source']}, {t['states']:,} promotion states")


def _fmt(x: float | None, kind: str = "") -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{x:.1%}" if kind == "%" else f"{x:.3f}"
