#!/bin/sh
# The transfer benchmark (`make bench-xfer`, part of `make bench`): figures
# printed and written to build/bench/ as transfer.md (the tables, the targets
# with pass/fail marks), transfer.png (rate against file size) and
# transfer.tsv (the raw records). Nothing here is asserted.
#
# On build/sim-board (firmware/pyexec) and build/sim-board-upstream (stock),
# both at --baud 115200 --rx-buf 256 (11,520 bytes/s of line): mpupload
# put/get, mpremote cp and tools/pyboard.py -f cp, each way, on random binary
# and on Python source; then mpupload unpaced on a pty, the board heap a
# transfer uses, and mpupload sync of an unchanged tree. Every tool run is a
# fresh board and has a deadline; a failing tool is a "failed" cell.
#
# Environment:
#   BENCH_QUICK=1    tiny sizes (tests/bench/smoke.test)
#   BENCH_OUT        where the files go (build/bench)
#   BENCH_BOARDS     board kinds, of "pyexec stock"
#   BENCH_TOOLS      tools, of "mpupload mpremote pyboard"
#   BENCH_SECTIONS   of "paced unpaced heap sync"
#   BENCH_FILES      paced file kinds, of "bin py" (quick: bin)
#   BENCH_OTHER_SIZE file size for mpremote and pyboard.py (32768)
#   BENCH_TIMEOUT    seconds allowed per tool run (default: from the size)
#   MPUPLOAD         the mpupload to measure (build/mpupload)
#   SIM_BOARD        the firmware/pyexec board (build/sim-board)
. "$(dirname "$0")/../setup"

MPU=${MPUPLOAD:-$BUILD/mpupload}
OUT=${BENCH_OUT:-$BUILD/bench}
HERE=$ROOT/tests/bench
BOARDS=${BENCH_BOARDS:-pyexec stock}
TOOLS=${BENCH_TOOLS:-mpupload mpremote pyboard}
SECTIONS=${BENCH_SECTIONS:-paced unpaced heap sync}
FILES=${BENCH_FILES:-bin py}
[ "${BENCH_QUICK:-0}" != 1 ] || FILES=${BENCH_FILES:-bin}
PACED="--baud 115200 --rx-buf 256"
export PYTHONDONTWRITEBYTECODE=1
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    MODE=quick
    MAIN=1024
    OTHER=${BENCH_OTHER_SIZE:-1024}
    SWEEP=1024
    BIG=65536
    HEAP_FILE=16384
    HEAP_STEP=240
    SYNC_FILES=5
else
    MODE=full
    MAIN=262144
    OTHER=${BENCH_OTHER_SIZE:-32768}
    SWEEP="1024 4096 16384 32768 65536 262144"
    BIG=16777216
    HEAP_FILE=1048576
    HEAP_STEP=2
    SYNC_FILES=200
fi
# Sizes each tool runs: binary for the sweep, Python source for the table;
# mpupload also at the other tools' size, for a ratio at equal size.
BIN_SIZES=$(printf '%s\n' $SWEEP $MAIN $OTHER | sort -nu)
PY_SIZES=$(printf '%s\n' $MAIN $OTHER | sort -nu)

LINK=$T/tty
ST=$T/stats
REC=$T/records.tsv
: >"$REC"

has() { # has WORD LIST...: WORD is one of LIST
    _w=$1
    shift
    for _x in "$@"; do [ "$_x" = "$_w" ] && return 0; done
    return 1
}
now() { date +%s.%N; }
board_bin() {
    case $1 in
    pyexec) echo "$SIM_BOARD" ;;
    stock) echo "$BUILD/sim-board-upstream" ;;
    *) fail "BENCH_BOARDS: unknown board kind '$1' (pyexec, stock)" ;;
    esac
}
# dump: the board started last writes its --stats file now (a faster poll
# than board_dump_stats: a run reads the counters twice). Returns 1, with
# an empty file, when the board is gone, so that a board that dies is a
# failed figure and not a broken bench.
dump() {
    rm -f "$ST"
    if kill -USR1 "$BOARD_PID" 2>/dev/null; then
        _d=0
        while [ ! -f "$ST" ] && [ $_d -lt 500 ]; do
            _d=$((_d + 1))
            sleep 0.01
        done
    fi
    [ -f "$ST" ] && return 0
    : >"$ST"
    return 1
}
# counter KEY: a counter of the last dump, 0 when it has none.
counter() {
    _v=$(sed -n "s/^$1=//p" "$ST")
    echo "${_v:-0}"
}
boardfs() {
    PYTHONPATH=$MPY/tools timeout -k 5 120 "$PYTHON" "$HERE/boardfs.py" "$@"
}
rec() { # rec SECTION KEY=VALUE...: one record, tab-separated
    _line=$1
    shift
    for _kv in "$@"; do _line="$_line	$(printf '%s' "$_kv" | tr '\t\n\r' '   ')"; done
    printf '%s\n' "$_line" >>"$REC"
}

