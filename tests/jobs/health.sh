#!/usr/bin/env bash
# aswarm-health as a job script runs it: real aswarm-mock-agent processes on 127.0.0.1, files on
# disk, exit codes, logs.
#   health.sh <aswarm-health> <aswarm-mock-agent> <scratch dir> <case>
# Every wait is bounded; ctest's TIMEOUT bounds the whole case.
set -euo pipefail

health=$1
mock=$2
case_name=$4
scratch=$3/$case_name
rm -rf "$scratch"
mkdir -p "$scratch"

pids=()
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
  done
}
trap cleanup EXIT

fail() {
  echo "FAIL [$case_name]: $*" >&2
  [[ -f "$scratch/err" ]] && sed 's/^/  stderr: /' "$scratch/err" >&2
  exit 1
}

# start_mock <name> <args...>: mock agents on OS-chosen ports; hostfile $scratch/<name>.txt.
start_mock() {
  local name=$1
  shift
  "$mock" --port-base 0 --hostfile-out "$scratch/$name.txt" "$@" > "$scratch/$name.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do
    grep -q "ready" "$scratch/$name.out" 2> /dev/null && return 0
    sleep 0.05
  done
  cat "$scratch/$name.out" >&2
  fail "mock $name did not start"
}

# A port where nothing listens: a mock's port after that mock has exited.
closed_port() {
  start_mock closed --count 1
  local pid=${pids[-1]}
  kill "$pid"
  wait "$pid" 2> /dev/null || true
  unset 'pids[-1]'
  cut -d' ' -f1 "$scratch/closed.txt" | cut -d: -f2
}

run() {  # run <aswarm-health args...>: sets $rc; stderr in $scratch/err
  set +e
  "$health" "$@" > "$scratch/out" 2> "$scratch/err"
  rc=$?
  set -e
}

# The endpoint lines of a hostfile, the seed's tab format (what aswarm-health writes) turned back
# into the mock's "host:port tag ..." form for comparison.
endpoints() { grep -v '^#' "$1" | sed -E 's/^([^\t:]+|\[[^]]+\])\t([0-9]+)/\1:\2/; s/\t/ /g'; }

fast=(--interval 0.1 --probe-timeout 2)

