#!/usr/bin/env bash
# Request fidelity, end to end: what the input says is what the mock receives (compared as JSON
# with the mock's --record log), and what the mock answers is what the output keeps.
#   cli_fidelity.sh <mpiexec> <aswarm-mpi> <aswarm-mock-agent> <scratch dir> <case>
set -euo pipefail
# shellcheck source=tests/e2e/e2e_lib.sh
source "$(dirname "$0")/e2e_lib.sh"

# py <script> <args...>: python with json imported and rec(file)/lines(file) to read JSONL.
py() {
  python3 -c "import json, sys
def lines(p): return [json.loads(l) for l in open(p) if l.strip()]
$1" "${@:2}"
}

case $case_name in
  batch-passthrough)
    # Everything a research batch uses: system + earlier turns, sampling fields, structured
    # output, tools, unknown fields; one line without model, one without max_tokens; an
    # embeddings line and a completions list prompt.
    start_mock --count 2 --record "$scratch/record.jsonl"
    py "
tools = [{'type': 'function', 'function': {'name': 'f', 'parameters': {'type': 'object'}}}]
lines_ = [
  {'custom_id': 'chat-1', 'method': 'POST', 'url': '/v1/chat/completions', 'body': {
    'model': 'mock-model', 'max_tokens': 40, 'temperature': 0.3, 'seed': 11, 'stop': ['END'],
    'response_format': {'type': 'json_object'}, 'tools': tools, 'vendor_extension': {'x': [1, 2]},
    'messages': [{'role': 'system', 'content': 'be brief'}, {'role': 'user', 'content': 'Hi'},
                 {'role': 'assistant', 'content': 'Hello!'}, {'role': 'user', 'content': 'Again'}]}},
  {'custom_id': 'chat-no-model', 'method': 'POST', 'url': '/v1/chat/completions', 'body': {
    'messages': [{'role': 'user', 'content': [{'type': 'text', 'text': 'parts'}]}], 'top_p': 0.5}},
  {'custom_id': 'emb', 'method': 'POST', 'url': '/v1/embeddings', 'body': {
    'model': 'mock-model', 'input': ['a b', 'c']}},
  {'custom_id': 'list', 'method': 'POST', 'url': '/v1/completions', 'body': {
    'model': 'mock-model', 'prompt': ['p0', 'p1'], 'max_tokens': 8, 'n': 1}},
]
with open(sys.argv[1], 'w') as f:
  for l in lines_: f.write(json.dumps(l) + '\n')" "$scratch/batch.jsonl"
    run 2 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/batch.jsonl" --output "$scratch/out.jsonl"
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    py "
inp = {l['custom_id']: l for l in lines(sys.argv[1])}
rec = lines(sys.argv[2])
out = lines(sys.argv[3])
assert len(rec) == 4, rec
by_body = {}
for r in rec:
  for cid, l in inp.items():
    want = dict(l['body'])
    if 'model' not in want: want['model'] = 'mock-model'  # the one documented fill
    if r['body'] == want and r['path'] == l['url']: by_body[cid] = r
assert sorted(by_body) == sorted(inp), ('bodies differ', rec)
assert [o['custom_id'] for o in out] == ['chat-1', 'chat-no-model', 'emb', 'list'], out
for o in out:
  assert set(o) == {'id', 'custom_id', 'response', 'error', 'aswarm'}, o.keys()
  assert o['error'] is None, o
  assert o['response']['status_code'] == 200, o
  assert o['response']['body'] == by_body[o['custom_id']]['reply'], (o, by_body[o['custom_id']])
  assert o['response']['request_id'] == o['response']['body']['id'], o
  assert o['aswarm']['success'] and o['aswarm']['agent'] in (0, 1), o
assert out[0]['aswarm']['text'] == 'completion: Again', out[0]
assert len(out[2]['response']['body']['data']) == 2, out[2]
" "$scratch/batch.jsonl" "$scratch/record.jsonl" "$scratch/out.jsonl"
    ;;
  batch-flags)
    # --model replaces the line's model; --max-tokens and --temperature fill only where absent;
    # --param fills absent keys of batch bodies; a reasoning model's content stays ''.
    start_mock --count 1 --record "$scratch/record.jsonl" --reasoning --model served
    {
      echo '{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "other", "messages": [{"role": "user", "content": "q1"}], "seed": 1}}'
      echo '{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "q2"}], "max_tokens": 5, "temperature": 0.9}}'
    } > "$scratch/batch.jsonl"
    run 1 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/batch.jsonl" \
      --output "$scratch/out.jsonl" --model served --max-tokens 20 --temperature 0.1 --param seed=7 --param top_k=3
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    py "
rec = sorted(lines(sys.argv[1]), key=lambda r: r['body']['messages'][0]['content'])
assert rec[0]['body'] == {'model': 'served', 'messages': [{'role': 'user', 'content': 'q1'}], 'seed': 1,
                          'max_tokens': 20, 'temperature': 0.1, 'top_k': 3}, rec[0]
