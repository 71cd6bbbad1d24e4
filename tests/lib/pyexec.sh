# Helpers of the tests in tests/pyexec (functions only).

# pyexec_board BIN LINK [ARGS...]: start a sim-board binary on a pty reached
# through LINK, wait (20 s at most) until LINK exists, set BOARD_PID.
pyexec_board() {
    _pb_bin=$1
    _pb_link=$2
    shift 2
    [ -x "$_pb_bin" ] || fail "pyexec_board: $_pb_bin: not built (run make)"
    spawn_link "$_pb_link" 20 "$_pb_link.log" "$_pb_link.log" "$_pb_bin" --pty "$_pb_link" "$@"
    BOARD_PID=$SPAWN_PID
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
