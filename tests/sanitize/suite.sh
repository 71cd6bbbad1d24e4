#!/bin/sh
# suite.sh LOGDIR [WORD...]: run the tests (tests/*/*.test, or those whose
# path contains a WORD; never tests/sanitize/*) on the sanitizer builds:
# MPUPLOAD=build/mpupload-asan, SIM_BOARD (and PYEXEC_SIM_BOARD)
# =build/sim-board-asan, AddressSanitizer and UBSan stopping at the first
# error, LeakSanitizer on where it works, every report written to
# LOGDIR/reports/ (so a report from a board whose stderr nobody reads counts
# too). Logs in LOGDIR/<area>/<name>.log; each test gets twice its deadline.
# Ends with "N passed, N failed"; exit 1 when a test failed or any report
# appeared. Tests named in $SAN_KNOWN (e.g. "sim-board/flags") that fail are
# listed as known failures and not counted; tests whose path contains a
# word of $SAN_SKIP are left out.
set -u
export LC_ALL=C
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
logs=$1
shift
case $logs in /*) ;; *) logs=$ROOT/$logs ;; esac
rm -rf "$logs"
mkdir -p "$logs/reports"

for b in mpupload-asan sim-board-asan; do
    [ -x "build/$b" ] || { echo "suite.sh: build/$b is not built (run make)" >&2; exit 1; }
done
export MPUPLOAD=$ROOT/build/mpupload-asan
export SIM_BOARD=$ROOT/build/sim-board-asan
export PYEXEC_SIM_BOARD=$SIM_BOARD
# LeakSanitizer stops the process when it cannot trace it (some
# containers): then leaks are not checked.
leaks=1
ASAN_OPTIONS=detect_leaks=1 "$MPUPLOAD" --version >/dev/null 2>"$logs/lsan-probe" \
    || { leaks=0; echo "suite.sh: LeakSanitizer does not work here: $(head -1 "$logs/lsan-probe")"; }
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=$leaks:log_path=$logs/reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/reports/ubsan"

passed=0
failed=0
skipped=0
failures=""
knowns=""
for t in tests/*/*.test; do
    [ -x "$t" ] || continue
    case $t in tests/sanitize/*) continue ;; esac
    skip_it=no
    for k in ${SAN_SKIP:-}; do
        case $t in *"$k"*) skip_it=yes ;; esac
    done
    [ $skip_it = no ] || continue
    if [ $# -gt 0 ]; then
        match=no
        for w in "$@"; do
            case "$t" in *"$w"*) match=yes ;; esac
        done
        [ $match = yes ] || continue
    fi
    name=${t#tests/}
    name=${name%.test}
    log=$logs/$name.log
    mkdir -p "$(dirname "$log")"
    limit=$(sed -n 's/^# timeout: *\([0-9]*\).*/\1/p' "$t" | head -1)
    limit=$((${limit:-300} * 2))
    before=$(ls "$logs/reports" | wc -l)
    start=$(date +%s)
    timeout -k 5 "$limit" "$t" >"$log" 2>&1 </dev/null
    rc=$?
    secs=$(($(date +%s) - start))
    after=$(ls "$logs/reports" | wc -l)
    if [ "$after" != "$before" ] && [ $rc = 0 ]; then
        echo "sanitizer reports appeared during this test (in $logs/reports)" >>"$log"
        rc=1
    fi
    # UBSan next to ASan writes to stderr whatever log_path says.
    if [ $rc = 0 ] && grep -q 'runtime error: \|ERROR: AddressSanitizer\|ERROR: LeakSanitizer' "$log"; then
        echo "a sanitizer report is in this log" >>"$log"
        rc=1
    fi
    known=no
    for k in ${SAN_KNOWN:-}; do
        [ "$k" != "$name" ] || known=yes
    done
    case $rc in
    0)
        passed=$((passed + 1))
        echo "PASS $name (${secs}s)"
        ;;
    77)
        skipped=$((skipped + 1))
        echo "SKIP $name: $(tail -1 "$log")"
        ;;
    *)
        if [ $known = yes ]; then
            knowns="$knowns $name"
            echo "KNOWN $name (exit $rc, ${secs}s): a known failure (SAN_KNOWN)"
            tail -5 "$log" | sed 's/^/    | /'
            continue
        fi
        failed=$((failed + 1))
        failures="$failures $name"
        [ $rc = 124 ] && echo "timed out after ${limit}s" >>"$log"
        echo "FAIL $name (exit $rc, ${secs}s)"
        tail -25 "$log" | sed 's/^/    | /'
        ;;
    esac
done

for r in "$logs"/reports/*; do
    [ -f "$r" ] || continue
    echo "sanitizer report $r:"
    head -30 "$r" | sed 's/^/    | /'
done
[ -n "$failures" ] && echo "failed:$failures"
[ -n "$knowns" ] && echo "known failures (SAN_KNOWN, not counted):$knowns"
echo "$passed passed, $failed failed, $skipped skipped (ASan/UBSan builds, leaks $([ $leaks = 1 ] && echo checked || echo not checked))"
[ $failed = 0 ] && [ -z "$(ls "$logs/reports")" ]
