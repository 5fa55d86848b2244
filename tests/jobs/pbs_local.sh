#!/usr/bin/env bash
# jobs/aurora/aswarm.pbs.sh run outside PBS, the whole flow on one machine:
#   - PBS_NODEFILE lists 127.0.0.1 once per simulated node (3 nodes); 127.0.0.1 resolves here,
#     and the script keeps IPv4 addresses whole (it shortens only host names);
#   - VLLM_START_SCRIPT=tests/jobs/start-mock.sh starts aswarm-mock-agent instead of vLLM;
#     ASWARM_NODE_PORT_STRIDE gives every "node" its own ports;
#   - Hydra's mpiexec replaces PALS, so the Aurora-only launcher flags are set to empty;
#   - the weights (a Hugging Face cache tree under $HF_HOME) are staged by aswarm-stage to one
#     directory per simulated node (ASWARM_STAGE_DIR=.../node-tmp/{node}); each node's start
#     script checks its copy against the source's checksums, and the job removes the copies;
#   - flow also starts an embedding server per node (VLLM_EMBED_MODEL) and uses blocks of roles.
#   pbs_local.sh <mpiexec> <aswarm-mpi> <aswarm-health> <aswarm-mock-agent> <scratch> <case> <aswarm-stage>
set -euo pipefail

mpiexec=$1
aswarm_mpi=$2
aswarm_health=$3
mock=$4
case_name=$6
aswarm_stage=$7
scratch=$5/$case_name
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rm -rf "$scratch"
mkdir -p "$scratch"

fail() {
  echo "FAIL [$case_name]: $*" >&2
  [[ -f "$scratch/job.out" ]] && sed 's/^/  job: /' "$scratch/job.out" >&2
  exit 1
}

nodes=3
servers=2
# A base with nodes*servers free ports, below Linux's ephemeral range (where the other tests'
# mocks get their OS-chosen ports).
embed_base_offset=$((nodes * servers))  # embedding ports: after the chat ports, node stride too
port_base=$(python3 - "$((2 * nodes * servers))" << 'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 32000 - n)
    try:
        socks = []
        for p in range(base, base + n):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", p))
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
else:
    sys.exit("no free port range")
PY
)
for ((i = 0; i < nodes; i++)); do echo 127.0.0.1; done > "$scratch/nodefile"

# The "shared file system": a Hugging Face cache with blobs and relative snapshot links.
hf=$scratch/hf
for m in mock-model mock-embed; do
  w=$hf/hub/models--mock-org--$m
  mkdir -p "$w/blobs" "$w/snapshots/abc" "$w/refs"
  head -c 300000 /dev/urandom > "$w/blobs/w1"
  echo "{\"model_type\": \"$m\"}" > "$w/blobs/c1"
  ln -s ../../blobs/w1 "$w/snapshots/abc/model.safetensors"
  ln -s ../../blobs/c1 "$w/snapshots/abc/config.json"
  echo abc > "$w/refs/main"
done
(cd "$hf/hub/models--mock-org--mock-model" && find . -type f -o -type l | sort | xargs sha256sum) \
  > "$scratch/weights.sha256"

# port_open <port>: something answers HTTP on 127.0.0.1:<port>.
port_open() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/health"; }

# Node 0: agent 1 is dead (503 forever). Node 1 starts late (503 on /health for 2 s).
# Node 2: its "vLLM" fails at once. So 3 of 6 servers can become healthy.
job_env=(
  PBS_NODEFILE="$scratch/nodefile" PBS_JOBID=4242.aurora-pbs PBS_O_WORKDIR="$scratch"
  ASWARM_HOME="$root" ASWARM_MPI="$aswarm_mpi" ASWARM_HEALTH="$aswarm_health"
  ASWARM_MPIEXEC="$mpiexec" ASWARM_MPIEXEC_FLAGS= ASWARM_VLLM_MPIEXEC_FLAGS=
  VLLM_START_SCRIPT="$root/tests/jobs/start-mock.sh" ASWARM_TEST_MOCK="$mock"
  VLLM_MODEL=mock-org/mock-model HF_HOME="$hf" ASWARM_STAGE_BIN="$aswarm_stage"
  ASWARM_STAGE_DIR="$scratch/node-tmp/{node}" ASWARM_STAGE_SIMULATE=1
  MOCK_EXPECT_WEIGHTS="$scratch/weights.sha256" VLLM_SERVERS_PER_NODE="$servers" VLLM_PORT_BASE="$port_base"
  ASWARM_NODE_PORT_STRIDE="$servers" ASWARM_RANKS_PER_NODE=1
  ASWARM_HEALTH_INTERVAL=0.2 ASWARM_HEALTH_SETTLE=8 ASWARM_HEALTH_TIMEOUT=60
  ASWARM_STOP_GRACE=20
  MOCK_ARGS_NODE0="--dead-agents 1" MOCK_ARGS_NODE1="--health-delay 2" MOCK_FAIL_NODE=2
  ASWARM_ARGS="--prompt 'What is the largest planet? One word.' --aggregate majority --timeout 20"
)
job() { env "${job_env[@]}" "$@" bash "$root/jobs/aurora/aswarm.pbs.sh" > "$scratch/job.out" 2>&1; }

