#!/bin/bash -l
#PBS -N aswarm
#PBS -A YOUR_PROJECT
#PBS -q debug-scaling
#PBS -l select=2
#PBS -l walltime=01:00:00
#PBS -l filesystems=home:flare
#PBS -l place=scatter
#PBS -j oe
#PBS -k doe
#
# An aswarm job on Aurora: start vLLM on every node, wait until enough servers answer /health,
# run aswarm-mpi on the healthy ones, stop the servers however the job ends.
#
#   qsub -A <project> -l select=<nodes> [-v VAR=value,...] jobs/aurora/aswarm.pbs.sh
#
# Run qsub from the repository root (or set ASWARM_HOME): PBS runs a copy of this file, so the
# repository is found through $PBS_O_WORKDIR. Every setting below is an environment variable
# with a default; pass it with `qsub -v`, or edit the default here. jobs/aurora/README.md has
# the details, the build on Aurora, and the exit codes.
set -euo pipefail

# A login shell (bash -l, as ALCF's examples): `module` and the default programming environment
# are set up; -k doe writes the job's output straight to its final place while it runs.

# ---- where things are --------------------------------------------------------------------
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Relative paths in the variables and in ASWARM_ARGS are relative to where qsub ran (PBS
# starts jobs in $HOME).
cd "${PBS_O_WORKDIR:-$PWD}"
if [[ -z "${ASWARM_HOME:-}" ]]; then
  if [[ -f "${PBS_O_WORKDIR:-}/jobs/aurora/on-node.sh" ]]; then
    ASWARM_HOME=$PBS_O_WORKDIR
  else
    ASWARM_HOME=$here/../..
  fi
fi
ASWARM_HOME=$(cd "$ASWARM_HOME" && pwd)
build=${ASWARM_BUILD_DIR:-$ASWARM_HOME/build}
aswarm_mpi=${ASWARM_MPI:-$build/src/cli/aswarm-mpi}        # or <prefix>/bin/aswarm-mpi
aswarm_health=${ASWARM_HEALTH:-$build/src/health/aswarm-health}
aswarm_stage=${ASWARM_STAGE_BIN:-$build/src/stage/aswarm-stage}
run_id=${PBS_JOBID:-local-$(date +%Y%m%d-%H%M%S)-$$}
run_dir=${ASWARM_RUN_DIR:-${PBS_O_WORKDIR:-$PWD}/aswarm-runs/${run_id%%.*}}

# ---- the servers -------------------------------------------------------------------------
model=${VLLM_MODEL:-openai/gpt-oss-120b}
servers_per_node=${VLLM_SERVERS_PER_NODE:-1}        # ports VLLM_PORT_BASE, +1, ...
port_base=${VLLM_PORT_BASE:-8000}
port_stride=${ASWARM_NODE_PORT_STRIDE:-0}            # node i adds i*stride (tests only)
start_script=${VLLM_START_SCRIPT:-$ASWARM_HOME/jobs/aurora/start-vllm.sh}
host_suffix=${ASWARM_HOST_SUFFIX:-}                  # e.g. .hsn.cm.aurora.alcf.anl.gov
roles=${ASWARM_ROLES-hypotheses,critiques}           # role tags; empty: none
role_layout=${ASWARM_ROLE_LAYOUT:-round-robin}       # round-robin or blocks (the seed's)
# Optional second model per node: an embedding server (role=embed) on its own port and tiles,
# listed in hostfile.embed (aswarm-mpi's run uses the chat servers of hostfile).
embed_model=${VLLM_EMBED_MODEL:-}
embed_port=${VLLM_EMBED_PORT:-$((port_base + 100))}
# Staging: copy the weights to node-local storage with one read of the shared file system
# (aswarm-stage: rank 0 reads, MPI_Bcast to one writer per node). {node} = node index.
stage=${ASWARM_STAGE:-1}
stage_dir=${ASWARM_STAGE_DIR:-/tmp/aswarm-weights-${run_id%%.*}}
stage_simulate=${ASWARM_STAGE_SIMULATE:-0}            # tests: the "nodes" share one machine

# ---- the health gate (aswarm-health) -----------------------------------------------------
health_timeout=${ASWARM_HEALTH_TIMEOUT:-1800}        # overall deadline, s
health_settle=${ASWARM_HEALTH_SETTLE:-600}           # wait after the first healthy server, s
health_interval=${ASWARM_HEALTH_INTERVAL:-10}        # between probe rounds, s
min_healthy=${ASWARM_MIN_HEALTHY:-90%}               # count or percentage of all servers
# Late join (scatter-gather by default): start as soon as ASWARM_MIN_HEALTHY servers answer
# (no settle wait) and give aswarm-mpi every server, with --min-healthy, so those still loading
# join the run when they come up. Off: aswarm-mpi runs on the servers healthy at the gate only.

# ---- the aswarm-mpi run ------------------------------------------------------------------
ranks_per_node=${ASWARM_RANKS_PER_NODE:-4}
pattern=${ASWARM_PATTERN:-broadcast}
late_join=${ASWARM_LATE_JOIN:-$([[ $pattern == scatter-gather ]] && echo 1 || echo 0)}
# Pattern arguments, quoted as in a shell (parsed by xargs, never evaluated).
pattern_args=${ASWARM_ARGS-"--prompt 'Name one open problem in protein design, in one sentence.' --aggregate concat"}

# ---- launchers: PALS mpiexec on Aurora (set a *_FLAGS variable to empty to drop its flags) ---
mpiexec=${ASWARM_MPIEXEC:-mpiexec}
mpi_flags=${ASWARM_MPIEXEC_FLAGS-"--cpu-bind depth -d 8"}   # for aswarm-mpi's ranks
vllm_flags=${ASWARM_VLLM_MPIEXEC_FLAGS-"--cpu-bind none"}   # vLLM needs more than one core
stop_grace=${ASWARM_STOP_GRACE:-60}                         # s between SIGTERM and SIGKILL

# ------------------------------------------------------------------------------------------
log() { echo "$(date '+%F %T') aswarm-job: $*"; }
die() {
  log "error: $1" >&2
  exit "${2:-1}"
}

[[ -r "${PBS_NODEFILE:-}" ]] || die "PBS_NODEFILE is not set or not readable (run under PBS)" 2
for exe in "$aswarm_mpi" "$aswarm_health" "$start_script"; do
  [[ -x "$exe" ]] || die "$exe is not executable (build aswarm first: jobs/aurora/README.md)" 2
done
if [[ -n "$embed_model" ]]; then
  ((embed_port < port_base || embed_port >= port_base + servers_per_node)) ||
    die "VLLM_EMBED_PORT $embed_port collides with the chat servers' ports" 2
fi
[[ $role_layout == round-robin || $role_layout == blocks ]] ||
  die "ASWARM_ROLE_LAYOUT must be round-robin or blocks, not '$role_layout'" 2
read -r -a mpi_flag_list <<< "$mpi_flags"
read -r -a vllm_flag_list <<< "$vllm_flags"
IFS=, read -r -a role_list <<< "$roles"
parsed_args=$(printf '%s' "$pattern_args" | xargs -r printf '%s\n') ||
  die "ASWARM_ARGS has unbalanced quotes: $pattern_args" 2
args=()
[[ -n "$parsed_args" ]] && mapfile -t args <<< "$parsed_args"

mkdir -p "$run_dir/logs"
run_dir=$(cd "$run_dir" && pwd)  # on-node.sh gets it on every node
mapfile -t node_names < <(grep -v '^[[:space:]]*$' "$PBS_NODEFILE")
nodes=${#node_names[@]}
((nodes > 0)) || die "$PBS_NODEFILE lists no nodes" 2

# ---- hostfile: one line per server, node order, then port order -----------------------------
# Aurora's node file has fully qualified names; keep the short name (plus ASWARM_HOST_SUFFIX to
# pick a network), but never cut an IPv4 address.
hostfile=$run_dir/hostfile
embed_hostfile=$run_dir/hostfile.embed
total=$((nodes * servers_per_node))
# role_of <j>: the role of server j (hostfile order) among $total; round-robin, or contiguous
# blocks as the Python seed does (the first total/roles servers get the first role, ...).
role_of() {
  local n=${#role_list[@]}
  if [[ $role_layout == blocks ]]; then
    echo "${role_list[$1 * n / total]}"
  else
    echo "${role_list[$1 % n]}"
  fi
}
{
  echo "# aswarm job $run_id: $nodes nodes x $servers_per_node servers, model $model"
  j=0
  for ((i = 0; i < nodes; i++)); do
    name=${node_names[i]}
    [[ "$name" =~ ^[0-9.]+$ ]] || name=${name%%.*}
    for ((k = 0; k < servers_per_node; k++)); do
      line="$name$host_suffix:$((port_base + i * port_stride + k)) node=${name}"
      ((${#role_list[@]})) && line+=" role=$(role_of "$j")"
      echo "$line"
      j=$((j + 1))
    done
  done
} > "$hostfile.tmp"
mv "$hostfile.tmp" "$hostfile"
if [[ -n "$embed_model" ]]; then
  {
    echo "# aswarm job $run_id: $nodes embedding servers, model $embed_model"
    for ((i = 0; i < nodes; i++)); do
      name=${node_names[i]}
      [[ "$name" =~ ^[0-9.]+$ ]] || name=${name%%.*}
      echo "$name$host_suffix:$((embed_port + i * port_stride)) node=${name} role=embed"
    done
  } > "$embed_hostfile.tmp"
  mv "$embed_hostfile.tmp" "$embed_hostfile"
fi

log "run directory $run_dir"
log "$nodes nodes, $servers_per_node vLLM server(s) per node from port $port_base ($total servers), model $model"
[[ -n "$embed_model" ]] && log "embedding model $embed_model on port $embed_port of every node ($embed_hostfile)"
log "aswarm-mpi: $((nodes * ranks_per_node)) ranks ($ranks_per_node per node), pattern $pattern"

# ---- start vLLM on every node, stop it however the job ends --------------------------------
launcher_pid=""
embed_pid=""  # the embedding servers' health gate, while it runs
# shellcheck disable=SC2317  # called by the EXIT trap
stop_servers() {
  local status=$? code=0 waited=0 f
  set +e
  [[ -n "$embed_pid" ]] && kill "$embed_pid" 2> /dev/null && wait "$embed_pid" 2> /dev/null
  if [[ -n "$launcher_pid" ]]; then
    if kill -0 "$launcher_pid" 2> /dev/null; then
      log "stopping the vLLM servers"
      kill -TERM "$launcher_pid" 2> /dev/null
      while kill -0 "$launcher_pid" 2> /dev/null && ((waited < stop_grace * 10)); do
        sleep 0.1
        waited=$((waited + 1))
      done
      if kill -0 "$launcher_pid" 2> /dev/null; then
        log "servers still running after ${stop_grace}s: SIGKILL"
        kill -KILL "$launcher_pid" 2> /dev/null
      fi
    fi
    wait "$launcher_pid" 2> /dev/null
    code=$?
    log "server launcher ended with code $code"
    for ((i = 0; i < nodes; i++)); do
      f=$run_dir/logs/node$i.status
      if [[ ! -f "$f" ]]; then
        log "warning: node $i (${node_names[i]}) left no status; see $run_dir/logs"
      elif [[ $(cut -d' ' -f1 "$f") == early ]]; then
        log "warning: node $i (${node_names[i]}): vLLM start script ended by itself with code $(cut -d' ' -f2 "$f"); see $run_dir/logs/node$i.*.log"
      fi
    done
  fi
  log "exit status $status"
  exit "$status"
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- staging: weights to node-local storage, one read of the shared file system --------------
# stage_source <model>: the directory holding a model's weights: a path as is, a Hugging Face
# name as its cache directory $HF_HOME/hub/models--<org>--<name>.
stage_source() {
  if [[ -d "$1" ]]; then
    (cd "$1" && pwd)
  else
    echo "${HF_HOME:-/flare/datasets/model-weights}/hub/models--${1//\//--}"
  fi
}
# stage_model <model>: copies it to every node; prints what the servers load instead: the copy
# of a path, or the name itself (its cache directory is copied under $stage_dir/hub, and the
# servers' HF_HOME becomes $stage_dir).
stage_model() {
  local src dest sim=()
  src=$(stage_source "$1")
  [[ -d "$src" ]] || die "staging: $src is not a directory (ASWARM_STAGE=0 reads the weights in place)" 2
  if [[ -d "$1" ]]; then dest=$stage_dir/$(basename "$src"); else dest=$stage_dir/hub/$(basename "$src"); fi
  ((stage_simulate)) && sim=(--simulate-nodes "$nodes")
  log "staging $src to $dest on every node" >&2
  "$mpiexec" -n "$nodes" -ppn 1 "$aswarm_stage" --source "$src" --dest "$dest" "${sim[@]}" \
    >> "$run_dir/logs/stage.log" 2>&1 ||
    die "staging failed; see $run_dir/logs/stage.log (ASWARM_STAGE=0 reads the weights in place)" 21
  if [[ -d "$1" ]]; then echo "$dest"; else echo "$1"; fi
}
# stage_rel <model>: where stage_model puts it, relative to $stage_dir (what on-node.sh removes).
stage_rel() {
  if [[ -d "$1" ]]; then basename "$(stage_source "$1")"; else echo "hub/$(basename "$(stage_source "$1")")"; fi
}
# What on-node.sh and the start script get ({node} is replaced on each node).
serve_model=$model
export ASWARM_NODE_STAGE_DIR="" ASWARM_NODE_STAGED="" ASWARM_SERVE_EMBED_MODEL=$embed_model
if ((stage)); then
  [[ -x "$aswarm_stage" ]] || die "$aswarm_stage is not executable (build aswarm first)" 2
  serve_model=$(stage_model "$model")
  if [[ -n "$embed_model" ]]; then
    ASWARM_SERVE_EMBED_MODEL=$(stage_model "$embed_model")
  fi
  ASWARM_NODE_STAGE_DIR=$stage_dir
  ASWARM_NODE_STAGED="$(stage_rel "$model")${embed_model:+ $(stage_rel "$embed_model")}"
  log "weights staged: $(grep -c ' files, ' "$run_dir/logs/stage.log") node copies ($run_dir/logs/stage.log)"
fi
export VLLM_EMBED_PORT=$embed_port

"$mpiexec" -n "$nodes" -ppn 1 "${vllm_flag_list[@]}" \
  bash "$ASWARM_HOME/jobs/aurora/on-node.sh" "$run_dir/logs" "$port_base" "$servers_per_node" \
  "$port_stride" "$start_script" "$serve_model" > "$run_dir/logs/launcher.log" 2>&1 &
launcher_pid=$!

# ---- health gate -------------------------------------------------------------------------
# The embedding servers are not part of aswarm-mpi's run: their gate runs alongside the chat
# servers' (one healthy is enough, none is a warning).
if [[ -n "$embed_model" ]]; then
  "$aswarm_health" --hostfile "$embed_hostfile" --output "$embed_hostfile.ready" \
    --timeout "$health_timeout" --settle "$health_settle" --interval "$health_interval" \
    --min-healthy 1 > "$run_dir/health.embed.log" 2>&1 &
  embed_pid=$!
fi
ready=$run_dir/hostfile.ready
run_hostfile=$ready
late_args=()
if ((late_join)); then
  # aswarm-mpi is the gate: it starts once $min_healthy answer /health and keeps probing the rest.
  run_hostfile=$hostfile
  late_args=(--min-healthy "$min_healthy" --give-up-after "$health_timeout")
  log "late join: aswarm-mpi starts once $min_healthy of $total servers answer; the rest join later"
else
  health_rc=0
  "$aswarm_health" --hostfile "$hostfile" --output "$ready" --timeout "$health_timeout" \
    --settle "$health_settle" --interval "$health_interval" --min-healthy "$min_healthy" \
    2>&1 | tee "$run_dir/health.log" || health_rc=${PIPESTATUS[0]}
  if ((health_rc != 0)); then
    die "health gate failed (aswarm-health exit $health_rc); see $run_dir/health.log" $((10 + health_rc))
  fi
  log "$(grep -cv '^#' "$ready") of $total servers healthy; running aswarm-mpi"
fi
if [[ -n "$embed_pid" ]]; then
  embed_rc=0
  wait "$embed_pid" || embed_rc=$?
  embed_pid=""
  if ((embed_rc == 0)); then
    log "$(grep -cv '^#' "$embed_hostfile.ready") of $nodes embedding servers healthy: $embed_hostfile.ready"
  else
    log "warning: no embedding server healthy (aswarm-health exit $embed_rc); see $run_dir/health.embed.log"
  fi
fi
if ! kill -0 "$launcher_pid" 2> /dev/null; then
  die "the vLLM launcher ended before the run; see $run_dir/logs/launcher.log" 20
fi

# ---- the run -----------------------------------------------------------------------------
mpi_rc=0
"$mpiexec" -n $((nodes * ranks_per_node)) -ppn "$ranks_per_node" "${mpi_flag_list[@]}" \
  "$aswarm_mpi" --pattern "$pattern" --hostfile "$run_hostfile" --output "$run_dir/results.jsonl" \
  --summary "$run_dir/summary.json" --progress never "${late_args[@]}" "${args[@]}" \
  > "$run_dir/aswarm.stdout" 2> >(tee "$run_dir/aswarm.stderr" >&2) || mpi_rc=$?
cat "$run_dir/aswarm.stdout"
case $mpi_rc in
  0) log "aswarm-mpi succeeded: $run_dir/results.jsonl" ;;
  3) log "aswarm-mpi finished, some requests failed (see their lines in $run_dir/results.jsonl)" ;;
  4) log "aswarm-mpi: fewer than $min_healthy servers answered /health within ${health_timeout} s" ;;
  *) log "aswarm-mpi failed with exit code $mpi_rc" ;;
esac
exit "$mpi_rc"
