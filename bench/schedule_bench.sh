#!/usr/bin/env bash
# Static vs dynamic scheduling of scatter-gather on a fleet with slow agents (issue 15, bench 1):
# ASWARM_BENCH_AGENTS mock agents (default 200), 10% of them 5x slower, each running 4 requests at
# once (--max-concurrent 4; the client's --per-agent-concurrency 4 matches, as a vLLM
# max_num_seqs would), ASWARM_BENCH_LATENCY_MS answers (default 50), ASWARM_BENCH_PROMPTS prompts
# (default 20,000), at 1, 2 and 4 ranks, --concurrency 800 (so one rank's cap holds every slot).
# Prints each run's makespan (--summary wall_time_s) and its ratio to the ideal:
#   ideal = prompts / sum over agents of (slots / latency)
# i.e. every slot of every agent busy from the first request to the last (target: dynamic <=
# 1.15x; static is printed beside it). The same prompts on a uniform fleet (no slow agents,
# static) are run first at each rank count: what this machine's client + mock reach at all, so
# `vs uniform` separates the scheduling loss from the machine's (ideal uniform = 0.9 x ideal).
#   bash bench/schedule_bench.sh [build-dir]
set -euo pipefail

build=${1:-build}
agents=${ASWARM_BENCH_AGENTS:-200}
prompts=${ASWARM_BENCH_PROMPTS:-20000}
latency_ms=${ASWARM_BENCH_LATENCY_MS:-50}
slots=4
slow_fraction=0.1
slow_factor=5
# shellcheck source=bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

python3 -c "
import json, sys
with open(sys.argv[2], 'w') as f:
    for i in range(int(sys.argv[1])): f.write(json.dumps({'id': i, 'prompt': 'p%d' % i}) + '\n')" \
  "$prompts" "$work/in.jsonl"
slow=$(python3 -c "print(round($agents * $slow_fraction))")
ideal=$(python3 -c "
fast, slow = $agents - $slow, $slow
cap = fast * $slots / ($latency_ms / 1e3) + slow * $slots / ($slow_factor * $latency_ms / 1e3)
print($prompts / cap)")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s agents (%s %sx slower), %s slots each, %s ms, %s prompts; ideal makespan %.3f s\n' \
  "$agents" "$slow" "$slow_factor" "$slots" "$latency_ms" "$prompts" "$ideal"
run() {  # run <ranks> <schedule>: the makespan in seconds
  rm -f "$work/out.jsonl"
  mpiexec -n "$1" "$build/src/cli/aswarm-mpi" --pattern scatter-gather \
    --hostfile "$work/agents.txt" --input "$work/in.jsonl" --output "$work/out.jsonl" \
    --per-agent-concurrency "$slots" --concurrency 800 --schedule "$2" --progress never \
    --summary "$work/summary.json" > /dev/null
  python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['wall_time_s'])" "$work/summary.json"
}
declare -A uniform
start_mock --count "$agents" --latency "fixed:$latency_ms" --max-concurrent "$slots" --seed 1
for ranks in 1 2 4; do uniform[$ranks]=$(run "$ranks" static); done
start_mock --count "$agents" --latency "fixed:$latency_ms" --max-concurrent "$slots" \
  --slow-fraction "$slow_fraction" --slow-factor "$slow_factor" --seed 1
for ranks in 1 2 4; do
  printf '%d ranks uniform fleet, static: %7.3f s\n' "$ranks" "${uniform[$ranks]}"
  for schedule in static dynamic; do
    rm -f "$work/out.jsonl"
    mpiexec -n "$ranks" "$build/src/cli/aswarm-mpi" --pattern scatter-gather \
      --hostfile "$work/agents.txt" --input "$work/in.jsonl" --output "$work/out.jsonl" \
      --per-agent-concurrency "$slots" --concurrency 800 --schedule "$schedule" --progress never \
      --summary "$work/summary.json" > /dev/null
    python3 -c "
import json, sys
s = json.load(open(sys.argv[1]))
print('%d ranks %-8s makespan %7.3f s  %5.2fx ideal  %5.2fx uniform  ok %d/%d' % (
      int(sys.argv[2]), sys.argv[3], s['wall_time_s'], s['wall_time_s'] / float(sys.argv[4]),
      s['wall_time_s'] / float(sys.argv[5]), s['ok'], s['requests']))" \
      "$work/summary.json" "$ranks" "$schedule" "$ideal" "${uniform[$ranks]}"
  done
done