# deadline TOOL SIZE PACED(0/1): seconds a run may take before it counts as hung.
deadline() {
    if [ -n "${BENCH_TIMEOUT:-}" ]; then
        echo "$BENCH_TIMEOUT"
    elif [ "$3" = 0 ]; then
        echo $((60 + $2 / 100000))
    elif [ "$1" = mpupload ]; then
        echo $((30 + $2 / 3000))
    else
        echo $((60 + $2 / 300))
    fi
}

# tool TOOL DIR LOCAL REMOTE SECS: one transfer with one tool, SECS at most.
tool() {
    case $1/$2 in
    mpupload/put) timeout -k 5 "$5" "$MPU" -q -p "$LINK" put "$3" ":$4" ;;
    mpupload/get) timeout -k 5 "$5" "$MPU" -q -p "$LINK" get ":$4" "$3" ;;
    mpremote/put) timeout -k 5 "$5" env PYTHONPATH="$MPY/tools/mpremote" \
        "$PYTHON" -m mpremote connect "$LINK" cp "$3" ":$4" ;;
    mpremote/get) timeout -k 5 "$5" env PYTHONPATH="$MPY/tools/mpremote" \
        "$PYTHON" -m mpremote connect "$LINK" cp ":$4" "$3" ;;
    pyboard/put) timeout -k 5 "$5" "$PYTHON" "$MPY/tools/pyboard.py" -d "$LINK" -f cp "$3" ":$4" ;;
    pyboard/get) timeout -k 5 "$5" "$PYTHON" "$MPY/tools/pyboard.py" -d "$LINK" -f cp ":$4" "$3" ;;
    *) fail "BENCH_TOOLS: unknown tool '$1' (mpupload, mpremote, pyboard)" ;;
    esac
}

# measure TOOL DIR FILE REMOTE PACED: run one transfer on the board started
# last and check its bytes (get: the local copy; put: the board's SHA-256).
# Sets M_STATUS (ok, failed, timeout, wrong), M_NOTE, M_SECS, M_IN, M_OUT
# (bytes the board received and sent during the run), M_DROP (bytes its RX
# ring dropped).
measure() {
    _size=$(wc -c <"$3")
    _alive=yes
    dump || _alive=no
    _in0=$(counter bytes_in)
    _out0=$(counter bytes_out)
    _drop0=$(counter rx_dropped)
    rm -f "$T/got"
    _local=$3
    [ "$2" = get ] && _local=$T/got
    _rc=0
    _t0=$(now)
    tool "$1" "$2" "$_local" "$4" "$(deadline "$1" "$_size" "$5")" >"$T/tool.log" 2>&1 </dev/null || _rc=$?
    _t1=$(now)
    dump || _alive=no
    M_IN=$(($(counter bytes_in) - _in0))
    M_OUT=$(($(counter bytes_out) - _out0))
    M_DROP=$(($(counter rx_dropped) - _drop0))
    M_SECS=$(awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.3f", b - a }')
    M_NOTE=
    if [ $_alive = no ]; then
        M_IN=0 M_OUT=0 M_DROP=0
        M_STATUS=failed
        M_NOTE="the board died: $(tail -1 "$BOARD_ERR" 2>/dev/null | cut -c1-100)"
    elif [ $_rc = 124 ] || [ $_rc = 137 ]; then
        M_STATUS=timeout
        M_NOTE="no end after $(deadline "$1" "$_size" "$5") s"
    elif [ $_rc != 0 ]; then
        M_STATUS=failed
        M_NOTE="exit $_rc: $(tail -c 300 "$T/tool.log" | tr -d '\r' | grep -v '^$' | tail -1 | cut -c1-100)"
    elif [ "$2" = get ]; then
        if cmp -s "$3" "$T/got"; then M_STATUS=ok; else M_STATUS=wrong M_NOTE="the file came back different"; fi
    else
        _want=$(sha256sum <"$3" | cut -d' ' -f1)
        _got=$(boardfs sha256 "$LINK" "/$4" 2>"$T/sha.err") || _got="none: $(tail -1 "$T/sha.err")"
        if [ "$_got" = "$_want" ]; then M_STATUS=ok; else M_STATUS=wrong M_NOTE="board SHA-256 $_got"; fi
    fi
}

# show SECTION BOARD TOOL DIR FILE: the figure just measured, on stdout.
show() {
    awk -v s="$1" -v b="$2" -v t="$3" -v d="$4" -v f="$5" -v z="$_size" -v secs="$M_SECS" \
        -v i="$M_IN" -v o="$M_OUT" -v st="$M_STATUS" -v n="$M_NOTE" -v dr="$M_DROP" 'BEGIN {
        r = z / (secs > 0 ? secs : 1e-9)
        printf "  %-7s %-6s %-8s %-3s %-3s %9d B %7.2f s %9.1f KB/s", s, b, t, d, f, z, secs, r / 1000
        if (s == "paced") printf " %5.1f %%", r / 115.2
        printf "  wire %.3f B/B", (i + o) / (z > 0 ? z : 1)
        if (dr > 0) printf ", %d dropped", dr
        printf "  %s%s\n", st, (n == "" ? "" : " (" n ")") }'
}

