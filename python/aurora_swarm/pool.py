"""aurora_swarm.pool shim (aswarm.compat)."""
from aswarm.compat import AgentPool, Response  # noqa: F401
