#!/usr/bin/env bash
# AgentPool vs wrk against the same aswarm-mock-agent, in one run (issue 4's benchmark).
#   bash bench/pool_vs_wrk.sh [build-dir]        (default: ./build; needs bench_pool, the mock, wrk)
#
# 1. One mock process serving 1,000 agents (single event loop, no latency).
# 2. wrk: 512 keep-alive connections POSTing the same small chat request to one of its ports for
#    ASWARM_WRK_SECONDS (default 5). wrk aims one process at one URL; the server's event loop is
#    shared by all its ports, so this measures what the server can answer.
# 3. bench_pool: 100,000 requests round-robin over all 1,000 ports, in-flight cap 512.
# 4. Memory: bench_pool against 4,000 agents, and peak RSS for 10,000 vs 1,000,000 requests.
set -euo pipefail

build=${1:-build}
pool=$build/bench/bench_pool
wrk_seconds=${ASWARM_WRK_SECONDS:-5}
big=${ASWARM_BENCH_BIG:-1000000}
# shellcheck source=bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"mock-model","messages":[{"role":"user","content":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}],"max_tokens":16}'
LUA

echo "== 1,000 agents: wrk vs AgentPool (same server, same request)"
start_mock --count 1000
first=$(head -n 1 "$work/agents.txt" | cut -d' ' -f1)
wrk_out=$(wrk -t 2 -c 512 -d "${wrk_seconds}s" -s "$work/post.lua" "http://$first/v1/chat/completions")
wrk_rps=$(awk '/Requests\/sec/ {print $2}' <<< "$wrk_out")
echo "wrk: 1 port, 512 connections, ${wrk_seconds} s"
grep -E "Latency|Requests/sec" <<< "$wrk_out" | sed 's/^/  /'
pool_out=$("$pool" --hostfile "$work/agents.txt" --requests 100000 --concurrency 512)
echo "$pool_out"
pool_rps=$(awk '/requests\/s/ {print $1; exit}' <<< "$pool_out")
awk -v p="$pool_rps" -v w="$wrk_rps" 'BEGIN { printf "ratio pool/wrk: %.2f (target >= 0.50)\n", p / w }'
stop_mock

echo
echo "== 4,000 agents: memory"
start_mock --count 4000
"$pool" --hostfile "$work/agents.txt" --requests 10000 --label "pool 10k" | grep -E "pool|RSS|requests/s"
"$pool" --hostfile "$work/agents.txt" --requests "$big" --label "pool $big" | grep -E "pool|RSS|requests/s"
stop_mock
