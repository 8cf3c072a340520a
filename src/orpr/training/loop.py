"""The plain training loop both stages share: sample → loss → backward → clip → step → log.

A stage is a ``Task``: it samples each epoch's states from a seed (so an epoch's batches are
the same whenever it is replayed), computes a batch's loss, validates, and builds the
optimiser for an epoch (which parameters train, at which rate). ``fit`` walks epochs with
early stopping on the validation loss and keeps the best weights.

The learning rate decays along a cosine from the configured rate to a tenth of it over the
stage's planned steps (``epochs × batches``), a pure function of the step.

Resume: every ``checkpoint_every`` steps, at each epoch end and when the step limit
(``pretrain.max_steps``) is reached, the whole loop state — weights, best weights, optimiser
moments, the torch RNG state and the counters — is written to one safetensors file. Loading
it and calling ``fit`` again continues to the same weights an uninterrupted run reaches.

Progress: ``fit`` reports each step to a ``Progress`` callback the caller supplies (the CLI
and ``orpr run`` draw it as a bar, ``orpr.report.progress``); nothing here prints.

Data-parallel (Ray Train workers, ``orpr.compute.data_parallel``): each worker takes every
``world``-th state of each batch and the gradients are averaged over the workers before clipping, so the
weights stay the same on every worker; with one worker (or none) both are no-ops. A task
whose loss needs figures of the whole batch (a multiplier updated from the batch, batch means
for the log) or whose shares may differ in size takes them from ``batch_share``,
``batch_means`` and ``share_weighted``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np
import torch

from orpr.compute.data_parallel import average_gradients, worker_rank, worker_share, worker_sum
from orpr.config import TrainConfig
from orpr.model.checkpoint import load_optimizer, optimizer_tensors
from orpr.model.network import ORPRModel


class Task(Protocol):
    """One training stage."""

    name: str
    epochs: int

    def batches(self, epoch: int) -> list[np.ndarray]:
        """Sample indices of each batch of ``epoch``, a pure function of the seed and epoch."""
        ...

    def loss(self, model: ORPRModel, batch: np.ndarray, epoch: int, index: int) -> torch.Tensor:
        """The scalar training loss of one batch."""
        ...

    def validate(self, model: ORPRModel) -> float:
        """Validation loss (lower is better; NaN when there is nothing to validate on)."""
        ...

    def optimizer(self, model: ORPRModel, epoch: int) -> torch.optim.Optimizer:
        """The optimiser of ``epoch``'s phase; sets which parameters train and the dropout."""
        ...

    def phase(self, epoch: int) -> str:
        """Name of ``epoch``'s phase; a new phase gets a fresh optimiser."""
        ...


@dataclass
class LoopState:
    """Where a stage's loop stands (JSON-able; lives in the checkpoint's metadata).

    Attributes:
        epoch: current epoch.
        batch: next batch of the current epoch.
        step: optimiser steps taken, all stages together.
        best: best validation loss so far.
        bad_epochs: epochs since it last improved.
        loss_sum, loss_count: running training loss of the current epoch.
        samples, seconds: states trained on and seconds spent stepping, for throughput.
        history: one record per finished epoch (``epoch, phase, train, val`` and the task's
            ``val_stats``, if it keeps any).
        steps: one record per optimiser step of the task's ``step_stats`` (tasks that log
            per-step figures, such as RLOO's reward, KL, entropy), else empty.
        done: the stage has finished (epochs run out or stopped early).
    """

    epoch: int = 0
    batch: int = 0
    step: int = 0
    best: float = math.inf
    bad_epochs: int = 0
    loss_sum: float = 0.0
    loss_count: int = 0
    samples: int = 0
    seconds: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else math.nan


def loop_from_json(obj: dict[str, Any]) -> LoopState:
    """Inverse of ``dataclasses.asdict`` for a LoopState."""
    return LoopState(**obj)


Saver = Callable[[dict[str, torch.Tensor], LoopState], None]


