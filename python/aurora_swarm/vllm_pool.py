"""aurora_swarm.vllm_pool shim (aswarm.compat)."""
from aswarm.compat import Response, VLLMPool  # noqa: F401
