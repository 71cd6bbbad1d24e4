# make bench-device: flat and structured generated scripts of 100 KB, 1 MB and
# 4 MB on build/sim-board (firmware/pyexec) and build/sim-board-upstream at
# --heap 256K, through MicroPython's tools/pyboard.py over raw REPL and
# raw-paste, and (new board only) the streamed-execution extension. Each run
# gets a fresh board; its --stats give the peak heap and the largest
# allocation. Prints a Markdown table and writes it to OUT.
# Usage: bench_device.py BUILD_DIR OUT [SIZES...]
import os
import struct
import subprocess
import sys

sys.dont_write_bytecode = True  # nothing written next to the tests
import tempfile
import time

BUILD = sys.argv[1]
OUT = sys.argv[2]
sys.path.insert(0, os.path.join(BUILD, "micropython", "tools"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyboard  # noqa: E402
from wire import Wire  # noqa: E402

SIZES = [int(s) for s in sys.argv[3:]] or [100 * 1024, 1024 * 1024, 4 * 1024 * 1024]
# Raw REPL has no flow control: pyboard.py sends 256 bytes per 10 ms, so
# 4 MB would take ~3 minutes per board; measured up to this size.
RAW_MAX = 1024 * 1024
HEAP = "256K"


# Runs first, after the upload: a low GC threshold so that the peak heap
# of the run is what the program keeps plus 8 KB, not a heap full of garbage.
PRE = "import gc\ngc.threshold(8192)\n"


def flat(size):
    # ~64-byte statements reusing a few names, as a generated data script.
    out = [PRE + "total = 0\n"]
    n = len(out[0])
    i = 0
    while n < size - 64:
        s = "total = total + %d  # padding the statement to a typical size\n" % (i % 1000)
        out.append(s)
        n += len(s)
        i += 1
    out.append("print('ran', total)\n")
    return "".join(out)


def structured(size):
    out = [PRE + "from micropython import const\n_SCALE = const(3)\nacc = []\n"]
    n = len(out[0])
    i = 0
    while n < size - 400:
        s = (
            "class C%d:\n"
            "    '''A class.'''\n"
            "    def __init__(self, x):\n"
            "        self.x = x * _SCALE\n"
            "\n"
            "    def get(self):\n"
            "        if self.x > 10:\n"
            "            return self.x\n"
            "        else:\n"
            "            return -self.x\n"
            "\n"
            "def make%d(v):\n"
            "    try:\n"
            "        return C%d(v).get()\n"
            "    except ValueError:\n"
            "        return 0\n"
            "\n"
            "acc.append(make%d(%d))\n"
            "del C%d, make%d\n\n" % (i % 50, i % 50, i % 50, i % 50, i, i % 50, i % 50)
        )
        out.append(s)
        n += len(s)
        i += 1
    out.append("print('ran', len(acc))\n")
    return "".join(out)


class Board:
    def __init__(self, binary, tmp, name, heap=HEAP):
        self.link = os.path.join(tmp, name + ".tty")
        self.stats = os.path.join(tmp, name + ".stats")
        for p in (self.link, self.stats):
            if os.path.exists(p):
                os.unlink(p)
        self.p = subprocess.Popen(
            [binary, "--pty", self.link, "--heap", heap, "--stats", self.stats],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            if os.path.exists(self.link):
                break
            time.sleep(0.05)

    def stop(self):
        self.p.terminate()
        self.p.wait()
        st = {}
        try:
            for line in open(self.stats):
                k, v = line.strip().split("=")
                st[k] = int(v)
        except OSError:
            pass
        return st


# Leaves the first heap region fragmented: every other small block is kept.
FRAGMENT = (
    "import gc\n_k = []\n_t = []\nfor _i in range(2500):\n"
    "    _t.append(bytearray(48))\n    _k.append(bytearray(16))\n"
    "del _t\ngc.collect()\n"
)


def run_pyboard(link, src, paste, fragment=False):
    pyb = pyboard.Pyboard(link)
    try:
        pyb.enter_raw_repl(soft_reset=False)
        if fragment:
            pyb.exec_(FRAGMENT)
        pyb.use_raw_paste = paste
        out, err = pyb.exec_raw(src, timeout=120)
        return out, err
    finally:
        pyb.close()


def run_stream(link, src):
    w = Wire(link, timeout=120)
    w.raw()
    win = w.paste(b"S")
    data = src.encode()
    remain = 2 * win
    i = 0
    got = b""
    while i < len(data):
        while remain == 0 or w.s.in_waiting:
            c = w.read(1)
            if c == b"\x01":
                remain += win
            else:
                got += c
                if c == b"\x15":
                    break
        if got.endswith(b"\x15"):
            break
        chunk = data[i:i + remain]
        w.write(chunk)
        remain -= len(chunk)
        i += len(chunk)
    w.write(b"\x04")
    got += w.read_until(b">")
    w.s.close()
    got = got.replace(b"\x01", b"")
    if b"\x15" in got:
        return b"", got.split(b"\x15", 1)[1]
    return got, b""


def one(binary, tmp, name, src, mode, heap=HEAP, fragment=False):
    b = Board(binary, tmp, name, heap)
    t0 = time.monotonic()
    try:
        if mode == "stream":
            out, err = run_stream(b.link, src)
        else:
            out, err = run_pyboard(b.link, src, mode == "paste", fragment)
        ok = b"ran" in out and not err
        why = "" if ok else (err or out).strip().splitlines()[-1:][0].decode(errors="replace")[:40] if (err or out).strip() else "no output"
    except Exception as e:  # a board that crashed or hung counts as failed
        ok = False
        why = str(e).splitlines()[0][:40]
    secs = time.monotonic() - t0
    st = b.stop()
    return ok, why, st.get("heap_peak", 0), st.get("alloc_max", 0), st.get("rx_dropped", 0), secs


def kb(n):
    return "%d KB" % round(n / 1024)


def main():
    new = os.path.join(BUILD, "sim-board")
    up = os.path.join(BUILD, "sim-board-upstream")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            for kind, gen in (("flat", flat), ("structured", structured)):
                src = gen(size)
                for mode in ("raw", "paste", "stream"):
                    if mode == "raw" and size > RAW_MAX:
                        continue
                    for board, binary in (("upstream", up), ("new", new)):
                        if mode == "stream" and board == "upstream":
                            continue
                        ok, why, peak, amax, dropped, secs = one(binary, tmp, board, src, mode)
                        row = "| %s | %s | %s | %s | %s | %s | %s | %.1f s |" % (
                            kb(len(src)), kind, mode, board,
                            "ran" if ok else "failed: " + why.replace("|", "/"),
                            kb(peak), kb(amax), secs)
                        print(row)
                        sys.stdout.flush()
                        rows.append(row)
        # The original failure: a split heap whose first region is fragmented.
        two = flat(2 * 1024 * 1024)
        for board, binary in (("upstream", up), ("new", new)):
            ok, why, peak, amax, dropped, secs = one(binary, tmp, board, two, "paste", "256K,8M", True)
            row = "| %s | flat | paste, --heap 256K,8M fragmented | %s | %s | %s | %s | %.1f s |" % (
                kb(len(two)), board, "ran" if ok else "failed: " + why.replace("|", "/"), kb(peak), kb(amax), secs)
            print(row)
            rows.append(row)
        # Streamed execution runs a script of any length in bounded memory.
        big = flat(16 * 1024 * 1024)
        ok, why, peak, amax, dropped, secs = one(new, tmp, "new", big, "stream", "64K")
        row = "| %s | flat | stream, --heap 64K | new | %s | %s | %s | %.1f s |" % (
            kb(len(big)), "ran" if ok else "failed: " + why.replace("|", "/"), kb(peak), kb(amax), secs)
        print(row)
        rows.append(row)
    head = [
        "# Device transport benchmark (build/sim-board vs build/sim-board-upstream, --heap %s)" % HEAP,
        "",
        "raw and paste: MicroPython's tools/pyboard.py (raw REPL, raw-paste); "
        "stream: the streamed-execution extension (new board only).",
        "Peak heap and largest allocation: the board's --stats, whole run.",
        "",
        "| script | kind | mode | board | result | peak heap | largest alloc | time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    text = "\n".join(head + rows) + "\n"
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(text)
    print("written to", OUT)


main()
