#!/bin/sh
# Benchmark (not a test) of the statement splitter: the cost per byte of
# pyexec_split_feed, built with -O2 for the host, over 10 MB of real Python
# (MicroPython's tests and tools, repeated), fed 5 times.
# Usage: tests/split/bench.sh [CC]   (run `make` first for the MicroPython tree)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build/split
CC=${1:-cc}
[ -d "$ROOT/build/micropython/tests" ] || { echo "bench.sh: run make first" >&2; exit 2; }
mkdir -p "$OUT"
. "$ROOT/tests/lib/split.sh"
split_build "$OUT/split_run_O2" "$CC" -O2
# only files CPython parses, so that no broken test swallows the rest
"$(cat "$ROOT/build/python")" - "$ROOT/build/micropython" "$OUT/corpus.one" <<'PY'
import ast, os, sys
with open(sys.argv[2], "wb") as out:
    for d in ("tests", "tools"):
        for root, dirs, names in sorted(os.walk(os.path.join(sys.argv[1], d))):
            for n in sorted(names):
                if n.endswith(".py"):
                    data = open(os.path.join(root, n), "rb").read()
                    try:
                        ast.parse(data)
                    except Exception:
                        continue
                    out.write(data + b"\n")
PY
: >"$OUT/bench.py"
while [ "$(wc -c <"$OUT/bench.py")" -lt 10000000 ]; do
    cat "$OUT/corpus.one" >>"$OUT/bench.py"
done
head -c 10000000 "$OUT/bench.py" >"$OUT/bench10.py"
echo "splitter ($CC -O2), 10 MB of MicroPython's Python sources, 5 passes:"
"$OUT/split_run_O2" -b "$OUT/bench10.py" 50
