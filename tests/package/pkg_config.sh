#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A Makefile consumer: mpicxx plus `pkg-config --cflags --libs aswarm` from the installed prefix,
# then the program at 2 ranks.
#   pkg_config.sh <mpicxx> <mpiexec> <install prefix> <consumer source> <build dir>
set -euo pipefail
mpicxx=$1 mpiexec=$2 prefix=$3 source=$4 build=$5
rm -rf "$build"
mkdir -p "$build"
pc=$(dirname "$(find "$prefix" -name aswarm.pc -print -quit)")
[[ -n "$pc" ]] || { echo "FAIL: no aswarm.pc under $prefix" >&2; exit 1; }
export PKG_CONFIG_PATH=$pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
echo "pkg-config --cflags --libs aswarm: $(pkg-config --cflags --libs aswarm)"
make -C "$build" -f "$source/Makefile" SRC="$source" CXX="$mpicxx"
out=$("$mpiexec" -n 2 "$build/consumer" "$source/agents.hostfile")
echo "$out"
grep -q "consumer: 2 ranks, 3 endpoints, first http://127.0.0.1:9001 role=critic" <<< "$out"
