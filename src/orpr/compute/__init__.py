"""The compute seam: where work runs.

- ``shards``: unit shards run in-process (``local``) or on Ray actors (``ray``), in shard
  order, bit for bit the same (label generation, evaluation, recommendation);
- ``cluster``: joining a Ray cluster;
- ``data_parallel``: data-parallel training on Ray Train workers and its collectives (imports
  torch; not re-exported here, so that ``orpr.compute`` stays light).
"""

from orpr.compute.cluster import connect, reachable
from orpr.compute.shards import Engine, LocalEngine, RayEngine, open_engine, spans

__all__ = ["Engine", "LocalEngine", "RayEngine", "connect", "open_engine", "reachable", "spans"]
