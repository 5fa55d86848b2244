"""aurora_swarm.patterns.broadcast shim (aswarm.compat)."""
from aswarm.compat import AgentPool, Response, broadcast, broadcast_and_reduce  # noqa: F401
