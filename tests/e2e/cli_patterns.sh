#!/usr/bin/env bash
# End-to-end tests of `aswarm-mpi --pattern broadcast|scatter-gather` as a user runs it:
# a real aswarm-mock-agent, mpiexec, files on disk, exit codes, and the mock's /metrics counters.
#   cli_patterns.sh <mpiexec> <aswarm-mpi> <aswarm-mock-agent> <scratch dir> <case>
# Every wait is bounded; ctest's TIMEOUT bounds the whole case.
set -euo pipefail

# shellcheck source=tests/e2e/e2e_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh"

who_script() {
  echo '{"rules": [
    {"match": "^vote", "answers": [{"text": "Yes"}, {"text": " yes"}, {"text": "No"}]},
    {"match": "^number", "answer": "{agent}"},
    {"match": "^json", "answer": "[{\"agent\": {agent}}]"}],
   "default": "agent {agent}: {prompt}"}' > "$scratch/script.json"
  echo "$scratch/script.json"
}

json() { python3 -c "import json,sys; d=[json.loads(l) for l in open(sys.argv[1])]; $1" "$2"; }

case $case_name in
  broadcast)
    start_mock --count 5 --mode script --script "$(who_script)"
    run 3 --pattern broadcast --hostfile "$scratch/agents.txt" --prompt "hello" \
      --output "$scratch/out.jsonl" --summary "$scratch/summary.json"
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    json "assert [l['index'] for l in d] == list(range(5)), d
assert all(l['agent'] == l['index'] and l['success'] for l in d), d
assert d[3]['text'] == 'agent 3: hello', d[3]
assert d[3]['endpoint'].startswith('http://127.0.0.1:'), d[3]" "$scratch/out.jsonl"
    python3 -c "import json; s=json.load(open('$scratch/summary.json')); assert s['pattern']=='broadcast' and s['agents']==5, s"
    [[ $(requests) -eq 5 ]] || fail "expected 5 requests"
    ;;
  broadcast-reduce)
    start_mock --count 3 --mode script --script "$(who_script)"
    run 2 --pattern broadcast --hostfile "$scratch/agents.txt" --prompt "q" \
      --reduce-prompt "sum: {responses}" --output "$scratch/out.jsonl"
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    expected=$'agent 0: sum: agent 0: q\n---\nagent 1: q\n---\nagent 2: q'
    [[ "$out" == "$expected" ]] || fail "reduced answer: $out"
    ;;
  aggregates)
    start_mock --count 4 --mode script --script "$(who_script)" --seed 3
    run 2 --pattern broadcast --hostfile "$scratch/agents.txt" --prompt "vote now" --aggregate majority --output "$scratch/o1"
    [[ $rc -eq 0 ]] || fail "majority rc=$rc $err"
    python3 -c "import json,sys; a=json.loads(sys.argv[1].splitlines()[-1]); assert a['aggregate']=='majority' and a['result']['winner'] in ('yes','no') and a['result']['confidence'] >= 0.5, a" "$out"
    run 2 --pattern broadcast --hostfile "$scratch/agents.txt" --prompt "number" --aggregate statistics --output "$scratch/o2"
    python3 -c "import json,sys; r=json.loads(sys.argv[1].splitlines()[-1])['result']; assert r['mean']==1.5 and r['min']==0 and r['max']==3 and r['count']==4, r" "$out"
    run 2 --pattern broadcast --hostfile "$scratch/agents.txt" --prompt "json" --aggregate structured-merge --output "$scratch/o3"
    python3 -c "import json,sys; r=json.loads(sys.argv[1].splitlines()[-1])['result']; assert sorted(x['agent'] for x in r['merged'])==[0,1,2,3] and r['errors']==[], r" "$out"
    run 2 --pattern broadcast --hostfile "$scratch/agents.txt" --prompt "hi" --aggregate concat --output "$scratch/o4"
    python3 -c "import json,sys; r=json.loads(sys.argv[1].splitlines()[-1])['result']; assert r['text']=='agent 0: hi\nagent 1: hi\nagent 2: hi\nagent 3: hi', r" "$out"
    ;;
  failure-report)
    start_mock --count 4 --dead-agents 2
    run 3 --pattern broadcast --hostfile "$scratch/agents.txt" --prompt "x" --retries 0 --aggregate failure-report --output "$scratch/o"
    [[ $rc -eq 3 ]] || fail "some failed must exit 3, got $rc"
    python3 -c "import json,sys; r=json.loads(sys.argv[1].splitlines()[-1])['result']; assert r['total']==4 and r['failure_count']==1 and r['failures'][0]['agent_index']==2, r" "$out"
    json "assert d[2]['success'] is False and d[2]['http_status'] == 503, d[2]" "$scratch/o"
    ;;
  scatter-formats)
    start_mock --count 3 --mode script --script "$(who_script)"
    printf '"plain one"\n\n{"id": "b", "prompt": "two"}\n{"id": 7, "prompt": "three"}\n"four"\n' > "$scratch/in.jsonl"
    for ranks in 1 2 4; do
      run "$ranks" --pattern scatter-gather --schedule static --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl" --output "$scratch/out$ranks.jsonl"
      [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    done
    # Latencies differ between runs; the answers, ids and agents (i mod N) must not:
    for ranks in 1 2 4; do
      json "assert [l['text'] for l in d] == ['agent 0: plain one', 'agent 1: two', 'agent 2: three', 'agent 0: four'], d
assert 'id' not in d[0] and d[1]['id'] == 'b' and d[2]['id'] == 7, d
assert [l['agent'] for l in d] == [0, 1, 2, 0]" "$scratch/out$ranks.jsonl"
    done
    # stdin input and the {item} template
    run 2 --pattern scatter-gather --schedule static --hostfile "$scratch/agents.txt" --input - --prompt "Q: {item}" \
      --output "$scratch/tpl.jsonl" < "$scratch/in.jsonl"
    [[ $rc -eq 0 ]] || fail "stdin rc=$rc $err"
    json "assert d[1]['text'] == 'agent 1: Q: two', d" "$scratch/tpl.jsonl"
    ;;
  scatter-batch)
    start_mock --count 2 --mode script --script "$(who_script)"
    {
      echo '{"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "mock-model", "messages": [{"role": "user", "content": "first"}], "max_tokens": 50}}'
      echo '{"custom_id": "r2", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "mock-model", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "second"}]}}'
    } > "$scratch/batch.jsonl"
    run 2 --pattern scatter-gather --schedule static --hostfile "$scratch/agents.txt" --input "$scratch/batch.jsonl" --output "$scratch/out.jsonl"
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    json "assert [l['custom_id'] for l in d] == ['r1', 'r2'], d
assert d[0]['response']['status_code'] == 200, d[0]
assert d[1]['response']['body']['choices'][0]['message']['content'] == 'agent 1: second', d[1]" "$scratch/out.jsonl"
    ;;
  errors)
    start_mock --count 2
    printf 'a:1\nb:port\n' > "$scratch/bad.hosts"
    run 3 --pattern broadcast --hostfile "$scratch/bad.hosts" --prompt x --output "$scratch/o"
    [[ $rc -eq 2 && "$err" == "aswarm-mpi: error: $scratch/bad.hosts:2: port 'port' is not a number" ]] || fail "bad hostfile: rc=$rc err=$err"
    run 2 --pattern broadcast --hostfile "$scratch/agents.txt" --prompt x --concurrency 0
    [[ $rc -eq 2 && $(grep -c "aswarm-mpi: error:" <<< "$err") -eq 1 ]] || fail "bad flag: rc=$rc err=$err"
    run 2 --pattern scatter-gather --hostfile "$scratch/agents.txt"
    [[ $rc -eq 2 && "$err" == *"needs --input"* ]] || fail "missing input: rc=$rc err=$err"
    printf '"ok"\n{"prompt": 5}\n' > "$scratch/bad.jsonl"
    run 2 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/bad.jsonl" --output "$scratch/o"
    [[ $rc -eq 2 && "$err" == "aswarm-mpi: error: $scratch/bad.jsonl:2: "* ]] || fail "bad input: rc=$rc err=$err"
    [[ $(requests) -eq 0 ]] || fail "requests were sent despite the errors"
    # An existing results file is never overwritten without --resume.
    printf '"a"\n' > "$scratch/in.jsonl"
    echo '{"index": 0}' > "$scratch/old.jsonl"
    run 2 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl" --output "$scratch/old.jsonl"
    [[ $rc -eq 2 && "$err" == *"holds results of an earlier run; pass --resume"* ]] || fail "overwrite: rc=$rc err=$err"
    [[ $(cat "$scratch/old.jsonl") == '{"index": 0}' ]] || fail "the earlier results were touched"
    ;;
  health-give-up)
    # Every agent dead: each prompt fails after --give-up-after with a clear error, exit 3.
    start_mock --count 3 --mode script --script "$(who_script)" --dead-agents 0,1,2
    printf '"a"\n"b"\n"c"\n"d"\n"e"\n"f"\n' > "$scratch/in.jsonl"
    for schedule in dynamic static; do
      run 2 --pattern scatter-gather --schedule "$schedule" --hostfile "$scratch/agents.txt" \
        --input "$scratch/in.jsonl" --output "$scratch/out-$schedule.jsonl" --retries 0 --give-up-after 1 \
        --summary "$scratch/summary-$schedule.json"
      [[ $rc -eq 3 ]] || fail "$schedule: all dead must exit 3, got $rc ($err)"
      python3 -c "
