#!/usr/bin/env bash
# End-to-end tests of `aswarm-mpi --pattern tree-reduce` as a user runs it: a real
# aswarm-mock-agent, mpiexec, files on disk, exit codes, and the mock's /metrics counters.
#   cli_tree_reduce.sh <mpiexec> <aswarm-mpi> <aswarm-mock-agent> <scratch dir> <case>
# Registered by tests/mpi/tree_reduce.cmake. Every wait is bounded; ctest's TIMEOUT bounds the
# whole case.
set -euo pipefail

# shellcheck source=tests/e2e/e2e_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh"
run_flags+=(--retries 0)

# script_mock <args...>: the mock answering "agent {agent}: {prompt}".
script_mock() {
  echo '{"rules": [], "default": "agent {agent}: {prompt}"}' > "$scratch/script.json"
  start_mock --mode script --script "$scratch/script.json" "$@"
}

# seed <agents> <fanin> <prompt>: the Python seed's tree_reduce against the mock's script, with
# aswarm's supervisor rule (group g of level k to agent g * fanin^k mod N; the seed's is g mod N).
seed() {
  python3 - "$@" << 'EOF'
import sys
n, fanin, prompt = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
calls = 0
def answer(agent, p):
    global calls
    calls += 1
    return "agent %d: %s" % (agent, p)
current = [answer(a, prompt) for a in range(n)]
level = 1
while len(current) > 1:
    groups = [current[i:i + fanin] for i in range(0, len(current), fanin)]
    current = [answer(g * fanin ** level % n, "sum %d: %s" % (level, "\n---\n".join(group)))
               for g, group in enumerate(groups)]
    level += 1
sys.stdout.write(current[0] + "\n")
sys.stderr.write("%d\n" % calls)
EOF
}

reduce='sum {level}: {responses}'

case $case_name in
  basic)
    # One rank: exactly the seed's answer and number of calls.
    script_mock --count 6
    seed 6 2 q > "$scratch/want" 2> "$scratch/want_calls"
    run 1 --pattern tree-reduce --hostfile "$scratch/agents.txt" --prompt q --reduce-prompt "$reduce" \
      --fanin 2 --summary "$scratch/summary.json"
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    [[ "$out" == "$(cat "$scratch/want")" ]] || fail "stdout differs from the seed: $out"
    [[ $(requests) -eq $(cat "$scratch/want_calls") ]] || fail "requests $(requests) != $(cat "$scratch/want_calls")"
    python3 -c "
import json; s = json.load(open('$scratch/summary.json'))
assert s['pattern'] == 'tree-reduce' and s['fanin'] == 2 and s['agents'] == 6, s
assert [l['calls'] for l in s['levels']] == [6, 3, 2, 1], s['levels']
assert s['requests'] == 12 and s['failed'] == 0, s"
    # Three ranks: the same tree, the same answer, the same requests (twice the seed's now).
    run 3 --pattern tree-reduce --hostfile "$scratch/agents.txt" --prompt q --reduce-prompt "$reduce" \
      --fanin 2 --summary "$scratch/summary.json"
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    [[ "$out" == "$(cat "$scratch/want")" ]] || fail "3 ranks: stdout differs from the seed: $out"
    [[ $(requests) -eq $((2 * $(cat "$scratch/want_calls"))) ]] || fail "3 ranks: requests $(requests)"
    python3 -c "
import json; s = json.load(open('$scratch/summary.json'))
assert s['ranks'] == 3 and [l['calls'] for l in s['levels']] == [6, 3, 2, 1], s
# Every request of every rank is in the summary's counts, tokens and latencies.
assert s['requests'] == 12 and s['attempts'] == 12 and s['latency_ms']['count'] == 12, s
assert s['usage']['total_tokens'] > 0 and s['throughput_rps'] > 0, s
assert s['root_mpi']['bytes_received'] > 0, s"
    ;;
  items)
    script_mock --count 3
    printf '%s\n' '"apple"' '{"id": 7, "prompt": "pear"}' '' '"plum"' '{"prompt": "fig"}' '"kiwi"' > "$scratch/items.jsonl"
    run 2 --pattern tree-reduce --hostfile "$scratch/agents.txt" --prompt 'item: {item}' \
      --reduce-prompt "$reduce" --fanin 3 --items "$scratch/items.jsonl" --summary "$scratch/summary.json"
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    for item in apple pear plum fig kiwi; do [[ "$out" == *"item: $item"* ]] || fail "$item missing: $out"; done
    python3 -c "
