#!/usr/bin/env bash
# Prompts per second of aswarm's Python API against the Python seed (brettin/Aurora-Swarm's
# AgentPool, aiohttp), on the same aswarm-mock-agent agents in one run, with Debian's
# /usr/bin/python3 for both. Both send ASWARM_BENCH_PROMPTS prompts (default 20,000) with
# send_all (prompt i -> agent i mod N) over the seed's base protocol (POST /generate) to
# ASWARM_BENCH_AGENTS agents (default 8) at concurrency 512 (the seed's default). The mock
# answers at once, so this measures each client's own cost per prompt. Each side runs twice;
# the better run counts. The seed's code comes from a local clone (its git directory).
#   bash bench/python_vs_seed.sh [build-dir] [seed-git-dir]
set -euo pipefail
shopt -s inherit_errexit

build=${1:-build}
seed=${2:-${ASWARM_SEED_GIT_DIR:-}}
prompts=${ASWARM_BENCH_PROMPTS:-20000}
agents=${ASWARM_BENCH_AGENTS:-8}
python=/usr/bin/python3
[[ -d "$seed" ]] || { echo "usage: $0 [build-dir] <seed git dir> (a brettin/Aurora-Swarm clone)" >&2; exit 2; }
# shellcheck source=bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

mkdir -p "$work/seed"
git --git-dir="$seed" archive HEAD aurora_swarm | tar -x -C "$work/seed"
# The seed's package __init__ only re-exports, but also imports VLLMPool and so the openai
# client, which Debian does not package; pool.py itself needs only aiohttp. An empty __init__
# lets `from aurora_swarm.pool import AgentPool` load the seed's pool code unchanged.
: > "$work/seed/aurora_swarm/__init__.py"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
start_mock --count "$agents" --threads "${ASWARM_BENCH_MOCK_THREADS:-2}"

cat > "$work/run.py" << 'PY'
import asyncio, sys, time
which, hostfile, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
eps = []
for line in open(hostfile):
    host, port = line.split()[0].rsplit(":", 1)
    eps.append((host, int(port)))
prompts = [f"prompt {i}" for i in range(n)]
if which == "aswarm":
    import aswarm
    pool = aswarm.AgentPool(eps, protocol="generate", concurrency=512, retries=0)
    pool.post(0, "warm-up")
    t0, c0 = time.perf_counter(), time.process_time()
    rs = pool.send_all(prompts)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
else:
    from aurora_swarm.pool import AgentPool
    async def main():
        async with AgentPool(eps, concurrency=512) as pool:
            await pool.post(0, "warm-up")
            t0, c0 = time.perf_counter(), time.process_time()
            rs = await pool.send_all(prompts)
            return rs, time.perf_counter() - t0, time.process_time() - c0
    rs, wall, cpu = asyncio.run(main())
ok = sum(r.success for r in rs)
assert ok == n and rs[7].text.endswith("prompt 7"), (ok, rs[0])
print(f"{wall:.3f} {n / wall:.0f} {cpu / n * 1e6:.1f}")
PY

best() {  # best() <label> <PYTHONPATH>: runs twice, prints the faster run
  local a b
  a=$(PYTHONPATH=$2 "$python" "$work/run.py" "$1" "$work/agents.txt" "$prompts")
  b=$(PYTHONPATH=$2 "$python" "$work/run.py" "$1" "$work/agents.txt" "$prompts")
  if (($(cut -d' ' -f2 <<< "$a") >= $(cut -d' ' -f2 <<< "$b"))); then echo "$a"; else echo "$b"; fi
}
aswarm=$(best aswarm "$build/python")
seed_run=$(best seed "$work/seed")
row() { read -r wall rate cpu <<< "$2"; printf '%-8s %-8s %-8s %-10s %s\n' "$1" "$prompts" "$wall" "$rate" "$cpu"; }
printf '%-8s %-8s %-8s %-10s %s\n' client prompts wall_s prompts/s client_cpu_us/prompt
row aswarm "$aswarm"
row seed "$seed_run"
# prompts/s share the two cores with the mock; CPU per prompt is the client process's own cost
# (process_time: all its threads), what "per process" means when the server is the limit.
awk -v a="$aswarm" -v s="$seed_run" 'BEGIN { split(a, x, " "); split(s, y, " ");
  printf "speed-up: %.1fx prompts/s, %.1fx less client CPU per prompt\n", x[2] / y[2], y[3] / x[3] }'