class Progress(Protocol):
    """Where a stage's loop reports its steps (the caller draws it, e.g. as a progress bar)."""

    def __call__(self, stage: str, description: str, done: int, total: int) -> None:
        """``done`` of ``total`` batches of the current epoch of ``stage``, described as
        ``"<stage> epoch <e>/<epochs> loss <running loss>"``."""
        ...


class BatchShare(NamedTuple):
    """This worker's share of a batch (``orpr.compute.data_parallel.worker_share``).

    Attributes:
        rows: its positions in the whole batch (every ``world``-th from its rank).
        size: its states.
        total: the whole batch's states.
        world: data-parallel workers (1 outside Ray Train).
    """

    rows: slice
    size: int
    total: int
    world: int


def batch_share(share: np.ndarray) -> BatchShare:
    """Where ``share`` (what ``fit`` passed this worker) lies in the whole batch; the whole
    batch itself outside data-parallel training (a collective: every worker calls it)."""
    rank, world = worker_rank()
    if world == 1:
        return BatchShare(slice(None), len(share), len(share), 1)
    total = int(worker_sum([len(share)])[0])
    return BatchShare(slice(rank, None, world), len(share), total, world)


def batch_means(values: dict[str, Any], share: BatchShare) -> dict[str, float]:
    """The whole batch's mean of each array of per-state figures (leading axis: the share's
    states), weighted by the workers' share sizes; ``float(mean)`` in one process."""
    if share.world == 1:
        return {k: float(v.mean()) for k, v in values.items()}
    local = [float(v.mean()) * share.size if share.size else 0.0 for v in values.values()]
    return {k: s / share.total for k, s in zip(values, worker_sum(local), strict=True)}


def share_weighted(loss: torch.Tensor, share: BatchShare) -> torch.Tensor:
    """A mean loss over the share, weighted so that averaging the workers' gradients gives the
    gradient of the whole batch's mean (shares may differ in size; an empty share weighs 0).
    The loss itself in one process, and when the shares are equal."""
    if share.world == 1 or share.size * share.world == share.total:
        return loss
    if share.size == 0:  # a zero loss that still gives every trained parameter a gradient
        return loss.nan_to_num(0.0) * 0.0
    return loss * (share.world * share.size / share.total)


def lr_factor(done: int, total: int, floor: float = 0.1) -> float:
    """Cosine decay of the learning rate from 1 to ``floor`` over a stage's planned steps."""
    progress = min(done / max(total, 1), 1.0)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def set_determinism(seed: int, threads: int) -> None:
    """Seed torch, pin the thread count and ask for deterministic kernels."""
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, threads))
    torch.use_deterministic_algorithms(True)


def fit(
    model: ORPRModel,
    task: Task,
    cfg: TrainConfig,
    state: LoopState,
    save: Saver,
    resume: dict[str, torch.Tensor] | None = None,
    progress: Progress | None = None,
) -> bool:
    """Train ``model`` on ``task`` from ``state``; True when the stage finished.

    Args:
        model: the model; its weights end as the best validated ones when the stage finishes.
        task: the stage.
        cfg: batch, clipping, patience, checkpoint interval and step limit.
        state: the loop state (fresh, or from a checkpoint together with ``resume``).
        save: writes a checkpoint from named tensors and the state.
        resume: tensors of a checkpoint (``model.*``, ``best.*``, ``optim.*``, ``rng.torch``).
        progress: where to report each step (None: nowhere).

    Returns:
        False when the step limit stopped it (the checkpoint then holds where it stood).
    """
    opt = task.optimizer(model, state.epoch)
    best = _restore(model, opt, resume)
    while not state.done and state.epoch < task.epochs:
        batches = task.batches(state.epoch)
        model.train()
        for i in range(state.batch, len(batches)):
            if cfg.max_steps and state.step >= cfg.max_steps:
                save(_tensors(model, best, opt), state)
                return False
            start = time.perf_counter()
            decay = lr_factor(state.epoch * len(batches) + i, task.epochs * len(batches))
            share = worker_share(batches[i])  # the whole batch outside data-parallel training
            loss = train_step(
                model, opt, task.loss(model, share, state.epoch, i), decay, cfg.grad_clip
            )
            state.seconds += time.perf_counter() - start
            state.samples += len(batches[i])
            state.batch, state.step = i + 1, state.step + 1
            state.loss_sum, state.loss_count = state.loss_sum + loss, state.loss_count + 1
            stats = getattr(task, "step_stats", None)
            if stats:
                state.steps.append(
                    {"step": state.step, "epoch": state.epoch + 1, "loss": loss, **stats}
                )
            if progress is not None:
                _show(progress, task, state, len(batches))
            if state.step % cfg.checkpoint_every == 0:
                save(_tensors(model, best, opt), state)
        best = _end_epoch(model, task, cfg, state, best)
        more = not state.done and state.epoch < task.epochs
        if more and task.phase(state.epoch) != task.phase(state.epoch - 1):
            opt = task.optimizer(model, state.epoch)
        save(_tensors(model, best, opt), state)
    if best is not None:
        model.load_state_dict(best)
    state.done = True
    return True