import json; e = json.load(open('$scratch/summary-$schedule.json'))['engine']
# Not every agent need cool: a rank with a healthy agent left fails its prompts after failover.
assert e['endpoints'] == 3 and e['healthy_at_end'] <= 2 and e['cooldowns'] >= 1, e
assert e['health_probes'] >= 1 and e['retries'] == 0 and e['attempts'] >= 6, e" || fail "engine summary"
      json "assert [l['index'] for l in d] == list(range(6)), d
assert all(not l['success'] for l in d), d
assert all(l['error'] in ('HTTP 503: this agent is down (--dead-agents)',
                          'no healthy agent for 1 s: HTTP 503: this agent is down (--dead-agents)') for l in d), [l['error'] for l in d]
assert any(l['error'].startswith('no healthy agent for 1 s') for l in d), d" "$scratch/out-$schedule.jsonl"
    done
    ;;
  health-min-healthy)
    # Agent 3 listens after 6 s: --min-healthy 3 starts without it (mpiexec's start on a loaded
    # machine took 3 s), and it joins the run (about 12 s: 800 prompts, 3 then 4 agents x 2
    # slots, 100 ms answers).
    start_mock --count 4 --mode script --script "$(who_script)" --latency fixed:100 \
      --late-agents 3 --late-after-seconds 6
    python3 -c "
