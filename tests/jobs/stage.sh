#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# aswarm-stage under mpiexec with simulated nodes (--simulate-nodes: contiguous blocks of ranks
# play the nodes; {node} in --dest gives each its own directory).
#   stage.sh <mpiexec> <aswarm-stage> <scratch> <case>
#   copy       4 ranks, 2 nodes: a tree with nested directories, an empty file, a file of 2.5
#              chunks, relative symlinks and modes arrives whole on both nodes, only there
#   bad-dest   3 ranks, 3 nodes, node 1's directory cannot be created: exit 1 on every rank,
#              node 1 names its reason, nodes 0 and 2 still get the tree
#   no-source  2 ranks: a missing source is exit 1 with its name, nothing written
set -euo pipefail
mpiexec=$1 stage=$2 case_name=$4
scratch=$3/$case_name
rm -rf "$scratch"
mkdir -p "$scratch"
fail() {
  echo "FAIL [$case_name]: $*" >&2
  [[ -f "$scratch/out" ]] && sed 's/^/  out: /' "$scratch/out" >&2
  exit 1
}
src=$scratch/src
mkdir -p "$src/blobs" "$src/snapshots/abc/sub" "$src/refs"
head -c $((5 * 512 * 1024)) /dev/urandom > "$src/blobs/weights"  # 2.5 MiB: 3 chunks of 1 MiB
echo '{"model_type": "mock"}' > "$src/blobs/config"
: > "$src/snapshots/abc/sub/empty"
ln -s ../../blobs/weights "$src/snapshots/abc/model.safetensors"
ln -s ../../blobs/config "$src/snapshots/abc/config.json"
echo abc > "$src/refs/main"
chmod 640 "$src/refs/main"

# same_tree <dir>: <dir> has exactly the source's entries, contents, link texts and modes.
same_tree() {
  diff -r "$src" "$1" > /dev/null || fail "$1 differs from the source"
  [[ "$(cd "$src" && find . -printf '%y %m %p %l\n' | sort)" == \
     "$(cd "$1" && find . -printf '%y %m %p %l\n' | sort)" ]] || fail "$1: entries, modes or links differ"
}

set +e
case $case_name in
  copy)
    "$mpiexec" -n 4 "$stage" --source "$src" --dest "$scratch/node{node}/model" --chunk-mib 1 \
      --simulate-nodes 2 > "$scratch/out" 2>&1
    rc=$?
    set -e
    ((rc == 0)) || fail "exit $rc"
    same_tree "$scratch/node0/model"
    same_tree "$scratch/node1/model"
    [[ "$(cd "$scratch" && echo node*)" == "node0 node1" ]] || fail "writers on other ranks than one per node"
    [[ $(grep -c "files, .* bytes to" "$scratch/out") -eq 2 ]] || fail "expected one report per node"
    grep -q "node 1: 4 files, $((5 * 512 * 1024 + 23 + 4)) bytes to $scratch/node1/model" "$scratch/out" ||
      fail "node 1's report"
    ! find "$scratch" -name '*.part' | grep -q . || fail "a .part file was left"
    ;;
  bad-dest)
    : > "$scratch/node1"  # a file where node 1's directory goes (a mode would not stop root)
    "$mpiexec" -n 3 "$stage" --source "$src" --dest "$scratch/node{node}/model" \
      --simulate-nodes 3 > "$scratch/out" 2>&1
    rc=$?
    set -e
    ((rc == 1)) || fail "exit $rc, expected 1"
    grep -q "node 1: error: $scratch/node1/model" "$scratch/out" || fail "node 1's reason"
    same_tree "$scratch/node0/model"
    same_tree "$scratch/node2/model"
    ;;
  no-source)
    "$mpiexec" -n 2 "$stage" --source "$scratch/missing" --dest "$scratch/node{node}" \
      --simulate-nodes 2 > "$scratch/out" 2>&1
    rc=$?
    set -e
    ((rc == 1)) || fail "exit $rc, expected 1"
    grep -q "aswarm-stage: error: $scratch/missing: not a directory" "$scratch/out" || fail "no reason"
    [[ ! -e "$scratch/node0" && ! -e "$scratch/node1" ]] || fail "something was written"
    ;;
  *) fail "unknown case" ;;
esac
echo "PASS [$case_name]"
