# Tests of one command on many boards (tests/multi): helpers. Functions only;
# sourced by tests/setup.

# multi_bin: the mpupload under test.
multi_bin() {
    echo "${MPUPLOAD:-$BUILD/mpupload}"
}

# multi_board_bin: the board binary: $SIM_BOARD if set (the sanitizer
# suite), else build/sim-board.
multi_board_bin() {
    echo "${SIM_BOARD:-$BUILD/sim-board}"
}

# multi_sanitized: true when the binaries under test are sanitizer builds
# (their speed says nothing).
multi_sanitized() {
    case "$(multi_bin) $(multi_board_bin)" in *asan* | *ubsan*) return 0 ;; esac
    return 1
}

# multi_boards N [ARGS...]: start N simulated boards with ARGS, their
# consoles on ptys reached through $T/mb.1 .. $T/mb.N; set MULTI_LINKS (the
# links), MULTI_PIDS and MULTI_PORTS ("-p LINK" for each). Skips without the board.
multi_boards() {
    [ -x "$(multi_board_bin)" ] || skip "$(multi_board_bin) is not built"
    _mu_n=$1
    shift
    MULTI_LINKS=""
    MULTI_PIDS=""
    MULTI_PORTS=""
    _mu_i=1
    while [ $_mu_i -le "$_mu_n" ]; do
        spawn_link "$T/mb.$_mu_i" 20 "$T/mb.$_mu_i.log" "$T/mb.$_mu_i.log" \
            "$(multi_board_bin)" --pty "$T/mb.$_mu_i" "$@"
        MULTI_LINKS="$MULTI_LINKS $T/mb.$_mu_i"
        MULTI_PIDS="$MULTI_PIDS $SPAWN_PID"
        MULTI_PORTS="$MULTI_PORTS -p $T/mb.$_mu_i"
        _mu_i=$((_mu_i + 1))
    done
}

# multi_pid I: the pid of board I (from 1).
multi_pid() {
    echo $MULTI_PIDS | cut -d' ' -f"$1"
}

# multi_kill I: stop board I and wait until its pty link is gone.
multi_kill() {
    _mu_p=$(multi_pid "$1")
    kill "$_mu_p" 2>/dev/null || true
    wait "$_mu_p" 2>/dev/null || true
    rm -f "$T/mb.$1"
}

# multi_mpu OUT ERR ARGS...: run mpupload with ARGS (stdin /dev/null), stdout
# to OUT, stderr to ERR; its exit status in MULTI_RC.
multi_mpu() {
    _mu_out=$1
    _mu_err=$2
    shift 2
    MULTI_RC=0
    "$(multi_bin)" "$@" >"$_mu_out" 2>"$_mu_err" </dev/null || MULTI_RC=$?
}

# multi_expect_rc WHAT CODE: the last multi_mpu's exit status must be CODE.
multi_expect_rc() {
    if [ "$MULTI_RC" != "$2" ]; then
        echo "FAIL: $1: exit status $MULTI_RC, expected $2" >&2
        echo "--- stdout" >&2
        head -c 3000 "$_mu_out" >&2
        echo "--- stderr" >&2
        head -c 3000 "$_mu_err" >&2
        exit 1
    fi
}

# multi_row ERR BOARD: the summary row of BOARD in ERR, as "status exit".
multi_row() {
    awk -v b="$2" '$1 == b && NF >= 5 && $3 ~ /^[0-9]+$/ { print $2, $3 }' "$1" | tail -1
}

# multi_now: seconds since the epoch, with nanoseconds.
multi_now() {
    date +%s.%N
}
