#!/usr/bin/env bash
# End-to-end tests of what a killed or repeated run keeps: input fingerprints checked by
# --resume, answers journaled as they finish, ranks that stop with their launcher, and the
# output lock.
#   cli_safety.sh <mpiexec> <aswarm-mpi> <aswarm-mock-agent> <scratch dir> <case>
# Every wait is bounded; ctest's TIMEOUT bounds the whole case.
set -euo pipefail

# shellcheck source=tests/e2e/e2e_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh"

# A run started in the background is killed with its process group if the case fails.
victim=""
# shellcheck disable=SC2317  # called by the EXIT trap
stop_all() {
  if [[ -n "$victim" ]]; then kill -9 -- "-$victim" 2> /dev/null || true; fi
  cleanup
}
trap stop_all EXIT

json() { python3 -c "import json,sys; d=[json.loads(l) for l in open(sys.argv[1])]; $1" "$2"; }

# inputs <file> <count> [<python expression for prompt i>]: {"id": "p<i>", "prompt": ...} lines.
inputs() {
  python3 -c "
import json, sys
with open(sys.argv[1], 'w') as f:
    for i in range(int(sys.argv[2])):
        f.write(json.dumps({'id': 'p%d' % i, 'prompt': eval(sys.argv[3])}) + '\n')" \
    "$1" "$2" "${3:-"'prompt %d' % i"}"
}

# kept <output>: successful answers in the output and the journal segments beside it (a torn
# last line, the write a kill cut short, is not an answer).
kept() {
  python3 -c "
import glob, json, sys
done = set()
for path in [sys.argv[1]] + glob.glob(sys.argv[1] + '.journal-*'):
    for line in open(path):
        if not line.endswith('\n'): continue
        l = json.loads(line)
        if l['success']: done.add(l['index'])
print(len(done))" "$1"
}

# running <pid>: the process exists and is not a zombie (pid 1 of a container may not reap).
running() { [[ -r /proc/$1/stat ]] && [[ $(awk '{print $3}' "/proc/$1/stat" 2> /dev/null) != Z ]]; }