case $case_name in
  late-start)
    # Every server answers 503 for 1.5 s, then 200: the gate waits and ends as soon as all are up.
    start_mock a --count 4 --health-delay 1.5
    start=$(date +%s)
    run --hostfile "$scratch/a.txt" --output "$scratch/ready.txt" --settle 60 --timeout 60 "${fast[@]}"
    [[ $rc -eq 0 ]] || fail "rc=$rc"
    (($(date +%s) - start < 45)) || fail "did not finish early once all were healthy"
    diff <(endpoints "$scratch/ready.txt") "$scratch/a.txt" || fail "ready hostfile differs"
    # The seed's tab format: host, port, tags, tab-separated (its parser splits on tabs).
    [[ $(grep -cP '^127\.0\.0\.1\t[0-9]+(\t[a-z]+=[^\t]*)*$' "$scratch/ready.txt") -eq 4 ]] ||
      fail "ready hostfile is not in the seed's tab format: $(cat "$scratch/ready.txt")"
    grep -q "all healthy: 4 of 4" "$scratch/err" || fail "no 'all healthy' summary"
    [[ $(grep -c "healthy: 127.0.0.1:" "$scratch/err") -eq 4 ]] || fail "expected 4 'healthy:' lines"
    ;;
  never-healthy)
    # Nothing comes up (a closed port, a server answering 503): the deadline ends the wait.
    start_mock dead --count 1 --dead-agents 0
    { cat "$scratch/dead.txt"; echo "127.0.0.1:$(closed_port)"; } > "$scratch/hosts.txt"
    run --hostfile "$scratch/hosts.txt" --output "$scratch/ready.txt" --timeout 2 --settle 100 "${fast[@]}"
    [[ $rc -eq 1 ]] || fail "rc=$rc, expected 1"
    [[ -f "$scratch/ready.txt" ]] || fail "no output written"
    [[ -z $(endpoints "$scratch/ready.txt") ]] || fail "output lists endpoints"
    grep -q "deadline reached: 0 of 2" "$scratch/err" || fail "no deadline summary"
    grep -q "not healthy: .*HTTP 503" "$scratch/err" || fail "503 endpoint not logged"
    grep -qi "not healthy: .*connect" "$scratch/err" || fail "closed port not logged"
    ;;
  min-healthy)
    # 3 of 4 healthy: --min-healthy 3 and 75% pass, 4 and 80% fail; the output is written anyway.
    start_mock a --count 4 --dead-agents 2
    for want in 3:0 75%:0 4:1 80%:1; do
      run --hostfile "$scratch/a.txt" --output "$scratch/ready.txt" --settle 0.5 --timeout 30 \
        --min-healthy "${want%%:*}" "${fast[@]}"
      [[ $rc -eq ${want##*:} ]] || fail "--min-healthy ${want%%:*}: rc=$rc"
      [[ $(endpoints "$scratch/ready.txt" | wc -l) -eq 3 ]] || fail "expected 3 endpoints"
      grep -q "settle time over: 3 of 4" "$scratch/err" || fail "no settle summary"
    done
    grep -q "fewer than --min-healthy 80% (4)" "$scratch/err" || fail "no min-healthy error"
    grep -q "not healthy: 127.0.0.1:[0-9]* after [0-9]* probes: HTTP 503" "$scratch/err" ||
      fail "the dead agent's reason is not its 503"
    ;;
  late-hostfile)
    # The job writes the hostfile 1.5 s after aswarm-health started.
    start_mock a --count 2
    (sleep 1.5 && cp "$scratch/a.txt" "$scratch/late.tmp" && mv "$scratch/late.tmp" "$scratch/late.txt") &
    pids+=($!)
    run --hostfile "$scratch/late.txt" --timeout 60 --settle 60 "${fast[@]}"
    [[ $rc -eq 0 ]] || fail "rc=$rc"
    grep -q "waiting for the hostfile" "$scratch/err" || fail "did not wait for the hostfile"
    diff <(endpoints "$scratch/late.txt.ready") "$scratch/a.txt" || fail "default output differs"
    ;;
  no-hostfile)
    run --hostfile "$scratch/never.txt" --output "$scratch/ready.txt" --timeout 1 "${fast[@]}"
    [[ $rc -eq 3 ]] || fail "rc=$rc, expected 3"
    [[ ! -e "$scratch/ready.txt" ]] || fail "output written"
    grep -q "did not appear" "$scratch/err" || fail "no message"
    ;;
  path-prefix)
    # Servers behind a gateway (http://gw:port/agent/N): /health is probed under the base path
    # (the mock answers 404 anywhere else), and the ready hostfile keeps the URLs.
    start_mock a --count 3 --path-prefix /gw/agent --dead-agents 1
    grep -q '^http://127.0.0.1:[0-9]*/gw/agent$' "$scratch/a.txt" || fail "hostfile has no base paths"
    run --hostfile "$scratch/a.txt" --output "$scratch/ready.txt" --settle 0.5 --timeout 30 \
      --min-healthy 2 "${fast[@]}"
    [[ $rc -eq 0 ]] || fail "rc=$rc $(cat "$scratch/err")"
    diff <(endpoints "$scratch/ready.txt") <(sed -n '1p;3p' "$scratch/a.txt") || fail "ready hostfile differs"
    ;;
  tags-order)
    # Tags and order survive; unhealthy lines are dropped from the middle; the seed's tab format
    # and comments are read.
    start_mock a --count 4 --dead-agents 1,2
    mapfile -t lines < <(cut -d' ' -f1 "$scratch/a.txt")
    {
      echo "# written by a job"
      printf '%s\trole=critiques\tnode=x4000c0s0b0n1\n' "${lines[3]}"
      printf '%s role=hypotheses  # dead\n' "${lines[1]}"
      printf 'http://%s role=judge zone=\n' "${lines[0]}"
      printf '%s\n' "${lines[2]}"
      printf '%s role=hypotheses extra=a=b\n' "${lines[0]}"
    } > "$scratch/hosts.txt"
    run --hostfile "$scratch/hosts.txt" --output "$scratch/ready.txt" --settle 0.5 --timeout 30 "${fast[@]}"
    [[ $rc -eq 0 ]] || fail "rc=$rc"
    expected="${lines[3]} node=x4000c0s0b0n1 role=critiques
${lines[0]} role=judge zone=
${lines[0]} extra=a=b role=hypotheses"
    [[ $(endpoints "$scratch/ready.txt") == "$expected" ]] ||
      fail "got:
$(cat "$scratch/ready.txt")
expected:
$expected"
    ;;
  bad-hostfile)
    printf 'n1:8000\nn2:80x1 role=a\n' > "$scratch/bad.txt"
    run --hostfile "$scratch/bad.txt" --timeout 10 "${fast[@]}"
    [[ $rc -eq 2 ]] || fail "rc=$rc, expected 2"
    grep -q "aswarm-health: error: .*bad.txt:2: " "$scratch/err" || fail "no file:line error"
    ;;
  usage)
    run --hostfile x --min-healthy 120%
    [[ $rc -eq 2 ]] || fail "rc=$rc for 120%"
    grep -q "min-healthy" "$scratch/err" || fail "no --min-healthy message"
    run --hostfile x --settle 1e12
    [[ $rc -eq 2 ]] || fail "rc=$rc for --settle 1e12"
    run --hostfile x --output x
    [[ $rc -eq 2 ]] || fail "rc=$rc for --output == --hostfile"
    run --timeout 5
    [[ $rc -eq 2 ]] || fail "rc=$rc without --hostfile"
    AURORA_SWARM_HOSTFILE=$scratch/none.txt run --timeout 0.5
    [[ $rc -eq 3 ]] || fail "rc=$rc with AURORA_SWARM_HOSTFILE"
    run --help
    [[ $rc -eq 0 ]] || fail "rc=$rc for --help"
    grep -q "Exit status" "$scratch/out" || fail "--help does not document the exit status"
    ;;
  *) fail "unknown case" ;;
esac
echo "PASS [$case_name]"
