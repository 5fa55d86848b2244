"""aurora_swarm.patterns.scatter_gather shim (aswarm.compat)."""
from aswarm.compat import AgentPool, Response, map_gather, scatter_gather  # noqa: F401
