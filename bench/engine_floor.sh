#!/usr/bin/env bash
# The client's cost per request against a fast, neutral server (issue 21), in one run:
# nginx (Debian's nginx-light, one worker, started here on 1,000 loopback ports, answering every
# POST with one fixed chat-completion body) serves
#   1. wrk, 1 thread, 512 connections, one port, ASWARM_BENCH_SECONDS (default 5);
#   2. bench_curl_floor: a minimal curl-multi loop (libcurl's floor), round-robin over the
#      1,000 ports, 512 in flight, ASWARM_BENCH_REQUESTS (default 200,000): perform + poll (the
#      engine's loop), then socket_action + epoll;
#   3. bench_pool: AgentPool, the same requests and cap;
#   4. aswarm-mpi -n 1 --pattern scatter-gather: the same number of prompts from a file;
#   5. with a clone of the Python seed (ASWARM_SEED_GIT_DIR, its git directory): the seed's
#      AgentPool.send_all, concurrency 512, ASWARM_BENCH_SEED_REQUESTS (default 20,000), under
#      Debian's /usr/bin/python3 with python3-aiohttp.
# Each line: requests/s and the client's CPU (user + system, from getrusage of the process and
# its children: mpiexec's included for aswarm-mpi) per request. The server shares the 2 cores.
# ASWARM_BENCH_REPEAT runs of rows 2-5 (default 1), interleaved; the last lines give their medians
# and each client's CPU per request over the better curl loop's.
#   bash bench/engine_floor.sh [build-dir]
set -euo pipefail

build=${1:-build}
seconds=${ASWARM_BENCH_SECONDS:-5}
requests=${ASWARM_BENCH_REQUESTS:-200000}
ports=${ASWARM_BENCH_PORTS:-1000}
base=${ASWARM_BENCH_PORT_BASE:-31000}
# shellcheck source=bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x "$nginx_bin" ]] || { echo "bench: nginx not found (apt-get install nginx-light)" >&2; exit 1; }

# "text" as well, for the seed's /generate decoder; chat clients read "choices".
body='{"id":"c","object":"chat.completion","text":"ok","model":"mock-model","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":8,"completion_tokens":1,"total_tokens":9}}'
mkdir -p "$work/nginx"
{
  echo "worker_processes 1; daemon off; master_process off; pid $work/nginx/pid;"
  echo "error_log $work/nginx/error.log warn; worker_rlimit_nofile 8192;"
  echo "events { worker_connections 4096; }"
  echo "http { access_log off; keepalive_requests 100000000; keepalive_timeout 300s;"
  echo "  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx;"
  echo "  fastcgi_temp_path $work/nginx; uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;"
  echo "  server {"
  for ((p = base; p < base + ports; ++p)); do echo "    listen 127.0.0.1:$p;"; done
  echo "    location / { default_type application/json; return 200 '$body'; } } }"
} > "$work/nginx/nginx.conf"
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
# shellcheck disable=SC2317  # called by the EXIT trap
stop_nginx() { kill "$nginx_pid" 2> /dev/null || true; wait "$nginx_pid" 2> /dev/null || true; bench_cleanup; }
trap stop_nginx EXIT
for _ in $(seq 100); do
  curl -sf -o /dev/null -X POST "http://127.0.0.1:$((base + ports - 1))/v1/chat/completions" && break
  kill -0 "$nginx_pid" 2> /dev/null || { cat "$work/nginx/error.log" >&2; exit 1; }
  sleep 0.1
done
for ((p = base; p < base + ports; ++p)); do echo "127.0.0.1:$p"; done > "$work/agents.txt"

