"""Unit shards: split units into ranges, run each range's function in-process or on Ray, gather.

Label generation and evaluation split the units into ``compute.shards`` contiguous ranges
(``spans``). Each range's work is one call of the same function — in-process with the
``local`` engine, as a Ray actor task with the ``ray`` engine — and results come back in
shard order, so joining them in unit order gives the arrays one shard gives, bit for bit.
Every shard function works unit by unit; whatever couples units (the group knapsack of the
labels, the ``or_hindsight`` oracle) or whose floats depend on which units share a batch
(a model's inference) stays with the caller.

Ray (``orpr.compute.cluster``): the engine starts one long-lived actor (``_Host``) per shard,
spread over the nodes, each holding an equal share of the cluster's CPUs and as many numba
threads. Large inputs are put into the object store once (``share``) and read zero-copy by
every host; a stateful shard (a label run's positions) lives in its host between calls
(``spawn``, ``call``). Nothing is written on the workers: results come back to the driver,
which writes the artifacts.
"""

from __future__ import annotations

import itertools
import math
import resource
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple, Protocol

import numba

from orpr.compute.cluster import connect
from orpr.config import ComputeConfig


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
