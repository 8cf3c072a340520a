"""The compute seam: split units into shards, run each shard's function in-process or on Ray, gather.

Label generation and evaluation split the units into ``compute.shards`` contiguous ranges
(``spans``). Each range's work is one call of the same function — in-process with the
``local`` engine, as a Ray actor task with the ``ray`` engine — and results come back in
shard order, so joining them in unit order gives the arrays one shard gives, bit for bit.
Every shard function works unit by unit; whatever couples units (the group knapsack of the
labels, the ``or_hindsight`` oracle) or whose floats depend on which units share a batch
(a model's inference) stays with the caller.

Ray: ``ray.init(address=...)`` joins a running cluster (an empty address starts a local
instance; a session already open in the process is used as it is). The engine starts one
long-lived actor (``_Host``) per shard, spread over the nodes, each holding an equal share of
the cluster's CPUs and as many numba threads. Large inputs are put into the object store
once (``share``) and read zero-copy by every host; a stateful shard (a label run's positions)
lives in its host between calls (``spawn``, ``call``). Nothing is written on the workers:
results come back to the driver, which writes the artifacts.

Ray Train (``fit_on_ray``): a training function runs on ``compute.workers`` workers of a
``TorchTrainer`` (CPU, gloo process group); ``worker_share`` gives a worker its share of a
batch, ``average_gradients`` makes a training step data-parallel and ``worker_sum`` adds up
figures a step needs over the whole batch (all three are no-ops with one worker).
"""

from __future__ import annotations

import itertools
import math
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from orpr.config import ComputeConfig
from orpr.errors import InputError


