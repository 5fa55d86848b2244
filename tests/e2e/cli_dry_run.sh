#!/usr/bin/env bash
# End-to-end: aswarm-mpi --dry-run under mpiexec, as a user runs it.
#   cli_dry_run.sh <mpiexec> <aswarm-mpi> <scratch dir>
# Checks: the shard plan for a good hostfile at 3 ranks (uneven blocks, a rank with no agents at
# 4 ranks and 2 agents), and that a bad hostfile stops every rank with one error line naming
# file:line:reason and exit code 1 -- no hang (ctest's TIMEOUT bounds the whole script).
set -euo pipefail

mpiexec=$1
aswarm=$2
scratch=$3
mkdir -p "$scratch"

fail() { echo "FAIL: $*" >&2; exit 1; }

good=$scratch/good.hostfile
printf 'node1:8001 role=a\nnode2\t8002\trole=b\n# comment\n[::1]:8003\nhttps://n4:8443\n' > "$good"
out=$("$mpiexec" -n 3 "$aswarm" --hostfile "$good" --dry-run)
echo "$out"
expected="$good: 4 endpoints over 3 ranks
  rank 0: agents 0-1 (2): http://node1:8001 .. http://node2:8002
  rank 1: agents 2-2 (1): http://[::1]:8003 .. http://[::1]:8003
  rank 2: agents 3-3 (1): https://n4:8443 .. https://n4:8443"
[[ "$out" == "$expected" ]] || fail "unexpected shard plan at 3 ranks"

two=$scratch/two.hostfile
printf 'a:1\nb:2\n' > "$two"
out=$("$mpiexec" -n 4 "$aswarm" --hostfile "$two" --dry-run)
grep -qx '  rank 3: no agents' <<< "$out" || fail "rank without agents not reported: $out"

bad=$scratch/bad.hostfile
printf 'node1:8001\nnode2:80x1 role=a\n' > "$bad"
set +e
err=$("$mpiexec" -n 3 "$aswarm" --hostfile "$bad" --dry-run 2>&1 >/dev/null)
rc=$?
set -e
echo "$err"
[[ $rc -eq 2 ]] || fail "bad hostfile: exit code $rc, expected 2 (usage)"
[[ "$err" == "aswarm-mpi: error: $bad:2: port '80x1' is not a number" ]] ||
  fail "bad hostfile: expected exactly one error line from the root"

set +e
err=$("$mpiexec" -n 2 "$aswarm" --hostfile "$scratch/missing" --dry-run 2>&1 >/dev/null)
rc=$?
set -e
[[ $rc -eq 2 && "$err" == "aswarm-mpi: error: $scratch/missing: cannot read hostfile: No such file or directory" ]] ||
  fail "missing hostfile: rc=$rc err=$err"

set +e
err=$("$mpiexec" -n 2 "$aswarm" --bogus-flag 2>&1 >/dev/null)
rc=$?
set -e
[[ $rc -ne 0 ]] || fail "unknown flag accepted"
[[ $(grep -c 'aswarm-mpi: error:' <<< "$err") -eq 1 ]] || fail "flag error not printed once: $err"

version=$("$mpiexec" -n 2 "$aswarm" --version)
[[ "$version" =~ ^aswarm-mpi\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version printed: $version"
echo "PASS"
