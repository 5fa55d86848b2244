#!/usr/bin/env bash
# Stand-in for jobs/aurora/start-vllm.sh in the local job test (VLLM_START_SCRIPT): same
# arguments, MODEL PORT [PORT ...], but starts aswarm-mock-agent on those ports.
#   ASWARM_TEST_MOCK          the aswarm-mock-agent binary
#   MOCK_ARGS_NODE<i>         extra mock flags on node i (e.g. "--health-delay 2")
#   MOCK_FAIL_NODE=<i>        node i's "vLLM" fails at once (exit 1), as a bad node would
#   MOCK_EXPECT_WEIGHTS       a sha256sum list: the staged model under $HF_HOME must match it
#   ASWARM_SERVE_EMBED_MODEL, ASWARM_NODE_EMBED_PORT  also a mock embedding server (on-node.sh)
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
# Staging: the job copied the weights to this node's directory (HF_HOME); a node whose copy is
# missing or differs from the source fails as vLLM would.
if [[ -n "${MOCK_EXPECT_WEIGHTS:-}" ]]; then
  weights=$HF_HOME/hub/models--${model//\//--}
  (cd "$weights" && sha256sum -c --quiet "$MOCK_EXPECT_WEIGHTS") ||
    { echo "node $node: staged weights at $weights do not match" >&2; exit 1; }
  echo "node $node: staged weights at $weights match"
fi
ports=$(IFS=,; echo "$*")
echo "node $node: mock agents on ports $ports"
pids=()
# shellcheck disable=SC2317  # called by the traps
stop() {
  kill -TERM "${pids[@]}" 2> /dev/null
  return 0
}
trap stop TERM INT HUP
"${ASWARM_TEST_MOCK:?}" --ports "$ports" --model "$model" --mode fixed --text Jupiter \
  "${extra[@]}" &
pids+=($!)
if [[ -n "${ASWARM_SERVE_EMBED_MODEL:-}" ]]; then
  echo "node $node: embedding mock $ASWARM_SERVE_EMBED_MODEL on port $ASWARM_NODE_EMBED_PORT"
  "$ASWARM_TEST_MOCK" --ports "$ASWARM_NODE_EMBED_PORT" --model "$ASWARM_SERVE_EMBED_MODEL" --mode echo &
  pids+=($!)
fi
# As start-vllm.sh: wait for every server (again after a signal); the status is the first failure.
status=0
for pid in "${pids[@]}"; do
  while :; do
    code=0
    wait "$pid" || code=$?
    kill -0 "$pid" 2> /dev/null || break
  done
  ((status == 0 && code != 0)) && status=$code
done
exit "$status"