import json; s = json.load(open('$scratch/summary.json'))
assert s['items'] == 5 and s['levels'][0]['calls'] == 5, s
assert s['requests'] == sum(l['calls'] for l in s['levels']), s"
    [[ $(requests) -eq $(python3 -c "import json; print(json.load(open('$scratch/summary.json'))['requests'])") ]] ||
      fail "request count differs from the summary"
    ;;
  output)
    script_mock --count 4
    run 2 --pattern tree-reduce --hostfile "$scratch/agents.txt" --prompt q --reduce-prompt "$reduce" \
      --fanin 2 --output "$scratch/out.json"
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    [[ -z "$out" ]] || fail "stdout should be empty with --output FILE: $out"
    python3 -c "
import json; lines = open('$scratch/out.json').read().splitlines()
assert len(lines) == 1, lines
d = json.loads(lines[0])
assert d['success'] and d['error'] is None and d['agent'] == 0, d
assert d['endpoint'].startswith('http://127.0.0.1:'), d
assert d['text'].startswith('agent 0: sum '), d
assert [l['level'] for l in d['levels']] == list(range(len(d['levels']))), d
assert d['levels'][0]['ok'] == 4 and [l['calls'] for l in d['levels']] == [4, 2, 1], d"
    ;;
  errors)
    script_mock --count 2
    expect_usage() {  # expect_usage <message part> <aswarm args...>
      run 3 --pattern tree-reduce --hostfile "$scratch/agents.txt" "${@:2}"
      [[ $rc -eq 2 ]] || fail "rc=$rc for ${*:2}: $err"
      [[ "$err" == *"$1"* ]] || fail "no '$1' in: $err"
      [[ $(grep -c "aswarm-mpi: error" <<< "$err") -eq 1 ]] || fail "error not printed once: $err"
    }
    expect_usage "needs --reduce-prompt" --prompt q
    expect_usage "needs --prompt" --reduce-prompt "$reduce"
    expect_usage "must contain {responses}" --prompt q --reduce-prompt 'sum it'
    expect_usage "tree-reduce reads --items" --prompt q --reduce-prompt "$reduce" --input "$scratch/x"
    expect_usage "$scratch/none.jsonl" --prompt q --reduce-prompt "$reduce" --items "$scratch/none.jsonl"
    printf '"a"\n{"prompt": 3}\n' > "$scratch/bad.jsonl"
    expect_usage "$scratch/bad.jsonl:2:" --prompt q --reduce-prompt "$reduce" --items "$scratch/bad.jsonl"
    : > "$scratch/empty.jsonl"
    expect_usage "holds no items" --prompt q --reduce-prompt "$reduce" --items "$scratch/empty.jsonl"
    [[ $(requests) -eq 0 ]] || fail "a usage error sent requests"
    ;;
  failures)
    # A dead agent: the answer still comes, but the exit status says something failed.
    script_mock --count 4 --dead-agents 3
    run 2 --pattern tree-reduce --hostfile "$scratch/agents.txt" --prompt q --reduce-prompt "$reduce" \
      --fanin 2 --summary "$scratch/summary.json"
    [[ $rc -eq 3 ]] || fail "rc=$rc err=$err"
    [[ "$out" == *"agent 2: q"* && "$out" != *"agent 3: q"* ]] || fail "out=$out"
    python3 -c "
import json; s = json.load(open('$scratch/summary.json'))
assert s['failed'] == 1 and s['levels'][0]['failed'] == 1 and s['final']['success'], s"
    kill "$mock_pid"; wait "$mock_pid" 2> /dev/null || true; mock_pid=""
    # Agent 0 dead at 3 ranks: it has 4 of the 40 leaves and supervises group 0 of every level.
    # Its leaves and supervisor calls fail over to its rank's other agents, so the answer covers
    # all 40 leaves (this run once ended "all agents failed during reduction").
    script_mock --count 12 --dead-agents 0
    for i in $(seq 0 39); do echo "\"t$i\""; done > "$scratch/items40.jsonl"
    run 3 --pattern tree-reduce --hostfile "$scratch/agents.txt" --items "$scratch/items40.jsonl" \
      --prompt 'leaf {item}' --reduce-prompt "$reduce" --fanin 4 --schedule static \
      --output "$scratch/out0.json"
    [[ $rc -eq 0 ]] || fail "agent 0 dead: rc=$rc err=$err"
    python3 -c "