import json
with open('$scratch/in.jsonl', 'w') as f:
    for i in range(800): f.write(json.dumps('p%d' % i) + '\n')"
    run 2 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl" \
      --output "$scratch/out.jsonl" --per-agent-concurrency 2 --min-healthy 3
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    [[ "$err" == *"3 of 4 endpoints healthy"* ]] || fail "no start line: $err"
    json "assert [l['index'] for l in d] == list(range(800)), 'order/duplicates'
assert all(l['success'] and l['text'] == 'agent %d: p%d' % (l['agent'], l['index']) for l in d)
assert sum(l['agent'] == 3 for l in d) > 0, 'the late agent never answered'" "$scratch/out.jsonl"
    kill "$mock_pid"; wait "$mock_pid" 2> /dev/null || true; mock_pid=""
    # Too few ever come up: exit 4 after --give-up-after, nothing sent.
    start_mock --count 3 --dead-agents 0
    run 2 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl" \
      --output "$scratch/out2.jsonl" --min-healthy 100% --give-up-after 1
    [[ $rc -eq 4 ]] || fail "too few healthy must exit 4, got $rc ($err)"
    [[ "$err" == *"--min-healthy 100%: 2 of 3 endpoints answered /health within --give-up-after 1 s"* ]] || fail "err=$err"
    [[ $(requests) -eq 0 ]] || fail "the gate let requests through"
    run 2 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl" \
      --output "$scratch/out2.jsonl" --min-healthy 4
    [[ $rc -eq 2 && "$err" == *"--min-healthy 4: the hostfile has only 3 endpoints"* ]] || fail "rc=$rc err=$err"
    run 2 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl" \
      --output "$scratch/out2.jsonl" --min-healthy 3x
    [[ $rc -eq 2 && "$err" == *"expected a count N or a percentage P%"* ]] || fail "rc=$rc err=$err"
    ;;
  hedge)
    # Agent 0 answers in 1 s, the others in 20 ms: at the end of the run the other agents are
    # idle while agent 0 still holds prompts; --hedge sends those once more and they finish.
    start_mock --count 4 --mode script --script "$(who_script)" --latency fixed:20 \
      --slow-agents 0 --slow-factor 50
    python3 -c "
