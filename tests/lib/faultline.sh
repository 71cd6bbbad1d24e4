# The faulty line (build/faultline) for tests: between a host and a board's
# pty, dropping, flipping, duplicating, stalling bytes, cutting the line.
# Functions only; sourced by tests/setup.

# faultline_start BOARD_LINK LINK [ARGS...]: run build/faultline between BOARD_LINK and a new pty LINK in the background, report to $T/faultline.N.log; wait (10 s at most) for LINK; set FL_PID, FL_LINK, FL_LOG.
faultline_start() {
    FL_N=$((${FL_N:-0} + 1))
    _fl_board=$1
    FL_LINK=$2
    shift 2
    FL_LOG=$T/faultline.$FL_N.log
    rm -f "$FL_LINK" "$FL_LOG"
    "$BUILD/faultline" --board "$_fl_board" --pty "$FL_LINK" --log "$FL_LOG" "$@" \
        </dev/null >/dev/null 2>"$T/faultline.$FL_N.err" &
    FL_PID=$!
    CLEANUP_PIDS="$CLEANUP_PIDS $FL_PID"
    _fl_n=0
    while [ ! -L "$FL_LINK" ]; do
        kill -0 "$FL_PID" 2>/dev/null || fail "faultline exited at start: $(cat "$T/faultline.$FL_N.err")"
        _fl_n=$((_fl_n + 1))
        [ $_fl_n -lt 100 ] || fail "faultline made no $FL_LINK in 10 s"
        sleep 0.1
    done
}

# faultline_stop: SIGTERM the faultline started last (if still running) and wait for it: its report is in $FL_LOG.
faultline_stop() {
    kill -TERM "$FL_PID" 2>/dev/null || true
    wait "$FL_PID" 2>/dev/null || true
    [ -f "$FL_LOG" ] || fail "faultline wrote no report $FL_LOG"
}

# faultline_stat KEY: print KEY's value in the report of the faultline started last.
faultline_stat() {
    _fl_v=$(sed -n "s/^$1=//p" "$FL_LOG")
    [ -n "$_fl_v" ] || fail "faultline_stat: no $1 in $FL_LOG"
    echo "$_fl_v"
}
