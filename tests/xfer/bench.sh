#!/bin/sh
# Transfer figures (printed, never asserted): `make bench-xfer`. put and get of
# a random binary file at 115200 baud (11,520 bytes/s of line) with a 256-byte
# RX ring, on the stock board and on firmware/pyexec, and mpremote cp on the
# stock board for comparison.
. "$(dirname "$0")/../setup"

SIZE=${XFER_BENCH_SIZE:-65536}
head -c "$SIZE" /dev/urandom >"$T/r"
now() { date +%s.%N; }

# figure LABEL BIN CMD...: run CMD on a fresh board; print rate and wire bytes per payload byte.
figure() {
    label=$1
    bin=$2
    shift 2
    # shellcheck disable=SC2086
    board_start "$bin" "$T/tty" $FIG_ARGS --stats "$T/stats"
    if [ "$1" = get ]; then
        shift
        "$BUILD/mpupload" -q -p "$T/tty" put "$T/r" :r.bin || fail "put for get"
        board_dump_stats "$T/stats"
        cp "$T/stats" "$T/s0"
    else
        printf 'bytes_in=0\nbytes_out=0\n' >"$T/s0"
    fi
    t0=$(now)
    "$@" || fail "$label: exit $?"
    t1=$(now)
    board_stop
    in=$(( $(board_stats "$T/stats" bytes_in) - $(board_stats "$T/s0" bytes_in) ))
    out=$(( $(board_stats "$T/stats" bytes_out) - $(board_stats "$T/s0" bytes_out) ))
    awk -v l="$label" -v s="$SIZE" -v a="$t0" -v b="$t1" -v i="$in" -v o="$out" \
        -v d="$(board_stats "$T/stats" rx_dropped)" 'BEGIN {
        r = s / (b - a);
        printf "%-34s %7d B in %6.2f s: %6.0f B/s = %5.1f %% of 11,520; wire %.3f B/B; rx_dropped %d\n",
            l, s, b - a, r, r / 115.2, (i + o) / s, d }'
}

FIG_ARGS="--baud 115200 --rx-buf 256"
echo "xfer: $SIZE random bytes at 115200 baud, --rx-buf 256 (wire: both directions, session included)"
for bin in "$BUILD/sim-board-upstream" "$BUILD/sim-board"; do
    b=$(basename "$bin")
    figure "mpupload put ($b)" "$bin" "$BUILD/mpupload" -q -p "$T/tty" put "$T/r" :r.bin
    figure "mpupload get ($b)" "$bin" get "$BUILD/mpupload" -q -p "$T/tty" get :r.bin "$T/back"
done
echo "xfer: 1 MB unpaced (pty), % of line meaningless"
SIZE_PACED=$SIZE
SIZE=1048576
head -c "$SIZE" /dev/urandom >"$T/r"
FIG_ARGS="--fs-size 4M"
figure "mpupload put (sim-board-upstream)" "$BUILD/sim-board-upstream" "$BUILD/mpupload" -q -p "$T/tty" put "$T/r" :r.bin
figure "mpupload get (sim-board-upstream)" "$BUILD/sim-board-upstream" get "$BUILD/mpupload" -q -p "$T/tty" get :r.bin "$T/back"
FIG_ARGS="--baud 115200 --rx-buf 256"
SIZE=$SIZE_PACED
if [ "$SIZE" -gt 16384 ]; then
    SIZE=16384
    head -c "$SIZE" "$T/r" >"$T/r16"
    cp "$T/r16" "$T/r"
fi
figure "mpremote cp (sim-board-upstream)" "$BUILD/sim-board-upstream" \
    env PYTHONPATH="$MPY/tools/mpremote" "$PYTHON" -m mpremote connect "$T/tty" cp "$T/r" :m.bin