MPU_VERSION=$("$MPU" --version 2>/dev/null | head -1) || true
echo "bench-xfer ($MODE): $(date -u +%Y-%m-%dT%H:%MZ), ${MPU_VERSION:=mpupload ?}"
rec meta mode=$MODE date="$(date -u '+%Y-%m-%d %H:%M UTC')" \
    commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- host firmware proto 2>/dev/null || echo '+changes')" \
    mpupload="$MPU_VERSION" pyexec_board="$(basename "$SIM_BOARD")" \
    main=$MAIN other=$OTHER big=$BIG heap_file=$HEAP_FILE

mkdir -p "$T/f"
for s in $BIN_SIZES; do head -c "$s" /dev/urandom >"$T/f/bin-$s"; done
for s in $PY_SIZES; do "$PYTHON" "$HERE/boardfs.py" gen-py "$T/f/py-$s.py" "$s"; done

if has paced $SECTIONS; then
    echo "paced: --baud 115200 --rx-buf 256, line 11,520 B/s; board bytes both ways per payload byte"
    for kind in $BOARDS; do
        bin=$(board_bin "$kind")
        # Files to get are written by pyboard.py on an unpaced board with a
        # littlefs image, which the paced boards then start from.
        rm -f "$T/img.$kind"
        board_start "$bin" "$LINK" --fs "$T/img.$kind" --fs-size 4M --stats "$ST"
        pairs=
        for s in $BIN_SIZES; do pairs="$pairs $T/f/bin-$s:/bin-$s"; done
        for s in $PY_SIZES; do pairs="$pairs $T/f/py-$s.py:/py-$s.py"; done
        # shellcheck disable=SC2086
        boardfs write "$LINK" $pairs || fail "could not write the files to get to $kind's image"
        board_stop || fail "$bin exited $?: $(cat "$BOARD_ERR")"
        for file in $FILES; do
            if [ $file = bin ]; then sizes=$BIN_SIZES; else sizes=$PY_SIZES; fi
            for size in $sizes; do
                name=$file-$size
                [ $file = py ] && name=$name.py
                for t in $TOOLS; do
                    [ "$t" = mpupload ] || [ "$size" -le "$OTHER" ] || continue
                    for dir in put get; do
                        if [ $dir = put ]; then
                            # shellcheck disable=SC2086
                            board_start "$bin" "$LINK" $PACED --stats "$ST"
                        else
                            # shellcheck disable=SC2086
                            board_start "$bin" "$LINK" $PACED --fs "$T/img.$kind" --stats "$ST"
                        fi
                        measure "$t" $dir "$T/f/$name" "$name" 1
                        board_stop || M_NOTE="$M_NOTE; board exit $?"
                        show paced "$kind" "$t" $dir $file
                        rec run board="$kind" tool="$t" dir=$dir file=$file size="$size" secs="$M_SECS" \
                            in="$M_IN" out="$M_OUT" dropped="$M_DROP" status="$M_STATUS" note="$M_NOTE"
                    done
                done
            done
        done
    done
fi

if has unpaced $SECTIONS && has mpupload $TOOLS; then
    # --flow: an unpaced pty stands for USB-CDC, which holds the host back when
    # the board's buffer is full; a UART's overflow is what the paced rows show.
    echo "unpaced pty (sim-board --flow, as USB-CDC): mpupload put and get of $BIG bytes"
    head -c "$BIG" /dev/urandom >"$T/f/big"
    for kind in $BOARDS; do
        board_start "$(board_bin "$kind")" "$LINK" --flow --fs-size $((BIG / 1024 * 5 / 4 + 1024))K --stats "$ST"
        for dir in put get; do
            measure mpupload $dir "$T/f/big" big 0
            show unpaced "$kind" mpupload $dir bin
            rec unpaced board="$kind" dir=$dir size="$BIG" secs="$M_SECS" in="$M_IN" out="$M_OUT" dropped="$M_DROP" \
                status="$M_STATUS" note="$M_NOTE"
        done
        board_stop || true
    done
fi

