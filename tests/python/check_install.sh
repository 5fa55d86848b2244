#!/usr/bin/env bash
# Installs the python component into a fresh prefix and imports aswarm from there in a fresh
# interpreter (PYTHONPATH = the installed directory only): the installed package must work on
# its own, not through the build tree.
# usage: check_install.sh <cmake> <build dir> <python3> <install dir relative to the prefix>
set -euo pipefail
cmake=$1 build=$2 python=$3 pydir=$4
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
"$cmake" --install "$build" --prefix "$prefix" --component python > "$prefix/install.log"
cd "$prefix"  # not the source tree: nothing importable by accident
env -u PYTHONHOME PYTHONPATH="$prefix/$pydir" "$python" - "$prefix" <<'PY'
import sys
prefix = sys.argv[1]
import aswarm
assert aswarm.__file__.startswith(prefix), aswarm.__file__
eps = aswarm.parse_hostfile_text("127.0.0.1:8001 role=a\n")
assert eps[0].port == 8001 and eps[0].tags == {"role": "a"}, eps
import aswarm.mpi
import aurora_swarm  # the seed's import name, installed alongside
assert aswarm.mpi._mpi.__file__.startswith(prefix), aswarm.mpi._mpi.__file__
assert aswarm.mpi.COMM_WORLD.size == 1  # a singleton MPI in the installed module
print("installed aswarm OK:", aswarm.__file__)
PY
