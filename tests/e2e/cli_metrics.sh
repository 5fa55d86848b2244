#!/usr/bin/env bash
# --summary's benchmark metrics (vllm bench serve's names) and --stream, against runs whose
# latencies and failures are known: a fixed mock latency, one dead agent, a token latency model.
# Bounds on times are loose (the machine is shared); counts and the throughput identities are
# exact.
set -euo pipefail
# shellcheck source=tests/e2e/e2e_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh"

# summary <python asserting on s, the summary object>
summary() { python3 -c "import json,sys; s=json.load(open(sys.argv[1])); $1" "$scratch/summary.json"; }

case $case_name in
  summary-numbers)
    # 20 prompts, agent i mod 4; agent 3 is dead (503), so prompts 3, 7, ..., 19 fail.
    start_mock --count 4 --dead-agents 3 --latency fixed:100 --output-tokens fixed:5
    seq 20 | sed 's/.*/"p&"/' > "$scratch/in.jsonl"
    run 2 --pattern scatter-gather --schedule static --no-failover --retries 0 \
      --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl" --output "$scratch/out.jsonl" \
      --summary "$scratch/summary.json"
    [[ $rc -eq 3 ]] || fail "some failed must exit 3, got $rc: $err"
    summary "
assert s['requests'] == 20 and s['completed'] == 15 and s['failed'] == 5, s
assert s['failures_by_kind'] == {'http_status': 5}, s['failures_by_kind']
d = s['duration']
assert d > 0.1, d
# Throughput counts the successes only (rounded to 3 decimals), not the 20 requests.
for key in ('request_throughput', 'throughput_rps'):
    assert abs(s[key] - 15 / d) <= 0.002 + 1e-3 * s[key], (key, s[key], 15 / d)
    assert s[key] < 0.8 * 20 / d, (key, s[key])
assert s['total_output_tokens'] == 75, s
assert abs(s['output_throughput'] - 75 / d) <= 0.002 + 1e-3 * s['output_throughput'], s
assert abs(s['total_token_throughput'] - (s['total_input_tokens'] + 75) / d) <= 0.01, s
# Every success took the fixed 100 ms (plus a loaded machine's delay).
for stat in ('mean', 'median', 'p90', 'p99'):
    v = s[stat + '_e2el_ms']
    assert 95 <= v < 3000, (stat, v)
