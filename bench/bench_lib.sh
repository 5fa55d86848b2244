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