def train_step(
    model: ORPRModel, opt: torch.optim.Optimizer, loss: torch.Tensor, decay: float, clip: float
) -> float:
    """backward → clip → step at ``decay`` × each group's base rate; returns the loss (the
    mean over data-parallel workers)."""
    for group in opt.param_groups:
        group["lr"] = group.setdefault("base_lr", group["lr"]) * decay
    model.zero_grad(set_to_none=True)  # all of it: no stale gradient of a frozen part
    loss.backward()
    trained = [p for group in opt.param_groups for p in group["params"]]
    average_gradients(trained)  # data-parallel workers (Ray Train); a no-op in one process
    torch.nn.utils.clip_grad_norm_(trained, clip)
    opt.step()
    return worker_mean(loss.item())


def worker_mean(value: float) -> float:
    """The mean of ``value`` over the data-parallel workers (of a ``share_weighted`` loss: the
    whole batch's); ``value`` itself in one process."""
    world = worker_rank()[1]
    return value if world == 1 else worker_sum([value])[0] / world


def _show(progress: Progress, task: Task, state: LoopState, batches: int) -> None:
    """Report the epoch, the running loss and the batches done."""
    loss = state.loss_sum / max(state.loss_count, 1)
    description = f"{task.name} epoch {state.epoch + 1}/{task.epochs} loss {loss:.4f}"
    progress(task.name, description, state.batch, batches)


def _end_epoch(
    model: ORPRModel,
    task: Task,
    cfg: TrainConfig,
    state: LoopState,
    best: dict[str, torch.Tensor] | None,
) -> dict[str, torch.Tensor] | None:
    """Validate, keep the best weights, count patience, log the epoch and advance."""
    val = task.validate(model)
    train = state.loss_sum / max(state.loss_count, 1)
    improved = not math.isfinite(val) or val < state.best
    if improved:
        state.best = val if math.isfinite(val) else state.best
        state.bad_epochs = 0
        best = {k: v.detach().clone() for k, v in model.state_dict().items()}
    else:
        state.bad_epochs += 1
    state.history.append(
        {
            "epoch": state.epoch + 1,
            "phase": task.phase(state.epoch),
            "train": train,
            "val": val if math.isfinite(val) else None,
            **getattr(task, "val_stats", {}),
        }
    )
    state.epoch, state.batch, state.loss_sum, state.loss_count = state.epoch + 1, 0, 0.0, 0
    state.done = state.bad_epochs >= cfg.patience
    return best


def _tensors(
    model: ORPRModel, best: dict[str, torch.Tensor] | None, opt: torch.optim.Optimizer
) -> dict[str, torch.Tensor]:
    """Everything a checkpoint needs, as named tensors."""
    out = {f"model.{k}": v for k, v in model.state_dict().items()}
    out.update({f"best.{k}": v for k, v in (best or {}).items()})
    out.update(optimizer_tensors(opt))
    out["rng.torch"] = torch.get_rng_state()
    return out


def _restore(
    model: ORPRModel, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor] | None
) -> dict[str, torch.Tensor] | None:
    """Load a checkpoint's weights, optimiser and RNG; return its best weights (if any)."""
    if not tensors:
        return None
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    load_optimizer(opt, tensors)
    if "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"])
    best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
    return best or None
