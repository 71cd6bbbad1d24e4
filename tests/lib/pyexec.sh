# Helpers of the tests in tests/pyexec (functions only).

# pyexec_board BIN LINK [ARGS...]: start a sim-board binary on a pty reached
# through LINK, wait (20 s at most) until LINK exists, set BOARD_PID.
pyexec_board() {
    _pb_bin=$1
    _pb_link=$2
    shift 2
    [ -x "$_pb_bin" ] || fail "pyexec_board: $_pb_bin: not built (run make)"
    rm -f "$_pb_link"
    "$_pb_bin" --pty "$_pb_link" "$@" >"$_pb_link.log" 2>&1 &
    BOARD_PID=$!
    CLEANUP_PIDS="$CLEANUP_PIDS $BOARD_PID"
    _pb_n=0
    while [ ! -e "$_pb_link" ]; do
        kill -0 "$BOARD_PID" 2>/dev/null || fail "$_pb_bin exited at start: $(cat "$_pb_link.log")"
        _pb_n=$((_pb_n + 1))
        [ $_pb_n -lt 200 ] || fail "$_pb_bin made no pty in 20 s"
        sleep 0.1
    done
}

# pyexec_board_stop: stop the board started last (SIGTERM), wait for it.
pyexec_board_stop() {
    kill "$BOARD_PID" 2>/dev/null || true
    wait "$BOARD_PID" 2>/dev/null || true
}

# pyexec_sim_bin: the sim-board under test: $PYEXEC_SIM_BOARD if set (e.g. a
# development build), else build/sim-board.
pyexec_sim_bin() {
    echo "${PYEXEC_SIM_BOARD:-$BUILD/sim-board}"
}
