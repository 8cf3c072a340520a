"""Data-parallel training on Ray Train: the launch and the collectives a training step needs.

``fit_on_ray`` runs a training function on ``compute.workers`` workers of a ``TorchTrainer``
(CPU, gloo process group); ``worker_share`` gives a worker its share of a batch,
``average_gradients`` makes a training step data-parallel and ``worker_sum`` adds up figures a
step needs over the whole batch (all three are no-ops with one worker, or outside Ray Train).

Ray is imported inside ``fit_on_ray``: it is heavy, and a local run never needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from orpr.compute.cluster import connect
from orpr.config import ComputeConfig
from orpr.errors import InputError


def average_gradients(parameters: Sequence[Any]) -> None:
    """Average the gradients of ``parameters`` over the data-parallel workers (in place).

    A no-op outside a process group or with one worker, so a one-worker run takes exactly
    the local run's steps.
    """
    if not dist.is_available() or not dist.is_initialized() or dist.get_world_size() == 1:
        return
    world = dist.get_world_size()
    for p in parameters:
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad /= world


def worker_rank() -> tuple[int, int]:
    """``(rank, world size)`` of this data-parallel worker; ``(0, 1)`` outside Ray Train."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def worker_share(batch: Any) -> Any:
    """This worker's share of a batch of sample indices: every ``world``-th from its rank
    (the whole batch outside data-parallel training)."""
    rank, world = worker_rank()
    return batch if world == 1 else batch[rank::world]


def worker_sum(values: Sequence[float]) -> list[float]:
    """Each of ``values`` summed over the data-parallel workers (float64, the same floats on
    every worker).

    Outside a process group or with one worker: ``values`` as they are, so a one-worker run
    computes with exactly the local run's floats.
    """
    if worker_rank()[1] == 1:
        return list(values)
    total = torch.tensor([float(v) for v in values], dtype=torch.float64)
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total.tolist()


def fit_on_ray(
    fn: Callable[[dict[str, Any]], None],
    config: dict[str, Any],
    shared: dict[str, Any],
    cfg: ComputeConfig,
    storage: str | Path,
    name: str,
) -> None:
    """Run ``fn(config)`` on ``cfg.workers`` Ray Train workers (``TorchTrainer``, CPU, gloo).

    Args:
        fn: the per-worker training function; rank 0 writes the artifacts.
        config: its argument.
        shared: large values put into the object store once and added to ``config`` as
            handles (a worker reads one with ``ray.get``).
        cfg: the ``[compute]`` section (address, workers).
        storage: Ray Train's own records (on a cluster: a path every node sees).
        name: the run's name under ``storage``.

    Raises:
        InputError: no Ray cluster at the address, or a worker's own InputError.
    """
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    started = connect(cfg.address)
    try:
        trainer = TorchTrainer(
            fn,
            train_loop_config={**config, **{k: ray.put(v) for k, v in shared.items()}},
            scaling_config=ScalingConfig(num_workers=cfg.workers, use_gpu=False),
            torch_config=TorchConfig(backend="gloo"),
            run_config=RunConfig(storage_path=str(Path(storage).resolve()), name=name),
        )
        trainer.fit()
    except Exception as err:
        found = _input_error(err)
        if found is None:
            raise
        raise found from None
    finally:
        if started:
            ray.shutdown()


def _input_error(err: BaseException | None) -> InputError | None:
    """The InputError a failed worker raised, found along the exception's causes."""
    seen = 0
    while err is not None and seen < 20:
        if isinstance(err, InputError):
            return err
        nested = getattr(err, "worker_failures", None) or {}
        for inner in nested.values() if isinstance(nested, dict) else nested:
            found = _input_error(inner)
            if found is not None:
                return found
        err, seen = err.__cause__ or err.__context__, seen + 1
    return None
