# The qemu board (MicroPython's ports/qemu on an emulated MPS2-AN385) for
# tests: qemu's UART on a pty, reached through a symlink like /dev/ttyACM0.
# Functions only; sourced by tests/setup.

# qemu_require: skip the test (exit 77) when qemu-system-arm is not installed.
qemu_require() {
    command -v qemu-system-arm >/dev/null || skip "qemu-system-arm is not installed"
}

# qemu_start ELF LINK: run ELF under qemu (niced by $QEMU_NICE if set) in the background, make LINK a symlink to its pty, wait (20 s at most) until the board answers, set QEMU_PID.
qemu_start() {
    qemu_require
    [ -f "$1" ] || fail "qemu_start: $1: no such firmware (run make)"
    QEMU_LINK=$2
    # A new log for each start; made here, not by the background job's
    # redirection, so that no earlier board's pty can be read from it.
    QEMU_N=$((${QEMU_N:-0} + 1))
    QEMU_LOG=$T/qemu.$QEMU_N.log
    : >"$QEMU_LOG"
    nice -n "${QEMU_NICE:-0}" qemu-system-arm -machine mps2-an385 -nographic -monitor null -semihosting \
        -bios none -serial pty -kernel "$1" </dev/null >>"$QEMU_LOG" 2>&1 &
    QEMU_PID=$!
    CLEANUP_PIDS="$CLEANUP_PIDS $QEMU_PID"
    _qemu_pty=
    _qemu_n=0
    while [ -z "$_qemu_pty" ]; do
        _qemu_pty=$(sed -n 's#.*char device redirected to \(/dev/pts/[0-9]*\).*#\1#p' "$QEMU_LOG")
        [ -n "$_qemu_pty" ] && break
        kill -0 "$QEMU_PID" 2>/dev/null || fail "qemu exited at start: $(cat "$QEMU_LOG")"
        _qemu_n=$((_qemu_n + 1))
        [ $_qemu_n -lt 200 ] || fail "qemu named no pty in 20 s: $(cat "$QEMU_LOG")"
        sleep 0.1
    done
    ln -sfn "$_qemu_pty" "$QEMU_LINK"
    qemu_wait_prompt "$QEMU_LINK" || fail "the qemu board on $_qemu_pty gave no prompt"
}

# qemu_wait_prompt LINK: send CR until the friendly REPL answers ">>> " (20 s at most).
qemu_wait_prompt() {
    "$PYTHON" - "$1" <<'EOF'
import sys, time, serial
s = serial.Serial(sys.argv[1], timeout=0.5)
seen = b""
end = time.monotonic() + 20
while time.monotonic() < end:
    s.write(b"\r")
    seen += s.read(256)
    if b">>> " in seen:
        sys.exit(0)
sys.stderr.write("no prompt; board said %r\n" % seen[-200:])
sys.exit(1)
EOF
}

# qemu_wait_exit [SECONDS]: wait (default 10 s) for the board's qemu to exit by itself; returns its exit status, 124 if it is still running.
qemu_wait_exit() {
    _qemu_n=0
    while kill -0 "$QEMU_PID" 2>/dev/null; do
        _qemu_n=$((_qemu_n + 1))
        [ $_qemu_n -le $((${1:-10} * 10)) ] || return 124
        sleep 0.1
    done
    _qemu_rc=0
    wait "$QEMU_PID" || _qemu_rc=$?
    rm -f "$QEMU_LINK"
    return $_qemu_rc
}

# qemu_stop: stop the board started last (it may have exited already, e.g. by machine.reset()) and remove its link.
qemu_stop() {
    kill "$QEMU_PID" 2>/dev/null || true
    wait "$QEMU_PID" 2>/dev/null || true
    rm -f "$QEMU_LINK"
}
