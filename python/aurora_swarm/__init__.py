"""aurora_swarm shim: the seed's package names over aswarm (aswarm.compat); see README.md."""

from aswarm.compat import AgentEndpoint, AgentPool, Response, VLLMPool, parse_hostfile

__all__ = ["AgentEndpoint", "AgentPool", "Response", "VLLMPool", "parse_hostfile"]
