"""aurora_swarm.hostfile shim (aswarm.compat)."""
from aswarm.compat import AgentEndpoint, parse_hostfile  # noqa: F401
