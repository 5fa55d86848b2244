#!/usr/bin/env bash
# End-to-end tests of --pattern embed and --pattern uncertainty against the mock:
#   embed-order        the same vectors, in input order, at 1 and 3 ranks
#   embed-kill-resume  a run killed mid-way and --resumed equals an uninterrupted one
#   uncertainty        questions built to be certain and uncertain give the expected cluster
#                      counts and entropies; a question whose samples all fail is reported
#   cli_uq.sh <mpiexec> <aswarm-mpi> <aswarm-mock-agent> <scratch dir> <case>
set -euo pipefail

# shellcheck source=tests/e2e/e2e_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh"

victim=""
# shellcheck disable=SC2317  # called by the EXIT trap
stop_all() {
  if [[ -n "$victim" ]]; then kill -9 -- "-$victim" 2> /dev/null || true; fi
  cleanup
}
trap stop_all EXIT

# texts <file> <count>: {"id": "t<i>", "prompt": "text number <i>"} lines.
texts() {
  python3 -c "
import json, sys
with open(sys.argv[1], 'w') as f:
    for i in range(int(sys.argv[2])):
        f.write(json.dumps({'id': 't%d' % i, 'prompt': 'text number %d' % i}) + '\n')" "$1" "$2"
}

# embeddings_requests: /v1/embeddings requests the mock received (scraped through the last agent).
embeddings_requests() {
  local last
  last=$(tail -n 1 "$scratch/agents.txt" | cut -d' ' -f1)
  curl -sf --retry 3 --retry-connrefused --max-time 10 "http://$last/metrics" |
    awk -v r='route="/v1/embeddings"' \
      'index($0, "aswarm_mock_requests_total{") == 1 && index($0, r) { s += $2 } END { print s + 0 }'
}

# same_vectors <a> <b> <count>: both files hold `count` successful lines, indices 0..count-1 in
# order, with identical ids and vectors.
same_vectors() {
  python3 - "$1" "$2" "$3" << 'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
n = int(sys.argv[3])
for d in (a, b):
    assert [l["index"] for l in d] == list(range(n)), "order/duplicates"
    assert all(l["success"] and len(l["embedding"]) == 16 for l in d), "a failed line"
    assert [l["id"] for l in d] == ["t%d" % i for i in range(n)], "ids"
assert [l["embedding"] for l in a] == [l["embedding"] for l in b], "vectors differ"
assert len({json.dumps(l["embedding"]) for l in a}) == n, "texts share a vector"
PY
}

case "$case_name" in
  embed-order)
    # Agent 0 (chat) is dead: an embedding request sent to it would fail its texts.
    start_mock --count 4 --roles chat,embed --dead-agents 0
    texts "$scratch/in.jsonl" 301
    args=(--pattern embed --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl"
          --batch-size 8 --window 64)
    run 1 "${args[@]}" --output "$scratch/one.jsonl"
    [[ $rc -eq 0 ]] || fail "1 rank: rc=$rc err=$err"
    run 3 "${args[@]}" --output "$scratch/three.jsonl" --summary "$scratch/summary.json"
    [[ $rc -eq 0 ]] || fail "3 ranks: rc=$rc err=$err"
    same_vectors "$scratch/one.jsonl" "$scratch/three.jsonl" 301 || fail "1 and 3 ranks differ"
    # 301 texts in lists of 8: 38 requests per run (windows of 64 cut no list short but the last).
    [[ $(embeddings_requests) -eq 76 ]] || fail "$(embeddings_requests) embeddings requests, expected 76"
    # No embed agent: a usage error on every rank, nothing sent.
    run 2 "${args[@]}" --output "$scratch/none.jsonl" --embed-tag role=nobody
    [[ $rc -eq 2 && "$err" == *"no agent is tagged role=nobody"* ]] || fail "rc=$rc err=$err"
    ;;
  embed-kill-resume)
    start_mock --count 4 --roles embed --latency fixed:40
    texts "$scratch/in.jsonl" 1000
    args=(--pattern embed --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl"
          --batch-size 4 --window 40 --concurrency 2)
    setsid "$mpiexec" -n 2 "$aswarm" --progress never "${args[@]}" --output "$scratch/out.jsonl" \
      > /dev/null 2>&1 &
    victim=$!
    for _ in $(seq 500); do
      [[ -f "$scratch/out.jsonl" ]] && (( $(wc -l < "$scratch/out.jsonl") >= 100 )) && break
      sleep 0.02
    done
    kill -9 -- "-$victim" 2> /dev/null || fail "the run ended before it could be killed"
    wait "$victim" 2> /dev/null || true
    victim=""
    kept=$(wc -l < "$scratch/out.jsonl")
    (( kept >= 100 && kept < 1000 )) || fail "$kept lines kept by the kill"
    before=$(embeddings_requests)
    run 2 "${args[@]}" --output "$scratch/out.jsonl" --resume
    [[ $rc -eq 0 ]] || fail "resume rc=$rc err=$err"
    resent=$(( $(embeddings_requests) - before ))
    # Only the missing texts are sent again (lists of 4; a window's last list may be shorter).
    (( resent * 4 >= 1000 - kept && resent < 250 )) || fail "resume sent $resent requests after $kept kept"
    run 1 "${args[@]}" --output "$scratch/ref.jsonl"
    [[ $rc -eq 0 ]] || fail "reference run rc=$rc err=$err"
    same_vectors "$scratch/out.jsonl" "$scratch/ref.jsonl" 1000 || fail "resumed output differs"
    echo "embed-kill-resume: $kept lines kept by the kill, $resent requests re-sent"
    ;;
  uncertainty)
    # Weighted answers are picked by the request's seed (script.hpp): with --samples 4 and
    # seeds 0..3, "coin" answers heads, tails, heads, tails; "die" four faces; "color" red, red,
    # blue, green; "capital" always Paris. Distinct answers embed apart (the mock's vectors are
    # random per text), identical ones together.
    cat > "$scratch/script.json" << 'JSON'
{"rules": [
  {"match": "capital", "answer": "Paris"},
  {"match": "coin", "answers": [{"text": "heads"}, {"text": "tails"}]},
  {"match": "die", "answers": [{"text": "one"}, {"text": "two"}, {"text": "three"}, {"text": "four"}]},
  {"match": "color", "answers": [{"text": "red", "weight": 2}, {"text": "blue"}, {"text": "green"}]}
], "default": "unsure"}
JSON
    start_mock --count 4 --roles chat,embed --mode script --script "$scratch/script.json" \
      --max-model-len 64 --record "$scratch/record.jsonl"
    python3 -c "
