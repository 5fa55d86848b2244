"""aswarm: the Aurora Swarm vocabulary over aswarm's C++ engine.

Blocking calls here and in aswarm.patterns; awaitable ones as AgentPool.a* methods and in
aswarm.aio; aswarm.compat (or the aurora_swarm shim package) runs seed scripts unchanged."""

from aswarm._core import (
    AgentEndpoint,
    Embedding,
    HostfileError,
    PoolOptions,
    Response,
    best_of,
    concat,
    failure_report,
    majority_vote,
    parse_hostfile,
    parse_hostfile_text,
    statistics,
    structured_merge,
    top_k,
)
from aswarm.patterns import (
    Blackboard,
    Stage,
    broadcast,
    broadcast_and_reduce,
    fan_out_fan_in,
    map_gather,
    run_pipeline,
    scatter_gather,
    tree_reduce,
)
from aswarm.pool import AgentPool
from aswarm import aio  # noqa: E402  (after the names it uses; aswarm.aio without an import)
from aswarm import uq  # noqa: E402,F401  (aswarm.uq without an import)

__all__ = [
    "AgentEndpoint", "AgentPool", "Blackboard", "Embedding", "HostfileError", "PoolOptions",
    "Response", "Stage", "best_of", "broadcast", "broadcast_and_reduce", "concat",
    "failure_report", "fan_out_fan_in", "majority_vote", "map_gather", "parse_hostfile",
    "parse_hostfile_text", "run_pipeline", "scatter_gather", "statistics", "structured_merge",
    "top_k", "tree_reduce",
]
