# Helpers of the tests in tests/tree (functions only; sourced by tests/setup).

# tree_mpu ARGS...: run mpupload (${MPUPLOAD:-$BUILD/mpupload}) on the board started last ($BOARD_LINK).
tree_mpu() {
    "${MPUPLOAD:-$BUILD/mpupload}" -p "$BOARD_LINK" "$@"
}

# tree_tricky DIR: a small tree whose names break naive quoting: spaces,
# quotes, a newline, non-ASCII, Python code; an empty file and an empty directory.
tree_tricky() {
    mkdir -p "$1/sub dir/deeper" "$1/ü€" "$1/empty dir"
    printf 'a\n' >"$1/plain.txt"
    printf 'print("q")\n' >"$1/sub dir/it's \"q\".py"
    printf 'nl\n' >"$1/sub dir/new
line"
    head -c 5000 /dev/urandom >"$1/ü€/bin ärÿ"
    : >"$1/sub dir/deeper/empty"
    printf 'x\n' >"$1/x'),print('INJECTED"
}

# tree_many DIR N: N small files of distinct content, 20 to a directory.
tree_many() {
    _tm_i=0
    while [ $_tm_i -lt "$2" ]; do
        mkdir -p "$1/d$((_tm_i / 20))"
        printf 'file %d\n%0*d\n' $_tm_i $((_tm_i % 50)) 0 >"$1/d$((_tm_i / 20))/f$_tm_i.txt"
        _tm_i=$((_tm_i + 1))
    done
}

# tree_events FILE ACTION: the paths of the --json file events in FILE with ACTION, one per line.
tree_events() {
    "$PYTHON" - "$1" "$2" <<'PYEOF'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    o = json.loads(line)
    if o.get("event") == "file" and o.get("action") == sys.argv[2]:
        print(o["path"])
PYEOF
}

# tree_rx: bytes the board started last has received so far (its --stats $T/stats).
tree_rx() {
    board_dump_stats "$T/stats"
    board_stats "$T/stats" bytes_in
}
