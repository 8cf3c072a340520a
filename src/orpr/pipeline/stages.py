"""``orpr run``: data → labels → pretraining → RLOO and expert fine-tune → evaluation → report.

Stages, their outputs in the run directory (``orpr.model.run_dir`` layout) and the config each
depends on (besides everything its upstream stages depend on):

==============  ==========================================  ===============================
stage           outputs                                     config
==============  ==========================================  ===============================
``labels``      ``labels/``                                 seed, data, synthetic, units,
                                                            split, policy.alpha, labels
``pretrain``    ``pretrained/``                             model, pretrain
``finetune``    ``orpr/``, ``orpr_expert/``,                rl
                ``finetune.json``, ``checkpoint/``
``evaluate``    ``metrics.json``, ``config.toml``,          policy, eval
                ``report.html``
==============  ==========================================  ===============================

Keys that change how fast a stage runs but not what it computes (``pretrain.threads``,
``pretrain.max_steps``, ``pretrain.checkpoint_every``, ``[compute]``, ``model.checkpoint``)
are not part of any stage's fingerprint.

``stages.json`` records each stage's fingerprint (a hash of its config and its upstream
stage's fingerprint) and whether it finished. Running the command again:

- skips a finished stage whose fingerprint matches and whose outputs are present;
- resumes an unfinished stage with a matching fingerprint from its checkpoint (training
  stages checkpoint every ``pretrain.checkpoint_every`` steps and at each epoch end);
- reruns from scratch a stage whose fingerprint changed — its outputs are removed first —
  and, since their fingerprints chain, every stage after it.

The evaluation backtests ``eval.policies`` together with the three model policies.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from orpr.config import Config, config_to_dict
from orpr.data.panel import Panel
from orpr.evaluation.run import EvaluationRun, run_evaluation, write_evaluation
from orpr.io import write_json
from orpr.labels import make_labels, write_labels
from orpr.model.run_dir import MODEL_POLICIES
from orpr.report.html import report_writer
from orpr.report.progress import day_progress
from orpr.rl.finetune import finetune
from orpr.training.pretrain import pretrain

STAGES = ("labels", "pretrain", "finetune", "evaluate")
STAMPS = "stages.json"
DEPENDS: dict[str, tuple[str, ...]] = {
    "labels": (
        "seed",
        "data",
        "synthetic",
        "stationary",
        "units",
        "split",
        "policy.alpha",
        "policy.safety_days",
        "policy.incumbent_objective",
        "labels",
    ),
    "pretrain": ("model", "pretrain"),
    "finetune": ("rl",),
    "evaluate": ("policy", "eval"),
}
IGNORED = (
    "pretrain.threads",
    "pretrain.max_steps",
    "pretrain.checkpoint_every",
    "model.checkpoint",
)
OUTPUTS: dict[str, tuple[str, ...]] = {
    "labels": ("labels",),
    "pretrain": ("pretrained",),
    "finetune": ("orpr", "orpr_expert", "finetune.json", "checkpoint/finetune.safetensors"),
    "evaluate": ("metrics.json", "report.html"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "labels": ("labels/labels_meta.json", "labels/candidates.npz", "labels/labels.parquet"),
    "pretrain": ("pretrained/model.json",),
    "finetune": ("orpr/model.json", "orpr_expert/model.json"),
    "evaluate": ("metrics.json",),
}


class StageRun(NamedTuple):
    """What one stage did: ``ran``, ``resumed``, ``skipped`` or ``stopped`` (step limit)."""

    name: str
    status: str
    seconds: float


class PipelineRun(NamedTuple):
    """The stages' outcomes, the run's ``metrics.json`` (None until the run is complete), the
    evaluation (None unless it ran this time) and the run directory."""

    out_dir: Path
    stages: list[StageRun]
    complete: bool
    metrics: dict[str, Any] | None
    evaluation: EvaluationRun | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"out", "complete", "stages": [{"name", "status", "seconds"}], "policies"}`` and,
        on the stationary benchmark, ``"stationary"``."""
        metrics = self.metrics or {}
        return {
            "out": str(self.out_dir),
            "complete": self.complete,
            "stages": [
                {"name": s.name, "status": s.status, "seconds": round(s.seconds, 1)}
                for s in self.stages
            ],
            "policies": metrics.get("policies"),
            **({"stationary": metrics["stationary"]} if "stationary" in metrics else {}),
        }


