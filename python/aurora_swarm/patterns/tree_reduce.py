"""aurora_swarm.patterns.tree_reduce shim (aswarm.compat)."""
from aswarm.compat import AgentPool, Response, tree_reduce  # noqa: F401
