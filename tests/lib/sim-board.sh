# The simulated board (build/sim-board, build/sim-board-upstream) for tests:
# its console on a pty reached through a symlink, like /dev/ttyACM0.
# Functions only; sourced by tests/setup.

# board_start BIN LINK [ARGS...]: run BIN --pty LINK ARGS in the background (stderr to $T/board.N.err), wait (10 s at most) for LINK, set BOARD_PID, BOARD_LINK and BOARD_ERR.
board_start() {
    [ -x "$1" ] || fail "board_start: $1: no such board (run make)"
    _board_bin=$1
    BOARD_LINK=$2
    shift 2
    BOARD_N=$((${BOARD_N:-0} + 1))
    BOARD_ERR=$T/board.$BOARD_N.err
    spawn_link "$BOARD_LINK" 10 /dev/null "$BOARD_ERR" "$_board_bin" --pty "$BOARD_LINK" "$@"
    BOARD_PID=$SPAWN_PID
}

# board_stop: SIGTERM the board started last and wait for it (it writes --stats and removes its link); returns its exit status.
board_stop() {
    kill -TERM "$BOARD_PID" 2>/dev/null || true
    _board_rc=0
    wait "$BOARD_PID" || _board_rc=$?
    return $_board_rc
}

# board_stats FILE KEY: print the value of KEY in a --stats FILE (fails when missing).
board_stats() {
    _board_v=$(sed -n "s/^$2=//p" "$1")
    [ -n "$_board_v" ] || fail "board_stats: no $2 in $1"
    echo "$_board_v"
}

# board_dump_stats FILE: make the board started last write its --stats FILE now (SIGUSR1) and wait (5 s at most) until it is there.
board_dump_stats() {
    rm -f "$1"
    kill -USR1 "$BOARD_PID"
    _board_n=0
    while [ ! -f "$1" ]; do
        _board_n=$((_board_n + 1))
        [ $_board_n -lt 50 ] || fail "board wrote no $1 on SIGUSR1"
        sleep 0.1
    done
}

# board_pyboard LINK ARGS...: run MicroPython's tools/pyboard.py on LINK with ARGS.
board_pyboard() {
    _board_dev=$1
    shift
    PYTHONDONTWRITEBYTECODE=1 "$PYTHON" "$MPY/tools/pyboard.py" -d "$_board_dev" "$@"
}

# board_exec LINK CODE [raw]: run CODE through pyboard.py's Pyboard class over raw-paste (or plain raw REPL with "raw"), print its output; a traceback exits 1, a board that refused raw-paste exits 3.
board_exec() {
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$MPY/tools "$PYTHON" - "$@" <<'PY'
import sys, pyboard
dev, code = sys.argv[1], sys.argv[2]
pyb = pyboard.Pyboard(dev)
if len(sys.argv) > 3 and sys.argv[3] == "raw":
    pyb.use_raw_paste = False
pyb.enter_raw_repl(soft_reset=False)
out, err = pyb.exec_raw(code)
sys.stdout.buffer.write(out)
sys.stdout.buffer.flush()
pyb.exit_raw_repl()
pyb.close()
if len(sys.argv) <= 3 and not pyb.use_raw_paste:
    sys.stderr.write("the board refused raw-paste\n")
    sys.exit(3)
if err:
    sys.stderr.buffer.write(err)
    sys.exit(1)
PY
}
