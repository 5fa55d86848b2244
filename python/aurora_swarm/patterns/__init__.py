"""aurora_swarm.patterns shim (aswarm.compat); embedding patterns are not provided."""
