#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Runs the three examples at 2 ranks against one aswarm-mock-agent (4 agents, two roles, echo
# answers) and checks what each printed.
#   run_examples.sh <mpiexec> <aswarm-mock-agent> <scratch> <sub_communicator> <simulation_loop> <blackboard>
set -euo pipefail
mpiexec=$1 mock=$2 scratch=$3 sub=$4 loop=$5 board=$6
rm -rf "$scratch"
mkdir -p "$scratch"
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
"$mock" --port-base 0 --count 4 --mode echo --roles hypotheses,critiques \
  --hostfile-out "$scratch/agents.txt" > "$scratch/mock.out" 2>&1 &
mock_pid=$!
trap 'kill "$mock_pid" 2> /dev/null || true; wait "$mock_pid" 2> /dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q ready "$scratch/mock.out" 2> /dev/null && break
  kill -0 "$mock_pid" 2> /dev/null || break
  sleep 0.1
done
grep -q ready "$scratch/mock.out" || { cat "$scratch/mock.out" >&2; fail "mock did not start"; }

"$mpiexec" -n 2 "$sub" "$scratch/agents.txt" > "$scratch/sub.out" 2>&1 || { cat "$scratch/sub.out"; fail "sub_communicator"; }
cat "$scratch/sub.out"
grep -q "rank 0 got from the swarm (world ranks 1-1)" "$scratch/sub.out" || fail "sub_communicator: no answers at rank 0"
[[ $(grep -c "Name a prime number" "$scratch/sub.out") -eq 4 ]] || fail "sub_communicator: expected 4 echoed answers"

"$mpiexec" -n 2 "$loop" "$scratch/agents.txt" > "$scratch/loop.out" 2>&1 || { cat "$scratch/loop.out"; fail "simulation_loop"; }
cat "$scratch/loop.out"
for step in 0 1 2; do
  for i in 0 1; do
    grep -q "^step $step prompt $i agent $i: .*step $step region $i: temperature" "$scratch/loop.out" ||
      fail "simulation_loop: step $step prompt $i"
  done
done

"$mpiexec" -n 2 "$board" "$scratch/agents.txt" > "$scratch/board.out" 2>&1 || { cat "$scratch/board.out"; fail "blackboard"; }
cat "$scratch/board.out"
grep -q "^2 rounds, 8 answers, 0 failed" "$scratch/board.out" || fail "blackboard: rounds/answers"
# A critique of round 1 quotes the seed and a hypothesis written in round 1 (the mock echoes).
grep -qF 'Criticise the weakest of these hypotheses:\n- Stable folds need a hydrophobic core.\n- completion: Propose a new hypothesis' \
  "$scratch/board.out" || fail "blackboard: critics did not see the round's hypotheses"
echo PASS
