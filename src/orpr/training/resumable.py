"""Resumable training in stages: one checkpoint file, its resume point, and the Ray Train launch.

Pretraining (``demand`` then ``labels``) and the fine-tune (``rloo`` then ``expert``) each
train one model through a fixed sequence of stages with the shared loop
(``orpr.training.loop.fit``) and keep one checkpoint file (``Checkpoint``): named tensors
(``model.*``, ``best.*``, ``optim.*``, ``rng.torch``) in safetensors — never pickle — with
``{"stage", "loops", "fingerprint"}`` as JSON in its metadata, written atomically. The loop
writes it every ``pretrain.checkpoint_every`` steps, at each epoch end and at the step limit;
``run_stages`` writes it at each stage boundary (the finished stage's weights and the RNG as
the next stage's task is built, ``stage`` naming that stage; ``"done"`` after the last).

A checkpoint is resumed only under the fingerprint it was made with (the stage's fingerprint,
``orpr.config.stages``): another config or other inputs stop the run with one line.
Resuming continues to the weights, figures and RNG state an uninterrupted run reaches.

With ``[compute] engine = "ray"``, ``train_on_ray`` runs a trainer on ``compute.workers`` Ray
Train workers: rank 0 trains into the run directory, the others into a scratch copy of the
parts a resume reads, all taking the same data-parallel steps; the driver then finishes from
the checkpoint rank 0 left (``"done"``). The checkpoint does not depend on the engine.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import torch

from orpr.compute.data_parallel import fit_on_ray, worker_rank
from orpr.config import ComputeConfig, TrainConfig
from orpr.errors import InputError
from orpr.model.checkpoint import load_tensors, save_tensors
from orpr.model.network import ORPRModel
from orpr.training.loop import LoopState, Progress, Saver, Task, fit, loop_from_json

DONE = "done"
"""The checkpoint's ``stage`` once every stage has finished."""

TaskFactory = Callable[[dict[str, LoopState]], Task]
"""Builds a stage's task when the stage starts, from every stage's loop state."""


class ResumePoint(NamedTuple):
    """Where a checkpoint stands.

    Attributes:
        stage: the stage to continue (the first one for a fresh run; ``DONE`` at the end).
        loops: every stage's loop state.
        tensors: the checkpoint's tensors (None for a fresh run).
    """

    stage: str
    loops: dict[str, LoopState]
    tensors: dict[str, torch.Tensor] | None


class Checkpoint:
    """The one checkpoint file of a run of ``stages``, made under ``fingerprint``."""

    def __init__(self, path: Path, stages: tuple[str, ...], fingerprint: str) -> None:
        self.path, self.stages, self.fingerprint = Path(path), stages, fingerprint

    def resume_point(self) -> ResumePoint:
        """The stage to continue, the loop states and the tensors (fresh when no file).

        Raises:
            InputError: the checkpoint was made under another fingerprint.
        """
        loops = {name: LoopState() for name in self.stages}
        if not self.path.is_file():
            return ResumePoint(self.stages[0], loops, None)
        tensors, meta = load_tensors(self.path)
        if meta.get("fingerprint") != self.fingerprint:
            raise InputError(
                str(self.path),
                "checkpoint was made from another model, labels or config (a different "
                "fingerprint); use another --out",
            )
        for name, state in meta["loops"].items():
            loops[name] = loop_from_json(state)
        return ResumePoint(meta["stage"], loops, tensors)

    def saver(self, stage: str, loops: dict[str, LoopState]) -> Saver:
        """Writes the checkpoint with ``stage`` as the stage to continue."""

        def save(tensors: dict[str, torch.Tensor], state: LoopState) -> None:
            meta = {
                "stage": stage,
                "loops": {k: dataclasses.asdict(v) for k, v in loops.items()},
                "fingerprint": self.fingerprint,
            }
            save_tensors(self.path, tensors, meta)

        return save


