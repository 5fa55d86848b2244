#!/usr/bin/env bash
# Embeddings per second of `aswarm-mpi --pattern embed` against the mock (issue 19):
# ASWARM_BENCH_AGENTS embedding agents (default 8, all role=embed), ASWARM_BENCH_TEXTS texts
# (default 50,000), lists of ASWARM_BENCH_BATCH texts (default 32), at 1 and 2 ranks
# (ASWARM_BENCH_RANKS). The mock answers at once (no --latency), so this measures aswarm's and
# the mock's own cost per vector (16 floats, the mock's default --embedding-dim;
# ASWARM_BENCH_DIM to change): request building, JSON decoding of the reply, MPI transfer of the
# reply body to the root, the vector's JSON on the output line. Prints the load average first
# (the machine is shared) and, per rank count, wall time and embeddings per second (the
# summary's "embeddings_per_second": successful vectors / the pattern's wall time).
#   bash bench/embed_bench.sh [build-dir]
set -euo pipefail

build=${1:-build}
agents=${ASWARM_BENCH_AGENTS:-8}
texts=${ASWARM_BENCH_TEXTS:-50000}
batch=${ASWARM_BENCH_BATCH:-32}
dim=${ASWARM_BENCH_DIM:-16}
rank_counts=${ASWARM_BENCH_RANKS:-1 2}
# shellcheck source=bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

write_prompts "$texts" "$work/in.jsonl"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
start_mock --count "$agents" --roles embed --embedding-dim "$dim"
printf '%-6s %-8s %-10s %-12s\n' ranks texts wall_s embeddings/s
for ranks in $rank_counts; do
  rm -f "$work/out.jsonl"
  mpiexec -n "$ranks" "$build/src/cli/aswarm-mpi" --pattern embed --hostfile "$work/agents.txt" \
    --input "$work/in.jsonl" --output "$work/out.jsonl" --batch-size "$batch" --progress never \
    --summary "$work/summary.json" > /dev/null
  python3 - "$work/summary.json" "$ranks" "$texts" << 'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print("%-6s %-8s %-10.2f %-12.0f" % (sys.argv[2], sys.argv[3], s["wall_time_s"],
                                     s["embeddings_per_second"]))
PY
done