import json
qs = ['What is the capital of France?', 'Toss a coin.', 'Roll a die.', 'Pick a color.',
      ' '.join(['word'] * 80)]
with open('$scratch/q.jsonl', 'w') as f:
    for i, q in enumerate(qs):
        f.write(json.dumps({'id': 'q%d' % i, 'prompt': q}) + '\n')"
    args=(--pattern uncertainty --hostfile "$scratch/agents.txt" --input "$scratch/q.jsonl"
          --output "$scratch/out.jsonl" --samples 4 --max-tokens 8 --temperature 0.7 --window 2)
    run 2 "${args[@]}"
    # The 80-word question does not fit the 64-token context: its samples fail (exit 3).
    [[ $rc -eq 3 ]] || fail "rc=$rc err=$err"
    python3 - "$scratch/out.jsonl" "$scratch/record.jsonl" << 'PY' || fail "uncertainty output"
import json, math, sys
d = [json.loads(l) for l in open(sys.argv[1])]
assert [l["index"] for l in d] == list(range(5)), "order"
want = {0: ([4], ["Paris"] * 4), 1: ([2, 2], ["heads", "tails", "heads", "tails"]),
        2: ([1, 1, 1, 1], ["one", "two", "three", "four"]), 3: ([2, 1, 1], ["red", "red", "blue", "green"])}
for i, (sizes, answers) in want.items():
    l = d[i]
    assert l["success"] and l["samples"] == 4 and l["samples_requested"] == 4, l
    assert l["answers"] == answers, l["answers"]
    assert l["cluster_count"] == len(sizes), l
    # Same answer <-> same cluster.
    for a in range(4):
        for b in range(4):
            assert (answers[a] == answers[b]) == (l["clusters"][a] == l["clusters"][b]), l
    se = -sum(s / 4 * math.log(s / 4) for s in sizes)
    assert abs(l["semantic_entropy"] - se) < 1e-9, (l["semantic_entropy"], se)
    assert l["failed_samples"] == [], l
    if i == 0:
        assert 0 <= l["kle"] < 1e-7, l["kle"]  # one direction: eigenvalues 1, 0, 0, 0
    else:
        assert 0.3 < l["kle"] <= math.log(4) + 1e-9, l["kle"]
bad = d[4]
assert not bad["success"] and bad["samples"] == 0 and bad["cluster_count"] == 0, bad
assert [f["sample"] for f in bad["failed_samples"]] == [0, 1, 2, 3], bad
assert all("maximum context length" in f["error"] for f in bad["failed_samples"]), bad
assert bad["semantic_entropy"] == 0 and bad["kle"] == 0, bad
# Every sample carried its own seed and the temperature.
seeds = {}
for r in map(json.loads, open(sys.argv[2])):
    if r.get("path") != "/v1/chat/completions":
        continue
    body = json.loads(r["body"]) if isinstance(r["body"], str) else r["body"]
    prompt = body["messages"][-1]["content"]
    assert body["temperature"] == 0.7, body
    seeds.setdefault(prompt, []).append(body["seed"])
assert all(sorted(s) == [0, 1, 2, 3] for s in seeds.values()), seeds
PY
    # --resume asks only the failed question again (4 samples).
    recorded=$(grep -c chat/completions "$scratch/record.jsonl")
    run 2 "${args[@]}" --resume
    [[ $rc -eq 3 ]] || fail "resume rc=$rc err=$err"
    again=$(( $(grep -c chat/completions "$scratch/record.jsonl") - recorded ))
    [[ $again -eq 4 ]] || fail "resume asked $again samples, expected 4"
    [[ $(wc -l < "$scratch/out.jsonl") -eq 5 ]] || fail "resume left $(wc -l < "$scratch/out.jsonl") lines"
    ;;
  *)
    fail "unknown case"
    ;;
esac
