#!/usr/bin/env bash
# Throughput of aswarm-mock-agent under wrk: requests/s for small chat completions sent to one
# port, then spread over 1,000 ports. Builds nothing.
#
# Usage: bench/mock/wrk_mock.sh <build-dir | path/to/aswarm-mock-agent> [seconds]
# Environment (defaults in brackets):
#   MOCK_THREADS    --threads of the mock [1]
#   WRK_THREADS     wrk threads for the 1-port run [1]
#   WRK_CONNECTIONS connections for the 1-port run [64]
#   PORTS           agents for the spread run [1000]
#   WRK_PROCS       concurrent wrk processes for the spread run [4]
#
# How 1,000 ports are loaded: wrk connects every connection of a thread to that thread's
# address, and its Lua setup(thread) hook may set thread.addr. chat.lua below gives each wrk
# thread its own port taken from the mock's hostfile, so WRK_PROCS wrk processes with
# PORTS/WRK_PROCS threads and one connection each put exactly one connection on every port.
# Their Requests/sec lines are summed; /metrics then confirms how many ports served requests.
set -euo pipefail

usage="usage: $0 <build-dir | path/to/aswarm-mock-agent> [seconds]"
target=${1:?$usage}
duration=${2:-5}
mock_threads=${MOCK_THREADS:-1}
wrk_threads=${WRK_THREADS:-1}
wrk_connections=${WRK_CONNECTIONS:-64}
spread_ports=${PORTS:-1000}
wrk_procs=${WRK_PROCS:-4}

if [[ -d $target ]]; then
  binary=$target/src/mock/aswarm-mock-agent
else
  binary=$target
fi
if [[ ! -x $binary ]]; then
  echo "$0: no aswarm-mock-agent at $binary (build the aswarm-mock-agent target first)" >&2
  exit 1
fi
command -v wrk >/dev/null || { echo "$0: wrk is not installed" >&2; exit 1; }
command -v curl >/dev/null || { echo "$0: curl is not installed" >&2; exit 1; }
if (( spread_ports % wrk_procs != 0 )); then
  echo "$0: PORTS ($spread_ports) must be a multiple of WRK_PROCS ($wrk_procs)" >&2
  exit 1
fi

workdir=$(mktemp -d)
mock_pid=""

stop_mock() {
  if [[ -n $mock_pid ]]; then
    kill -TERM "$mock_pid" 2>/dev/null || true
    wait "$mock_pid" || echo "$0: the mock exited with status $?" >&2
    mock_pid=""
  fi
}
cleanup() {
  stop_mock
  rm -rf "$workdir"
}
trap cleanup EXIT

cat >"$workdir/chat.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"mock-model","messages":[{"role":"user","content":"hello from wrk"}],"max_tokens":16}'

-- MOCK_HOSTFILE lines MOCK_FIRST .. MOCK_FIRST+MOCK_COUNT-1 give one port per wrk thread.
local ports = {}
local hostfile = os.getenv("MOCK_HOSTFILE")
local first = tonumber(os.getenv("MOCK_FIRST") or "1")
local count = tonumber(os.getenv("MOCK_COUNT") or "0")
if hostfile and count > 0 then
  local line_no = 0
  for line in io.lines(hostfile) do
    line_no = line_no + 1
    if line_no >= first and line_no < first + count then
      ports[#ports + 1] = line:match("^[^%s]*:(%d+)")
    end
  end
end

local threads = 0
function setup(thread)
  if #ports > 0 then
    threads = threads + 1
    thread.addr = wrk.lookup("127.0.0.1", ports[(threads - 1) % #ports + 1])[1]
  end
end
LUA

# Starts the mock with $1 agents and waits (at most 20 s) for its ready line.
start_mock() {
  "$binary" --count "$1" --port-base 0 --threads "$mock_threads" \
    --expected-connections "$(( $1 + wrk_connections ))" \
    --hostfile-out "$workdir/hostfile" >"$workdir/ready" 2>"$workdir/mock.err" &
  mock_pid=$!
  local tries=0
  until grep -q 'ready:' "$workdir/ready" 2>/dev/null; do
    tries=$(( tries + 1 ))
    if (( tries > 200 )) || ! kill -0 "$mock_pid" 2>/dev/null; then
      echo "$0: the mock did not become ready:" >&2
      cat "$workdir/mock.err" >&2
      exit 1
    fi
    sleep 0.1
  done
}

port_of_line() {
  sed -n "${1}p" "$workdir/hostfile" | sed -E 's/^[^ ]*:([0-9]+).*/\1/'
}

requests_per_second() {
  awk '/^Requests\/sec:/ { sum += $2 } END { printf "%.0f", sum }' "$@"
}

# One agent always runs on one event loop, so --threads only matters for the spread run.
echo "# $binary --threads $mock_threads; $(nproc) CPUs; ${duration}s per run"

start_mock 1
port=$(port_of_line 1)
wrk -t"$wrk_threads" -c"$wrk_connections" -d"${duration}s" -s "$workdir/chat.lua" \
  "http://127.0.0.1:$port/v1/chat/completions" >"$workdir/one.out"
grep -E 'Latency|Requests/sec|Non-2xx|Socket errors' "$workdir/one.out" | sed 's/^/#   /'
echo "1 port: $(requests_per_second "$workdir/one.out") requests/s" \
  "(wrk -t$wrk_threads -c$wrk_connections)"
stop_mock

start_mock "$spread_ports"
per_proc=$(( spread_ports / wrk_procs ))
port=$(port_of_line 1)
wrk_pids=()
for (( p = 0; p < wrk_procs; p++ )); do
  MOCK_HOSTFILE=$workdir/hostfile MOCK_FIRST=$(( p * per_proc + 1 )) MOCK_COUNT=$per_proc \
    wrk -t"$per_proc" -c"$per_proc" -d"${duration}s" -s "$workdir/chat.lua" \
    "http://127.0.0.1:$port/v1/chat/completions" >"$workdir/spread.$p.out" &
  wrk_pids+=("$!")
done
wait "${wrk_pids[@]}"
grep -hE 'Non-2xx|Socket errors' "$workdir"/spread.*.out | sed 's/^/#   /' || true
served=$(curl -s --noproxy '*' "http://127.0.0.1:$port/metrics" |
  grep -c 'route="/v1/chat/completions"' || true)
echo "$spread_ports ports: $(requests_per_second "$workdir"/spread.*.out) requests/s" \
  "($wrk_procs wrk x $per_proc threads, 1 connection per port; $served ports served requests)"
stop_mock
