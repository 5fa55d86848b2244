#!/usr/bin/env bash
# Runs every fuzz target of a build for N seconds each, two at a time, from fuzz/corpus/<target>.
#   bash fuzz/run.sh <build dir> <seconds>
# New inputs go to <build dir>/corpus/<target> (the committed seeds stay as they are); a crash
# stops that target, leaves <build dir>/crash-<sha1> and makes the script fail. Per target the
# last libFuzzer status line (exec count, coverage) is printed.
set -euo pipefail
build=$1
seconds=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
status=0
pids=()
names=()
for target in "$here"/corpus/*/; do
  name=$(basename "$target")
  binary="$build/fuzz/fuzz_$name"
  [[ -x "$binary" ]] || continue
  mkdir -p "$build/corpus/$name"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: 2 GiB is a leak or a blow-up.
  "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/" "$build/corpus/$name" "$target" > "$build/fuzz-$name.log" 2>&1 &
  pids+=($!)
  names+=("$name")
  if ((${#pids[@]} == 2)); then
    wait "${pids[0]}" || status=1
    pids=("${pids[1]}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for name in "${names[@]}"; do
  echo "fuzz_$name: $(grep -E '^stat::number_of_executed_units|^#[0-9]+.*(DONE|pulse)' \
    "$build/fuzz-$name.log" | tail -n 2 | tr '\n' ' ')"
  grep -q 'ERROR: libFuzzer\|SUMMARY: .*Sanitizer' "$build/fuzz-$name.log" && {
    status=1
    grep -A20 'ERROR:\|SUMMARY:' "$build/fuzz-$name.log" | head -40
  }
done
exit "$status"
