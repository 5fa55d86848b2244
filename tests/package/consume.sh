#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Configures, builds (2 jobs) and runs (ctest: the consumer at 2 ranks) the consumer project.
#   consume.sh <cmake> <ctest> <generator> <consumer source> <build dir> <-D options...>
set -euo pipefail
cmake=$1 ctest=$2 generator=$3 source=$4 build=$5
shift 5
rm -rf "$build"
"$cmake" -S "$source" -B "$build" -G "$generator" "$@"
"$cmake" --build "$build" -j 2
"$ctest" --test-dir "$build" --output-on-failure