import json
with open('$scratch/in.jsonl', 'w') as f:
    for i in range(200): f.write(json.dumps('p%d' % i) + '\n')"
    run 2 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl" \
      --output "$scratch/out.jsonl" --per-agent-concurrency 2 --hedge --summary "$scratch/s.json"
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    json "assert [l['index'] for l in d] == list(range(200)), 'order/duplicates'
assert all(l['success'] and l['text'] == 'agent %d: p%d' % (l['agent'], l['index']) for l in d)" \
      "$scratch/out.jsonl"
    python3 - "$scratch/s.json" "$(requests)" <<'PY' || fail "summary: $(cat "$scratch/s.json")"
import json, sys
s = json.load(open(sys.argv[1]))
e = s['engine']
assert e['hedges'] >= 1 and 1 <= e['hedge_wins'] <= e['hedges'], e
# The lines' attempts count both copies of a hedged prompt, and each reached the mock once.
assert s['attempts'] == 200 + e['hedges'] == int(sys.argv[2]), (s['attempts'], e, sys.argv[2])
PY
    run 2 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl" \
      --output "$scratch/out.jsonl" --hedge --no-failover
    [[ $rc -eq 2 && "$err" == *"--hedge"*"--no-failover"* ]] || fail "rc=$rc err=$err"
    ;;
  resume | resume-dynamic)
    start_mock --count 4 --latency fixed:20
    python3 -c "
import json
with open('$scratch/in.jsonl', 'w') as f:
    for i in range(400): f.write(json.dumps({'id': 'p%d' % i, 'prompt': 'prompt %d' % i}) + '\n')"
    args=(--pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl"
          --output "$scratch/out.jsonl" --window 40 --concurrency 4)
    # The default schedule is dynamic; `resume` keeps the seed's static one covered.
    [[ $case_name == resume ]] && args+=(--schedule static)
    setsid "$mpiexec" -n 2 "$aswarm" --progress never "${args[@]}" > /dev/null 2>&1 &
    victim=$!
    for _ in $(seq 400); do
      [[ -f "$scratch/out.jsonl" && $(wc -l < "$scratch/out.jsonl") -ge 120 ]] && break
      sleep 0.02
    done
    kill -9 -- "-$victim" 2> /dev/null || fail "the run ended before it could be killed"
    wait "$victim" 2> /dev/null || true
    sleep 0.2
    before=$(requests)
    kept=$(python3 -c "import json; print(sum(1 for l in open('$scratch/out.jsonl') if l.endswith('\n') and json.loads(l)['success']))")
    (( kept >= 120 && kept < 400 )) || fail "killed run kept $kept lines"
    run 2 "${args[@]}" --resume
    [[ $rc -eq 0 ]] || fail "resume rc=$rc err=$err"
    json "assert [l['index'] for l in d] == list(range(400)), 'order/duplicates'
assert all(l['success'] and l['id'] == 'p%d' % l['index'] and l['text'] == 'completion: prompt %d' % l['index'] for l in d)" "$scratch/out.jsonl"
    after=$(requests)
    [[ $((after - before)) -eq $((400 - kept)) ]] || fail "resume sent $((after - before)) requests, expected $((400 - kept))"
    # A second resume has nothing to do and sends nothing.
    run 2 "${args[@]}" --resume
    [[ $rc -eq 0 && $(requests) -eq $after ]] || fail "second resume resent work"
    ;;
  blackboard)
    start_mock --count 4 --roles hypotheses,critiques --mode script --script "$(who_script)"
    cat > "$scratch/board.json" <<'JSON'
{"sections": [{"name": "hypotheses", "prompt": "propose r{round}"},
              {"name": "critiques", "prompt": "judge r{round}: {section:hypotheses}"}],
 "view": {"last": 2},
 "max_rounds": 5,
 "convergence": [{"section": "hypotheses", "min_entries": 4}]}
