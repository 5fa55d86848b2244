# Shared by the end-to-end scripts (sourced, not run):
#   <script> <mpiexec> <aswarm-mpi> <aswarm-mock-agent> <scratch dir> <case>
# Sets mpiexec, aswarm, mock, scratch, case_name; stops the mock on exit; provides fail,
# start_mock, requests and run. Every wait is bounded; ctest's TIMEOUT bounds the whole case.
# shellcheck shell=bash disable=SC2034  # the variables set here are read by the sourcing script

mpiexec=$1
aswarm=$2
mock=$3
scratch=$4/$5
case_name=$5
rm -rf "$scratch"
mkdir -p "$scratch"

mock_pid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  if [[ -n "$mock_pid" ]]; then kill "$mock_pid" 2> /dev/null || true; wait "$mock_pid" 2> /dev/null || true; fi
}
trap cleanup EXIT

fail() { echo "FAIL [$case_name]: $*" >&2; exit 1; }

# start_mock <args...>: starts the mock on OS-chosen ports; hostfile in $scratch/agents.txt.
start_mock() {
  "$mock" --port-base 0 --hostfile-out "$scratch/agents.txt" "$@" > "$scratch/mock.out" 2>&1 &
  mock_pid=$!
  for _ in $(seq 600); do  # 30 s: the suite runs 64-rank jobs on 2 cores next to this
    grep -q "ready" "$scratch/mock.out" 2> /dev/null && return 0
    kill -0 "$mock_pid" 2> /dev/null || break
    sleep 0.05
  done
  cat "$scratch/mock.out" >&2
  fail "mock did not start"
}

# requests: chat completions the mock received, all agents together. Scraped through the last
# agent: tests make low-numbered agents dead (503 on every route).
requests() {
  local last
  last=$(tail -n 1 "$scratch/agents.txt" | cut -d' ' -f1)
  curl -sf --retry 3 --retry-connrefused --max-time 10 "http://$last/metrics" |
    awk -v r='route="/v1/chat/completions"' \
      'index($0, "aswarm_mock_requests_total{") == 1 && index($0, r) { s += $2 } END { print s + 0 }'
}

# run <ranks> <aswarm args...>: sets rc, out, err. Extra flags for every run: run_flags.
run_flags=(--progress never)
run() {
  set +e
  "$mpiexec" -n "$1" "$aswarm" "${run_flags[@]}" "${@:2}" > "$scratch/stdout" 2> "$scratch/stderr"
  rc=$?
  set -e
  out=$(cat "$scratch/stdout")
  err=$(cat "$scratch/stderr")
}
