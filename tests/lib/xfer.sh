# File transfer tests (tests/xfer): helpers. Functions only; sourced by tests/setup.

# xfer_boards: print the board binaries the transfer tests run on (stock first).
xfer_boards() {
    echo "$BUILD/sim-board-upstream $BUILD/sim-board"
}

# xfer_mpu ARGS...: run build/mpupload on the board started last ($BOARD_LINK).
xfer_mpu() {
    "${MPUPLOAD:-$BUILD/mpupload}" -p "$BOARD_LINK" "$@"
}

# xfer_random FILE SIZE: write SIZE random bytes to FILE.
xfer_random() {
    head -c "$2" /dev/urandom >"$1"
}

# xfer_roundtrip FILE REMOTE: put FILE to :REMOTE, get it back and compare, check the board's SHA-256.
xfer_roundtrip() {
    rm -f "$T/back"
    xfer_mpu put "$1" ":$2" || fail "put $1 :$2 exited $?"
    xfer_mpu get ":$2" "$T/back" || fail "get :$2 exited $?"
    cmp "$1" "$T/back" || fail "$1: got back different bytes"
    _xfer_want=$(sha256sum <"$1" | cut -d' ' -f1)
    _xfer_got=$(xfer_mpu sha256sum ":$2" | cut -d' ' -f1)
    expect_eq "board's sha256 of $2" "$_xfer_want" "$_xfer_got"
}
