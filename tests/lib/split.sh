# Helpers of the tests in tests/split (functions only).

# split_build OUT CC [FLAGS...]: build the statement splitter's test driver
# (tests/split/split_run.c) with the warnings the firmware must pass.
split_build() {
    _split_out=$1
    _split_cc=$2
    shift 2
    "$_split_cc" -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Wshadow \
        -I"$ROOT/firmware/pyexec" -I"$ROOT/tests/split" "$@" -o "$_split_out" \
        "$ROOT/tests/split/split_run.c" "$ROOT/firmware/pyexec/pyexec_split.c"
}

# split_build_sanitized OUT CC: the same under AddressSanitizer and
# UndefinedBehaviorSanitizer, stopping at the first report.
split_build_sanitized() {
    split_build "$1" "$2" -O1 -g -fno-omit-frame-pointer \
        -fsanitize=address,undefined -fno-sanitize-recover=all
}
