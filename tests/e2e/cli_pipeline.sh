#!/usr/bin/env bash
# End-to-end tests of `aswarm-mpi --pattern pipeline` as a user runs it: a real
# aswarm-mock-agent, mpiexec, a config file, items on disk, exit codes and the mock's counters.
#   cli_pipeline.sh <mpiexec> <aswarm-mpi> <aswarm-mock-agent> <scratch dir> <case>
# Every wait is bounded; ctest's TIMEOUT bounds the whole case.
set -euo pipefail

# shellcheck source=tests/e2e/e2e_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh"

json() { python3 -c "import json,sys; d=[json.loads(l) for l in open(sys.argv[1])]; $1" "$2"; }

# Agents answer "a<agent>[<prompt>]", so every output shows which agents saw which prompt.
echo '{"rules": [], "default": "a{agent}[{prompt}]"}' > "$scratch/script.json"

# A DAG: two branches on disjoint agents (0-1 and 2), joined by a third stage (agent 3).
cat > "$scratch/dag.json" <<'JSON'
{"reuse_agents": false,
 "stages": [
   {"name": "left", "prompt": "L:{input}", "agents": 2, "transform": {"concat": "+"}},
   {"name": "right", "prompt": "R:{input}", "agents": 1, "depends_on": []},
   {"name": "join", "prompt": "J:{stage:left}|{stage:right}|{initial}", "agents": 1,
    "depends_on": ["left", "right"], "transform": "first"}]}
JSON
expected_join() {  # the join stage's output for input $1
  echo "a3[J:a0[L:$1]+a1[L:$1]|a2[R:$1]|$1]"
}

case $case_name in
  pipeline-once)
    start_mock --count 4 --mode script --script "$scratch/script.json"
    run 3 --pattern pipeline --hostfile "$scratch/agents.txt" --config "$scratch/dag.json" \
      --prompt "sky" --output "$scratch/log.jsonl" --summary "$scratch/summary.json"
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    expected="== pipeline: 3 stages in 2 waves, succeeded
## left (wave 1, 2 of 2 answers kept)
a0[L:sky]+a1[L:sky]
## right (wave 1, 1 of 1 answers kept)
a2[R:sky]
## join (wave 2, 1 of 1 answers kept)
$(expected_join sky)"
    # The header's run time varies: compare without it.
    [[ "$(sed -E 's/ \([0-9.]+ s\)$//' <<< "$out")" == "$expected" ]] ||
      { diff <(echo "$out") <(echo "$expected") >&2; fail "stdout"; }
    json "assert [l['stage'] for l in d] == ['left', 'right', 'join'], d
assert [l['wave'] for l in d] == [0, 0, 1], d
assert [r['agent'] for r in d[0]['responses']] == [0, 1], d[0]
assert d[2]['prompt'] == 'J:a0[L:sky]+a1[L:sky]|a2[R:sky]|sky', d[2]
assert all(l['success'] for l in d), d" "$scratch/log.jsonl"
    python3 -c "import json; s=json.load(open('$scratch/summary.json')); assert s['pattern']=='pipeline' and s['ok']==4 and s['waves']==2 and s['success'], s"
    [[ $(requests) -eq 4 ]] || fail "expected 4 requests, saw $(requests)"
    # Without --prompt the config's "input" is used; without either, a clear error.
    python3 -c "import json; c=json.load(open('$scratch/dag.json')); c['input']='sea'; json.dump(c, open('$scratch/dag-input.json','w'))"
    run 2 --pattern pipeline --hostfile "$scratch/agents.txt" --config "$scratch/dag-input.json"
    [[ $rc -eq 0 && $(tail -n 1 <<< "$out") == "$(expected_join sea)" ]] || fail "config input: rc=$rc out=$out err=$err"
    run 2 --pattern pipeline --hostfile "$scratch/agents.txt" --config "$scratch/dag.json"
    [[ $rc -eq 2 && "$err" == "aswarm-mpi: error: --pattern pipeline needs its input: --input FILE (one item per line), --prompt, --prompt-file, or \"input\" in $scratch/dag.json" ]] ||
      fail "no input: rc=$rc err=$err"
    ;;
  pipeline-items)
    start_mock --count 4 --mode script --script "$scratch/script.json"
    python3 -c "
