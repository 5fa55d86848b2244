#!/usr/bin/env bash
# aswarm-mpi --pattern scatter-gather over 1,000 mock agents (issue 5's benchmark):
#   1. requests/s and the share of wall time each rank spends inside MPI calls, at 1 and 2 ranks,
#      for ASWARM_BENCH_PROMPTS prompts (default 100,000);
#   2. peak RSS per rank for 10,000 vs ASWARM_BENCH_BIG prompts (default 1,000,000) read from a
#      file, at 2 ranks (target: flat; memory is bounded by --window).
#   bash bench/mpi_scatter_bench.sh [build-dir]
# Numbers come from --summary (per_rank: mpi_seconds, mpi_share, peak_rss_mib).
set -euo pipefail

build=${1:-build}
prompts=${ASWARM_BENCH_PROMPTS:-100000}
big=${ASWARM_BENCH_BIG:-1000000}
work=$(mktemp -d)
mock_pid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  if [[ -n "$mock_pid" ]]; then kill "$mock_pid" 2> /dev/null || true; wait "$mock_pid" 2> /dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$build/src/mock/aswarm-mock-agent" --count 1000 --port-base 0 --hostfile-out "$work/agents.txt" \
  > "$work/mock.log" 2>&1 &
mock_pid=$!
for _ in $(seq 100); do grep -q ready "$work/mock.log" 2> /dev/null && break; sleep 0.1; done

make_input() {  # make_input <count> <file>
  python3 -c "
import json, sys
with open(sys.argv[2], 'w') as f:
    for i in range(int(sys.argv[1])):
        f.write(json.dumps({'id': i, 'prompt': 'prompt number %d' % i}) + '\n')" "$1" "$2"
}

report() {  # report <label> <summary.json>
  python3 -c "
import json, sys
s = json.load(open(sys.argv[2]))
ranks = s['per_rank']
print('%-22s %8.0f requests/s  ok %d/%d  MPI share %s  peak RSS %s MiB' % (
    sys.argv[1], s['throughput_rps'], s['ok'], s['requests'],
    ' '.join('%.1f%%' % (100 * r['mpi_share']) for r in ranks),
    ' '.join('%.1f' % r['peak_rss_mib'] for r in ranks)))" "$1" "$2"
}

run() {  # run <ranks> <input> <label>
  mpiexec -n "$1" "$build/src/cli/aswarm-mpi" --pattern scatter-gather --hostfile "$work/agents.txt" \
    --input "$2" --output /dev/null --progress never --summary "$work/summary.json" --max-tokens 16
  report "$3" "$work/summary.json"
}

echo "== throughput and MPI share, $prompts prompts, 1,000 agents"
make_input "$prompts" "$work/in.jsonl"
run 1 "$work/in.jsonl" "1 rank"
run 2 "$work/in.jsonl" "2 ranks"

echo "== peak RSS per rank, 2 ranks"
make_input 10000 "$work/small.jsonl"
run 2 "$work/small.jsonl" "10,000 prompts"
make_input "$big" "$work/big.jsonl"
run 2 "$work/big.jsonl" "$big prompts"
