#!/usr/bin/env bash
# aswarm-mpi against hostile or mistaken input (issue 22, the reliability floor): each case is a
# finding of the audit that crashed, hung or misreported, and checks it now ends with one clear
# message and exit 2 before anything is sent (or, for a server's answer, as a failed result).
# Every run is bounded by `timeout`, so a regression to a hang fails instead of stalling ctest.
#   collective-errors  an error on rank 0 alone (hostfile, input, config, output paths) at 2 ranks
#   file-limits        /dev/zero as hostfile or input, long lines, credentials in a hostfile URL
#   deep-answer        a 70,000-deep JSON answer under --aggregate structured-merge
#   model-discovery    a rank whose endpoints are down at first still sends "model"
set -euo pipefail
# shellcheck source=tests/e2e/e2e_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh" "$@"

# bounded <ranks> <args...>: run() under a 60 s limit (a hang shows as rc 124).
bounded() {
  set +e
  timeout -k 5 60 "$mpiexec" -n "$1" "$aswarm" "${run_flags[@]}" "${@:2}" > "$scratch/stdout" \
    2> "$scratch/stderr"
  rc=$?
  set -e
  out=$(cat "$scratch/stdout")
  err=$(cat "$scratch/stderr")
}

# expect_usage <what> <message>: exit 2 and exactly one line, that message.
expect_usage() {
  [[ $rc -eq 2 ]] || fail "$1: want exit 2, got $rc: $err"
  [[ "$err" == "aswarm-mpi: error: $2" ]] || fail "$1: want 'aswarm-mpi: error: $2', got: $err"
}

case "$case_name" in
  collective-errors)
    start_mock --count 2 --tag role=writer
    hosts="$scratch/agents.txt"
    printf '"a"\n"b"\n' > "$scratch/in.jsonl"
    # Hostfile: a CR inside a tag (rank 0 failed, rank 1 waited forever).
    printf 'localhost:1 role=a\rb\n' > "$scratch/cr.hosts"
    bounded 2 --pattern scatter-gather --hostfile "$scratch/cr.hosts" --input "$scratch/in.jsonl"
    expect_usage "CR in a tag" "$scratch/cr.hosts:1: tag 'role' contains the control character 0x0d"
    # Input validation: a number beyond a double, named by file and line.
    printf '"a"\n{"id": 1e400, "prompt": "x"}\n' > "$scratch/big.jsonl"
    bounded 2 --pattern scatter-gather --hostfile "$hosts" --input "$scratch/big.jsonl"
    [[ $rc -eq 2 && "$err" == "aswarm-mpi: error: $scratch/big.jsonl:2: invalid JSON: "*"1e400"* &&
      "$err" != *"json.exception"* ]] || fail "1e400: rc=$rc err=$err"
    # Config: a stage tag no agent has, and more agents than the hostfile holds.
    printf '{"stages": [{"name": "a", "prompt": "{input}", "tag": "role=critic"}]}' > "$scratch/tag.json"
    bounded 2 --pattern pipeline --hostfile "$hosts" --config "$scratch/tag.json" --prompt x
    expect_usage "tag stage" "$scratch/tag.json: stage 'a' has no agents (tag role=critic matches 0 agents)"
    printf '{"stages": [{"name": "a", "prompt": "{input}", "agents": 3}]}' > "$scratch/many.json"
    bounded 2 --pattern pipeline --hostfile "$hosts" --config "$scratch/many.json" --prompt x
    expect_usage "over-asked" "$scratch/many.json: stage 'a' asks for 3 agents but gets 2 (the hostfile has 2 agents)"
    printf '{"stages": [{"name": "a", "prompt": "x", "filter": {"regex": "(a)\\\\1"}}]}' > "$scratch/re.json"
    bounded 2 --pattern pipeline --hostfile "$hosts" --config "$scratch/re.json" --prompt x
    [[ $rc -eq 2 && "$err" == "aswarm-mpi: error: $scratch/re.json: stage 'a': filter regex "*"is invalid"* ]] ||
      fail "regex: rc=$rc err=$err"
    # Config read on every rank, readable on rank 0 only (rank 1 runs in another directory):
    # rank 1's error used to end rank 1 alone while rank 0 waited in the next collective.
    mkdir -p "$scratch/r0" "$scratch/r1"
    printf '{"stages": [{"name": "a", "prompt": "{input}"}]}' > "$scratch/r0/p.json"
    set +e
    (cd "$scratch" && timeout -k 5 60 "$mpiexec" -n 1 -wdir "$scratch/r0" "$aswarm" --progress never \
      --pattern pipeline --hostfile "$hosts" --config p.json --prompt x : \
      -n 1 -wdir "$scratch/r1" "$aswarm" --progress never \
      --pattern pipeline --hostfile "$hosts" --config p.json --prompt x) > "$scratch/stdout" 2> "$scratch/stderr"
    rc=$?
    set -e
    err=$(cat "$scratch/stderr")
    expect_usage "config on rank 1" "p.json: cannot read pipeline config"
    # Output paths: a missing directory fails before the run, not after it.
    bounded 2 --pattern scatter-gather --hostfile "$hosts" --input "$scratch/in.jsonl" \
      --output "$scratch/in.jsonl.out" --summary "$scratch/nodir/summary.json"
    expect_usage "summary dir" "--summary $scratch/nodir/summary.json: the directory '$scratch/nodir' does not exist"
    [[ ! -e "$scratch/in.jsonl.out" ]] || fail "the output was created before the summary check"
    bounded 2 --pattern broadcast --hostfile "$hosts" --prompt x --output "$scratch/nodir/o.jsonl"
    expect_usage "output dir" "--output $scratch/nodir/o.jsonl: the directory '$scratch/nodir' does not exist"
    [[ $(requests) -eq 0 ]] || fail "requests were sent despite the errors"
    ;;
  file-limits)
    start_mock --count 2
    hosts="$scratch/agents.txt"
    bounded 2 --pattern broadcast --hostfile /dev/zero --prompt x
    expect_usage "hostfile /dev/zero" "/dev/zero: cannot read hostfile: not a regular file"
    bounded 2 --pattern scatter-gather --hostfile "$hosts" --input /dev/zero --max-line-bytes 4096
    expect_usage "input /dev/zero" "/dev/zero:1: line longer than 4096 bytes (--max-line-bytes)"
    printf '"short"\n"%s"\n' "$(head -c 200 /dev/zero | tr '\0' x)" > "$scratch/long.jsonl"
    bounded 2 --pattern scatter-gather --hostfile "$hosts" --input - --max-line-bytes 100 < "$scratch/long.jsonl"
    expect_usage "stdin line" "<stdin>:2: line longer than 100 bytes (--max-line-bytes)"
    printf 'http://admin:hunter2@localhost:1/agent\n' > "$scratch/secret.hosts"
    bounded 2 --pattern broadcast --hostfile "$scratch/secret.hosts" --prompt x
    [[ $rc -eq 2 && "$err" == "aswarm-mpi: error: $scratch/secret.hosts:1: credentials in the address"* ]] ||
      fail "credentials: rc=$rc err=$err"
    [[ "$err$out" != *hunter2* ]] || fail "the password was printed: $err"
    printf '[::1\n' > "$scratch/bracket.hosts"
    bounded 2 --pattern broadcast --hostfile "$scratch/bracket.hosts" --prompt x
    expect_usage "bracket" "$scratch/bracket.hosts:1: missing ']' in '[::1'"
    [[ $(requests) -eq 0 ]] || fail "requests were sent despite the errors"
    # The mock's numeric flags: NaN passed CLI11's double ranges.
    set +e
    merr=$(timeout 10 "$mock" --count 1 --port-base 0 --fail-500 nan 2>&1)
    mrc=$?
    set -e
    [[ $mrc -eq 2 && "$merr" == *"--fail-500: 'nan' is not a finite number in [0, 1]"* ]] ||
      fail "mock --fail-500 nan: rc=$mrc $merr"
    ;;
  deep-answer)
    python3 -c "