run_dir=$scratch/aswarm-runs/4242
set +e
case $case_name in
  flow)
    job ASWARM_MIN_HEALTHY=3 ASWARM_ROLE_LAYOUT=blocks VLLM_EMBED_MODEL=mock-org/mock-embed \
      VLLM_EMBED_PORT=$((port_base + embed_base_offset))
    ;;
  gate-fails) job ASWARM_MIN_HEALTHY=4 ;;
  late-join)
    # scatter-gather starts with one healthy server; node 1's two come up about 2 s later and
    # must take part (100 ms answers, one at a time per server: the run lasts several seconds).
    python3 -c "
import json
with open('$scratch/in.jsonl', 'w') as f:
    for i in range(60): f.write(json.dumps('q%d' % i) + '\n')"
    job ASWARM_PATTERN=scatter-gather ASWARM_MIN_HEALTHY=1 \
      MOCK_ARGS_NODE0="--dead-agents 1 --latency fixed:100" MOCK_ARGS_NODE1="--health-delay 2 --latency fixed:100" \
      ASWARM_ARGS="--input $scratch/in.jsonl --per-agent-concurrency 1 --timeout 20"
    ;;
  terminated)
    # qdel/walltime: PBS sends SIGTERM to the whole job (its own session) while the gate waits.
    setsid env "${job_env[@]}" ASWARM_MIN_HEALTHY=3 ASWARM_HEALTH_SETTLE=100 \
      bash "$root/jobs/aurora/aswarm.pbs.sh" > "$scratch/job.out" 2>&1 &
    job_pid=$!
    for _ in $(seq 300); do
      grep -q "3 of 6 healthy" "$scratch/job.out" 2> /dev/null && break
      sleep 0.1
    done
    grep -q "3 of 6 healthy" "$scratch/job.out" || fail "the gate never saw 3 healthy servers"
    kill -TERM -- "-$job_pid"
    wait "$job_pid"
    ;;
  *) fail "unknown case" ;;
esac
rc=$?
set -e

if [[ $case_name == terminated ]]; then
  [[ $rc -eq 143 ]] || fail "job rc=$rc, expected 143"
  [[ ! -e "$run_dir/results.jsonl" ]] || fail "aswarm-mpi ran"
fi

# Whatever happened, every simulated server is gone and the per-node wrappers have ended.
for ((p = port_base; p < port_base + 2 * nodes * servers; p++)); do
  port_open "$p" && fail "port $p still answers after the job"
done
pgrep -f "on-node.sh $run_dir/logs" > /dev/null && fail "on-node.sh still running"

# Staging: one copy per simulated node, each node's servers found theirs intact (node 2 fails
# before it looks), and every copy is gone once the servers stopped.
copies=3
[[ $case_name == flow ]] && copies=6  # the embedding model too
[[ $(grep -c "files, .* bytes to $scratch/node-tmp/" "$run_dir/logs/stage.log") -eq $copies ]] ||
  fail "stage.log: $(cat "$run_dir/logs/stage.log")"
for i in 0 1; do
  grep -q "node $i: staged weights at $scratch/node-tmp/$i/hub/models--mock-org--mock-model match" \
    "$run_dir/logs/node$i".*.log || fail "node $i did not find its staged weights"
done
[[ -z "$(ls -A "$scratch/node-tmp")" ]] || fail "staged copies left: $(find "$scratch/node-tmp" | head -20)"

# role_of <j>: flow gives roles in blocks (3 + 3), the others round-robin.
role_of() {
  local role=hypotheses
  if [[ $case_name == flow ]]; then
    (($1 >= 3)) && role=critiques
  else
    (($1 % 2)) && role=critiques
  fi
  echo "$role"
}
# The hostfile: node order then port order, node and role tags.
expected=""
for ((j = 0; j < nodes * servers; j++)); do
  expected+="127.0.0.1:$((port_base + j)) node=127.0.0.1 role=$(role_of "$j")"$'\n'
done
[[ "$(grep -v '^#' "$run_dir/hostfile")"$'\n' == "$expected" ]] || fail "hostfile: $(cat "$run_dir/hostfile")"
# Every node has a log and a status: 0 and 1 were stopped by the job, 2 ended by itself.
for i in 0 1 2; do
  ls "$run_dir/logs/node$i".*.log > /dev/null || fail "no log of node $i"
