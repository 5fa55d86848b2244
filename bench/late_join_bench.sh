#!/usr/bin/env bash
# Late joiners (issue 15, bench 3): ASWARM_BENCH_AGENTS mock agents (default 200), 4 slots each,
# ASWARM_BENCH_PROMPTS prompts (default 20,000), at 1, 2 and 4 ranks, dynamic schedule; half of
# the agents (the odd ones) refuse connections until 20% of the run (mock --late-agents), and
# aswarm-mpi runs with --min-healthy 50%: it starts when the first half answers /health and the
# others join when their background probe gets an answer.
# Capacity timeline (cap = agents * slots / latency): half until t_l, full afterwards; the ideal
# T solves
#   0.5 * cap * t_l + cap * (T - t_l) = prompts          (if 0.5 * cap * t_l < prompts)
# and "20% of the run" is t_l = 0.2 T, so the planned T = prompts / (0.9 * cap), t_l = 0.2 T.
# The mock's late timer runs from the mock's start, not the client's, so --late-after-seconds =
# planned t_l + the start-up offset (client start - mock ready) measured in the healthy baseline
# run at the same rank count; each run then measures its own offset (client start = mpiexec's end
# - the summary's wall_time_s) and the ideal T it prints uses the measured t_l = late_after -
# offset. Prints makespan / ideal T (target <= 1.2x), `vs uniform` (a healthy fleet's makespan
# at the same rank count: this machine tops out near 9k requests/s with client and mock on 2
# cores) and how many prompts the late agents served (the output's `agent` field; must be > 0).
# Latencies ASWARM_BENCH_LATENCIES (default "50 200" ms): at 200 ms the machine is not the limit.
#   bash bench/late_join_bench.sh [build-dir]
set -euo pipefail

build=${1:-build}
agents=${ASWARM_BENCH_AGENTS:-200}
prompts=${ASWARM_BENCH_PROMPTS:-20000}
latencies=${ASWARM_BENCH_LATENCIES:-50 200}
rank_counts=${ASWARM_BENCH_RANKS:-1 2 4}
slots=4
# shellcheck source=bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

write_prompts "$prompts" "$work/in.jsonl"
late=$(python3 -c "print(','.join(str(i) for i in range($agents) if i % 2 == 1))")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$agents agents (the $((agents / 2)) odd ones late), $slots slots each, $prompts prompts," \
  "ranks: $rank_counts, --min-healthy 50%, dynamic"
echo "ideal T: 0.5*cap*t_l + cap*(T - t_l) = prompts, cap = agents*slots/latency;" \
  "planned t_l = 0.2*prompts/(0.9*cap), measured t_l = late_after - (client start - mock ready)"

for latency_ms in $latencies; do
  read -r cap ideal_full t_l_plan < <(python3 -c "
cap = $agents * $slots / ($latency_ms / 1e3)
print(cap, $prompts / cap, 0.2 * $prompts / (0.9 * cap))")
  printf '\n%s ms answers: capacity %.0f requests/s, ideal full fleet %.3f s, planned t_l %.3f s\n' \
    "$latency_ms" "$cap" "$ideal_full" "$t_l_plan"
  for ranks in $rank_counts; do
    start_mock --count "$agents" --latency "fixed:$latency_ms" --max-concurrent "$slots" --seed 1
    ready=$(date +%s.%N)
    run_scatter "$ranks" --per-agent-concurrency "$slots" --concurrency $((agents * slots)) \
      --min-healthy 50%
    uniform=$(summary_field wall_time_s)
    offset=$(python3 -c "print($run_end - $uniform - $ready)")
    late_after=$(python3 -c "print(round($t_l_plan + $offset, 3))")
    printf '%d ranks uniform healthy fleet: %7.3f s (%.2fx ideal full fleet), start-up offset %.3f s\n' \
      "$ranks" "$uniform" "$(python3 -c "print($uniform / $ideal_full)")" "$offset"

    start_mock --count "$agents" --latency "fixed:$latency_ms" --max-concurrent "$slots" --seed 1 \
      --late-agents "$late" --late-after-seconds "$late_after"
    ready=$(date +%s.%N)
    run_scatter "$ranks" --per-agent-concurrency "$slots" --concurrency $((agents * slots)) \
      --min-healthy 50%
    python3 - "$work/summary.json" "$work/out.jsonl" "$ranks" "$cap" "$late_after" "$ready" \
      "$run_end" "$uniform" "$run_rc" "$prompts" << 'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
ranks, cap, late_after, ready, end, uni, rc, prompts = sys.argv[3:11]
cap, late_after, ready, end, uni, prompts = map(float, (cap, late_after, ready, end, uni, prompts))
w = s['wall_time_s']
t_l = late_after - (end - w - ready)  # the late agents came up this long after the client started
if t_l <= 0:
    ideal = prompts / cap
elif 0.5 * cap * t_l >= prompts:
    ideal = prompts / (0.5 * cap)
else:
    ideal = t_l + (prompts - 0.5 * cap * t_l) / cap
late_served = 0
agents_seen = set()
for line in open(sys.argv[2]):
    a = json.loads(line).get('agent')
    if isinstance(a, int) and a >= 0:
        agents_seen.add(a)
        if a % 2 == 1:
            late_served += 1
late_seen = sum(1 for a in agents_seen if a % 2 == 1)
r = w / ideal
met = 'met' if r <= 1.2 and late_served > 0 else 'NOT met'
print('%s ranks late half: makespan %7.3f s  t_l %.3f s  ideal T %.3f s  %5.2fx ideal T  '
      '%5.2fx uniform  late agents served %d prompts (%d of them)  ok %d failed %d  exit %s  '
      'target (<= 1.2x, late > 0): %s' % (ranks, w, t_l, ideal, r, w / uni, late_served, late_seen,
      s['ok'], s['failed'], rc, met))
EOF
  done
done
