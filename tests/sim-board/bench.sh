#!/bin/sh
# Figures of the simulated board (printed, never asserted; part of
# `make bench`): how closely --baud paces the line, and raw-paste upload
# speed and heap use of pyboard.py on both boards, paced and unpaced.
set -eu
export LC_ALL=C
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/build
MPY=$BUILD/micropython
PYTHON=$(cat "$BUILD/python")
T=$(mktemp -d "${TMPDIR:-/tmp}/sim-bench.XXXXXX")
pid=
cleanup() {
    [ -z "$pid" ] || { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # BIN ARGS...
    _bin=$1
    shift
    rm -f "$T/tty"
    "$_bin" --pty "$T/tty" --stats "$T/stats" "$@" </dev/null &
    pid=$!
    while [ ! -L "$T/tty" ]; do
        kill -0 "$pid" 2>/dev/null || { echo "bench: $_bin did not start" >&2; exit 1; }
        sleep 0.05
    done
}
stop() {
    kill "$pid"
    wait "$pid" || true
    pid=
}
stat() { sed -n "s/^$1=//p" "$T/stats"; }

echo "== TX pacing at --baud 115200 (nominal 11520 bytes/s)"
start "$BUILD/sim-board-upstream" --baud 115200
"$PYTHON" - "$T/tty" <<'PY'
import sys, time, serial
s = serial.Serial(sys.argv[1], timeout=0.01)
s.write(b"\r\x03")
time.sleep(0.3)
s.read(10000)
s.write(b"print('a' * 57599)\r")
got = b""
t0 = None
while b"\r\n>>> " not in got[-8:]:
    d = s.read(s.in_waiting or 1)
    if d and t0 is None and b"\n" in got + d:
        t0 = time.monotonic()
    got += d
dt = time.monotonic() - t0
print("   %d bytes in %.2f s: %.0f bytes/s" % (len(got), dt, len(got) / dt))
PY
stop

"$PYTHON" - >"$T/script.py" <<'PY'
for i in range(1500):
    print("def f%d(x):\n    return x * %d + %d\n" % (i, i, i * 3))
print("print(sum(globals()['f%d' % i](i) for i in range(1500)))")
PY
size=$(wc -c <"$T/script.py")
echo "== pyboard.py raw-paste of a $size-byte script (1500 functions)"
for b in sim-board-upstream sim-board; do
    for baud in 0 115200; do
        args="--heap 8M"
        [ $baud = 0 ] || args="$args --baud $baud"
        start "$BUILD/$b" $args
        t0=$(date +%s.%N)
        PYTHONDONTWRITEBYTECODE=1 "$PYTHON" "$MPY/tools/pyboard.py" -d "$T/tty" "$T/script.py" >/dev/null
        t1=$(date +%s.%N)
        stop
        echo "$b $baud $t0 $t1 $size $(stat heap_peak) $(stat alloc_max) $(stat rx_dropped)" | awk '{
            dt = $4 - $3
            printf "   %-19s baud %-7s %6.2f s %8.0f bytes/s  heap_peak %8d  alloc_max %7d  dropped %d\n",
                $1, ($2 == 0 ? "unpaced" : $2), dt, $5 / dt, $6, $7, $8 }'
    done
done
