#!/usr/bin/env bash
# End-to-end tests of the flags that bring the library's reach to the command line (issue 18):
# sub-pool selection for every pattern, the reducer agent, several aggregates in one run, the
# concat separator, best-of/top-k scores, fan-out-fan-in, plain-text inputs, and
# AURORA_SWARM_HOSTFILE. Two ranks, a few runs per case.
#   cli_reach.sh <mpiexec> <aswarm-mpi> <aswarm-mock-agent> <scratch dir> <case>
set -euo pipefail

# shellcheck source=tests/e2e/e2e_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh"

echo '{"rules": [{"match": "^json", "answer": "{\"n\": {agent}}"}],
       "default": "agent {agent}: {prompt}"}' > "$scratch/script.json"

# texts <file>: the "text" of every output line, one per line.
texts() { python3 -c "import json,sys; [print(json.loads(l)['text']) for l in open(sys.argv[1])]" "$1"; }

case $case_name in
  reach-select)
    # Agents 0..5, roles a,b alternating: agents 1, 3, 5 are "b".
    start_mock --count 6 --roles a,b --mode script --script "$scratch/script.json"
    hosts=(--hostfile "$scratch/agents.txt")
    run 2 --pattern broadcast "${hosts[@]}" --prompt hi --select-tag role=b --output "$scratch/o1"
    [[ $rc -eq 0 ]] || fail "--select-tag rc=$rc $err"
    [[ $(texts "$scratch/o1") == $'agent 1: hi\nagent 3: hi\nagent 5: hi' ]] || fail "--select-tag: $(texts "$scratch/o1")"
    # Exclude 0 -> [1..5]; select 3,0 of those -> agents 4, 1.
    run 2 --pattern broadcast "${hosts[@]}" --prompt hi --exclude-agents 0 --select-agents 3,0 --output "$scratch/o2"
    [[ $(texts "$scratch/o2") == $'agent 4: hi\nagent 1: hi' ]] || fail "--exclude/--select: $(texts "$scratch/o2")"
    run 2 --pattern broadcast "${hosts[@]}" --prompt hi --slice -2: --output "$scratch/o3"
    [[ $(texts "$scratch/o3") == $'agent 4: hi\nagent 5: hi' ]] || fail "--slice: $(texts "$scratch/o3")"
    run 2 --pattern broadcast "${hosts[@]}" --prompt hi --sample 3 --seed 11 --output "$scratch/o4"
    run 2 --pattern broadcast "${hosts[@]}" --prompt hi --sample 3 --seed 11 --output "$scratch/o5"
    [[ $(texts "$scratch/o4" | wc -l) -eq 3 ]] || fail "--sample 3: $(texts "$scratch/o4")"
    diff <(texts "$scratch/o4") <(texts "$scratch/o5") || fail "--sample differs under one --seed"
    # Scatter-gather on the selection only: prompts i -> the two "b" agents of 1..3.
    printf '"p0"\n"p1"\n"p2"\n' > "$scratch/in.jsonl"
    run 2 --pattern scatter-gather "${hosts[@]}" --input "$scratch/in.jsonl" --select-tag role=b \
      --slice 0:2 --schedule static --output "$scratch/o6"
    [[ $(texts "$scratch/o6") == $'agent 1: p0\nagent 3: p1\nagent 1: p2' ]] || fail "scatter-gather selection: $(texts "$scratch/o6")"
    # The reducer agent is numbered in the selection: agent 1 of [1, 3, 5] is agent 3.
    run 2 --pattern broadcast "${hosts[@]}" --prompt q --select-tag role=b --reduce-prompt 'R {responses}' \
      --reducer-agent 1 --output "$scratch/o7"
    [[ $rc -eq 0 ]] || fail "--reducer-agent rc=$rc $err"
    [[ $out == $'agent 3: R agent 1: q\n---\nagent 3: q\n---\nagent 5: q' ]] || fail "--reducer-agent: $out"
    run 2 --pattern broadcast "${hosts[@]}" --prompt q --reduce-prompt 'R {responses}' --reducer-agent 6
    [[ $rc -eq 2 && $err == *"--reducer-agent 6: the run has 6 agents"* ]] || fail "reducer out of range: rc=$rc $err"
    run 2 --pattern broadcast "${hosts[@]}" --prompt q --select-agents 9
    [[ $rc -eq 2 && $err == *"--select-agents: agent 9 is out of range"* ]] || fail "select out of range: rc=$rc $err"
    # AURORA_SWARM_HOSTFILE stands in for --hostfile (the flag wins when both are given).
    AURORA_SWARM_HOSTFILE=$scratch/agents.txt run 2 --pattern broadcast --prompt hi --output "$scratch/o8"
    [[ $rc -eq 0 && $(texts "$scratch/o8" | wc -l) -eq 6 ]] || fail "AURORA_SWARM_HOSTFILE: rc=$rc $err"
    AURORA_SWARM_HOSTFILE=$scratch/none.txt run 2 --pattern broadcast "${hosts[@]}" --prompt hi --output "$scratch/o9"
    [[ $rc -eq 0 ]] || fail "--hostfile did not win over AURORA_SWARM_HOSTFILE: rc=$rc $err"
    ;;
  reach-aggregates)
    start_mock --count 4 --mode script --script "$scratch/script.json"
    hosts=(--hostfile "$scratch/agents.txt")
    # Several aggregates in one run, one line each in the order given; the concat separator.
    run 2 --pattern broadcast "${hosts[@]}" --prompt hi --aggregate majority,concat --separator ' | ' --output "$scratch/o1"
    [[ $rc -eq 0 ]] || fail "majority,concat rc=$rc $err"
    python3 - "$out" << 'PY' || fail "majority,concat: $out"