done
grep -q '^stopped' "$run_dir/logs/node0.status" || fail "node 0 status"
grep -q '^stopped' "$run_dir/logs/node1.status" || fail "node 1 status"
[[ $(cat "$run_dir/logs/node2.status") == "early 1" ]] || fail "node 2 status"
grep -q "node 2 (127.0.0.1): vLLM start script ended by itself with code 1" "$scratch/job.out" ||
  fail "node 2's failure not reported"
[[ $case_name == terminated ]] && { echo "PASS [$case_name]"; exit 0; }  # checked above
grep -q "stopping the vLLM servers" "$scratch/job.out" || fail "servers not stopped by the job"

if [[ $case_name == late-join ]]; then
  [[ $rc -eq 0 ]] || fail "job rc=$rc"
  grep -q "late join: aswarm-mpi starts once 1 of 6 servers answer" "$scratch/job.out" || fail "no late-join line"
  python3 - "$run_dir/results.jsonl" "$port_base" << 'PY' || fail "results"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
base = int(sys.argv[2])
assert [l["index"] for l in lines] == list(range(60)), "order"
assert all(l["success"] for l in lines), [l["error"] for l in lines if not l["success"]]
late = {f"http://127.0.0.1:{p}" for p in (base + 2, base + 3)}
assert sum(l["endpoint"] in late for l in lines) > 0, "node 1's servers never answered"
assert all(l["endpoint"] != f"http://127.0.0.1:{base + 1}" for l in lines), "the dead server answered"
PY
  echo "PASS [$case_name]"
  exit 0
fi

# aswarm-health writes the seed's tab format (host, port, tags sorted).
healthy=""
for j in 0 2 3; do
  healthy+="127.0.0.1"$'\t'"$((port_base + j))"$'\t'"node=127.0.0.1"$'\t'"role=$(role_of "$j")"$'\n'
done
healthy=${healthy%$'\n'}
[[ "$(grep -v '^#' "$run_dir/hostfile.ready")" == "$healthy" ]] ||
  fail "hostfile.ready: $(cat "$run_dir/hostfile.ready")"

case $case_name in
  flow)
    [[ $rc -eq 0 ]] || fail "job rc=$rc"
    [[ $(wc -l < "$run_dir/results.jsonl") -eq 3 ]] || fail "expected 3 results"
    python3 - "$run_dir/results.jsonl" "$port_base" << 'PY' || fail "results"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
base = int(sys.argv[2])
assert [l["endpoint"] for l in lines] == [f"http://127.0.0.1:{p}" for p in (base, base + 2, base + 3)], lines
assert all(l["success"] and l["text"] == "Jupiter" for l in lines), lines
PY
    grep -q '"winner":"jupiter"' "$scratch/job.out" || fail "no aggregate in the job log"
    [[ -s "$run_dir/summary.json" ]] || fail "no summary"
    grep -q "aswarm-mpi succeeded" "$scratch/job.out" || fail "no success line"
    # One embedding server per node, role=embed, on the embedding ports; nodes 0 and 1 healthy.
    embed=""
    for i in 0 1 2; do embed+="127.0.0.1:$((port_base + embed_base_offset + i * servers)) node=127.0.0.1 role=embed"$'\n'; done
    [[ "$(grep -v '^#' "$run_dir/hostfile.embed")"$'\n' == "$embed" ]] || fail "hostfile.embed: $(cat "$run_dir/hostfile.embed")"
    # aswarm-health writes the ready file in the seed's tab format (host, port, sorted tags).
    ready=""
    for i in 0 1; do
      ready+="127.0.0.1"$'\t'"$((port_base + embed_base_offset + i * servers))"$'\t'"node=127.0.0.1"$'\t'"role=embed"$'\n'
    done
    [[ "$(grep -v '^#' "$run_dir/hostfile.embed.ready")"$'\n' == "$ready" ]] ||
      fail "hostfile.embed.ready: $(cat "$run_dir/hostfile.embed.ready")"
    grep -q "2 of 3 embedding servers healthy" "$scratch/job.out" || fail "no embedding gate line"
    grep -q "embedding mock $scratch/node-tmp\|embedding mock mock-org/mock-embed on port $((port_base + embed_base_offset))" \
      "$run_dir/logs/node0".*.log || fail "node 0 started no embedding server"
    ;;
  gate-fails)
    [[ $rc -eq 11 ]] || fail "job rc=$rc, expected 11 (aswarm-health exit 1)"
    [[ ! -e "$run_dir/results.jsonl" ]] || fail "aswarm-mpi ran"
    grep -q "health gate failed (aswarm-health exit 1)" "$scratch/job.out" || fail "no gate message"
    ;;
esac
echo "PASS [$case_name]"
