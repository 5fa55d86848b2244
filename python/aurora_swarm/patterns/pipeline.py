"""aurora_swarm.patterns.pipeline shim (aswarm.compat)."""
from aswarm.compat import AgentPool, Response, Stage, fan_out_fan_in, run_pipeline  # noqa: F401
