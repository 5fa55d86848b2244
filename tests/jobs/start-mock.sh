#!/usr/bin/env bash
# Stand-in for jobs/aurora/start-vllm.sh in the local job test (VLLM_START_SCRIPT): same
# arguments, MODEL PORT [PORT ...], but starts aswarm-mock-agent on those ports.
#   ASWARM_TEST_MOCK          the aswarm-mock-agent binary
#   MOCK_ARGS_NODE<i>         extra mock flags on node i (e.g. "--health-delay 2")
#   MOCK_FAIL_NODE=<i>        node i's "vLLM" fails at once (exit 1), as a bad node would
# ASWARM_NODE_INDEX is set by on-node.sh.
set -euo pipefail
model=$1
shift
node=${ASWARM_NODE_INDEX:?set by on-node.sh}
if [[ "${MOCK_FAIL_NODE:-}" == "$node" ]]; then
  echo "node $node: simulated start failure" >&2
  exit 1
fi
extra_var=MOCK_ARGS_NODE$node
extra=()
read -r -a extra <<< "${!extra_var:-}"
ports=$(IFS=,; echo "$*")
echo "node $node: mock agents on ports $ports"
# exec: the job's SIGTERM reaches the mock itself.
exec "${ASWARM_TEST_MOCK:?}" --ports "$ports" --model "$model" --mode fixed --text Jupiter \
  "${extra[@]}"