import json
with open('$scratch/items.jsonl', 'w') as f:
    for i in range(30):
        f.write(json.dumps({'id': 'x%d' % i, 'prompt': 'item%d' % i} if i % 3 else 'item%d' % i) + '\n')"
    # The same items give the same lines at 1 and 3 ranks (streaming, several windows).
    for ranks in 1 3; do
      run "$ranks" --pattern pipeline --hostfile "$scratch/agents.txt" --config "$scratch/dag.json" \
        --input "$scratch/items.jsonl" --output "$scratch/out$ranks.jsonl" --window 7 \
        --summary "$scratch/summary$ranks.json"
      [[ $rc -eq 0 ]] || fail "ranks $ranks: rc=$rc err=$err"
      json "assert [l['index'] for l in d] == list(range(30)), 'order'
assert all(l['success'] and l['error'] is None for l in d), d
assert [l.get('id') for l in d] == [None if i % 3 == 0 else 'x%d' % i for i in range(30)], 'ids'
assert all(l['output'] == 'a3[J:a0[L:item{0}]+a1[L:item{0}]|a2[R:item{0}]|item{0}]'.format(l['index']) for l in d), d[0]
assert [s['stage'] for s in d[5]['stages']] == ['left', 'right', 'join'], d[5]" "$scratch/out$ranks.jsonl"
      python3 -c "import json; s=json.load(open('$scratch/summary$ranks.json')); assert s['items_ok']==30 and s['ok']==120, s"
    done
    # Identical apart from latencies and ports.
    strip='import json,sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    for s in d["stages"]:
        for r in s["responses"]: r.pop("latency_ms"); r.pop("endpoint")
    print(json.dumps(d, sort_keys=True))'
    diff <(python3 -c "$strip" "$scratch/out1.jsonl") <(python3 -c "$strip" "$scratch/out3.jsonl") > /dev/null ||
      fail "1 and 3 ranks differ"
    [[ $(requests) -eq 240 ]] || fail "expected 240 requests, saw $(requests)"
    # OpenAI batch lines: the item is the request's prompt, the line carries its custom_id.
    python3 -c "
import json
with open('$scratch/batch.jsonl', 'w') as f:
    for i in range(2):
        f.write(json.dumps({'custom_id': 'c%d' % i, 'method': 'POST', 'url': '/v1/chat/completions',
                            'body': {'model': 'mock-model', 'messages': [{'role': 'user', 'content': 'b%d' % i}]}}) + '\n')"
    run 2 --pattern pipeline --hostfile "$scratch/agents.txt" --config "$scratch/dag.json" \
      --input "$scratch/batch.jsonl" --output "$scratch/batch-out.jsonl"
    [[ $rc -eq 0 ]] || fail "batch: rc=$rc err=$err"
    json "assert [(l['custom_id'], l['output']) for l in d] == [('c%d' % i, 'a3[J:a0[L:b{0}]+a1[L:b{0}]|a2[R:b{0}]|b{0}]'.format(i)) for i in range(2)], d
assert all('id' not in l for l in d), d" "$scratch/batch-out.jsonl"
    ;;
  pipeline-failing-stage)
    # Agent 2 (the whole 'right' stage) is dead: every item fails there with a clear error,
    # the others still run, nothing hangs, exit 3.
    start_mock --count 4 --mode script --script "$scratch/script.json" --dead-agents 2
    printf '"one"\n"two"\n' > "$scratch/items.jsonl"
    run 2 --pattern pipeline --hostfile "$scratch/agents.txt" --config "$scratch/dag.json" \
      --input "$scratch/items.jsonl" --output "$scratch/out.jsonl" --retries 0
    [[ $rc -eq 3 ]] || fail "a failed stage must exit 3, got $rc ($err)"
    json "assert [l['success'] for l in d] == [False, False], d