def fingerprints(cfg: Config) -> dict[str, str]:
    """Each stage's fingerprint: its config sections chained with its upstream stage's."""
    flat = _flatten(config_to_dict(cfg))
    out: dict[str, str] = {}
    upstream = ""
    for stage in STAGES:
        keys = sorted(k for k in flat if _matches(k, DEPENDS[stage]) and not _matches(k, IGNORED))
        text = json.dumps(
            {"upstream": upstream, "config": {k: flat[k] for k in keys}}, sort_keys=True
        )
        upstream = out[stage] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return out


def run_pipeline(
    panel: Panel,
    cfg: Config,
    out_dir: str | Path,
    progress: bool = True,
    say: Callable[[str], None] | None = None,
) -> PipelineRun:
    """Run every stage that is not already done for this config into ``out_dir``.

    Args:
        panel: the loaded panel (``orpr.data.load_panel(cfg)``).
        cfg: the run configuration.
        out_dir: the run directory.
        progress: show rich progress bars.
        say: prints one line per stage (None: silent).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prints = fingerprints(cfg)
    stamps = _read_stamps(out)
    say = say or (lambda _line: None)
    runs: list[StageRun] = []
    evaluation = None

    def run_labels() -> bool:
        with day_progress("labels", enabled=progress) as bar:
            write_labels(make_labels(panel, cfg, bar), out / "labels")
        return True

    def run_pretrain() -> bool:
        return pretrain(panel, out / "labels", cfg, out / "pretrained", progress=progress).complete

    def run_finetune() -> bool:
        return finetune(panel, out, out / "labels", cfg, out, progress=progress).complete

    def run_evaluate() -> bool:
        nonlocal evaluation
        evaluation = evaluate_run(panel, cfg, out, progress)
        return True

    steps = {
        "labels": run_labels,
        "pretrain": run_pretrain,
        "finetune": run_finetune,
        "evaluate": run_evaluate,
    }
    for stage in STAGES:
        began = time.perf_counter()
        stamp = stamps.get(stage, {})
        same = stamp.get("fingerprint") == prints[stage]
        if same and stamp.get("done") and _present(out, stage):
            runs.append(StageRun(stage, "skipped", 0.0))
            say(f"{stage}: up to date, skipped")
            continue
        status = "resumed" if same and not stamp.get("done") else "ran"
        if not same:
            _remove(out, stage)
        stamps[stage] = {"fingerprint": prints[stage], "done": False}
        for later in STAGES[STAGES.index(stage) + 1 :]:
            stamps.pop(later, None)
        write_json(out / STAMPS, stamps)
        say(f"{stage}: {'resuming' if status == 'resumed' else 'running'}")
        done = steps[stage]()
        seconds = time.perf_counter() - began
        if not done:
            runs.append(StageRun(stage, "stopped", seconds))
            say(f"{stage}: stopped at pretrain.max_steps; run the same command again to resume")
            return PipelineRun(out, runs, False, None)
        stamps[stage] = {"fingerprint": prints[stage], "done": True, "seconds": round(seconds, 1)}
        write_json(out / STAMPS, stamps)
        runs.append(StageRun(stage, status, seconds))
        say(f"{stage}: done in {seconds:.0f} s")
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    return PipelineRun(out, runs, True, metrics, evaluation)


def run_policies(cfg: Config) -> tuple[str, ...]:
    """``eval.policies`` followed by the model policies it does not list (``orpr_expert`` only
    when the promotion fine-tune trains: without it, it decides exactly as ``orpr``)."""
    models = (
        MODEL_POLICIES
        if cfg.rl.expert_epochs > 0
        else tuple(m for m in MODEL_POLICIES if m != "orpr_expert")
    )
    return tuple(dict.fromkeys((*cfg.eval.policies, *models)))


def evaluate_run(panel: Panel, cfg: Config, out: Path, progress: bool = True) -> EvaluationRun:
    """The evaluate stage: the run's policies, with the models of ``out``, evaluated and
    written into ``out`` (``orpr.evaluation.run``)."""
    run_cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, checkpoint=str(out)))
    bars = functools.partial(day_progress, enabled=progress)
    run = run_evaluation(panel, run_cfg, run_policies(cfg), bars)
    write_evaluation(out, cfg, run, report_writer(panel, run_cfg, out))
    return run


def _flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _matches(key: str, patterns: tuple[str, ...]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in patterns)


def _read_stamps(out: Path) -> dict[str, Any]:
    path = out / STAMPS
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return {}  # a torn file cannot happen (atomic writes); an edited one reruns everything


def _present(out: Path, stage: str) -> bool:
    return all((out / name).exists() for name in REQUIRED[stage])


def _remove(out: Path, stage: str) -> None:
    """Delete a stage's outputs (and its checkpoints) before it reruns from scratch."""
    for name in OUTPUTS[stage]:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
