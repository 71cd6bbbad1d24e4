#!/bin/sh
# Figures of the native file transfer (B.5) on build/sim-board, unpaced pty:
# put and get of a random file (16 MB, or $1 bytes) with the Python
# reference host (filehost.py) and a C one (filebench.c, built here), and
# the board's heap_peak. Prints figures; asserts nothing about speed.
. "$(dirname "$0")/../setup"
n=${1:-16777216}
cc -O2 -Wall -I"$ROOT/proto" -I"$ROOT/host/mpupload" -o "$T/filebench" "$ROOT/tests/pyexec/filebench.c" \
    "$ROOT/host/mpupload/sha256.c" || fail "cannot build filebench.c"
head -c "$n" /dev/urandom >"$T/in.bin"
fs=$(( (n * 2 / 1048576 + 8) ))M
board_start "$BUILD/sim-board" "$T/tty" --rx-buf 64K --fs-size "$fs" --stats "$T/stats"
"$PYTHON" "$ROOT/tests/pyexec/filehost.py" "$T/tty" put "$T/in.bin" /f.bin | sed 's/^/python host: /'
"$PYTHON" "$ROOT/tests/pyexec/filehost.py" "$T/tty" get /f.bin "$T/out.bin" | sed 's/^/python host: /'
expect_file_eq "$T/in.bin" "$T/out.bin"
"$T/filebench" "$T/tty" "$T/in.bin" /g.bin | sed 's/^/C host: /'
board_stop
echo "heap_peak: $(board_stats "$T/stats" heap_peak) bytes (heap_total $(board_stats "$T/stats" heap_total))"
