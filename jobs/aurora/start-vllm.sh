#!/usr/bin/env bash
# Starts one vLLM OpenAI-compatible server per port on this Aurora node and keeps them running
# until SIGTERM (the job's end). Launched on every node by on-node.sh; usable by hand too.
#
#   start-vllm.sh MODEL PORT [PORT ...]
#
# MODEL is a Hugging Face name (openai/gpt-oss-120b) found under $HF_HOME, or a local path.
# Server k gets VLLM_TP GPU tiles of its own: tiles k*VLLM_TP .. k*VLLM_TP+VLLM_TP-1 of the
# node's 12 (6 GPUs x 2 tiles, ZE_FLAT_DEVICE_HIERARCHY=FLAT).
#
# Environment (defaults in brackets):
#   VLLM_TP            tensor-parallel size per server [largest power of 2 <= 12 / servers]
#   VLLM_EXTRA_ARGS    extra `vllm serve` flags, e.g. "--max-model-len 32768" []
#   VLLM_ENV_SCRIPT    file sourced to get `vllm` on PATH (a conda env's activate, ...);
#                      empty: `module load frameworks` []
#   HF_HOME            where the weights are [/flare/datasets/model-weights]
#   ASWARM_NODE_LOG_DIR  directory of the per-server logs (set by on-node.sh) [/tmp]
#   ASWARM_NO_PROXY_EXTRA  more no_proxy entries, comma-separated []
#   VLLM_ENFORCE_EAGER   1: --enforce-eager, as ALCF's examples (no graph capture on XPU) [1]
#   VLLM_CACHE_LOCAL     1: VLLM_CACHE_ROOT on node-local /tmp, seeded with a copy of the
#                        shared cache (its model-info cache included) [0: leave it as set]
#   ASWARM_SERVE_EMBED_MODEL, ASWARM_NODE_EMBED_PORT  an embedding server on this node (set by
#                        on-node.sh from VLLM_EMBED_MODEL / VLLM_EMBED_PORT) []
#   VLLM_EMBED_TP        its tiles, after the chat servers' [1]
#   VLLM_EMBED_ARGS      its extra `vllm serve` flags ["--task embed"]
set -euo pipefail

