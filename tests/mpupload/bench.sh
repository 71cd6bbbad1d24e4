#!/bin/sh
# Speed figures for mpupload (printed, never asserted): `make bench-mpupload`.
# Runs generated scripts on the simulated boards (stock and firmware/pyexec),
# unpaced and at 115200 baud, and the same with pyboard.py for comparison.
. "$(dirname "$0")/../setup"

gen() { # gen FILE BYTES
    "$PYTHON" - "$1" "$2" <<'PYEOF'
import sys
n, i = 0, 0
with open(sys.argv[1], "w") as f:
    while n < int(sys.argv[2]):
        line = "v%d = %d  # some padding to look like code\n" % (i % 100, i)
        f.write(line)
        n += len(line)
        i += 1
    f.write("print('ok')\n")
PYEOF
}
gen "$T/s20k.py" 20000
gen "$T/s100k.py" 100000
gen "$T/s1m.py" 1000000

# figure LABEL BOARD-ARGS -- MPUPLOAD-ARGS: one line "LABEL: N bytes, S s, R KB/s (mode)".
figure() {
    label=$1
    bin=$2
    shift 2
    bargs=
    while [ "$1" != -- ]; do bargs="$bargs $1"; shift; done
    shift
    mpu_board "$bin" "$T/b" $bargs
    "$BUILD/mpupload" -p "$T/b" --json "$@" >"$T/out" 2>"$T/err" </dev/null || true
    mpu_board_stop
    "$PYTHON" - "$T/out" "$label" <<'PYEOF'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if '"result"' in l]
if not r:
    print("%-44s failed" % sys.argv[2]); sys.exit()
r = r[-1]
rate = r["bytes_sent"] / r["elapsed"] / 1000 if r["elapsed"] else 0
print("%-44s %8d bytes %7.2f s %8.1f KB/s  %s, exit %d" % (sys.argv[2], r["bytes_sent"], r["elapsed"], rate, r["mode"], r["exit"]))
PYEOF
}

other_figure() { # other_figure LABEL TOOL BOARD-BIN FILE BOARD-ARGS...: pyboard.py or mpremote
    label=$1 tool=$2 bin=$3 file=$4
    shift 4
    mpu_board "$bin" "$T/b" "$@"
    start=$(date +%s.%N)
    if [ "$tool" = pyboard.py ]; then
        "$PYTHON" "$MPY/tools/pyboard.py" -d "$T/b" "$file" >"$T/other" 2>&1 || true
    else
        PYTHONPATH=$MPY/tools/mpremote "$PYTHON" -m mpremote connect "$T/b" run "$file" >"$T/other" 2>&1 || true
    fi
    end=$(date +%s.%N)
    mpu_board_stop
    if [ "$(tail -1 "$T/other" | tr -d "\r")" != ok ]; then
        printf '%-44s failed: %s\n' "$label" "$(tail -1 "$T/other")"
        return
    fi
    "$PYTHON" -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); b=int(sys.argv[3]); print('%-44s %8d bytes %7.2f s %8.1f KB/s  %s' % (sys.argv[4], b, s, b/s/1000, sys.argv[5]))" \
        "$start" "$end" "$(wc -c <"$file")" "$label" "$tool"
}

UP=$BUILD/sim-board-upstream
PX=$BUILD/sim-board
figure "stock, pty, 100 KB, raw-paste" "$UP" --heap 2M -- run "$T/s100k.py"
figure "stock, pty, 100 KB, raw REPL loader" "$UP" --heap 2M -- --no-raw-paste run "$T/s100k.py"
other_figure "stock, pty, 100 KB" pyboard.py "$UP" "$T/s100k.py" --heap 2M
other_figure "stock, pty, 100 KB" mpremote "$UP" "$T/s100k.py" --heap 2M
figure "stock, 115200, rx-buf 256, 20 KB, raw-paste" "$UP" --baud 115200 --rx-buf 256 -- --baud 115200 run "$T/s20k.py"
figure "stock, 115200, rx-buf 256, 20 KB, loader" "$UP" --baud 115200 --rx-buf 256 -- --baud 115200 --no-raw-paste run "$T/s20k.py"
other_figure "stock, 115200, rx-buf 256, 20 KB" pyboard.py "$UP" "$T/s20k.py" --baud 115200 --rx-buf 256
other_figure "stock, 115200, rx-buf 256, 20 KB" mpremote "$UP" "$T/s20k.py" --baud 115200 --rx-buf 256
figure "stock, pty, 1 MB, heap 256K" "$UP" --heap 256K -- run "$T/s1m.py"
figure "firmware/pyexec, pty, 1 MB, heap 256K" "$PX" --heap 256K -- run "$T/s1m.py"
figure "firmware/pyexec, pty, 1 MB, --mpy" "$PX" --heap 256K -- run --mpy "$T/s1m.py"
figure "firmware/pyexec, 115200, 20 KB, stream" "$PX" --baud 115200 --rx-buf 256 -- --baud 115200 run "$T/s20k.py"
