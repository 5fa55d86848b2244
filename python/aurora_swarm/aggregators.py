"""aurora_swarm.aggregators shim (aswarm.compat)."""
from aswarm.compat import (  # noqa: F401
    Response, best_of, concat, failure_report, majority_vote, statistics, structured_merge, top_k)
