#!/usr/bin/env bash
# Tree-reduce (issue 6's benchmark): what the root handles when 4,000 agents' ~1 KB answers are
# reduced (each level's groups meet at their supervisor's rank), versus gathering every leaf
# answer at the root.
#   bash bench/tree_reduce_bench.sh [build-dir]
# Environment: ASWARM_BENCH_AGENTS (default 4000), ASWARM_BENCH_RANKS (8), ASWARM_BENCH_FANIN (50).
#
# How: one aswarm-mock-agent with N agents answering a fixed ~1 KB text (--mode fixed), then the
# disabled benchmark test of the 64-rank tree-reduce test binary, run at ASWARM_BENCH_RANKS
# ranks (bench/CMakeLists.txt is not this pattern's to change, so the measuring code lives in
# tests/mpi/test_tree_reduce_64.cpp, MpiTreeReduceBench). It measures on the root, from the
# Swarm's MpiStats, for
#   1. mpi::broadcast: every agent answers, MPI_Gatherv brings all N answers to the root;
#   2. mpi::tree_reduce with fanin F (each group's members go to their supervisor's rank);
# the bytes received, the time inside MPI calls (waiting for other ranks included) and the wall
# time. Then the CLI does the same tree-reduce and its --summary shows root_mpi and the levels.
# Numbers are reported, never asserted.
set -euo pipefail

build=${1:-build}
agents=${ASWARM_BENCH_AGENTS:-4000}
ranks=${ASWARM_BENCH_RANKS:-8}
fanin=${ASWARM_BENCH_FANIN:-50}
# shellcheck source=bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

text=$(python3 -c "print(' '.join('word%03d' % (i % 1000) for i in range(128)))")  # 1,023 bytes
start_mock --count "$agents" --mode fixed --text "$text"

echo "== root traffic: gather every leaf vs tree_reduce ($agents agents, $ranks ranks, fanin $fanin, ${#text}-byte answers)"
ASWARM_BENCH_HOSTFILE="$work/agents.txt" ASWARM_BENCH_FANIN="$fanin" \
  mpiexec -n "$ranks" "$build/tests/mpi/aswarm_mpi_tree_reduce_64" --gtest_also_run_disabled_tests \
  --gtest_filter='MpiTreeReduceBench.*' | grep -E '^(agents|gather|tree_reduce)'

echo "== the CLI: aswarm-mpi --pattern tree-reduce --fanin $fanin at $ranks ranks"
mpiexec -n "$ranks" "$build/src/cli/aswarm-mpi" --pattern tree-reduce --hostfile "$work/agents.txt" \
  --prompt 'Describe the weather' --reduce-prompt 'Level {level}, summarise: {responses}' \
  --fanin "$fanin" --max-tokens 1024 --progress never --output "$work/out.json" \
  --summary "$work/summary.json"
python3 -c "
import json, sys
s = json.load(open(sys.argv[1]))
m = s['root_mpi']
print('wall %.3f s, requests %d (failed %d), root received %d bytes, root MPI %.3f s' % (
    s['wall_time_s'], s['requests'], s['failed'], m['bytes_received'], m['seconds']))
for l in s['levels']:
    print('  level %d  inputs %5d  calls %5d  ok %5d  failed %d' % (
        l['level'], l['inputs'], l['calls'], l['ok'], l['failed']))" "$work/summary.json"
