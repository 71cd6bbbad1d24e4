#!/bin/sh
# Run build/fuzz-device/fuzz_device for FUZZ_SECONDS (600) on the corpus in
# FUZZ_CORPUS (made when missing), seeded by tests/fuzz-device/seeds.py from
# PROTOCOL.md's vectors and the byte scripts' host bytes, after replaying
# tests/fuzz-device/regress/* in one process, in name order (a crash that
# needs the state an earlier input left is a sequence NAME-1, NAME-2, ...).
# A crash's input goes to FUZZ_ARTIFACTS (default: the corpus's parent) and
# the exit status is 1.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/build/fuzz-device/fuzz_device
PYTHON=$(cat "$ROOT/build/python")
SECS=${FUZZ_SECONDS:-600}
CORPUS=${FUZZ_CORPUS:-$ROOT/build/fuzz-device/corpus}
ART=${FUZZ_ARTIFACTS:-$(dirname "$CORPUS")}
SEEDS=$CORPUS.seeds

[ -x "$BIN" ] || { echo "$BIN: missing (run make)" >&2; exit 1; }
mkdir -p "$CORPUS" "$ART"
rm -rf "$SEEDS"
PYTHONDONTWRITEBYTECODE=1 "$PYTHON" "$ROOT/tests/fuzz-device/seeds.py" "$SEEDS" \
    --mpy-cross "$ROOT/build/mpy-cross" \
    "$ROOT"/tests/mpupload/scripts/*.bs "$ROOT"/tests/proto/scripts/*.bs >/dev/null

# Regressions: every input ever found crashing or hanging must run clean.
set -- "$ROOT"/tests/fuzz-device/regress/*
if [ -f "$1" ]; then
    "$BIN" -timeout=10 "$@" >"$ART/regress.log" 2>&1 || {
        echo "a regression crashes: $BIN $*" >&2
        grep -v -E '^(INFO:|\s*$)' "$ART/regress.log" | tail -40 >&2
        exit 1
    }
fi

rc=0
"$BIN" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$ART/" "$CORPUS" "$SEEDS" >"$ART/fuzz.log" 2>&1 || rc=$?
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$ART/fuzz.log" || true
grep -E '#[0-9]+[[:space:]]+DONE' "$ART/fuzz.log" | tail -1 || true
echo "corpus: $(ls "$CORPUS" | wc -l) inputs, seeds: $(ls "$SEEDS" | wc -l)"
if [ $rc != 0 ]; then
    echo "fuzz_device failed (exit $rc); its log:" >&2
    grep -v -E '^(#[0-9]|INFO:|\s*$)' "$ART/fuzz.log" | head -80 >&2
    exit 1
fi