import json; d = json.loads(open('$scratch/out0.json').read())
assert d['success'] and d['leaves_covered'] == 40, d
assert all(l['failed'] == 0 for l in d['levels']), d['levels']
assert 'agent 0:' not in d['text'], d['text']"
    kill "$mock_pid"; wait "$mock_pid" 2> /dev/null || true; mock_pid=""
    # Every agent dead: no answer, the reason on stderr once, a failed JSON line.
    script_mock --count 2 --dead-agents 0,1
    run 3 --pattern tree-reduce --hostfile "$scratch/agents.txt" --prompt q --reduce-prompt "$reduce" \
      --output "$scratch/out.json"
    [[ $rc -eq 3 ]] || fail "rc=$rc err=$err"
    [[ $(grep -c "tree-reduce failed: all agents failed during reduction" <<< "$err") -eq 1 ]] || fail "err=$err"
    python3 -c "
import json; d = json.loads(open('$scratch/out.json').read())
assert not d['success'] and d['error'] == 'all agents failed during reduction' and d['agent'] == -1, d"
    ;;
  seed-options)
    # The flags of the seed's tree_reduce_coli.py: the per-group budget, both character caps and
    # every level's outputs; the same at 1 and 3 ranks.
    # (--schedule static: the mock names the agent that answered, so leaf i must go to agent i.)
    script_mock --count 4 --record "$scratch/requests.jsonl"
    printf '"%s"\n' aaaaaaaaaaaa0 aaaaaaaaaaaa1 aaaaaaaaaaaa2 aaaaaaaaaaaa3 > "$scratch/items.jsonl"
    for ranks in 1 3; do
      # The mock keeps appending to its record: this run's requests are the lines after `seen`.
      seen=$(wc -l < "$scratch/requests.jsonl")
      run "$ranks" --pattern tree-reduce --hostfile "$scratch/agents.txt" --items "$scratch/items.jsonl" \
        --prompt "{item}" --reduce-prompt "sum {level}: {responses}" --fanin 2 --max-tokens 40 \
        --schedule static \
        --max-tokens-contingency 7 --max-response-chars 15 --max-reduce-input-chars 100 \
        --levels-output "$scratch/levels-$ranks.jsonl" --output "$scratch/out-$ranks.json"
      [[ $rc -eq 0 ]] || fail "$ranks ranks: rc=$rc err=$err"
      python3 - "$scratch" "$ranks" "$seen" << 'PY' || fail "$ranks ranks: levels or budgets"
import json, sys
d, ranks, seen = sys.argv[1], sys.argv[2], int(sys.argv[3])
reqs = [json.loads(l) for l in open(f"{d}/requests.jsonl").readlines()[seen:]]
leaves = [r for r in reqs if not r["body"]["messages"][-1]["content"].startswith("sum ")]
sups = [r for r in reqs if r["body"]["messages"][-1]["content"].startswith("sum ")]
assert len(leaves) == 4 and len(sups) == 3, (len(leaves), len(sups))
assert all(r["body"]["max_tokens"] == 40 for r in leaves), [r["body"]["max_tokens"] for r in leaves]
# 40 per member x 2 members + 7, at both levels (the seed's rule).
assert all(r["body"]["max_tokens"] == 87 for r in sups), [r["body"]["max_tokens"] for r in sups]
leaf = lambda i: ("agent %d: aaaaaaaaaaaa%d" % (i, i))[:15] + "..."
g0 = "agent 0: sum 1: " + leaf(0) + "\n---\n" + leaf(1)
g1 = "agent 2: sum 1: " + leaf(2) + "\n---\n" + leaf(3)
joined = g0 + "\n---\n" + g1
assert len(joined) > 100
top = [r["body"]["messages"][-1]["content"] for r in sups if r["body"]["messages"][-1]["content"].startswith("sum 2: ")]
assert top == ["sum 2: " + joined[:40] + "\n... [input truncated to fit model context]"], top
final = "agent 0: " + top[0]
levels = [json.loads(l) for l in open(f"{d}/levels-{ranks}.jsonl")]
assert [(l["level"], l["group"], l["text"]) for l in levels] == [(1, 0, g0), (1, 1, g1), (2, 0, final)], levels
assert [l["agent"] for l in levels] == [0, 2, 0] and all(l["endpoint"].startswith("http://") for l in levels)
out = json.loads(open(f"{d}/out-{ranks}.json").read())
assert out["success"] and out["text"] == final, out
PY
    done
    cmp "$scratch/levels-1.jsonl" "$scratch/levels-3.jsonl" || fail "levels differ between 1 and 3 ranks"
    run 1 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/items.jsonl" \
      --max-response-chars 10
    [[ $rc -eq 2 && "$err" == *"apply to --pattern tree-reduce"* ]] || fail "other pattern: rc=$rc err=$err"
    ;;
  *)
    fail "unknown case"
    ;;
esac
echo "ok [$case_name]"
