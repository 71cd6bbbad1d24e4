#!/bin/sh
# Run build/fuzz-host/fuzz_engine for FUZZ_SECONDS (600) on the corpus in
# FUZZ_CORPUS (made when missing), seeded from tests/mpupload/scripts/*.bs,
# after replaying tests/fuzz-host/regress/*. A crash's input goes to
# FUZZ_ARTIFACTS (default: the corpus's parent) and the exit status is 1.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/build/fuzz-host/fuzz_engine
PYTHON=$(cat "$ROOT/build/python")
SECS=${FUZZ_SECONDS:-600}
CORPUS=${FUZZ_CORPUS:-$ROOT/build/fuzz-host/corpus}
ART=${FUZZ_ARTIFACTS:-$(dirname "$CORPUS")}
SEEDS=$CORPUS.seeds

[ -x "$BIN" ] || { echo "$BIN: missing (run make)" >&2; exit 1; }
mkdir -p "$CORPUS" "$ART"
rm -rf "$SEEDS"
"$PYTHON" "$ROOT/tests/fuzz-host/seeds.py" "$SEEDS" "$ROOT"/tests/mpupload/scripts/*.bs

# Regressions: every input ever found crashing must run clean.
for f in "$ROOT"/tests/fuzz-host/regress/*; do
    [ -f "$f" ] || continue
    "$BIN" "$f" >/dev/null 2>&1 || { echo "regression $f crashes: $BIN $f" >&2; exit 1; }
done

rc=0
"$BIN" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$ART/" "$CORPUS" "$SEEDS" >"$ART/fuzz.log" 2>&1 || rc=$?
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$ART/fuzz.log" || true
grep -E '#[0-9]+[[:space:]]+DONE' "$ART/fuzz.log" | tail -1 || true
echo "corpus: $(ls "$CORPUS" | wc -l) inputs, seeds: $(ls "$SEEDS" | wc -l)"
if [ $rc != 0 ]; then
    echo "fuzz_engine failed (exit $rc); its log:" >&2
    grep -v -E '^(#[0-9]|INFO:|\s*$)' "$ART/fuzz.log" | head -80 >&2
    exit 1
fi
