#!/usr/bin/env bash
# Runs on every node of the job (aswarm.pbs.sh launches it once per node with `mpiexec -ppn 1`):
# works out this node's ports, runs the vLLM start script with its output in a per-node log, and
# stops it when the job sends SIGTERM.
#
#   on-node.sh LOG_DIR PORT_BASE SERVERS PORT_STRIDE START_SCRIPT MODEL
#
# Node i serves ports PORT_BASE + i*PORT_STRIDE + k for k < SERVERS. On Aurora the stride is 0
# (every node uses the same ports); a test that simulates several nodes on one machine sets it
# to SERVERS so that the "nodes" do not collide.
#
# If the start script ends by itself (vLLM crashed, a bad model path), this wrapper records its
# exit code and stays alive until the job stops it: a rank that exits non-zero makes mpiexec
# kill every other node's servers, and one bad node must not take the whole swarm down (the
# health gate leaves its endpoints out). The status file LOG_DIR/node<i>.status says
# "early <code>" (ended by itself) or "stopped <code>" (stopped by the job).
set -uo pipefail

if (($# != 6)); then
  echo "usage: on-node.sh LOG_DIR PORT_BASE SERVERS PORT_STRIDE START_SCRIPT MODEL" >&2
  exit 2
fi
log_dir=$1 port_base=$2 servers=$3 stride=$4 start_script=$5 model=$6

# With -ppn 1 the rank is the node's index in $PBS_NODEFILE order (PALS on Aurora, Hydra here).
node=${PALS_RANKID:-${PMI_RANK:-${PMIX_RANK:-0}}}
host=$(hostname -s 2> /dev/null || hostname)
ports=()
for ((k = 0; k < servers; k++)); do
  ports+=($((port_base + node * stride + k)))
done
export ASWARM_NODE_INDEX=$node ASWARM_NODE_LOG_DIR=$log_dir
# The job's per-node values: "{node}" becomes this node's index (several simulated nodes share a
# machine in the tests; on Aurora the paths have none). Staged weights: HF_HOME is the copy.
model=${model//\{node\}/$node}
stage_dir=${ASWARM_NODE_STAGE_DIR:-}
stage_dir=${stage_dir//\{node\}/$node}
if [[ -n "$stage_dir" ]]; then
  export HF_HOME=$stage_dir
fi
if [[ -n "${ASWARM_SERVE_EMBED_MODEL:-}" ]]; then
  export ASWARM_SERVE_EMBED_MODEL=${ASWARM_SERVE_EMBED_MODEL//\{node\}/$node}
  export ASWARM_NODE_EMBED_PORT=$((${VLLM_EMBED_PORT:?set by the job} + node * stride))
fi
# The node's copies of the weights go once its servers have ended (node-local /tmp is memory):
# only what the job staged (ASWARM_NODE_STAGED, paths under the stage directory), then the
# directories left empty, never anything else a user's ASWARM_STAGE_DIR may hold.
remove_stage() {
  [[ -n "$stage_dir" ]] || return 0
  # Signals ignored: the launcher forwards the job's SIGTERM to the whole process group, rm too.
  # When stopping, ignore them here already: a subshell starts with the default disposition,
  # and a second SIGTERM (the launcher's forward after PBS's own) arriving before its `trap`
  # ran killed it and left the node's copy behind. Nothing is lost: we exit after this. Not on
  # the early path (the start script ended by itself): there the wrapper waits for the stop
  # signal afterwards and must not miss it; a signal in that short window can still leave the
  # copy, as before.
  ((stopping)) && trap '' TERM INT HUP
  (
    trap '' TERM INT HUP
    for rel in ${ASWARM_NODE_STAGED:-}; do
      [[ $rel != *..* ]] && rm -rf "${stage_dir:?}/$rel"
    done
    rmdir "$stage_dir/hub" "$stage_dir" 2> /dev/null
  )
  return 0
}

status_file=$log_dir/node$node.status
node_log=$log_dir/node$node.$host.log
child=""
keepalive=""
stopping=0
# shellcheck disable=SC2317  # called by the traps
on_signal() {
  stopping=1
  [[ -n "$child" ]] && kill -TERM "$child" 2> /dev/null
  [[ -n "$keepalive" ]] && kill -TERM "$keepalive" 2> /dev/null
  return 0
}
trap on_signal TERM INT HUP

echo "$(date '+%F %T') node $node ($host): $start_script $model ${ports[*]}" > "$node_log"
"$start_script" "$model" "${ports[@]}" >> "$node_log" 2>&1 &
child=$!
((stopping)) && kill -TERM "$child" 2> /dev/null  # a signal that came before child was set
# `wait` returns early when a signal arrives; wait again until the start script has ended.
while :; do
  wait "$child"
  code=$?
  kill -0 "$child" 2> /dev/null || break
done

remove_stage
if ((stopping)); then
  echo "stopped $code" > "$status_file"
  exit 0
fi
echo "early $code" > "$status_file"
echo "$(date '+%F %T') node $node: start script ended by itself with code $code" >> "$node_log"
sleep infinity &
keepalive=$!
while ((!stopping)); do wait "$keepalive"; done
kill "$keepalive" 2> /dev/null  # a signal that came before keepalive was set
exit 0