# try_heap BIN KB: does an mpupload put of the heap file run on a board with a KB heap?
try_heap() {
    board_start "$1" "$LINK" --heap "${2}K" --stats "$ST"
    _th=0
    timeout -k 5 "$(deadline mpupload "$HEAP_FILE" 0)" "$MPU" -q -p "$LINK" put "$T/f/heap" :heap \
        >/dev/null 2>&1 </dev/null || _th=1
    board_stop || _th=1
    return $_th
}

if has heap $SECTIONS && has mpupload $TOOLS; then
    echo "heap: mpupload put of $HEAP_FILE bytes, unpaced (heap_peak counts garbage not yet collected)"
    head -c "$HEAP_FILE" /dev/urandom >"$T/f/heap"
    for kind in $BOARDS; do
        bin=$(board_bin "$kind")
        board_start "$bin" "$LINK" --stats "$ST"
        dump || true
        idle=$(counter heap_peak)
        measure mpupload put "$T/f/heap" heap 0
        peak=$(counter heap_peak)
        amax=$(counter alloc_max)
        total=$(counter heap_total)
        board_stop || true
        # The smallest heap (in HEAP_STEP K steps from the board's least,
        # 16K, up to 256K) the put runs with.
        least=
        if [ "$M_STATUS" = ok ]; then
            if try_heap "$bin" 16; then
                least=16
            elif try_heap "$bin" 256; then
                lo=16 hi=256
                while [ $((hi - lo)) -gt $HEAP_STEP ]; do
                    mid=$((lo + (hi - lo) / 2 / HEAP_STEP * HEAP_STEP))
                    [ $mid -gt $lo ] || mid=$((lo + HEAP_STEP))
                    if try_heap "$bin" $mid; then hi=$mid; else lo=$mid; fi
                done
                least=$hi
            fi
        fi
        echo "  $kind: idle heap_peak $idle, after the put $peak of $total (largest block $amax), smallest heap it runs with: ${least:-none}${least:+K}; put $M_STATUS"
        rec heap board="$kind" size="$HEAP_FILE" idle="$idle" peak="$peak" total="$total" alloc_max="$amax" \
            least_kb="$least" step_kb=$HEAP_STEP status="$M_STATUS" note="$M_NOTE"
    done
fi

if has sync $SECTIONS && has mpupload $TOOLS; then
    if ! "$MPU" --help 2>&1 | grep -q '^ *sync '; then
        echo "sync: n/a (no sync)"
        rec sync status=nosync
    else
        echo "sync: an unchanged tree of $SYNC_FILES files, paced"
        i=0
        while [ $i -lt "$SYNC_FILES" ]; do
            d=$T/tree/d$((i / 20))
            mkdir -p "$d"
            head -c $((200 + i * 37 % 2800)) /dev/urandom >"$d/f$i.bin"
            i=$((i + 1))
        done
        for kind in $BOARDS; do
            bin=$(board_bin "$kind")
            rm -f "$T/img.sync"
            board_start "$bin" "$LINK" --fs "$T/img.sync" --fs-size 4M --stats "$ST"
            first=0
            timeout -k 5 300 "$MPU" -q -p "$LINK" sync "$T/tree" :/tree >"$T/sync0.log" 2>&1 </dev/null || first=$?
            board_stop || true
            # shellcheck disable=SC2086
            board_start "$bin" "$LINK" $PACED --fs "$T/img.sync" --stats "$ST"
            dump || true
            in0=$(counter bytes_in)
            out0=$(counter bytes_out)
            rc=0
            t0=$(now)
            timeout -k 5 300 "$MPU" --json -p "$LINK" sync "$T/tree" :/tree >"$T/sync.json" 2>"$T/sync.err" </dev/null || rc=$?
            t1=$(now)
            dump || rc=died
            in=$(($(counter bytes_in) - in0))
            out=$(($(counter bytes_out) - out0))
            board_stop || true
            status=ok note=
            if [ $first != 0 ]; then
                status=failed note="first sync: exit $first: $(tail -1 "$T/sync0.log" | cut -c1-100)"
            elif [ $rc != 0 ]; then
                status=failed note="exit $rc: $(tail -1 "$T/sync.err" | cut -c1-100)"
            fi
            counts=$("$PYTHON" "$HERE/report.py" sync-json "$T/sync.json")
            rounds=${counts% *}
            data=${counts#* }
            secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
            echo "  $kind: $secs s, rounds $rounds, data bytes $data, board in $in out $out: $status${note:+ ($note)}"
            rec sync board="$kind" files="$SYNC_FILES" secs="$secs" in="$in" out="$out" rounds="$rounds" \
                data="$data" status=$status note="$note"
        done
    fi
fi

mkdir -p "$OUT"
cp "$REC" "$OUT/transfer.tsv"
"$PYTHON" "$HERE/report.py" render "$OUT/transfer.tsv" "$OUT"
echo
cat "$OUT/transfer.md"
