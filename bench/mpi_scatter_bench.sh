#!/usr/bin/env bash
# aswarm-mpi --pattern scatter-gather over 1,000 mock agents (issue 5's benchmark):
#   1. requests/s and the share of wall time each rank spends inside MPI calls, at 1 and 2 ranks,
#      for ASWARM_BENCH_PROMPTS prompts (default 100,000);
#   2. peak RSS per rank for 10,000 vs ASWARM_BENCH_BIG prompts (default 1,000,000) read from a
#      file, at 2 ranks (target: flat; memory is bounded by --window, not by the input):
#      - at the default window (65,536), where the small input is a single window of 10,000
#        prompts and the big one runs full windows, so the ratio shows the window's own cost;
#      - at an equal window (ASWARM_BENCH_WINDOW, default 10,000: the window the small input gets
#        anyway), where the ratio shows what grows with the input alone.
#   bash bench/mpi_scatter_bench.sh [build-dir]
# Numbers come from --summary (per_rank: mpi_seconds, mpi_share, peak_rss_mib). The load average
# is printed first: on a shared machine requests/s and MPI share move with it, RSS does not.
set -euo pipefail

build=${1:-build}
prompts=${ASWARM_BENCH_PROMPTS:-100000}
big=${ASWARM_BENCH_BIG:-1000000}
equal_window=${ASWARM_BENCH_WINDOW:-10000}
# shellcheck source=bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

start_mock --count 1000

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

ratio() {  # ratio <small summary.json> <big summary.json>: big/small peak RSS per rank
  python3 -c "
import json, sys
small, big = (json.load(open(f))['per_rank'] for f in sys.argv[1:3])
print('%-22s %s' % ('peak RSS big/small', ' '.join(
    '%.2fx' % (b['peak_rss_mib'] / s['peak_rss_mib']) for s, b in zip(small, big))))" "$1" "$2"
}

run() {  # run <ranks> <input> <label> [aswarm-mpi flags...]; the summary stays in $work/last.json
  local ranks=$1 input=$2 label=$3
  shift 3
  mpiexec -n "$ranks" "$build/src/cli/aswarm-mpi" --pattern scatter-gather \
    --hostfile "$work/agents.txt" --input "$input" --output /dev/null --progress never \
    --summary "$work/last.json" --max-tokens 16 "$@"
  report "$label" "$work/last.json"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "== throughput and MPI share, $prompts prompts, 1,000 agents"
make_input "$prompts" "$work/in.jsonl"
run 1 "$work/in.jsonl" "1 rank"
run 2 "$work/in.jsonl" "2 ranks"

make_input 10000 "$work/small.jsonl"
make_input "$big" "$work/big.jsonl"
echo "== peak RSS per rank, 2 ranks, default window (65,536)"
run 2 "$work/small.jsonl" "10,000 prompts"
cp "$work/last.json" "$work/small.json"
run 2 "$work/big.jsonl" "$big prompts"
ratio "$work/small.json" "$work/last.json"
echo "== peak RSS per rank, 2 ranks, equal window (--window $equal_window)"
run 2 "$work/small.jsonl" "10,000 prompts" --window "$equal_window"
cp "$work/last.json" "$work/small.json"
run 2 "$work/big.jsonl" "$big prompts" --window "$equal_window"
ratio "$work/small.json" "$work/last.json"
