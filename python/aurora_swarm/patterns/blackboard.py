"""aurora_swarm.patterns.blackboard shim (aswarm.compat)."""
from aswarm.compat import AgentPool, Blackboard, BoardState  # noqa: F401