def spans(n_units: int, shards: int) -> list[slice]:
    """``shards`` contiguous unit ranges of near-equal size covering ``[0, n_units)``; never
    an empty range (fewer ranges when there are fewer units), at least one."""
    k = max(1, min(shards, n_units))
    return [slice(n_units * i // k, n_units * (i + 1) // k) for i in range(k)]


class Engine(Protocol):
    """Where shard functions run. Results always come back in the order of the argument lists."""

    shards: int

    def share(self, obj: Any) -> Any:
        """A handle to ``obj`` that every shard reads without a copy per call."""
        ...

    def run(self, fn: Callable[..., Any], arglists: Sequence[tuple]) -> list[Any]:
        """``[fn(*args) for args in arglists]``, one shard each."""
        ...

    def spawn(self, cls: type, arglists: Sequence[tuple]) -> list[Any]:
        """One stateful shard ``cls(*args)`` per argument list."""
        ...

    def call(self, shards: Sequence[Any], method: str, arglists: Sequence[tuple]) -> list[Any]:
        """``shard.method(*args)`` for every shard and its arguments."""
        ...

    def release(self, shards: Sequence[Any]) -> None:
        """Drop spawned shards."""
        ...


class LocalEngine:
    """Every shard in this process, one after the other (``shards = 1``: the plain run)."""

    def __init__(self, shards: int = 1) -> None:
        self.shards = shards

    def share(self, obj: Any) -> Any:
        return obj

    def run(self, fn: Callable[..., Any], arglists: Sequence[tuple]) -> list[Any]:
        return [fn(*args) for args in arglists]

    def spawn(self, cls: type, arglists: Sequence[tuple]) -> list[Any]:
        return [cls(*args) for args in arglists]

    def call(self, shards: Sequence[Any], method: str, arglists: Sequence[tuple]) -> list[Any]:
        return [getattr(s, method)(*args) for s, args in zip(shards, arglists, strict=True)]

    def release(self, shards: Sequence[Any]) -> None:
        return None


class _Host:
    """A Ray actor that runs shard functions and keeps spawned shards between calls."""

    def __init__(self, threads: int) -> None:
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
        self._shards: dict[int, Any] = {}

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args)

    def spawn(self, key: int, cls: type, *args: Any) -> None:
        self._shards[key] = cls(*args)

    def call(self, key: int, method: str, *args: Any) -> Any:
        return getattr(self._shards[key], method)(*args)

    def release(self, key: int) -> None:
        self._shards.pop(key, None)

    def peak_rss_mb(self) -> float:
        """This worker's peak resident memory, MB."""
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RemoteShard(NamedTuple):
    """A shard spawned in a Ray host: the host's handle and the shard's key there."""

    host: Any
    key: int


class RayEngine:
    """Shards on the hosts of a Ray cluster (call ``close`` when done)."""

    def __init__(self, shards: int) -> None:
        import ray

        self._ray = ray
        self.shards = shards
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        share = cpus / shards
        share = math.floor(share) if share >= 1 else math.floor(share * 1e4) / 1e4
        host = ray.remote(_Host).options(num_cpus=share, scheduling_strategy="SPREAD")
        self.hosts = [host.remote(int(max(1, share))) for _ in range(shards)]
        self._keys = itertools.count()
        self._shared: dict[int, tuple[Any, Any]] = {}

    def share(self, obj: Any) -> Any:
        """Put ``obj`` into the object store once per engine (kept until ``close``)."""
        if id(obj) not in self._shared:
            self._shared[id(obj)] = (obj, self._ray.put(obj))
        return self._shared[id(obj)][1]

    def run(self, fn: Callable[..., Any], arglists: Sequence[tuple]) -> list[Any]:
        hosts = itertools.cycle(self.hosts)
        return self._ray.get([next(hosts).run.remote(fn, *args) for args in arglists])

    def spawn(self, cls: type, arglists: Sequence[tuple]) -> list[Any]:
        key, hosts = next(self._keys), itertools.cycle(self.hosts)
        shards = [RemoteShard(next(hosts), key) for _ in arglists]
        self._ray.get(
            [s.host.spawn.remote(key, cls, *args) for s, args in zip(shards, arglists, strict=True)]
        )
        return shards

    def call(self, shards: Sequence[Any], method: str, arglists: Sequence[tuple]) -> list[Any]:
        return self._ray.get(
            [
                s.host.call.remote(s.key, method, *args)
                for s, args in zip(shards, arglists, strict=True)
            ]
        )

    def release(self, shards: Sequence[Any]) -> None:
        self._ray.get([s.host.release.remote(s.key) for s in shards])

    def peak_rss_mb(self) -> list[float]:
        """Each host's peak resident memory, MB (shared object-store pages count in each)."""
        return self._ray.get([h.peak_rss_mb.remote() for h in self.hosts])

    def close(self) -> None:
        for h in self.hosts:
            self._ray.kill(h)
        self.hosts, self._shared = [], {}


@contextmanager
def open_engine(cfg: ComputeConfig) -> Iterator[Engine]:
    """The engine of ``[compute]``: in-process, or Ray hosts on the cluster at ``cfg.address``.

    Raises:
        InputError: no Ray cluster at the address.
    """
    if cfg.engine == "local":
        yield LocalEngine(cfg.shards)
        return
    started, engine = connect(cfg.address), None
    try:
        engine = RayEngine(cfg.shards)
        yield engine
    finally:
        if engine is not None:
            engine.close()
        if started:
            import ray

            ray.shutdown()


def connect(address: str) -> bool:
    """Join the Ray cluster at ``address`` (``auto``: the one started on this machine with
    ``ray start``, or ``RAY_ADDRESS``; empty: start a new local instance); True if this call
    started the session (the caller then shuts it down).

    Raises:
        InputError: nothing answers at ``address``, or it is not a Ray address.
    """
    import ray

    if address and not reachable(address):
        raise InputError(
            "[compute]",
            "no Ray cluster reachable at this address",
            column="compute.address",
            value=address,
        )
    if ray.is_initialized():
        return False
    try:
        ray.init(
            address=address or "local",
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    except (ConnectionError, ValueError) as err:
        raise InputError(
            "[compute]",
            f"cannot join Ray: {str(err).splitlines()[0]}",
            column="compute.address",
            value=address,
        ) from None
    return True


def reachable(address: str, timeout: float = 5.0) -> bool:
    """Whether a TCP connection opens to ``host:port`` (``ray://`` prefix allowed); ``auto``
    is left to Ray. Ray itself would retry an unreachable address for minutes."""
    if address == "auto":
        return True
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return False
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def average_gradients(parameters: Sequence[Any]) -> None:
    """Average the gradients of ``parameters`` over the data-parallel workers (in place).

    A no-op outside a process group or with one worker, so a one-worker run takes exactly
    the local run's steps.
    """
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_initialized() or dist.get_world_size() == 1:
        return
    world = dist.get_world_size()
    for p in parameters:
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad /= world


def worker_rank() -> tuple[int, int]:
    """``(rank, world size)`` of this data-parallel worker; ``(0, 1)`` outside Ray Train."""
    import torch.distributed as dist

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
    import torch
    import torch.distributed as dist

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