JSON
    run 3 --pattern blackboard --hostfile "$scratch/agents.txt" --config "$scratch/board.json" \
      --output "$scratch/log.jsonl" --summary "$scratch/summary.json"
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    expected="== blackboard: 2 rounds, converged (rule 0: section 'hypotheses' has 4 entries (>= 4))
## hypotheses (4)
[round 1 agent 0] agent 0: propose r1
[round 1 agent 2] agent 2: propose r1
[round 2 agent 0] agent 0: propose r2
[round 2 agent 2] agent 2: propose r2
## critiques (4)
[round 1 agent 1] agent 1: judge r1: - agent 0: propose r1
- agent 2: propose r1

[round 1 agent 3] agent 3: judge r1: - agent 0: propose r1
- agent 2: propose r1

[round 2 agent 1] agent 1: judge r2: - agent 0: propose r2
- agent 2: propose r2

[round 2 agent 3] agent 3: judge r2: - agent 0: propose r2
- agent 2: propose r2
"
    [[ "$out" == "${expected%$'\n'}" ]] || { diff <(echo "$out") <(echo "${expected%$'\n'}") >&2; fail "board"; }
    json "assert [(l['round'], l['section']) for l in d] == [(1,'hypotheses'),(1,'critiques'),(2,'hypotheses'),(2,'critiques')], d
assert d[1]['prompt'].startswith('judge r1: - agent 0: propose r1'), d[1]
assert [a['agent'] for a in d[1]['responses']] == [1, 3]" "$scratch/log.jsonl"
    python3 -c "import json; s=json.load(open('$scratch/summary.json')); assert s['rounds']==2 and s['stop_reason']=='converged' and s['ok']==8, s"
    # A bad config names the file and the problem, on every rank alike, before anything is sent.
    echo '{"sections": [{"name": "a", "prompt": "{section:nope}"}]}' > "$scratch/bad.json"
    run 2 --pattern blackboard --hostfile "$scratch/agents.txt" --config "$scratch/bad.json"
    [[ $rc -eq 2 && "$err" == "aswarm-mpi: error: $scratch/bad.json: section 'a': prompt uses {section:nope} but there is no section 'nope'" ]] || fail "bad config: rc=$rc err=$err"
    printf '{"sections": [\n  {"name": "a",,}]}' > "$scratch/bad2.json"
    run 2 --pattern blackboard --hostfile "$scratch/agents.txt" --config "$scratch/bad2.json"
    [[ $rc -eq 2 && "$err" == "aswarm-mpi: error: $scratch/bad2.json:2: not valid JSON"* ]] || fail "bad json: rc=$rc err=$err"
    ;;
  blackboard-64)
    # The headline command: 64 (oversubscribed) ranks, 128 agents, a few rounds.
    start_mock --count 128 --roles hypotheses,critiques --mode script --script "$(who_script)"
    cat > "$scratch/board.json" <<'JSON'
{"sections": [{"name": "hypotheses", "prompt": "propose r{round}"},
              {"name": "critiques", "prompt": "judge r{round}"}],
 "max_rounds": 3}
JSON
    run 64 --pattern blackboard --hostfile "$scratch/agents.txt" --config "$scratch/board.json" \
      --output "$scratch/log.jsonl" --summary "$scratch/summary.json"
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    [[ $(head -n 1 <<< "$out") == "== blackboard: 3 rounds, max rounds reached (--max-rounds 3)" ]] || fail "header: $(head -n 1 <<< "$out")"
    grep -qx "## hypotheses (192)" <<< "$out" || fail "hypotheses count"
    grep -qx "## critiques (192)" <<< "$out" || fail "critiques count"
    grep -qx "\[round 3 agent 127\] agent 127: judge r3" <<< "$out" || fail "last entry"
    python3 -c "import json; s=json.load(open('$scratch/summary.json')); assert s['ok']==384 and s['ranks']==64 and len(s['per_rank'])==64, s"
    [[ $(requests) -eq 384 ]] || fail "requests"
    ;;
  *) fail "unknown case" ;;
esac
echo "PASS [$case_name]"