assert rec[1]['body'] == {'model': 'served', 'messages': [{'role': 'user', 'content': 'q2'}], 'max_tokens': 5,
                          'temperature': 0.9, 'seed': 7, 'top_k': 3}, rec[1]
out = lines(sys.argv[2])
for o in out:
  msg = o['response']['body']['choices'][0]['message']
  assert msg['content'] == '' and msg['reasoning'].startswith('completion: q'), o
  assert o['aswarm']['reasoning'] == msg['reasoning'], o
  assert o['aswarm']['usage']['reasoning_tokens'] > 0, o
" "$scratch/record.jsonl" "$scratch/out.jsonl"
    # Bad lines: an unsupported url is a per-line error naming file and line; nothing is sent.
    before=$(wc -l < "$scratch/record.jsonl")
    {
      echo '{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "q"}]}}'
      echo '{"custom_id": "b", "method": "POST", "url": "/v1/audio/transcriptions", "body": {}}'
    } > "$scratch/bad.jsonl"
    run 1 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/bad.jsonl" --output "$scratch/bad-out.jsonl"
    [[ $rc -eq 2 && "$err" == "aswarm-mpi: error: $scratch/bad.jsonl:2: unsupported \"url\" \"/v1/audio/transcriptions\""* ]] || fail "bad url: rc=$rc err=$err"
    [[ $(wc -l < "$scratch/record.jsonl") -eq $before ]] || fail "requests were sent despite the error"
    ;;
  prompt-params)
    # Prompt lines: messages (multi-turn), per-line params; flags --param and --extra-body;
    # per-line values win over flags, --param over --extra-body; --system only where the
    # conversation has none.
    start_mock --count 2 --record "$scratch/record.jsonl"
    {
      echo '{"id": 1, "prompt": "plain"}'
      echo '{"id": 2, "prompt": "with params", "params": {"seed": 99, "stop": ["x"]}}'
      echo '{"id": 3, "messages": [{"role": "user", "content": "u1"}, {"role": "assistant", "content": "a1"}, {"role": "user", "content": "u2"}]}'
      echo '{"id": 4, "messages": [{"role": "system", "content": "own"}, {"role": "user", "content": "u"}], "params": {"top_p": 0.2}}'
    } > "$scratch/in.jsonl"
    echo '{"seed": 1, "top_p": 0.9, "response_format": {"type": "json_object"}}' > "$scratch/extra.json"
    run 2 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl" --output "$scratch/out.jsonl" \
      --system sys --max-tokens 30 --extra-body "$scratch/extra.json" --param seed=7 --param 'stop=["END"]'
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    py "
rec = {json.dumps(r['body']['messages'][-1], sort_keys=True): r['body'] for r in lines(sys.argv[1])}
def body(last): return rec[json.dumps({'role': 'user', 'content': last}, sort_keys=True)]
rf = {'type': 'json_object'}
sysm = {'role': 'system', 'content': 'sys'}
b = body('plain')
assert b['seed'] == 7 and b['stop'] == ['END'] and b['top_p'] == 0.9 and b['response_format'] == rf, b
assert b['messages'] == [sysm, {'role': 'user', 'content': 'plain'}] and b['model'] == 'mock-model', b
b = body('with params')
assert b['seed'] == 99 and b['stop'] == ['x'] and b['top_p'] == 0.9, b
b = body('u2')
assert b['messages'] == [sysm, {'role': 'user', 'content': 'u1'}, {'role': 'assistant', 'content': 'a1'},
                         {'role': 'user', 'content': 'u2'}], b
