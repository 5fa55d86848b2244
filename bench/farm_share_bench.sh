#!/usr/bin/env bash
# The root's load in a wide farm (issue 15, bench 5): ASWARM_BENCH_RANKS ranks (default 64) on
# this machine, ASWARM_BENCH_AGENTS mock agents (default 1,000), 4 slots each, 50 ms answers
# (ASWARM_BENCH_LATENCY_MS), ASWARM_BENCH_PROMPTS prompts (default 20,000), dynamic
# scatter-gather (ASWARM_BENCH_FLAGS: more aswarm-mpi flags, e.g. --hedge). Prints
#   - per rank MPI share (the summary's per_rank[].mpi_share = time inside MPI calls /
#     the rank's wall time of the scatter-gather, idle waits included): the root's,
#     and the non-root ranks' min / median / max; then the same without the waits in which a
#     rank had no request outstanding (per_rank[].mpi_working_share: before its first prompt,
#     after its last answer), which is what the farm costs a rank while it has work, and what
#     the goal (< 5% for every non-root rank) is checked on (bench/README says why);
#   - CPU seconds (user + system) of every rank process, from /usr/bin/time around each rank
#     (so MPI_Init, reading the hostfile and MPI_Finalize count too), the root's share of all the
#     ranks' CPU (1/ranks would be an even share) and the mock's CPU over the run
#     (/proc/<mock pid>/stat, utime + stime);
#   - makespan and ideal = prompts / (agents * slots / latency).
# The machine has 2 cores: 64 ranks and the mock share them, so CPU shares, not wall times, are
# the meaningful numbers here.
#   bash bench/farm_share_bench.sh [build-dir]
set -euo pipefail

build=${1:-build}
ranks=${ASWARM_BENCH_RANKS:-64}
agents=${ASWARM_BENCH_AGENTS:-1000}
prompts=${ASWARM_BENCH_PROMPTS:-20000}
latency_ms=${ASWARM_BENCH_LATENCY_MS:-50}
slots=4
# shellcheck source=bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

write_prompts "$prompts" "$work/in.jsonl"
ideal=$(python3 -c "print($prompts / ($agents * $slots / ($latency_ms / 1e3)))")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s ranks, %s agents, %s slots each, %s ms, %s prompts, dynamic; ideal = prompts / (agents*slots/latency) = %.3f s\n' \
  "$ranks" "$agents" "$slots" "$latency_ms" "$prompts" "$ideal"

# Each rank runs under /usr/bin/time, which writes "user system elapsed" to cpu.<PMI_RANK>
# (MPICH's Hydra sets PMI_RANK; Open MPI's OMPI_COMM_WORLD_RANK is the fallback).
cat > "$work/timed.sh" << 'EOF'
#!/usr/bin/env bash
rank=${PMI_RANK:-${OMPI_COMM_WORLD_RANK:-x$$}}
exec /usr/bin/time -f '%U %S %e' -o "$ASWARM_BENCH_CPU_DIR/cpu.$rank" "$@"
EOF
chmod +x "$work/timed.sh"
mkdir -p "$work/cpu"

start_mock --count "$agents" --latency "fixed:$latency_ms" --max-concurrent "$slots" --seed 1
mock_cpu() { awk '{print ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$mock_pid/stat"; }
mock_before=$(mock_cpu)
read -ra flags <<< "${ASWARM_BENCH_FLAGS:-}"
rm -f "$work/out.jsonl"
start=$(date +%s.%N)
rc=0
ASWARM_BENCH_CPU_DIR="$work/cpu" mpiexec -n "$ranks" "$work/timed.sh" \
  "$build/src/cli/aswarm-mpi" --pattern scatter-gather --schedule dynamic \
  --hostfile "$work/agents.txt" --input "$work/in.jsonl" --output "$work/out.jsonl" \
  --per-agent-concurrency "$slots" --progress never "${flags[@]}" --summary "$work/summary.json" \
  > "$work/run.log" 2>&1 || rc=$?
end=$(date +%s.%N)
mock_after=$(mock_cpu)
if [[ $rc -ne 0 && $rc -ne 3 ]] || [[ ! -s "$work/summary.json" ]]; then
  tail -20 "$work/run.log" >&2
  echo "bench: broken run (exit $rc)" >&2
  exit 1
fi
python3 - "$work/summary.json" "$work/cpu" "$ranks" "$ideal" "$start" "$end" \
  "$mock_before" "$mock_after" "$rc" << 'EOF'
import json, os, statistics, sys
s = json.load(open(sys.argv[1]))
cpu_dir, ranks, ideal, start, end, m0, m1, rc = sys.argv[2:10]
ranks = int(ranks)
cpu = {}
for name in os.listdir(cpu_dir):
    lines = [l for l in open(os.path.join(cpu_dir, name)) if l.strip()]
    u, sy, e = map(float, lines[-1].split())  # last line: earlier ones are "Command exited..."
    cpu[name.split('.', 1)[1]] = (u + sy, e)
if len(cpu) != ranks or '0' not in cpu:
    sys.exit('bench: %d CPU records for %d ranks' % (len(cpu), ranks))
total = sum(c for c, _ in cpu.values())
others = sorted(c for r, (c, _) in cpu.items() if r != '0')
pr = s['per_rank']
root_share = pr[0]['mpi_share']
shares = sorted(p['mpi_share'] for p in pr[1:])
secs = sorted(p['mpi_seconds'] for p in pr[1:])
w = s['wall_time_s']
print('makespan %.3f s (%.2fx ideal), mpiexec %.1f s, ok %d failed %d, exit %s' % (
    w, w / float(ideal), float(end) - float(start), s['ok'], s['failed'], rc))
print('MPI share, idle waits included: root %.1f%% (%.3f s); non-root min %.1f%% median %.1f%% '
      'max %.1f%% (MPI seconds median %.3f max %.3f)' % (
    100 * root_share, pr[0]['mpi_seconds'], 100 * shares[0], 100 * statistics.median(shares),
    100 * shares[-1], statistics.median(secs), secs[-1]))
working = sorted(p['mpi_working_share'] for p in pr[1:])
idle = sorted(p['mpi_idle_seconds'] for p in pr[1:])
print('MPI share while working (idle waits with no request outstanding left out): root %.1f%%; '
      'non-root median %.1f%% max %.1f%% (idle seconds median %.3f max %.3f)  '
      'target non-root < 5%%: %s' % (
    100 * pr[0]['mpi_working_share'], 100 * statistics.median(working), 100 * working[-1],
    statistics.median(idle), idle[-1], 'met' if working[-1] < 0.05 else 'NOT met'))
print('CPU: root %.2f s = %.1f%% of all ranks\' %.2f s (even share %.1f%%); non-root min %.2f '
      'median %.2f max %.2f s; mock %.2f s; root %.0f%% of one core over its %.1f s' % (
    cpu['0'][0], 100 * cpu['0'][0] / total, total, 100 / ranks, others[0],
    statistics.median(others), others[-1], float(m1) - float(m0),
    100 * cpu['0'][0] / cpu['0'][1], cpu['0'][1]))
print('peak RSS MiB: root %.0f, non-root max %.0f' % (
    pr[0]['peak_rss_mib'], max(p['peak_rss_mib'] for p in pr[1:])))
EOF
