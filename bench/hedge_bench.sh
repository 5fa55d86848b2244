#!/usr/bin/env bash
# Hedging near the tail (issue 15, bench 4): output lengths drawn per request from a lognormal
# (sigma 1), so a few requests run many times longer than the median and set the makespan.
# The same prompts with and without --hedge, at 1 and 2 ranks; prints makespan, p50/p99/max
# latency and the hedge counters. The mock's time per request is TTFT + tokens x per-token time
# (--latency tokens:TTFT:PER_TOKEN), its length lognormal:MEDIAN:1 tokens (--output-tokens), so a
# hedged copy draws a new length, as a sampled vLLM generation would.
#   ideal = prompts x mean time / (agents x slots), mean time = TTFT + PER_TOKEN x mean length,
#   mean length = MEDIAN x exp(sigma^2 / 2)
#   bash bench/hedge_bench.sh [build-dir]
# Env: ASWARM_BENCH_AGENTS (100), ASWARM_BENCH_PROMPTS (8,000), ASWARM_BENCH_RANKS ("1 2").
set -euo pipefail

build=${1:-build}
agents=${ASWARM_BENCH_AGENTS:-100}
prompts=${ASWARM_BENCH_PROMPTS:-8000}
ranks_list=${ASWARM_BENCH_RANKS:-"1 2"}
slots=4
ttft_ms=20
per_token_ms=2
median_tokens=50
sigma=1
# shellcheck source=bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

write_prompts "$prompts" "$work/in.jsonl"
ideal=$(python3 -c "
import math
mean = $ttft_ms + $per_token_ms * $median_tokens * math.exp($sigma ** 2 / 2)
print($prompts * mean / 1e3 / ($agents * $slots))")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s agents x %s slots, latency %s ms + %s ms/token, tokens lognormal(median %s, sigma %s), %s prompts; ideal %.3f s\n' \
  "$agents" "$slots" "$ttft_ms" "$per_token_ms" "$median_tokens" "$sigma" "$prompts" "$ideal"
start_mock --count "$agents" --latency "tokens:$ttft_ms:$per_token_ms" \
  --output-tokens "lognormal:$median_tokens:$sigma" --max-concurrent "$slots" --seed 3
for ranks in $ranks_list; do
  for hedge in off on; do
    flags=()
    [[ $hedge == on ]] && flags=(--hedge)
    rm -f "$work/out.jsonl"
    # --max-tokens above any drawn length: the mock cuts answers at max_tokens.
    mpiexec -n "$ranks" "$build/src/cli/aswarm-mpi" --pattern scatter-gather \
      --hostfile "$work/agents.txt" --input "$work/in.jsonl" --output "$work/out.jsonl" \
      --per-agent-concurrency "$slots" --concurrency 800 --max-tokens 20000 --progress never \
      --summary "$work/summary.json" "${flags[@]}" > /dev/null
    python3 -c "
import json, sys
s = json.load(open(sys.argv[1]))
l, e = s['latency_ms'], s['engine']
print('%d ranks hedge %-3s makespan %7.3f s  %5.2fx ideal  latency p50 %6.0f p99 %6.0f max %6.0f ms  '
      'hedges %d wins %d  ok %d/%d' % (int(sys.argv[2]), sys.argv[3], s['wall_time_s'],
      s['wall_time_s'] / float(sys.argv[4]), l['p50'], l['p99'], l['max'], e['hedges'],
      e['hedge_wins'], s['ok'], s['requests']))" "$work/summary.json" "$ranks" "$hedge" "$ideal"
  done
done