import json, sys
lines = [json.loads(l) for l in sys.argv[1].splitlines()]
assert [l["aggregate"] for l in lines] == ["majority", "concat"], lines
assert lines[0]["result"] == {"winner": "agent 0: hi", "confidence": 0.25}, lines[0]
assert lines[1]["result"]["text"] == "agent 0: hi | agent 1: hi | agent 2: hi | agent 3: hi", lines[1]
PY
    # best-of by a JSON field, top-k by a regex group, by length.
    run 2 --pattern broadcast "${hosts[@]}" --prompt json --aggregate best-of --score json:n --output "$scratch/o2"
    [[ $out == '{"aggregate":"best-of","result":{"agent_index":3,"score":3.0,"text":"{\"n\": 3}"}}' ]] || fail "best-of json: $out"
    run 2 --pattern broadcast "${hosts[@]}" --prompt hi --aggregate top-k --top-k 2 --score 'regex:agent ([0-9]+)' --output "$scratch/o3"
    python3 -c "import json,sys; t=json.loads(sys.argv[1])['result']['top']; assert [x['agent_index'] for x in t]==[3,2] and t[0]['score']==3, t" "$out" || fail "top-k regex: $out"
    run 2 --pattern broadcast "${hosts[@]}" --prompt hi --aggregate best-of --score length --output "$scratch/o4"
    python3 -c "import json,sys; r=json.loads(sys.argv[1])['result']; assert r['agent_index']==0 and r['score']==11, r" "$out" || fail "best-of length: $out"
    run 2 --pattern broadcast "${hosts[@]}" --prompt hi --aggregate top-k
    [[ $rc -eq 2 && $err == *"--aggregate top-k needs --score"* ]] || fail "top-k without --score: rc=$rc $err"
    run 2 --pattern broadcast "${hosts[@]}" --prompt hi --aggregate best-of --score 'regex:agent'
    [[ $rc -eq 2 && $err == *"the pattern needs a group"* ]] || fail "regex without a group: rc=$rc $err"
    ;;
  reach-fan-out)
    start_mock --count 4 --mode script --script "$scratch/script.json"
    run 2 --pattern fan-out-fan-in --hostfile "$scratch/agents.txt" --prompt q --workers 3 \
      --reduce-prompt 'C {responses}'
    [[ $rc -eq 0 ]] || fail "rc=$rc $err"
    [[ $out == $'agent 0: C agent 0: q\n---\nagent 1: q\n---\nagent 2: q' ]] || fail "answer: $out"
    run 2 --pattern fan-out-fan-in --hostfile "$scratch/agents.txt" --prompt q --select-agents 2,1 \
      --reduce-prompt 'C {responses}' --output "$scratch/o.jsonl"
    python3 -c "import json,sys; l=json.load(open(sys.argv[1])); assert l['success'] and l['text']=='agent 2: C agent 2: q\n---\nagent 1: q', l" "$scratch/o.jsonl" || fail "with a selection: $(cat "$scratch/o.jsonl")"
    run 2 --pattern fan-out-fan-in --hostfile "$scratch/agents.txt" --prompt q
    [[ $rc -eq 2 && $err == *"needs --reduce-prompt"* ]] || fail "no --reduce-prompt: rc=$rc $err"
    ;;
  reach-text-input)
    start_mock --count 2 --mode script --script "$scratch/script.json"
    printf 'apple,red\n\n  pear\tgreen  \n{"not": "json here"}\n' > "$scratch/items.txt"
    run 2 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/items.txt" \
      --input-format text --prompt 'Q {item}' --schedule static --output "$scratch/o1"
    [[ $rc -eq 0 ]] || fail "scatter-gather rc=$rc $err"
    [[ $(texts "$scratch/o1") == $'agent 0: Q apple,red\nagent 1: Q pear\tgreen\nagent 0: Q {"not": "json here"}' ]] ||
      fail "scatter-gather text input: $(texts "$scratch/o1")"
    run 2 --pattern tree-reduce --hostfile "$scratch/agents.txt" --items "$scratch/items.txt" \
      --input-format text --prompt 'S {item}' --reduce-prompt 'R {responses}'
    [[ $rc -eq 0 ]] || fail "tree-reduce rc=$rc $err"
    [[ $out == *"S apple,red"* && $out == *$'S pear\tgreen'* && $out == *'S {"not": "json here"}'* ]] ||
      fail "tree-reduce text items: $out"
    run 2 --pattern broadcast --hostfile "$scratch/agents.txt" --prompt q --input-format text
    [[ $rc -eq 2 && $err == *"--input-format applies to"* ]] || fail "broadcast --input-format: rc=$rc $err"
    ;;
  *) fail "unknown case" ;;
esac
echo "PASS [$case_name]"