if (($# < 2)); then
  echo "usage: start-vllm.sh MODEL PORT [PORT ...]" >&2
  exit 2
fi
model=$1
shift
ports=("$@")
servers=${#ports[@]}
tiles_per_node=12
host=$(hostname -s 2> /dev/null || hostname)
log_dir=${ASWARM_NODE_LOG_DIR:-/tmp}
say() { echo "$(date '+%F %T') $host: $*"; }

embed_model=${ASWARM_SERVE_EMBED_MODEL:-}
embed_tp=0
[[ -n "$embed_model" ]] && embed_tp=${VLLM_EMBED_TP:-1}
chat_tiles=$((tiles_per_node - embed_tp))  # the embedding server takes the last tiles
if [[ -z "${VLLM_TP:-}" ]]; then
  VLLM_TP=1
  while ((VLLM_TP * 2 * servers <= chat_tiles)); do VLLM_TP=$((VLLM_TP * 2)); done
fi
if ((VLLM_TP * servers > chat_tiles)); then
  say "error: $servers servers x VLLM_TP=$VLLM_TP tiles (+ $embed_tp for embeddings) exceed the node's $tiles_per_node tiles" >&2
  exit 2
fi

# Software. `module` is a shell function that non-interactive shells may lack.
if [[ -n "${VLLM_ENV_SCRIPT:-}" ]]; then
  # shellcheck disable=SC1090  # chosen by the user
  source "$VLLM_ENV_SCRIPT"
elif ! command -v vllm > /dev/null 2>&1; then
  if ! command -v module > /dev/null 2>&1 && [[ -f /etc/profile.d/modules.sh ]]; then
    # shellcheck disable=SC1091
    source /etc/profile.d/modules.sh
  fi
  module load frameworks
fi
command -v vllm > /dev/null 2>&1 || { say "error: vllm is not on PATH (set VLLM_ENV_SCRIPT)" >&2; exit 127; }

# Node-to-node traffic must never go through the ALCF proxy that http_proxy points to on compute
# nodes; the weights are read from the file system, never downloaded.
no_proxy="localhost,127.0.0.1,::1,$host,$(hostname),.alcf.anl.gov${ASWARM_NO_PROXY_EXTRA:+,$ASWARM_NO_PROXY_EXTRA}"
export no_proxy NO_PROXY=$no_proxy
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export HF_HOME=${HF_HOME:-/flare/datasets/model-weights}
export TMPDIR=/tmp RAY_TMPDIR=/tmp
# VLLM_CACHE_ROOT stays where the environment (ALCF's frameworks module, or the user) put it:
# moving it to an empty /tmp loses vLLM's model-info cache, and vLLM then fails to start on
# compute nodes (an ALCF known issue). VLLM_CACHE_LOCAL=1 moves it to /tmp with a copy of the
# shared cache, so nothing is lost and the compile caches are written node-locally.
if [[ "${VLLM_CACHE_LOCAL:-0}" == 1 ]]; then
  shared_cache=${VLLM_CACHE_ROOT:-$HOME/.cache/vllm}
  local_cache=/tmp/vllm-cache-${USER:-$(id -un)}
  mkdir -p "$local_cache"
  [[ -d "$shared_cache" ]] && cp -a "$shared_cache/." "$local_cache/"
  export VLLM_CACHE_ROOT=$local_cache
fi
# Intel GPUs: one device per tile; oneCCL must not start its own launcher inside vLLM's workers.
export ZE_FLAT_DEVICE_HIERARCHY=FLAT CCL_PROCESS_LAUNCHER=None
export VLLM_WORKER_MULTIPROC_METHOD=spawn FI_MR_CACHE_MONITOR=userfaultfd
export TOKENIZERS_PARALLELISM=false
unset ONEAPI_DEVICE_SELECTOR
# vLLM's own distributed traffic goes over the high-speed network when the name resolves.
hsn_ip=$(getent hosts "$host.hsn.cm.aurora.alcf.anl.gov" | awk '{ print $1; exit }' || true)
[[ -n "$hsn_ip" ]] && export VLLM_HOST_IP=$hsn_ip

extra=()
read -r -a extra <<< "${VLLM_EXTRA_ARGS:-}"
[[ "${VLLM_ENFORCE_EAGER:-1}" == 1 ]] && extra=(--enforce-eager "${extra[@]}")
embed_extra=()
read -r -a embed_extra <<< "${VLLM_EMBED_ARGS---task embed}"

pids=()
# shellcheck disable=SC2317  # called by the traps
stop() {
  say "stopping ${#pids[@]} vLLM server(s)"
  ((${#pids[@]})) && kill -TERM "${pids[@]}" 2> /dev/null
  return 0
}
trap stop TERM INT HUP

for ((k = 0; k < servers; k++)); do
  port=${ports[k]}
  first=$((k * VLLM_TP))
  mask=$(seq -s, "$first" $((first + VLLM_TP - 1)))
  server_log=$log_dir/vllm.$host.$port.log
  say "vLLM $model on port $port, tiles $mask (tensor-parallel $VLLM_TP), log $server_log"
  ZE_AFFINITY_MASK=$mask vllm serve "$model" --port "$port" \
    --tensor-parallel-size "$VLLM_TP" --distributed-executor-backend mp \
    --dtype bfloat16 --trust-remote-code "${extra[@]}" > "$server_log" 2>&1 &
  pids+=($!)
done
if [[ -n "$embed_model" ]]; then
  port=${ASWARM_NODE_EMBED_PORT:?set by on-node.sh}
  first=$((tiles_per_node - embed_tp))
  mask=$(seq -s, "$first" $((tiles_per_node - 1)))
  server_log=$log_dir/vllm.$host.$port.log
  say "vLLM embeddings $embed_model on port $port, tiles $mask, log $server_log"
  ZE_AFFINITY_MASK=$mask vllm serve "$embed_model" --port "$port" \
    --tensor-parallel-size "$embed_tp" --distributed-executor-backend mp \
    --dtype bfloat16 --trust-remote-code "${embed_extra[@]}" > "$server_log" 2>&1 &
  pids+=($!)
fi

# Wait for every server (a signal interrupts `wait`: wait again until each has ended); the
# script's status is the first failure.
status=0
for pid in "${pids[@]}"; do
  while :; do
    code=0
    wait "$pid" || code=$?
    kill -0 "$pid" 2> /dev/null || break
  done
  say "vLLM server (pid $pid) ended with code $code"
  ((status == 0 && code != 0)) && status=$code
done
exit "$status"
