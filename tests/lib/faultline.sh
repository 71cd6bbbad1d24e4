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
    rm -f "$FL_LOG"
    spawn_link "$FL_LINK" 10 /dev/null "$T/faultline.$FL_N.err" \
        "$BUILD/faultline" --board "$_fl_board" --pty "$FL_LINK" --log "$FL_LOG" "$@"
    FL_PID=$SPAWN_PID
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

# faultline_trial BOARD_LINK SCRIPT EXPECTED_OUTPUT_FILE [FAULTLINE_ARGS...]: run `mpupload run $FL_RUN_ARGS SCRIPT` (30 s at most) through a new faulty line to BOARD_LINK, then check the board answers `exec 'print(1)'` directly. Sets FL_RESULT (success, clean, hang, wrong, badexit: the exit status is not 0, 1, 3 or 4), FL_RC, FL_FAULTS, FL_CUT, FL_RECOVERED (1 or 0).
faultline_trial() {
    _fl_bl=$1
    _fl_script=$2
    _fl_exp=$3
    shift 3
    faultline_start "$_fl_bl" "$T/fl-line" "$@"
    FL_RC=0
    timeout 30 "$MPUPLOAD" -p "$FL_LINK" run ${FL_RUN_ARGS:-} "$_fl_script" >"$T/fl-out" 2>"$T/fl-err" || FL_RC=$?
    faultline_stop
    FL_FAULTS=$(faultline_stat faults)
    FL_CUT=$(faultline_stat cut)
    case $FL_RC in
    0)
        tr -d '\r' <"$T/fl-out" >"$T/fl-out.lf"
        if cmp -s "$_fl_exp" "$T/fl-out.lf"; then FL_RESULT=success; else FL_RESULT=wrong; fi ;;
    1 | 3 | 4) FL_RESULT=clean ;;
    124) FL_RESULT=hang ;;
    *) FL_RESULT=badexit ;;
    esac
    FL_RECOVERED=0
    if [ "$(timeout 30 "$MPUPLOAD" -p "$_fl_bl" exec 'print(1)' 2>"$T/fl-rec-err" | tr -d '\r')" = 1 ]; then
        FL_RECOVERED=1
    fi
}
