"""``orpr run``: data → labels → pretraining → RLOO and expert fine-tune → evaluation → report.

Each stage declares the config it reads, its inputs and its outputs in
``orpr.config.stages`` (``LABELS``, ``PRETRAIN``, ``FINETUNE``, ``EVALUATE``), and gets one
fingerprint from them, chained with the fingerprints of the stages it reads from.
``stages.json`` records each stage's fingerprint and whether it finished. Running the command
again:

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
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from orpr.config import Config
from orpr.config.stages import EVALUATE, STAGES, Stage, fingerprints
from orpr.data.panel import Panel
from orpr.evaluation.run import EvaluationRun, run_evaluation, write_evaluation
from orpr.io import write_json
from orpr.labels import make_labels, write_labels
from orpr.model.run_dir import MODEL_POLICIES
from orpr.report.html import report_writer
from orpr.report.progress import day_progress, training_progress
from orpr.rl.finetune import finetune
from orpr.training.pretrain import pretrain

STAMPS = "stages.json"

Step = Callable[[], tuple[bool, Any]]
"""Runs (or resumes) a stage: ``(finished, its result)``; False when the step limit stopped it."""


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
        progress: show progress bars.
        say: prints one line per stage (None: silent).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say = say or (lambda _line: None)
    prints, stamps, steps = fingerprints(cfg), _read_stamps(out), _steps(panel, cfg, out, progress)
    runs: list[StageRun] = []
    evaluation = None
    for stage in STAGES:
        run, result = _run_stage(stage, steps[stage.name], prints[stage.name], stamps, out, say)
        runs.append(run)
        if run.status == "stopped":
            return PipelineRun(out, runs, False, None)
        if stage is EVALUATE and result is not None:
            evaluation = result
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    return PipelineRun(out, runs, True, metrics, evaluation)


def _run_stage(
    stage: Stage,
    step: Step,
    fingerprint: str,
    stamps: dict[str, Any],
    out: Path,
    say: Callable[[str], None],
) -> tuple[StageRun, Any]:
    """Skip, resume or (re)run one stage, recording it in ``stages.json``."""
    stamp = stamps.get(stage.name, {})
    same = stamp.get("fingerprint") == fingerprint
    if same and stamp.get("done") and stage.present(out):
        say(f"{stage.name}: up to date, skipped")
        return StageRun(stage.name, "skipped", 0.0), None
    began = time.perf_counter()
    status = "resumed" if same and not stamp.get("done") else "ran"
    if not same:
        stage.remove_outputs(out)
    stamps[stage.name] = {"fingerprint": fingerprint, "done": False}
    for later in STAGES[STAGES.index(stage) + 1 :]:  # they rerun or resume after this one
        stamps.pop(later.name, None)
    write_json(out / STAMPS, stamps)
    say(f"{stage.name}: {'resuming' if status == 'resumed' else 'running'}")
    done, result = step()
    seconds = time.perf_counter() - began
    if not done:
        say(f"{stage.name}: stopped at pretrain.max_steps; run the same command again to resume")
        return StageRun(stage.name, "stopped", seconds), None
    stamps[stage.name] = {"fingerprint": fingerprint, "done": True, "seconds": round(seconds, 1)}
    write_json(out / STAMPS, stamps)
    say(f"{stage.name}: done in {seconds:.0f} s")
    return StageRun(stage.name, status, seconds), result


def _steps(panel: Panel, cfg: Config, out: Path, progress: bool) -> dict[str, Step]:
    """Each stage's step into the run directory ``out``, with progress bars or none."""

    def labels() -> tuple[bool, Any]:
        with day_progress("labels", enabled=progress) as bar:
            write_labels(make_labels(panel, cfg, bar), out / "labels")
        return True, None

    def pretrain_() -> tuple[bool, Any]:
        with training_progress(progress) as bar:
            run = pretrain(panel, out / "labels", cfg, out / "pretrained", bar)
        return run.complete, run

    def finetune_() -> tuple[bool, Any]:
        with training_progress(progress) as bar:
            run = finetune(panel, out, out / "labels", cfg, out, bar)
        return run.complete, run

    def evaluate_() -> tuple[bool, Any]:
        return True, evaluate_run(panel, cfg, out, progress)

    return {"labels": labels, "pretrain": pretrain_, "finetune": finetune_, "evaluate": evaluate_}


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


def _read_stamps(out: Path) -> dict[str, Any]:
    path = out / STAMPS
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return {}  # a torn file cannot happen (atomic writes); an edited one reruns everything