assert s['median_e2el_ms'] <= s['p99_e2el_ms'] and s['std_e2el_ms'] >= 0, s
assert s['latency_ms']['count'] == 15, s['latency_ms']
# Not streamed: no TTFT, TPOT or ITL.
assert all(s[k + '_ttft_ms'] is None and s[k + '_itl_ms'] is None for k in ('mean', 'p99')), s
rows = {r['endpoint']: r for r in s['endpoints']}
assert len(rows) == 4 and all(r['requests'] == 5 for r in rows.values()), rows
dead = [r for r in rows.values() if r['failed'] == 5]
assert len(dead) == 1 and dead[0]['p50_ms'] is None and dead[0]['output_tokens_per_s'] == 0, rows
assert all(r['p50_ms'] >= 95 for r in rows.values() if r['failed'] == 0), rows
assert [r['rank'] for r in s['per_rank']] == [0, 1] and all(r['peak_rss_mib'] > 0 for r in s['per_rank']), s['per_rank']
assert s['aswarm_version'] and s['models'] == ['mock-model'], s
assert s['start_time'] <= s['end_time'] and s['start_time'].endswith('Z'), s
assert '--pattern' in s['command_line'] and 'scatter-gather' in s['command_line'], s['command_line']
assert sum(t['ok'] for t in s['timeline']) == 15 and sum(t['failed'] for t in s['timeline']) == 5, s['timeline']
"
    ;;
  stream-summary)
    # First token after 150 ms, then one every 10 ms: TTFT ~150, ITL ~10, TPOT ~10.
    start_mock --count 2 --latency tokens:150:10 --output-tokens fixed:6
    seq 8 | sed 's/.*/"p&"/' > "$scratch/in.jsonl"
    run 2 --pattern scatter-gather --stream --hostfile "$scratch/agents.txt" \
      --input "$scratch/in.jsonl" --output "$scratch/out.jsonl" --summary "$scratch/summary.json"
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    summary "
assert s['completed'] == 8 and s['total_output_tokens'] == 48, s
assert 140 <= s['median_ttft_ms'] < 3000, s['median_ttft_ms']
assert 8 <= s['median_itl_ms'] < 1000 and 8 <= s['median_tpot_ms'] < 1000, s
assert s['median_ttft_ms'] > 3 * s['median_itl_ms'], s
assert s['median_e2el_ms'] >= s['median_ttft_ms'] + 4 * 8, s
"
    python3 -c "import json,sys; d=[json.loads(l) for l in open(sys.argv[1])]; assert len(d) == 8 and all(l['success'] for l in d), d" "$scratch/out.jsonl"
    # --stream needs one prompt per request.
    run 1 --pattern scatter-gather --stream --batch-size 4 --protocol completions \
      --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl"
    [[ $rc -eq 2 && "$err" == *"--stream applies to"* ]] || fail "stream+batch: rc=$rc err=$err"
    ;;
  live-progress)
    # The live line at a terminal under mpiexec (tmux gives the terminal): it moves as answers
    # complete on either rank, long before the default window (65,536 prompts) could end; then
    # the same run without a terminal logs a line every --progress-interval.
    command -v tmux > /dev/null || fail "tmux is not installed (jobs/local/packages.txt)"
    # 8 agents x 4 slots at 200 ms: 160 answers/s, 480 prompts take about 3 s.
    start_mock --count 8 --latency fixed:200
    seq 480 | sed 's/.*/"p&"/' > "$scratch/in.jsonl"
    args=(--pattern scatter-gather --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl"
      --per-agent-concurrency 4)
    session="aswarm-live-$$"
    tmux -L "$session" new-session -d -s "$session" -x 160 -y 12 \
      "$(printf '%q ' "$mpiexec" -n 2 "$aswarm" "${args[@]}" --output "$scratch/out.jsonl"); echo \"exit=\$?\" > $(printf '%q' "$scratch/rc"); sleep 60"
    trap 'tmux -L "$session" kill-server 2> /dev/null || true; cleanup' EXIT
    : > "$scratch/seen"
    for _ in $(seq 600); do  # 60 s
      tmux -L "$session" capture-pane -p -t "$session" >> "$scratch/seen" 2> /dev/null || true
      [[ -s "$scratch/rc" ]] && break
      sleep 0.1
    done
    [[ "$(cat "$scratch/rc" 2> /dev/null)" == "exit=0" ]] || fail "run: $(cat "$scratch/rc" 2> /dev/null) $(tail -5 "$scratch/seen")"
    python3 - "$scratch/seen" << 'PY' || fail "live line: $(grep -c . "$scratch/seen") captured lines"
import re, sys
text = open(sys.argv[1]).read()
assert "aswarm-mpi: progress:" not in text, "a log line at a terminal: the launcher's terminal was not detected"
done = [int(m.group(1)) for m in re.finditer(r"^(\d+)/480 \(", text, re.M)]
partial = sorted({d for d in done if 0 < d < 480})
# Per window, the only line would have been the final 480/480.
assert len(partial) >= 3, f"the live line did not move: {sorted(set(done))}"
first = next(d for d in done if d > 0)
assert first <= 0.4 * 480, f"first line only at {first}/480"
assert 480 in done, "no final line"
PY
    # No terminal: periodic log lines, no carriage returns.
    run_flags=(--progress auto --progress-interval 0.5)
    run 2 "${args[@]}" --output "$scratch/out2.jsonl"
    [[ $rc -eq 0 ]] || fail "rc=$rc err=$err"
    lines=$(grep -c '^aswarm-mpi: progress: [0-9]*/480 ' "$scratch/stderr" || true)
    [[ $lines -ge 3 ]] || fail "expected a log line every 0.5 s, got $lines: $err"
    [[ "$err" != *$'\r'* ]] || fail "carriage return in a log: $err"
    ;;
  *)
    fail "unknown case $case_name"
    ;;
esac
