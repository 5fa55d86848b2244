#!/usr/bin/env bash
# The README's first command: install what is needed, build aswarm, start a local simulated swarm
# and run aswarm-mpi against it.
#   bash jobs/local/run.sh [ranks] [agents]        # defaults: 4 ranks, 16 agents
#
# What it runs today: `aswarm-mpi --dry-run`, which parses the swarm's hostfile on rank 0 and
# prints how the agents are sharded over the MPI ranks. The communication patterns replace this
# step as they land (see README.md).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${ASWARM_BUILD_DIR:-$root/build}
ranks=${1:-4}
agents=${2:-16}

bash "$root/jobs/local/install-deps.sh"
cmake -S "$root" -B "$build" >/dev/null
cmake --build "$build" -j "${ASWARM_JOBS:-2}" --target aswarm-mpi

work=$(mktemp -d)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

# A hostfile describing the simulated swarm: half hypotheses, half critiques, as a blackboard run
# on Aurora would use.
hostfile=$work/agents.hostfile
for ((i = 0; i < agents; i++)); do
  role=hypotheses
  ((i % 2)) && role=critiques
  printf '127.0.0.1:%d role=%s\n' $((18000 + i)) "$role"
done > "$hostfile"

"$build/src/cli/aswarm-mpi" --version
mpiexec -n "$ranks" "$build/src/cli/aswarm-mpi" --hostfile "$hostfile" --dry-run
