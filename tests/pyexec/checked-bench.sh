#!/bin/sh
# Checked streamed execution (B.6, `C`) against streamed execution (B.3,
# `S`): `mpupload run` of a 4 MB script on build/sim-board --heap 256K,
# unpaced, with --stats. S is measured on a sim-board built without C
# (build/sim-board-nochecked, made here), so mpupload picks S there.
# Prints a Markdown table; asserts nothing about time.
# Usage: tests/pyexec/checked-bench.sh [MB]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build
PYTHON=$(cat "$B/python")
MB=${1:-4}
T=$(mktemp -d)
trap 'kill $bp 2>/dev/null || true; rm -rf "$T"' EXIT
bp=

make --no-print-directory -f "$ROOT/firmware/sim-board/Makefile" OUT="$B/sim-board-nochecked" \
    CFLAGS_EXTRA=-DMICROPY_PYEXEC_CHECKED=0 >"$B/obj/sim-board-nochecked.log" 2>&1 \
    || { tail -20 "$B/obj/sim-board-nochecked.log"; exit 1; }

"$PYTHON" - "$T/big.py" "$MB" <<'PYEOF'
import sys
n, i, size = 0, 0, int(sys.argv[2]) * 1024 * 1024
with open(sys.argv[1], "w") as f:
    while n < size:
        line = "v%d = %d * 3 + len('padding text')\n" % (i % 500, i)
        f.write(line)
        n += len(line)
        i += 1
    f.write("print('last line', v7)\n")
PYEOF
size=$(wc -c <"$T/big.py")

echo "| mode | board | script | elapsed | rate | heap_peak | alloc_max |"
echo "|---|---|---|---|---|---|---|"
for board in sim-board sim-board-nochecked; do
    rm -f "$T/link" "$T/stats"
    "$B/$board" --pty "$T/link" --heap 256K --stats "$T/stats" 2>"$T/board.err" &
    bp=$!
    n=0
    while [ ! -e "$T/link" ]; do n=$((n + 1)); [ $n -lt 200 ] || exit 1; sleep 0.05; done
    "$B/mpupload" -p "$T/link" --json run "$T/big.py" >"$T/out" 2>"$T/err" || { cat "$T/err"; exit 1; }
    kill -TERM $bp
    wait $bp || true
    "$PYTHON" - "$T/out" "$T/stats" "$board" "$size" <<'PYEOF'
import json, sys
res = [json.loads(l) for l in open(sys.argv[1]) if '"result"' in l][-1]
stats = dict(l.strip().split("=", 1) for l in open(sys.argv[2]) if "=" in l)
assert res["status"] == "ok", res
el = res["elapsed"]
size = int(sys.argv[4])
print("| %s | %s | %.2f MB | %.2f s | %.2f MB/s | %s | %s |" % (
    res["mode"], sys.argv[3], size / 1e6, el, size / el / 1e6,
    stats.get("heap_peak"), stats.get("alloc_max")))
PYEOF
done
