#!/usr/bin/env bash
# --report FILE.html and --report-from SUMMARY.json: the page's headline numbers are the
# summary's, every section is drawn, the page redrawn from the saved summary is the same bytes,
# --report works without --summary, and a missing or malformed summary is a clear usage error.
set -euo pipefail
# shellcheck source=tests/e2e/e2e_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh"

# check_report <report.html> <summary.json|-> <python asserting on r (the page's numbers), page
# and s (the summary, when given)>
check_report() {
  python3 - "$1" "$2" "$3" << 'PY'
import json, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<script type="application/json" id="summary">(.*?)</script>', page, re.S)
assert m, "no embedded summary numbers"
r = json.loads(m.group(1))
s = json.load(open(sys.argv[2])) if sys.argv[2] != "-" else None
# The table shows the embedded numbers (3 decimals for non-integers).
cells = dict(re.findall(r'<td data-key="([a-z0-9_]+)">([^<]*)</td>', page))
assert set(cells) == set(r), (cells, r)
for key, value in r.items():
    if value is None:
        assert cells[key] == "&#8211;", (key, cells[key])
    else:
        assert abs(float(cells[key]) - value) <= 5e-4, (key, cells[key], value)
exec(sys.argv[3])
PY
}

case $case_name in
  report)
    # Streamed (TTFT), one dead agent of three (failures of kind http_status).
    start_mock --count 3 --dead-agents 2 --latency tokens:40:5 --output-tokens fixed:4
    seq 12 | sed 's/.*/"p&"/' > "$scratch/in.jsonl"
    run 2 --pattern scatter-gather --stream --schedule static --no-failover --retries 0 \
      --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl" --output "$scratch/out.jsonl" \
      --summary "$scratch/summary.json" --report "$scratch/report.html"
    [[ $rc -eq 3 ]] || fail "some failed must exit 3, got $rc: $err"
    check_report "$scratch/report.html" "$scratch/summary.json" "
for key, value in r.items():
    assert value == s[key], (key, value, s[key])
assert r['requests'] == 12 and r['ok'] == 8 and r['failed'] == 4, r
assert r['median_ttft_ms'] is not None and r['p99_e2el_ms'] is not None, r
for id in ('latency-histogram', 'latency-cdf', 'ttft', 'throughput', 'endpoints', 'failures'):
    body = page.split('<section id=\"%s\">' % id, 1)[1].split('</section>', 1)[0]
    assert '<svg' in body or id == 'endpoints', id
    assert 'class=\"empty\"' not in body, id
assert page.count('<td class=\"url\">') == 3, 'one heat-map row per endpoint'
assert '>http_status</text>' in page, 'failure kind drawn'
assert page.count('<rect class=\"bar\"') == len(s['histograms']['e2el_ms']) + len(s['histograms']['ttft_ms'])
"
    # Redrawn from the saved summary, by one process without a hostfile: the same page.
    run 1 --report-from "$scratch/summary.json" --report "$scratch/again.html"
    [[ $rc -eq 0 ]] || fail "--report-from: rc=$rc err=$err"
    cmp "$scratch/report.html" "$scratch/again.html" || fail "the redrawn report differs"

    # Without --summary (tree-reduce accounts answers only when asked to).
    run 1 --pattern tree-reduce --retries 0 --hostfile "$scratch/agents.txt" --prompt q \
      --reduce-prompt 'sum {responses}' --fanin 2 --report "$scratch/tree.html"
    [[ -s "$scratch/tree.html" ]] || fail "tree-reduce wrote no report: rc=$rc err=$err"
    check_report "$scratch/tree.html" - "assert r['requests'] >= 3, r"
    ;;
  report-errors)
    run 1 --report-from "$scratch/none.json" --report "$scratch/r.html"
    [[ $rc -eq 2 && "$err" == *"--report-from $scratch/none.json: cannot read: No such file"* ]] ||
      fail "missing summary: rc=$rc err=$err"
    printf '{\n  "requests": 3,\n  "ok": 2,,\n}\n' > "$scratch/bad.json"
    run 1 --report-from "$scratch/bad.json" --report "$scratch/r.html"
    [[ $rc -eq 2 && "$err" == *"$scratch/bad.json:3: not valid JSON"* ]] ||
      fail "malformed summary: rc=$rc err=$err"
    [[ ! -e "$scratch/r.html" ]] || fail "a report was written from a malformed summary"
    run 1 --report-from "$scratch/bad.json"
    [[ $rc -eq 2 && "$err" == *"--report-from SUMMARY.json needs --report"* ]] ||
      fail "--report-from alone: rc=$rc err=$err"
    ;;
  *)
    fail "unknown case $case_name"
    ;;
esac