b = body('u')
assert b['messages'][0] == {'role': 'system', 'content': 'own'} and len(b['messages']) == 2, b
assert b['top_p'] == 0.2 and b['seed'] == 7, b
out = lines(sys.argv[2])
assert [o['id'] for o in out] == [1, 2, 3, 4], out
assert all(o['success'] and o['response_id'].startswith('chatcmpl-') and o['model'] == 'mock-model' for o in out), out
" "$scratch/record.jsonl" "$scratch/out.jsonl"
    run 2 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl" --output "$scratch/o2.jsonl" --param 'seed={bad'
    [[ $rc -eq 2 && "$err" == *"--param 'seed={bad': the value is not valid JSON"* ]] || fail "bad --param: rc=$rc err=$err"
    run 2 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl" --output "$scratch/o3.jsonl" --prompt 'T {item}'
    [[ $rc -eq 2 && "$err" == *"in.jsonl:3: a \"messages\" line is sent as written"* ]] || fail "template + messages: rc=$rc err=$err"
    ;;
  other-servers)
    # llama-server's array answer to a list prompt, in reverse order; errors as 500 with an HTML
    # page, as a proxy would send.
    start_mock --count 2 --list-reply array-reversed --client-error-status 500 --error-body html
    for i in $(seq 0 9); do echo "\"prompt $i\""; done > "$scratch/in.jsonl"
    run 2 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl" --output "$scratch/out.jsonl" \
      --protocol completions --batch-size 4 --max-tokens 10
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    py "
out = lines(sys.argv[1])
assert [o['text'] for o in out] == ['completion: prompt %d' % i for i in range(10)], out
" "$scratch/out.jsonl"
    run 2 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl" --output "$scratch/bad.jsonl" --model nope
    [[ $rc -eq 3 ]] || fail "rc=$rc err=$err"
    py "
for o in lines(sys.argv[1]):
  assert o['http_status'] == 500 and o['error'] == 'HTTP 500: non-JSON error page: 500 Error', o
" "$scratch/bad.jsonl"
    ;;
  path-prefix)
    # Agents behind a gateway: every pattern addresses <base URL>/v1/...
    start_mock --count 3 --path-prefix /gw/agent
    grep -q '^http://127.0.0.1:[0-9]*/gw/agent$' "$scratch/agents.txt" || fail "no base paths in the hostfile"
    printf '"a"\n"b"\n"c"\n"d"\n' > "$scratch/in.jsonl"
    for schedule in static dynamic; do
      run 2 --pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl" \
        --output "$scratch/sg-$schedule.jsonl" --schedule "$schedule"
      [[ $rc -eq 0 ]] || fail "scatter-gather $schedule: rc=$rc err=$err"
    done
    run 2 --pattern broadcast --hostfile "$scratch/agents.txt" --prompt hi --output "$scratch/b.jsonl"
    [[ $rc -eq 0 && $(grep -c '"success":true' "$scratch/b.jsonl") -eq 3 ]] || fail "broadcast: rc=$rc err=$err"
    grep -q '"endpoint":"http://127.0.0.1:[0-9]*/gw/agent"' "$scratch/b.jsonl" || fail "endpoint lacks its base path"
    run 2 --pattern tree-reduce --hostfile "$scratch/agents.txt" --prompt hi --reduce-prompt 'sum {responses}' --fanin 2
    [[ $rc -eq 0 ]] || fail "tree-reduce: rc=$rc err=$err"
    run 2 --dry-run --hostfile "$scratch/agents.txt"
    [[ $rc -eq 0 && "$out" == *"/gw/agent"* ]] || fail "dry-run: rc=$rc out=$out"
    printf '{"stages": [{"name": "one", "prompt": "a {input}"}, {"name": "two", "prompt": "b {input}"}]}' \
      > "$scratch/pipe.json"
    run 2 --pattern pipeline --hostfile "$scratch/agents.txt" --config "$scratch/pipe.json" \
      --input "$scratch/in.jsonl" --output "$scratch/p.jsonl"
    [[ $rc -eq 0 && $(grep -c '"success":true' "$scratch/p.jsonl") -eq 4 ]] || fail "pipeline: rc=$rc err=$err"
    kill "$mock_pid"; wait "$mock_pid" 2> /dev/null || true; mock_pid=""
    start_mock --count 4 --path-prefix /gw/agent --roles hypotheses,critiques
    printf '{"sections": [{"name": "hypotheses", "prompt": "propose r{round}"}, {"name": "critiques", "prompt": "judge {section:hypotheses}"}], "max_rounds": 2}' \
      > "$scratch/board.json"
    run 2 --pattern blackboard --hostfile "$scratch/agents.txt" --config "$scratch/board.json" \
      --output "$scratch/board.jsonl"
    [[ $rc -eq 0 && $(grep -c '"success":true' "$scratch/board.jsonl") -ge 4 ]] || fail "blackboard: rc=$rc err=$err"
    [[ $(grep -c '"success":false' "$scratch/board.jsonl") -eq 0 ]] || fail "blackboard: failed entries"
    ;;
  *) fail "unknown case" ;;
esac
echo "ok [$case_name]"
