# Shared by the bench scripts (sourced, not run). Expects $build (the build directory).
# Sets $work (a temp directory, removed on exit) and provides:
#   start_mock <aswarm-mock-agent args...>  starts the mock on OS-chosen ports, hostfile in
#                                           $work/agents.txt, waits (30 s at most) for "ready"
#   stop_mock                               stops it (also done on exit)
# shellcheck shell=bash disable=SC2034,SC2154  # $work is read by, $build set by, the sourcing script

work=$(mktemp -d)
mock_pid=""
stop_mock() {
  if [[ -n "$mock_pid" ]]; then kill "$mock_pid" 2> /dev/null || true; wait "$mock_pid" 2> /dev/null || true; fi
  mock_pid=""
}
# shellcheck disable=SC2317  # called by the EXIT trap
bench_cleanup() {
  stop_mock
  rm -rf "$work"
}
trap bench_cleanup EXIT

start_mock() {
  stop_mock
  rm -f "$work/agents.txt"
  "$build/src/mock/aswarm-mock-agent" --port-base 0 --hostfile-out "$work/agents.txt" "$@" \
    > "$work/mock.log" 2>&1 &
  mock_pid=$!
  for _ in $(seq 300); do
    grep -q ready "$work/mock.log" 2> /dev/null && return 0
    kill -0 "$mock_pid" 2> /dev/null || break
    sleep 0.1
  done
  cat "$work/mock.log" >&2
  echo "bench: aswarm-mock-agent did not start" >&2
  exit 1
}

# write_prompts <n> <file>: n JSONL lines {"id": i, "prompt": "p<i>"}
write_prompts() {
  python3 -c "
import json, sys
with open(sys.argv[2], 'w') as f:
    for i in range(int(sys.argv[1])): f.write(json.dumps({'id': i, 'prompt': 'p%d' % i}) + '\n')" \
    "$1" "$2"
}

# run_scatter <ranks> <aswarm-mpi args...>: one scatter-gather run of $work/in.jsonl against
# $work/agents.txt into $work/out.jsonl, summary in $work/summary.json. Sets $run_rc, $run_start
# and $run_end (epoch seconds around mpiexec). Exit status 0 and 3 (some prompts failed) are runs;
# anything else, or an output with a line count other than the input's, ends the bench (exit 1).
run_scatter() {
  local ranks=$1
  shift
  rm -f "$work/out.jsonl" "$work/summary.json"
  run_start=$(date +%s.%N)
  run_rc=0
  mpiexec -n "$ranks" "$build/src/cli/aswarm-mpi" --pattern scatter-gather \
    --hostfile "$work/agents.txt" --input "$work/in.jsonl" --output "$work/out.jsonl" \
    --progress never --summary "$work/summary.json" "$@" > "$work/run.log" 2>&1 || run_rc=$?
  run_end=$(date +%s.%N)
  if [[ $run_rc -ne 0 && $run_rc -ne 3 ]] || [[ ! -s "$work/summary.json" ]] ||
    [[ $(wc -l < "$work/out.jsonl") -ne $(wc -l < "$work/in.jsonl") ]]; then
    tail -20 "$work/run.log" >&2
    echo "bench: broken run (exit $run_rc, $ranks ranks, args: $*)" >&2
    exit 1
  fi
}

# summary_field <key>: a top-level field of $work/summary.json
summary_field() {
  python3 -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$work/summary.json" "$1"
}