# cpu <command...>: runs it, prints its stdout, then "CPU <seconds>" of it and its children.
cpu() {
  python3 -c "
import resource, subprocess, sys
out = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, check=True).stdout.decode()
r = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stdout.write(out)
print('CPU %.6f' % (r.ru_utime + r.ru_stime))" "$@"
}
row() {  # row <label> <requests/s> <requests> <cpu seconds>
  awk -v l="$1" -v r="$2" -v n="$3" -v c="$4" \
    'BEGIN { printf "%-46s %9.0f requests/s  %6.1f us CPU/request\n", l, r, c / n * 1e6 }'
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "nginx $("$nginx_bin" -v 2>&1 | sed 's/.*nginx\///'), 1 worker, $ports loopback ports; $requests requests per client"

cat > "$work/post.lua" << 'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"mock-model","messages":[{"role":"user","content":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}],"max_tokens":16}'
LUA
out=$(cpu wrk -t 1 -c 512 -d "${seconds}s" -s "$work/post.lua" "http://127.0.0.1:$base/v1/chat/completions")
wrk_total=$(awk '/requests in/ {print $1}' <<< "$out")
wrk_rps=$(awk '/Requests\/sec/ {print $2}' <<< "$out")
row "wrk, 1 thread, 512 connections, 1 port" "$wrk_rps" "$wrk_total" "$(awk '/^CPU/ {print $2}' <<< "$out")"

# Rows 2-5 run ASWARM_BENCH_REPEAT times (default 1), interleaved: one run of each client
# varies by up to 1.5x here (the server and other tenants share the cores), so the ratios are
# taken from the medians. Each measure_* prints "<requests/s> <CPU seconds>".
first_line() { awk -v pat="$1" '$0 ~ pat {print $1; exit}'; }
measure_floor() {
  local out
  out=$(cpu "$build/bench/bench_curl_floor" --hostfile "$work/agents.txt" --requests "$requests" --concurrency 512 "$@")
  echo "$(first_line 'requests/s' <<< "$out") $(awk '/^CPU/ {print $2}' <<< "$out")"
}
measure_pool() {
  local out
  out=$(cpu "$build/bench/bench_pool" --hostfile "$work/agents.txt" --requests "$requests" --concurrency 512)
  echo "$(first_line 'requests/s' <<< "$out") $(awk '/^CPU/ {print $2}' <<< "$out")"
}
write_prompts "$requests" "$work/in.jsonl"
measure_mpi() {
  local out wall
  rm -f "$work/out.jsonl" "$work/summary.json"  # aswarm-mpi keeps an existing output (resume)
  out=$(AURORA_SWARM_MODEL_MAX_CONTEXT=32768 cpu mpiexec -n 1 "$build/src/cli/aswarm-mpi" \
    --pattern scatter-gather --hostfile "$work/agents.txt" --input "$work/in.jsonl" \
    --output "$work/out.jsonl" --model mock-model --concurrency 512 --progress never \
    --summary "$work/summary.json")
  wall=$(python3 -c "import json, sys; s = json.load(open(sys.argv[1])); assert s['ok'] == int(sys.argv[2]), s['ok']; print(s['wall_time_s'])" \
    "$work/summary.json" "$requests")
  echo "$(awk -v n="$requests" -v w="$wall" 'BEGIN {print n / w}') $(awk '/^CPU/ {print $2}' <<< "$out")"
}
labels=("curl-multi floor, $ports endpoints, cap 512" "curl socket_action + epoll floor, same"
  "bench_pool (AgentPool), $ports endpoints, cap 512" "aswarm-mpi -n 1 scatter-gather (whole process)")
repeat=${ASWARM_BENCH_REPEAT:-1}
results=("" "" "" "")  # per client: "<requests/s> <CPU seconds>" of each run, one per line
for ((run = 1; run <= repeat; ++run)); do
  ((repeat > 1)) && echo "run $run of $repeat"
  for k in 0 1 2 3; do
    case $k in
      0) m=$(measure_floor) ;;
      1) m=$(measure_floor --socket-action) ;;
      2) m=$(measure_pool) ;;
      3) m=$(measure_mpi) ;;
    esac
    results[k]+="$m"$'\n'
    row "${labels[k]}" "${m% *}" "$requests" "${m#* }"
  done
done
# Medians, and each client's CPU per request over the floor (the better of the two loops).
python3 - "$requests" "${labels[@]}" "${results[@]}" "$work/medians" << 'PY'
import statistics, sys
n = int(sys.argv[1])
labels, runs = sys.argv[2:6], sys.argv[6:10]
med = []
for label, text in zip(labels, runs):
    rows = [tuple(map(float, l.split())) for l in text.split('\n') if l.strip()]
    rps = statistics.median(r[0] for r in rows)
    us = statistics.median(r[1] / n * 1e6 for r in rows)
    med.append((label, rps, us))
if len(rows) > 1:
    print('medians of %d runs:' % len(rows))
    for label, rps, us in med:
        print('%-46s %9.0f requests/s  %6.1f us CPU/request' % (label, rps, us))
floor = min(med[0][2], med[1][2])
print('floor (better curl loop): %.1f us CPU/request; bench_pool %.2fx the floor, aswarm-mpi %.2fx' % (
    floor, med[2][2] / floor, med[3][2] / floor))
# requests/s of the faster curl loop and of aswarm-mpi, for the seed's ratio below
print('%.0f %.0f' % (max(med[0][1], med[1][1]), med[3][1]), file=open(sys.argv[10] + '.rps', 'w'))
PY

seed=${ASWARM_SEED_GIT_DIR:-}
if [[ -n "$seed" && -d "$seed" ]]; then
  seed_requests=${ASWARM_BENCH_SEED_REQUESTS:-20000}
  mkdir -p "$work/seed"
  git --git-dir="$seed" archive HEAD aurora_swarm | tar -x -C "$work/seed"
  # The seed's __init__ also imports its OpenAI-client pool (no Debian package); pool.py needs
  # only aiohttp, so an empty __init__ loads the seed's AgentPool unchanged.
  : > "$work/seed/aurora_swarm/__init__.py"
  cat > "$work/seed.py" << 'PY'
import asyncio, sys, time
from aurora_swarm.pool import AgentPool
eps = [(l.split(":")[0], int(l.split(":")[1])) for l in open(sys.argv[1])]
n = int(sys.argv[2])
async def main():
    async with AgentPool(eps, concurrency=512) as pool:
        t0 = time.perf_counter()
        rs = await pool.send_all([f"p{i}" for i in range(n)])
        return rs, time.perf_counter() - t0
rs, wall = asyncio.run(main())
assert sum(r.success for r in rs) == n, [r.error for r in rs if not r.success][:3]
print(f"{n / wall:.0f} requests/s")
PY
  out=$(PYTHONPATH="$work/seed" cpu /usr/bin/python3 "$work/seed.py" "$work/agents.txt" "$seed_requests")
  row "Python seed AgentPool.send_all, concurrency 512" "$(awk '/requests\/s/ {print $1; exit}' <<< "$out")" \
    "$seed_requests" "$(awk '/^CPU/ {print $2}' <<< "$out")"
  read -r floor_rps mpi_rps < "$work/medians.rps"
  awk -v s="$(awk '/requests\/s/ {print $1; exit}' <<< "$out")" -v f="$floor_rps" -v m="$mpi_rps" \
    'BEGIN { printf "requests/s over the seed'"'"'s: aswarm-mpi -n 1 %.1fx, the curl floor %.1fx\n", m / s, f / s }'
else
  echo "(no seed row: set ASWARM_SEED_GIT_DIR to a brettin/Aurora-Swarm clone's git directory)"
fi
