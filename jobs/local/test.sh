#!/usr/bin/env bash
# The README's test command: install dependencies, configure, build, run every test with ctest.
#   bash jobs/local/test.sh            # build dir: ./build
# Environment: ASWARM_BUILD_DIR (default build), ASWARM_WERROR=ON to fail on warnings (CI sets it),
# ASWARM_JOBS (default 2), ASWARM_DEBUG_INFO=lines for line tables only (faster builds; CI sets
# it), extra ctest arguments after the script name (e.g. -L unit).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${ASWARM_BUILD_DIR:-$root/build}
jobs=${ASWARM_JOBS:-2}

bash "$root/jobs/local/install-deps.sh"
cmake -S "$root" -B "$build" -DASWARM_WERROR="${ASWARM_WERROR:-OFF}" \
  -DASWARM_DEBUG_INFO="${ASWARM_DEBUG_INFO:-full}"
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@"
