#!/usr/bin/env bash
# Pipeline (issue 8's benchmark): streaming run_pipeline_items vs stage-by-stage execution of
# three stages over ASWARM_BENCH_ITEMS items (default 1,000), at 1 rank and at RANKS ranks.
#   bash bench/pipeline_bench.sh [build-dir] [ranks]        (ranks: default 2)
# Environment: ASWARM_BENCH_ITEMS (1000), ASWARM_BENCH_REPEATS (3, the median is printed),
#   ASWARM_BENCH_LATENCY_MS (20), ASWARM_BENCH_AGENT_CONCURRENCY (16), ASWARM_BENCH_SLOW (2).
#
# How: one aswarm-mock-agent with 6 agents, two per stage (role=s1, s2, s3). Each agent answers
# after the latency and runs at most AGENT_CONCURRENCY requests at once (more wait in its FIFO),
# so a stage takes at least items x latency / concurrency; stage s2's agents are SLOW times
# slower, making it the clearly slowest stage. bench_pipeline (bench/pipeline_bench.cpp) times
# each stage alone (stage-by-stage), then the three streaming together, and prints the ratio
# streaming / slowest stage alone (target: <= 1.3). Numbers are reported, never asserted.
set -euo pipefail

build=${1:-build}
ranks=${2:-2}
items=${ASWARM_BENCH_ITEMS:-1000}
repeats=${ASWARM_BENCH_REPEATS:-3}
latency=${ASWARM_BENCH_LATENCY_MS:-20}
concurrency=${ASWARM_BENCH_AGENT_CONCURRENCY:-16}
slow=${ASWARM_BENCH_SLOW:-2}
# shellcheck source=bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

# The client may hold up to its cap (512) connections at once, far more than one per agent.
start_mock --count 6 --roles s1:1,s2:1,s3:1 --latency "fixed:$latency" \
  --max-concurrent "$concurrency" --slow-agents 2,3 --slow-factor "$slow" \
  --expected-connections 1100

echo "== mock: 6 agents (2 per stage), ${latency} ms, ${concurrency} requests at once per agent," \
  "stage s2 ${slow}x slower"
runs=(1)
if [[ "$ranks" != 1 ]]; then runs+=("$ranks"); fi
for n in "${runs[@]}"; do
  mpiexec -n "$n" "$build/bench/bench_pipeline" "$work/agents.txt" "$items" "$repeats"
done
