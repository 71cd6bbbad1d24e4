# Helpers of the tests in tests/mpupload (functions only).

# mpu_bin: the mpupload under test: $MPUPLOAD if set, else build/mpupload.
mpu_bin() {
    echo "${MPUPLOAD:-$BUILD/mpupload}"
}

# mpu_board BIN LINK [ARGS...]: start a board binary (a sim-board) on a new pty
# reached through LINK, with --stats LINK.stats; wait (20 s at most) for LINK;
# set MPU_BOARD_PID. Skips the test when BIN is not built.
mpu_board() {
    _mb_bin=$1
    _mb_link=$2
    shift 2
    [ -x "$_mb_bin" ] || skip "$_mb_bin is not built"
    rm -f "$_mb_link.stats"
    spawn_link "$_mb_link" 20 "$_mb_link.log" "$_mb_link.log" \
        "$_mb_bin" --pty "$_mb_link" --stats "$_mb_link.stats" "$@"
    MPU_BOARD_PID=$SPAWN_PID
}

# mpu_board_stop: stop the board started last and wait for it.
mpu_board_stop() {
    kill "$MPU_BOARD_PID" 2>/dev/null || true
    wait "$MPU_BOARD_PID" 2>/dev/null || true
}

# mpu_stat LINK KEY: a counter of the board on LINK (asks it with SIGUSR1).
mpu_stat() {
    rm -f "$1.stats"
    kill -USR1 "$MPU_BOARD_PID"
    _ms_n=0
    while ! grep -q "^$2=" "$1.stats" 2>/dev/null; do
        _ms_n=$((_ms_n + 1))
        [ $_ms_n -lt 100 ] || fail "the board wrote no $2 to $1.stats"
        sleep 0.05
    done
    sed -n "s/^$2=//p" "$1.stats"
}

# mpu OUT ERR ARGS...: run mpupload with ARGS, stdout to OUT, stderr to ERR;
# its exit status in MPU_RC (the test goes on either way).
mpu() {
    _m_out=$1
    _m_err=$2
    shift 2
    MPU_RC=0
    "$(mpu_bin)" "$@" >"$_m_out" 2>"$_m_err" </dev/null || MPU_RC=$?
}

# mpu_expect_rc WHAT CODE: the last mpu's exit status must be CODE.
mpu_expect_rc() {
    if [ "$MPU_RC" != "$2" ]; then
        echo "FAIL: $1: exit status $MPU_RC, expected $2" >&2
        echo "--- stdout" >&2
        head -c 2000 "$_m_out" >&2
        echo "--- stderr" >&2
        head -c 2000 "$_m_err" >&2
        exit 1
    fi
}

# mpu_json_get FILE EVENT KEY: KEY of the last JSON line of FILE whose event is
# EVENT (nested keys with dots: exception.type); fails on a line that is not JSON.
mpu_json_get() {
    "$PYTHON" - "$@" <<'PYEOF'
import json, sys
path, event, key = sys.argv[1:4]
last = None
for n, line in enumerate(open(path, encoding="utf-8"), 1):
    try:
        obj = json.loads(line)
    except ValueError as e:
        sys.exit("%s:%d: not JSON (%s): %r" % (path, n, e, line))
    if obj.get("event") == event:
        last = obj
if last is None:
    sys.exit("%s: no %s event" % (path, event))
v = last
for k in key.split("."):
    v = v[k] if v is not None else None
print(json.dumps(v) if not isinstance(v, str) else v)
PYEOF
}
