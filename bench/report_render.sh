#!/usr/bin/env bash
# The run report renders in a browser: a short streamed mock run writes --summary and --report,
# headless Chromium (Debian's `chromium`) screenshots the page, and the PNG is checked not to be
# blank (decoded with zlib: distinct colours and the share of non-background pixels).
#   bash bench/report_render.sh [build-dir] [out-dir]
# Chromium is not a build dependency (not in jobs/local/packages.txt): this script installs it
# with apt-get only if it is missing, and says so.
set -euo pipefail
build=${1:-build}
out=${2:-$build/report_render}
# shellcheck source=bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
mkdir -p "$out"

browser=$(command -v chromium || true)
if [[ -z "$browser" ]]; then
  echo "chromium is missing: installing Debian's chromium (apt-get install -y chromium)" >&2
  installer=(apt-get install -y --no-install-recommends chromium)
  [[ $(id -u) -eq 0 ]] || installer=(sudo "${installer[@]}")
  "${installer[@]}" > "$out/apt.log" 2>&1 || { cat "$out/apt.log" >&2; exit 1; }
  browser=$(command -v chromium)
fi

# 60 streamed prompts on 4 agents, one of them dead: every section of the page has data.
start_mock --count 4 --dead-agents 3 --latency tokens:30:4 --output-tokens uniform:2:12
seq 60 | sed 's/.*/"prompt &"/' > "$work/in.jsonl"
set +e
mpiexec -n 2 "$build/src/cli/aswarm-mpi" --progress never --pattern scatter-gather --stream \
  --schedule static --no-failover --retries 0 --hostfile "$work/agents.txt" \
  --input "$work/in.jsonl" --output "$work/out.jsonl" --summary "$out/summary.json" \
  --report "$out/report.html"
rc=$?
set -e
[[ $rc -eq 3 ]] || { echo "run: expected exit 3 (one dead agent), got $rc" >&2; exit 1; }

shot() {  # shot <html> <png>
  # --no-sandbox: Chromium's sandbox refuses to start as root (CI containers run as root).
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$work/profile" --window-size=1000,2600 --screenshot="$2" "file://$1" \
    > "$work/chromium.log" 2>&1 || { cat "$work/chromium.log" >&2; exit 1; }
}
start=$(date +%s%N)
shot "$(realpath "$out/report.html")" "$out/report.png"
millis=$(( ($(date +%s%N) - start) / 1000000 ))
printf '<!DOCTYPE html><html><body></body></html>\n' > "$work/blank.html"
shot "$work/blank.html" "$out/blank.png"

python3 - "$out/report.png" "$out/blank.png" "$millis" << 'PY'
import struct, sys, zlib

def pixels(path):
    """The PNG's pixels as a list of rows of tuples (8-bit RGB/RGBA, not interlaced)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path + ": not a PNG"
    pos, idat, head = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = head
    assert depth == 8 and colour in (2, 6) and interlace == 0, head
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows

def stats(path):
    width, height, bpp, rows = pixels(path)
    counts = {}
    for row in rows:
        for x in range(0, len(row), bpp):
            px = row[x:x + 3]
            counts[px] = counts.get(px, 0) + 1
    background = max(counts, key=counts.get)
    share = 1 - counts[background] / (width * height)
    return width, height, len(counts), share

w, h, colours, share = stats(sys.argv[1])
_, _, blank_colours, blank_share = stats(sys.argv[2])
print(f"report.png {w}x{h}: {colours} distinct colours, {share:.1%} non-background pixels "
      f"(blank page: {blank_colours} colours, {blank_share:.1%}); screenshot {int(sys.argv[3]) / 1000:.1f} s")
assert colours >= 16 and share >= 0.02, "the report rendered blank"
assert blank_colours < colours, "the report looks like a blank page"
PY
echo "ok: $out/report.png"
