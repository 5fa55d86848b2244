#!/usr/bin/env bash
# The README's first command: on a fresh Debian machine, install what is missing, build, start a
# local simulated swarm (aswarm-mock-agent), wait until it is healthy, run aswarm-mpi on it under
# mpiexec, show the result, and stop the swarm however the script ends (error, Ctrl-C).
#
#   bash jobs/local/run.sh [--pattern blackboard|broadcast|scatter-gather|tree-reduce|pipeline]
#                          [--agents N]
#                          [--ranks R] [-- extra aswarm-mpi flags]
# Defaults: the blackboard of jobs/local/board.json (proposers and critics, until the critics
# agree) over 16 agents on 4 ranks. broadcast asks every agent one question and takes a vote
# (--aggregate majority); scatter-gather sends jobs/local/demo-input.jsonl round-robin; pipeline
# streams its items through the stages of jobs/local/pipeline.json (two branches, then a join).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${ASWARM_BUILD_DIR:-$root/build}
pattern=blackboard
agents=16
ranks=4
extra=()
while (($#)); do
  case $1 in
    --pattern) pattern=$2; shift 2 ;;
    --agents) agents=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "run.sh: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done

bash "$root/jobs/local/install-deps.sh"
cmake -S "$root" -B "$build" > /dev/null
cmake --build "$build" -j "${ASWARM_JOBS:-2}" --target aswarm-mpi aswarm-mock-agent

work=$(mktemp -d)
mock_pid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  if [[ -n "$mock_pid" ]]; then
    kill "$mock_pid" 2> /dev/null || true
    wait "$mock_pid" 2> /dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Half hypotheses, half critiques, as a blackboard run on Aurora would use; 20-80 ms answers.
"$build/src/mock/aswarm-mock-agent" --count "$agents" --port-base 0 --roles hypotheses,critiques \
  --mode script --script "$root/jobs/local/demo-script.json" --latency uniform:20:80 \
  --hostfile-out "$work/agents.txt" > "$work/mock.log" 2>&1 &
mock_pid=$!

# Health gate: every endpoint answers /health (bounded: 10 s).
healthy=0
for _ in $(seq 100); do
  if [[ -s "$work/agents.txt" ]]; then
    healthy=0
    while read -r endpoint _; do
      curl -sf -o /dev/null --max-time 1 "http://$endpoint/health" && healthy=$((healthy + 1))
    done < "$work/agents.txt"
    ((healthy == agents)) && break
  fi
  kill -0 "$mock_pid" 2> /dev/null || { cat "$work/mock.log" >&2; exit 1; }
  sleep 0.1
done
((healthy == agents)) || { echo "run.sh: only $healthy of $agents agents healthy" >&2; exit 1; }
echo "swarm: $agents healthy agents (mock), $ranks MPI ranks, pattern $pattern"

aswarm=("$build/src/cli/aswarm-mpi" --hostfile "$work/agents.txt" --output "$work/results.jsonl"
        --summary "$work/summary.json" --progress never)
case $pattern in
  blackboard)
    aswarm+=(--pattern blackboard --config "$root/jobs/local/board.json") ;;
  broadcast)
    aswarm+=(--pattern broadcast --prompt "What is the largest planet? One word." --aggregate majority) ;;
  scatter-gather)
    aswarm+=(--pattern scatter-gather --input "$root/jobs/local/demo-input.jsonl" --aggregate failure-report) ;;
  tree-reduce)
    aswarm+=(--pattern tree-reduce --items "$root/jobs/local/demo-input.jsonl" --prompt "Answer briefly: {item}"
             --reduce-prompt $'Level {level}: summarise these answers:\n{responses}' --fanin 4) ;;
  pipeline)
    aswarm+=(--pattern pipeline --config "$root/jobs/local/pipeline.json" --input "$root/jobs/local/demo-input.jsonl") ;;
  *) echo "run.sh: unknown pattern '$pattern'" >&2; exit 2 ;;
esac

set +e
mpiexec -n "$ranks" "${aswarm[@]}" "${extra[@]}"
status=$?
set -e
if [[ $pattern == pipeline ]]; then
  echo "--- each item's final output ($work/results.jsonl, removed on exit)"
  python3 -c "import json,sys
for l in open(sys.argv[1]):
    d = json.loads(l); print(d['index'], d.get('id', ''), '->', d['output'] if d['success'] else d['error'])" "$work/results.jsonl"
else
  echo "--- first lines of the results ($work/results.jsonl, removed on exit)"
  head -n 3 "$work/results.jsonl" | cut -c1-160
fi
echo "--- summary (excerpt)"
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(json.dumps({k: s[k] for k in s if k not in ('board', 'per_rank', 'latency_ms')}, indent=1))" "$work/summary.json"
exit "$status"
