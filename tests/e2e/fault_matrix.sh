#!/usr/bin/env bash
# The fault matrix: every failure the mock can inject x every pattern, at 2 ranks. For each
# (class, pattern) one mpiexec; checked: the exit status (0, or 3 when some requests failed;
# never a crash, a hang or a usage error), one output line per input (per agent for broadcast,
# per item for scatter-gather and the pipeline, one for tree-reduce, one per round and section
# for the blackboard), and the engine's attempts (--summary) against the generation requests
# (and model lookups) the mock counted: equal wherever every attempt reaches the mock, at least as many where some
# are refused before they arrive (late or closed agents).
#   fault_matrix.sh <mpiexec> <aswarm-mpi> <aswarm-mock-agent> <scratch dir> [<class>...]
# Small inputs and 1 s timeouts keep the whole matrix within about a minute on two cores.
set -euo pipefail

# shellcheck source=tests/e2e/e2e_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh" "$1" "$2" "$3" "$4" fault_matrix
shift 4
run_flags+=(--timeout 1 --retries 1 --give-up-after 2 --model mock-model)

# class name -> mock flags (every class also gets 4 agents in two roles for the blackboard).
declare -A classes=(
  [healthy]=""
  [http500]="--fail-500 0.3"
  [http429]="--fail-429 0.3 --retry-after 0"
  [reset]="--fail-reset 0.3"
  [hang]="--fail-hang 0.15"
  [bad-json]="--fail-malformed 0.3"
  [truncated]="--fail-truncated 0.3"
  [html-error]="--fail-500 0.3 --error-body html"
  [dead-503]="--dead-agents 1"
  [dead-after-n]="--dying-agents 2 --die-after-requests 2"
  [closed-after-n]="--dying-agents 2 --die-after-requests 2 --die-mode close"
  [late-start]="--late-agents 1 --late-after-seconds 1"
  [slow]="--slow-agents 0 --slow-factor 20 --latency fixed:20"
)
# Classes whose refused connections never reach the mock.
declare -A refused=([closed-after-n]=1 [late-start]=1)
order=(healthy http500 http429 reset hang bad-json truncated html-error dead-503 dead-after-n
       closed-after-n late-start slow)
(( $# > 0 )) && order=("$@")
patterns=(broadcast scatter-gather tree-reduce blackboard pipeline)

# received: the requests the mock received that the engine counts as attempts (generation and
# /v1/models; not /health probes, not these scrapes), all agents, through the last agent
# (never made dead or late here).
received() {
  local last
  last=$(tail -n 1 "$scratch/agents.txt" | cut -d' ' -f1)
  curl -sf --retry 3 --retry-connrefused --max-time 10 "http://$last/metrics" |
    awk 'index($0, "aswarm_mock_requests_total{") == 1 &&
         !index($0, "route=\"/health\"") && !index($0, "route=\"/metrics\"") { s += $2 }
         END { print s + 0 }'
}

for i in $(seq 12); do echo "\"item $i\""; done > "$scratch/items.jsonl"
cat > "$scratch/board.json" << 'JSON'
{"sections": [{"name": "a", "prompt": "propose r{round}"},
              {"name": "b", "prompt": "judge r{round}: {section:a}"}],
 "max_rounds": 2}
JSON
cat > "$scratch/pipeline.json" << 'JSON'
{"stages": [{"name": "first", "prompt": "A:{input}", "agents": 2},
            {"name": "second", "prompt": "B:{input}", "agents": 1}]}
JSON

# pattern_args <pattern>: sets args to its flags; expected_lines <pattern>: its output lines.
pattern_args() {
  case $1 in
    broadcast) args=(--prompt hello) ;;
    scatter-gather) args=(--input "$scratch/items.jsonl") ;;
    tree-reduce) args=(--prompt leaf --reduce-prompt "sum: {responses}" --fanin 2) ;;
    blackboard) args=(--config "$scratch/board.json") ;;
    pipeline) args=(--config "$scratch/pipeline.json" --input "$scratch/items.jsonl") ;;
  esac
}
expected_lines() {
  case $1 in
    broadcast) echo 4 ;;
    scatter-gather | pipeline) echo 12 ;;
    tree-reduce) echo 1 ;;
    blackboard) echo 4 ;;
  esac
}

failures=0
started=$SECONDS
for class in "${order[@]}"; do
  # shellcheck disable=SC2086  # the class's flags are words
  start_mock --count 4 --roles a,b --seed 7 --model mock-model ${classes[$class]}
  for pattern in "${patterns[@]}"; do
    out_file="$scratch/$class-$pattern.jsonl"
    before=$(received)
    t0=$SECONDS
    pattern_args "$pattern"
    run 2 --pattern "$pattern" --hostfile "$scratch/agents.txt" "${args[@]}" \
      --output "$out_file" --summary "$scratch/summary.json"
    sent=$(( $(received) - before ))
    problem=""
    if [[ $rc -ne 0 && $rc -ne 3 ]]; then
      problem="exit $rc: $(tail -n 3 <<< "$err")"
    elif [[ $class == healthy && $rc -ne 0 ]]; then
      problem="exit $rc without faults"
    else
      lines=$(grep -c . "$out_file" || true)
      attempts=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['engine']['attempts'])" "$scratch/summary.json")
      if [[ $lines -ne $(expected_lines "$pattern") ]]; then
        problem="$lines output lines, expected $(expected_lines "$pattern")"
      elif [[ -n "${refused[$class]:-}" ]] && (( attempts < sent )); then
        problem="attempts $attempts < requests the mock received $sent"
      elif [[ -z "${refused[$class]:-}" ]] && (( attempts != sent )); then
        problem="attempts $attempts != requests the mock received $sent"
      fi
    fi
    printf '%-15s %-15s exit %d  %3d requests  %2d s  %s\n' "$class" "$pattern" "$rc" "$sent" \
      $((SECONDS - t0)) "${problem:-ok}"
    [[ -z "$problem" ]] || failures=$((failures + 1))
  done
  kill "$mock_pid"; wait "$mock_pid" 2> /dev/null || true; mock_pid=""
done
echo "fault matrix: ${#order[@]} classes x ${#patterns[@]} patterns in $((SECONDS - started)) s, $failures failed"
(( failures == 0 )) || fail "$failures cases failed"