assert all(l['error'].startswith(\"pipeline stage 'right': all 1 agents failed (agent 2: \") for l in d), d[0]['error']
assert all(l['output'] == '' for l in d), d
assert all([s['stage'] for s in l['stages']] == ['left', 'right'] for l in d), d[0]['stages']" "$scratch/out.jsonl"
    ;;
  pipeline-resume)
    start_mock --count 4 --mode script --script "$scratch/script.json"
    python3 -c "
import json
with open('$scratch/items.jsonl', 'w') as f:
    for i in range(12): f.write(json.dumps({'id': i, 'prompt': 'p%d' % i}) + '\n')"
    args=(--pattern pipeline --hostfile "$scratch/agents.txt" --config "$scratch/dag.json"
          --input "$scratch/items.jsonl" --output "$scratch/out.jsonl" --window 4)
    run 2 "${args[@]}"
    [[ $rc -eq 0 ]] || fail "first run rc=$rc err=$err"
    # Simulate a job killed after 5 items: 5 whole lines, then half of the 6th.
    head -n 5 "$scratch/out.jsonl" > "$scratch/cut.jsonl"
    sed -n 6p "$scratch/out.jsonl" | head -c 40 >> "$scratch/cut.jsonl"
    mv "$scratch/cut.jsonl" "$scratch/out.jsonl"
    before=$(requests)
    run 2 "${args[@]}"
    [[ $rc -eq 2 && "$err" == "aswarm-mpi: error: $scratch/out.jsonl: holds results of an earlier run; pass --resume"* ]] ||
      fail "overwrite without --resume: rc=$rc err=$err"
    run 2 "${args[@]}" --resume
    [[ $rc -eq 0 ]] || fail "resume rc=$rc err=$err"
    json "assert [l['index'] for l in d] == list(range(12)), [l['index'] for l in d]
assert all(l['success'] and l['id'] == l['index'] and l['output'].endswith('|p%d]' % l['index']) for l in d), d" "$scratch/out.jsonl"
    after=$(requests)
    [[ $((after - before)) -eq $((7 * 4)) ]] || fail "resume sent $((after - before)) requests, expected 28"
    ;;
  pipeline-errors)
    start_mock --count 4 --mode script --script "$scratch/script.json"
    bad() {  # bad <config json> <message after "aswarm-mpi: error: <file>: "> [prefix]
      echo "$1" > "$scratch/bad.json"
      run 2 --pattern pipeline --hostfile "$scratch/agents.txt" --config "$scratch/bad.json" --prompt x
      local want="aswarm-mpi: error: $scratch/bad.json: $2"
      [[ ${3:-} == prefix ]] && err=${err:0:${#want}}
      [[ $rc -eq 2 && "$err" == "$want" ]] || fail "config $1: rc=$rc err=$err"
    }
    bad '{"stages": []}' "'stages' must be a non-empty list of {\"name\", \"prompt\", ...}"
    bad '{"stages": [{"name": "a", "prompt": "x"}, {"name": "a", "prompt": "y"}]}' "stage 'a' is listed twice"
    bad '{"stages": [{"name": "a", "prompt": "x", "depends_on": ["b"]}, {"name": "b", "prompt": "y"}]}' \
      "stage 'a': depends_on \"b\" is not a stage listed before it"
    bad '{"stages": [{"name": "a", "prompt": "x"}, {"name": "b", "prompt": "{stage:c}"}]}' \
      "stage 'b': prompt uses {stage:c} but 'c' is not among its inputs (a)"
    bad '{"stages": [{"name": "a", "prompt": "x", "filter": {"regex": "("}}]}' \
      "stage 'a': filter regex \"(\" is invalid: " prefix
    bad '{"stages": [{"name": "a", "prompt": "x", "transform": "median"}]}' \
      "stage 'a': 'transform' must be \"concat\", \"majority\", \"structured-merge\", \"first\", \"statistics\" or {\"concat\": \"separator\"}"
    bad '{"stages": [{"name": "a", "prompt": "x", "agent": 3}]}' \
      "stage 'a': unknown key 'agent' (expected name, prompt, agents, tag, depends_on, filter, transform)"
    printf '{"stages": [\n  {"name": "a",,}]}' > "$scratch/bad2.json"
    run 2 --pattern pipeline --hostfile "$scratch/agents.txt" --config "$scratch/bad2.json" --prompt x
    [[ $rc -eq 2 && "$err" == "aswarm-mpi: error: $scratch/bad2.json:2: not valid JSON"* ]] || fail "bad json: rc=$rc err=$err"
    run 2 --pattern pipeline --hostfile "$scratch/agents.txt" --config "$scratch/dag.json" --prompt x --resume --output "$scratch/o"
    [[ $rc -eq 2 && "$err" == "aswarm-mpi: error: --resume applies to --pattern pipeline with --input"* ]] || fail "resume: rc=$rc err=$err"
    printf '"ok"\n{"prompt": 3}\n' > "$scratch/items.jsonl"
    run 2 --pattern pipeline --hostfile "$scratch/agents.txt" --config "$scratch/dag.json" --input "$scratch/items.jsonl"
    [[ $rc -eq 2 && "$err" == "aswarm-mpi: error: $scratch/items.jsonl:2: "* ]] || fail "bad item: rc=$rc err=$err"
    [[ $(requests) -eq 0 ]] || fail "bad input must send nothing, sent $(requests)"
    ;;
  *) fail "unknown case" ;;
esac
echo "ok [$case_name]"