def run_stages(
    model: ORPRModel,
    tasks: Mapping[str, TaskFactory],
    checkpoint: Checkpoint,
    cfg: TrainConfig,
    progress: Progress | None = None,
    finished: Callable[[str], None] | None = None,
) -> tuple[bool, dict[str, LoopState]]:
    """Train (or resume) ``model`` through the checkpoint's stages in order.

    Args:
        model: the model every stage trains; it ends with the last stage's kept weights.
        tasks: each stage's task factory, called when the stage starts.
        checkpoint: the run's checkpoint (resumed when present).
        cfg: the loop's settings (batching, clipping, patience, checkpoints, step limit).
        progress: where the loop reports its steps.
        finished: called with a stage's name when it has finished, before the next stage's
            task is built (e.g. to save the stage's model, which that task may read).

    Returns:
        ``(complete, loops)``: False when ``cfg.max_steps`` stopped it (run again to resume).
    """
    point = checkpoint.resume_point()
    stages, loops, resume = checkpoint.stages, point.loops, point.tensors
    todo = stages[stages.index(point.stage) :] if point.stage in stages else ()
    for i, name in enumerate(todo):
        task = tasks[name](loops)
        if i > 0:  # the boundary, once the task is built (building one may draw from the RNG)
            checkpoint.saver(name, loops)(_boundary(model), loops[todo[i - 1]])
        if not fit(model, task, cfg, loops[name], checkpoint.saver(name, loops), resume, progress):
            return False, loops
        later = stages[stages.index(name) + 1 :]
        if later:  # the step count runs on over the stages
            loops[later[0]].step = loops[name].step
        resume = None
        if finished is not None:
            finished(name)
    if todo:
        checkpoint.saver(DONE, loops)(_boundary(model), loops[todo[-1]])
    elif resume is not None:  # done before: where the last stage left the model and the RNG
        model.load_state_dict({k[6:]: v for k, v in resume.items() if k.startswith("model.")})
        torch.set_rng_state(resume["rng.torch"])
    return True, loops


def _boundary(model: ORPRModel) -> dict[str, torch.Tensor]:
    """A stage boundary's checkpoint: the finished stage's weights and the torch RNG state."""
    out = {f"model.{k}": v for k, v in model.state_dict().items()}
    out["rng.torch"] = torch.get_rng_state()
    return out


def train_on_ray(
    train: Callable[..., None],
    args: dict[str, Any],
    shared: dict[str, Any],
    cfg: ComputeConfig,
    out: Path,
    name: str,
    keep: tuple[Path, ...],
) -> None:
    """Run ``train(out, **args, **shared)`` data-parallel on ``cfg.workers`` Ray Train workers.

    Rank 0 trains into ``out``; every other rank into a scratch directory holding a copy of
    ``keep`` (the parts of ``out`` a resume reads: the checkpoint, a finished stage's model),
    so it resumes where rank 0 resumes.

    Args:
        train: a module-level function ``train(out_dir, **kwargs)`` that trains and writes
            its checkpoint under ``out_dir``.
        args: its small keyword arguments (paths must be ones every node sees).
        shared: its large keyword arguments, put into Ray's object store once.
        cfg: the ``[compute]`` section (address, workers).
        out: the run directory (Ray Train's own records go to ``out/ray_train``).
        name: the run's name for Ray Train.
        keep: paths relative to ``out`` that a scratch rank copies first.
    """
    config = {
        "train": train,
        "args": args,
        "handles": list(shared),
        "out": str(out.resolve()),
        "keep": [str(part) for part in keep],
    }
    fit_on_ray(_worker, config, shared, cfg, out / "ray_train", name)


def _worker(config: dict[str, Any]) -> None:
    """One Ray Train worker of ``train_on_ray``."""
    import ray

    out, (rank, _) = Path(config["out"]), worker_rank()
    kwargs = {**config["args"], **{k: ray.get(config[k]) for k in config["handles"]}}
    if rank == 0:
        config["train"](out, **kwargs)
        return
    with tempfile.TemporaryDirectory(prefix=f"orpr-rank{rank}-") as scratch:
        for part in config["keep"]:
            if (out / part).is_dir():
                shutil.copytree(out / part, Path(scratch) / part)
        config["train"](Path(scratch), **kwargs)