import json; d = 70000
print(json.dumps({'default': '[' * d + '1' + ']' * d}))" > "$scratch/deep.json"
    start_mock --count 2 --mode script --script "$scratch/deep.json"
    bounded 2 --pattern broadcast --hostfile "$scratch/agents.txt" --prompt x \
      --aggregate structured-merge --output "$scratch/o.jsonl"
    [[ $rc -eq 0 ]] || fail "deep answer: rc=$rc (a crash is 11 or 134, a hang 124): ${err:0:300}"
    python3 -c "
import json, sys
a = json.loads(sys.argv[1].splitlines()[-1])
assert a['aggregate'] == 'structured-merge', a
errors = a['result']['errors']
assert len(errors) == 2 and all('nested deeper than 256' in e['error'] for e in errors), errors
" "$out" || fail "deep answer: aggregate: ${out:0:300}"
    ;;
  model-discovery)
    # Rank 1 drives agents 2 and 3, which refuse connections for the first second: its own
    # /v1/models read fails, yet every request it sends later must name the model rank 0 read.
    start_mock --count 4 --model served-model --late-agents 2,3 --late-after-seconds 1 \
      --record "$scratch/record.jsonl"
    printf '"a"\n"b"\n"c"\n"d"\n"e"\n"f"\n"g"\n"h"\n' > "$scratch/in.jsonl"
    bounded 2 --pattern scatter-gather --schedule static --no-failover --retries 30 \
      --hostfile "$scratch/agents.txt" --input "$scratch/in.jsonl" --output "$scratch/o.jsonl"
    [[ $rc -eq 0 ]] || fail "model: rc=$rc $err"
    python3 -c "
import json
lines = [json.loads(l) for l in open('$scratch/record.jsonl')]
assert {l['agent'] for l in lines} == {0, 1, 2, 3}, lines
missing = [l for l in lines if l['body'].get('model') != 'served-model']
assert not missing, missing
" || fail "model: a request went out without the model"
    ;;
  *) fail "unknown case" ;;
esac