# no_leftovers <output>: nothing but the output itself remains beside it.
no_leftovers() {
  local extra="" f name
  name=$(basename "$1")
  for f in "$(dirname "$1")"/* "$(dirname "$1")"/.*; do
    [[ $(basename "$f") == *"$name"* && $(basename "$f") != "$name" ]] && extra+=" $f"
  done
  [[ -z "$extra" ]] || fail "left beside the output:$extra"
}

case $case_name in
  resume-input)
    start_mock --count 2
    inputs "$scratch/in.jsonl" 20
    args=(--pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl"
          --output "$scratch/out.jsonl")
    run 2 "${args[@]}"
    [[ $rc -eq 0 ]] || fail "first run rc=$rc err=$err"
    json "assert all(len(l['input_hash']) == 16 for l in d), d[0]" "$scratch/out.jsonl"
    # An edited prompt (same id): only that line is sent again, and its new answer is kept.
    inputs "$scratch/in.jsonl" 20 "'edited %d' % i if i == 3 else 'prompt %d' % i"
    touch "$scratch/.out.jsonl.tmp-Xy12Zw"  # what a compaction killed mid-way leaves
    before=$(requests)
    run 2 "${args[@]}" --resume
    [[ $rc -eq 0 ]] || fail "edited resume rc=$rc err=$err"
    [[ $(( $(requests) - before )) -eq 1 ]] || fail "edited resume sent $(( $(requests) - before )) requests, expected 1"
    [[ "$err" == *"1 lines answer an earlier version of their input request (the input was edited); they are sent again"* ]] || fail "err=$err"
    json "assert [l['index'] for l in d] == list(range(20)), 'order'
assert d[3]['text'] == 'completion: edited 3', d[3]
assert all(l['text'] == 'completion: prompt %d' % l['index'] for l in d if l['index'] != 3)" "$scratch/out.jsonl"
    no_leftovers "$scratch/out.jsonl"
    # Another input with the same ids: refused, nothing sent, the output untouched.
    sum=$(md5sum < "$scratch/out.jsonl")
    inputs "$scratch/in.jsonl" 20 "'another data set %d' % i"
    before=$(requests)
    run 2 "${args[@]}" --resume
    [[ $rc -eq 2 ]] || fail "another input: rc=$rc err=$err"
    [[ "$err" == *"out.jsonl:1: answers another prompt than input request 0 (20 of 20 lines do) (is this the output of another input?)"* ]] || fail "err=$err"
    [[ $(requests) -eq $before && $(md5sum < "$scratch/out.jsonl") == "$sum" ]] || fail "another input changed something"
    # An output of an older aswarm (no input_hash): trusted, with a warning.
    inputs "$scratch/in.jsonl" 20 "'edited %d' % i if i == 3 else 'prompt %d' % i"
    python3 -c "
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
with open(sys.argv[1], 'w') as f:
    for l in lines[:-1]:
        del l['input_hash']; f.write(json.dumps(l) + '\n')" "$scratch/out.jsonl"
    run 2 "${args[@]}" --resume
    [[ $rc -eq 0 && $(( $(requests) - before )) -eq 1 ]] || fail "old output: rc=$rc sent $(( $(requests) - before )) err=$err"
    [[ "$err" == *'19 lines carry no "input_hash" (written by an older aswarm); resume trusts that their prompts did not change'* ]] || fail "err=$err"
    ;;
  kill-journal)
    # One window holds the whole input (the default window), so without the journal a kill
    # keeps nothing.
    start_mock --count 4 --latency fixed:40
    inputs "$scratch/in.jsonl" 1500
    args=(--pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl"
          --output "$scratch/out.jsonl" --concurrency 8)
    started=$(date +%s.%N)
    setsid "$mpiexec" -n 2 "$aswarm" --progress never "${args[@]}" > /dev/null 2>&1 &
    victim=$!
    for _ in $(seq 500); do
      (( $(requests) >= 500 )) && break
      sleep 0.02
    done
    sleep 1.5  # answers that finished more than a second ago must be on disk
    kill -9 -- "-$victim" 2> /dev/null || fail "the run ended before it could be killed"
    wait "$victim" 2> /dev/null || true
    victim=""
    sleep 0.2
    sent=$(requests)
    elapsed=$(python3 -c "import time; print(time.time() - $started)")
    kept=$(kept "$scratch/out.jsonl")
    # At most ~1 s of answers (the journal's sync interval) plus those in flight and those the
    # I/O thread had not synced yet may be lost: allow 3 s of the run's average rate (a loaded
    # machine delays the fsync; the full suite at -j2 lost 1.3 s worth here). Without the
    # journal everything is lost.
    slack=$(python3 -c "print(int(3 * $sent / $elapsed) + 64)")
    (( sent < 1500 )) || fail "the run finished before the kill"
    (( kept > 0 && kept >= sent - slack )) || fail "the kill lost too much: $sent sent, $kept kept (slack $slack)"
    ls "$scratch"/out.jsonl.journal-* > /dev/null 2>&1 || fail "no journal segment after the kill"
    # Without --resume the journal is not overwritten.
    run 2 "${args[@]}"
    [[ $rc -eq 2 && "$err" == *"has a journal of an earlier, interrupted run beside it; pass --resume"* ]] || fail "rc=$rc err=$err"
    before=$(requests)
    run 2 "${args[@]}" --resume
    [[ $rc -eq 0 ]] || fail "resume rc=$rc err=$err"
    resent=$(( $(requests) - before ))
    [[ $resent -eq $((1500 - kept)) ]] || fail "resume sent $resent, expected $((1500 - kept))"
    json "assert [l['index'] for l in d] == list(range(1500)), 'order/duplicates'
assert all(l['success'] and l['text'] == 'completion: prompt %d' % l['index'] for l in d)" "$scratch/out.jsonl"
    no_leftovers "$scratch/out.jsonl"
    echo "kill-journal: $sent requests received before the kill after ${elapsed}s, $kept answers kept, $resent re-sent"
    ;;
  orphans-lock)
    start_mock --count 4 --latency fixed:100
    inputs "$scratch/in.jsonl" 400
    args=(--pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl"
          --output "$scratch/out.jsonl")
    setsid "$mpiexec" -n 2 "$aswarm" --progress never "${args[@]}" --concurrency 2 > /dev/null 2>&1 &
    victim=$!
    for _ in $(seq 500); do
      (( $(requests) >= 8 )) && break
      sleep 0.02
    done
    # A second run on the same output is refused and names the holder.
    run 2 "${args[@]}" --resume
    [[ $rc -eq 2 && "$err" == *"out.jsonl: is in use by another aswarm run (pid "*" on $(hostname)"* ]] || fail "second run: rc=$rc err=$err"
    # Kill the launcher and its proxy, as a dying job leaves them: the ranks must stop too.
    proxies=$(pgrep -P "$victim" || true)
    ranks=""
    for p in $proxies; do ranks+=" $(pgrep -P "$p" || true)"; done
    [[ -n "${ranks// /}" ]] || fail "found no ranks under the launcher"
    # shellcheck disable=SC2086  # lists of pids
    kill -9 "$victim" $proxies
    wait "$victim" 2> /dev/null || true
    for _ in $(seq 100); do
      alive=0
      for r in $ranks; do running "$r" && alive=1; done
      (( alive == 0 )) && break
      sleep 0.05
    done
    # shellcheck disable=SC2086  # a list of pids
    (( alive == 0 )) || { kill -9 $ranks 2> /dev/null || true; fail "ranks outlived their launcher by 5 s"; }
    victim=""
    # Their lock died with them: the next run takes it over and finishes the work.
    run 2 "${args[@]}" --resume --concurrency 32
    [[ $rc -eq 0 ]] || fail "resume after the orphans: rc=$rc err=$err"
    json "assert [l['index'] for l in d] == list(range(400)), 'order/duplicates'
assert all(l['success'] for l in d)" "$scratch/out.jsonl"
    no_leftovers "$scratch/out.jsonl"
    ;;
  blackboard-resume)
    echo '{"rules": [], "default": "agent {agent}: {prompt}"}' > "$scratch/script.json"
    start_mock --count 4 --roles hypotheses,critiques --mode script --script "$scratch/script.json" \
      --latency fixed:300
    cat > "$scratch/board.json" << 'JSON'
{"sections": [{"name": "hypotheses", "prompt": "propose r{round} after {section:critiques}"},
              {"name": "critiques", "prompt": "judge r{round}: {section:hypotheses}"}],
 "view": {"last": 2},
 "max_rounds": 4}
JSON
    args=(--pattern blackboard --hostfile "$scratch/agents.txt" --config "$scratch/board.json")
    # steps <log>: (round, section, prompt, answers) of each logged step, latencies left out.
    steps() {
      python3 -c "
import json, sys
for l in open(sys.argv[1]):
    l = json.loads(l)
    print(json.dumps([l['round'], l['section'], l['prompt'], [(r['agent'], r['text']) for r in l['responses']]]))" "$1"
    }
    run 2 "${args[@]}" --output "$scratch/whole.jsonl"
    [[ $rc -eq 0 ]] || fail "uninterrupted run rc=$rc err=$err"
    whole_board=$out
    setsid "$mpiexec" -n 2 "$aswarm" --progress never "${args[@]}" --output "$scratch/log.jsonl" > /dev/null 2>&1 &
    victim=$!
    for _ in $(seq 400); do
      [[ -f "$scratch/log.jsonl" && $(grep -c . "$scratch/log.jsonl") -ge 3 ]] && break
      sleep 0.02
    done
    kill -9 -- "-$victim" 2> /dev/null || fail "the run ended before it could be killed"
    wait "$victim" 2> /dev/null || true
    victim=""
    logged=$(grep -c . "$scratch/log.jsonl")
    (( logged >= 3 && logged < 8 )) || fail "the killed run logged $logged steps"
    rounds_done=$((logged / 2))
    sleep 0.4  # requests in flight at the kill reach the mock
    before=$(requests)
    run 2 "${args[@]}" --output "$scratch/log.jsonl" --resume
    [[ $rc -eq 0 ]] || fail "resume rc=$rc err=$err"
    # Only the rounds the log did not complete are asked again: 2 sections x 2 agents each.
    [[ $(( $(requests) - before )) -eq $(( (4 - rounds_done) * 4 )) ]] || fail "resume sent $(( $(requests) - before )), expected $(( (4 - rounds_done) * 4 ))"
    [[ "$out" == "$whole_board" ]] || { diff <(echo "$whole_board") <(echo "$out") >&2; fail "the resumed board differs"; }
    diff <(steps "$scratch/whole.jsonl") <(steps "$scratch/log.jsonl") >&2 || fail "the resumed log differs"
    # A log of another config is refused.
    sed -i 's/max_rounds": 4/max_rounds": 5/' "$scratch/board.json"
    run 2 "${args[@]}" --output "$scratch/log.jsonl" --resume
    [[ $rc -eq 2 && "$err" == *"log.jsonl:1: was written with another --config; remove it to start over"* ]] || fail "rc=$rc err=$err"
    no_leftovers "$scratch/log.jsonl"
    ;;
  tree-resume)
    echo '{"rules": [], "default": "agent {agent}: {prompt}"}' > "$scratch/script.json"
    start_mock --count 8 --mode script --script "$scratch/script.json" --latency fixed:500
    for i in $(seq 16); do echo "\"item $i\""; done > "$scratch/items.jsonl"
    args=(--pattern tree-reduce --hostfile "$scratch/agents.txt" --items "$scratch/items.jsonl"
          --prompt "leaf {item}" --reduce-prompt "sum {level}: {responses}" --fanin 2
          --schedule static)  # which agent answers a leaf is then the same in every run
    before=$(requests)
    run 2 "${args[@]}" --output "$scratch/whole.jsonl"
    [[ $rc -eq 0 ]] || fail "uninterrupted run rc=$rc err=$err"
    total=$(( $(requests) - before ))  # 16 leaves, then 8 + 4 + 2 + 1 supervisor calls
    [[ $total -eq 31 ]] || fail "the uninterrupted run sent $total requests, expected 31"
    start=$(requests)
    setsid "$mpiexec" -n 2 "$aswarm" --progress never "${args[@]}" --output "$scratch/out.jsonl" > /dev/null 2>&1 &
    victim=$!
    for _ in $(seq 400); do
      (( $(requests) - start >= 28 )) && break  # level 2 asked on both ranks: level 1 saved
      sleep 0.02
    done
    kill -9 -- "-$victim" 2> /dev/null || fail "the run ended before it could be killed"
    wait "$victim" 2> /dev/null || true
    victim=""
    sleep 0.5  # requests in flight at the kill reach the mock
    done_before=$(( $(requests) - start ))
    (( done_before < total )) || fail "the run finished before the kill"
    ls "$scratch"/out.jsonl.tree-* > /dev/null 2>&1 || fail "no checkpoint after the kill"
    before=$(requests)
    run 2 "${args[@]}" --output "$scratch/out.jsonl" --resume
    [[ $rc -eq 0 ]] || fail "resume rc=$rc err=$err"
    resent=$(( $(requests) - before ))
    # Levels the ranks had finished are not asked again (only the one cut short and above).
    (( resent <= total - 24 )) || fail "resume sent $resent requests (of $total; $done_before before the kill)"
    python3 -c "
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a['success'] and a['text'] == b['text'], (a, b)
assert a['levels'] == b['levels'], (a['levels'], b['levels'])" "$scratch/whole.jsonl" "$scratch/out.jsonl"
    no_leftovers "$scratch/out.jsonl"
    echo "tree-resume: $done_before of $total requests before the kill, $resent re-sent"
    ;;
  *) fail "unknown case" ;;
esac
