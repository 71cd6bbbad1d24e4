# The transfer benchmark's report (tests/bench/xfer.sh):
#   report.py render RECORDS OUTDIR   write OUTDIR/transfer.md and, with gnuplot, transfer.png
#   report.py sync-json FILE          print "ROUNDS DATA_BYTES" of an `mpupload --json sync` run
# RECORDS: one line per figure, a section name then tab-separated KEY=VALUE.
import json
import os
import shutil
import subprocess
import sys

LINE = 11520  # bytes/s of a 115200-baud 8N1 line
WINDOW = 8192  # one B.5 window, B × K: 2048 × 4 on firmware/pyexec, 4096 × 2 on stock
TOOLS = [("mpupload", "mpupload"), ("mpremote", "mpremote cp"), ("pyboard", "pyboard.py -f cp")]
BOARDS = [("pyexec", "firmware/pyexec"), ("stock", "stock")]
FILES = [("bin", "random binary"), ("py", ".py source")]
LINE_TARGET = {"pyexec": 95.0, "stock": 90.0}
WIRE_TARGET = 1.02
UNPACED_TARGET = 2e6
FAILED = {"failed": "failed", "timeout": "failed (timeout)", "wrong": "failed (wrong bytes)"}


def load(path):
    recs = []
    for line in open(path, encoding="utf-8"):
        parts = line.rstrip("\n").split("\t")
        r = {"section": parts[0]}
        for kv in parts[1:]:
            k, _, v = kv.partition("=")
            r[k] = v
        recs.append(r)
    return recs


def kb(size):
    size = int(size)
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return "%d MB" % (size >> 20)
    if size % 1024 == 0:
        return "%d KB" % (size // 1024)
    return "%d B" % size


def rate(r):
    return int(r["size"]) / max(float(r["secs"]), 1e-9)


def wire(r):
    return (int(r["in"]) + int(r["out"])) / max(int(r["size"]), 1)


def mark(ok):
    return "pass" if ok else "**FAIL**"


class Report:
    def __init__(self, recs):
        self.recs = recs
        self.meta = next((r for r in recs if r["section"] == "meta"), {})
        self.runs = [r for r in recs if r["section"] == "run"]
        self.targets = []  # (what, figure, ok or None)
        self.notes = []
        self.out = []

    def run(self, board, tool, d, f, size):
        for r in self.runs:
            if (r["board"], r["tool"], r["dir"], r["file"], int(r["size"])) == (board, tool, d, f, size):
                return r
        return None

    def emit(self, s=""):
        self.out.append(s)

    def note(self, what, r):
        n = "%s: %s%s" % (what, r["status"], ": " + r["note"] if r.get("note") else "")
        if r["status"] != "ok" and n not in self.notes:
            self.notes.append(n)

    def header(self):
        m = self.meta
        self.emit("# Transfer benchmark")
        self.emit()
        self.emit("`make bench-xfer` (%s run), %s, commit %s, %s." % (
            m.get("mode", "?"), m.get("date", "?"), m.get("commit", "?"), m.get("mpupload", "mpupload ?")))
        self.emit()
        self.emit("Boards: build/" + m.get("pyexec_board", "sim-board") + " (firmware/pyexec) and "
                  "build/sim-board-upstream (stock MicroPython 1.25), a fresh board for every run. Paced: `--baud 115200 --rx-buf 256`, a line of 11,520 B/s. "
                  "Rate: payload bytes / wall seconds of the whole command (start, session and the tool's own "
                  "checks included). Sizes: 1 KB = 1024 B; rates: 1 KB/s = 1000 B/s, 1 MB/s = 10^6 B/s. "
                  "Wire: bytes the board received plus sent during the command, per payload byte. "
                  "Every transfer is checked here too (get: the copy; put: SHA-256 computed on the board).")
        self.emit()

    def paced(self):
        if not self.runs:
            return
        main, other = int(self.meta["main"]), int(self.meta["other"])
        self.emit("## Payload rate at 115200 baud")
        self.emit()
        if other != main:
            self.emit("mpremote and pyboard.py move a %s file (%s would take too long); "
                      "mpupload moves both sizes, and the ratio compares equal sizes." % (kb(other), kb(main)))
            self.emit()
        self.emit("| board | file | way | tool | size | time | rate | of line | mpupload ÷ tool | wire B/B | target |")
        self.emit("|---|---|---|---|---|---|---|---|---|---|---|")
        for b, bname in BOARDS:
            for f, fname in FILES:
                for d in ("put", "get"):
                    rows = [("mpupload", main)]
                    if other != main:
                        rows.append(("mpupload", other))
                    rows += [("mpremote", other), ("pyboard", other)]
                    for t, size in rows:
                        r = self.run(b, t, d, f, size)
                        if r is None:
                            continue
                        tname = dict(TOOLS)[t]
                        what = "%s %s %s %s %s" % (bname, tname, d, fname, kb(size))
                        self.note(what, r)
                        ok = r["status"] == "ok"
                        cells = [bname, fname, d, tname, kb(size), "%.1f s" % float(r["secs"])]
                        if ok:
                            cells += ["%.2f KB/s" % (rate(r) / 1000), "%.1f %%" % (100 * rate(r) / LINE)]
                        else:
                            cells += [FAILED.get(r["status"], r["status"]), ""]
                        ratio = ""
                        if t != "mpupload":
                            m = self.run(b, "mpupload", d, f, size)
                            if m and ok and m["status"] == "ok":
                                ratio = "%.1f×" % (rate(m) / rate(r))
                        cells += [ratio, "%.3f" % wire(r)]
                        target = ""
                        if t == "mpupload" and size == main:
                            lim = LINE_TARGET[b]
                            good = ok and 100 * rate(r) / LINE >= lim
                            target = "≥ %d %%: %s" % (lim, mark(good))
                            self.targets.append(("%s: mpupload %s, %s %s, ≥ %d %% of line" % (
                                bname, d, kb(size), fname, lim),
                                "%.1f %%" % (100 * rate(r) / LINE) if ok else FAILED.get(r["status"]), good))
                        cells.append(target)
                        self.emit("| " + " | ".join(cells) + " |")
        self.emit()
        self.wire_table(main, other)
        self.sweep_table()

    def wire_table(self, main, other):
        self.emit("## Wire bytes per payload byte, random binary")
        self.emit()
        self.emit("Board RX drops: bytes the board's 256-byte RX ring lost during the put "
                  "(a tool that sends past its credit loses them, and must send them again).")
        self.emit()
        self.emit("| board | tool | size | put | get | RX drops (put) | target |")
        self.emit("|---|---|---|---|---|---|---|")
        for b, bname in BOARDS:
            for t, tname in TOOLS:
                size = main if t == "mpupload" else other
                cells = [bname, tname, kb(size)]
                goods = []
                have = False
                for d in ("put", "get"):
                    r = self.run(b, t, d, "bin", size)
                    if r is None:
                        cells.append("")
                        continue
                    have = True
                    ok = r["status"] == "ok"
                    cells.append("%.3f" % wire(r) if ok else FAILED.get(r["status"], r["status"]))
                    if t == "mpupload":
                        good = ok and wire(r) <= WIRE_TARGET
                        goods.append(good)
                        self.targets.append(("%s: mpupload %s, wire bytes per byte ≤ %.2f" % (bname, d, WIRE_TARGET),
                                             "%.3f" % wire(r) if ok else FAILED.get(r["status"]), good))
                if not have:
                    continue
                r = self.run(b, t, "put", "bin", size)
                cells.append(r.get("dropped", "") if r else "")
                cells.append("≤ %.2f: %s" % (WIRE_TARGET, mark(all(goods))) if goods else "")
                self.emit("| " + " | ".join(cells) + " |")
        self.emit()

    def sweep(self):
        """{(board, tool, dir): [(size, KB/s)]} of the random binary runs that passed."""
        series = {}
        for r in self.runs:
            if r["file"] != "bin" or r["status"] != "ok":
                continue
            series.setdefault((r["board"], r["tool"], r["dir"]), []).append((int(r["size"]), rate(r) / 1000))
        for v in series.values():
            v.sort()
        return series

    def sweep_table(self):
        sizes = sorted({int(r["size"]) for r in self.runs if r["file"] == "bin"})
        self.emit("## Rate against file size, random binary (KB/s)")
        self.emit()
        self.emit("![rate against file size](transfer.png)")
        self.emit()
        self.emit("| board | tool | way | " + " | ".join(kb(s) for s in sizes) + " |")
        self.emit("|---|---|---|" + "---|" * len(sizes))
        for b, bname in BOARDS:
            for t, tname in TOOLS:
                for d in ("put", "get"):
                    cells = []
                    for s in sizes:
                        r = self.run(b, t, d, "bin", s)
                        if r is None:
                            cells.append("")
                        elif r["status"] != "ok":
                            cells.append(FAILED.get(r["status"], r["status"]))
                            self.note("%s %s %s random binary %s" % (bname, tname, d, kb(s)), r)
                        else:
                            cells.append("%.2f" % (rate(r) / 1000))
                    if any(cells):
                        self.emit("| %s | %s | %s | %s |" % (bname, tname, d, " | ".join(cells)))
        self.emit()

    def unpaced(self):
        rs = [r for r in self.recs if r["section"] == "unpaced"]
        if not rs:
            return
        self.emit("## Unpaced pty (sim-board --flow: USB-CDC flow control), mpupload")
        self.emit()
        self.emit("Default board options (RX ring 512 B, heap 256 KB); RX drops: bytes the board's ring lost.")
        self.emit()
        self.emit("| board | way | size | time | rate | wire B/B | RX drops | target |")
        self.emit("|---|---|---|---|---|---|---|---|")
        for r in rs:
            bname = dict(BOARDS)[r["board"]]
            ok = r["status"] == "ok"
            self.note("unpaced %s mpupload %s %s" % (bname, r["dir"], kb(r["size"])), r)
            target = ""
            if r["board"] == "pyexec":
                good = ok and rate(r) >= UNPACED_TARGET
                target = "≥ 2 MB/s: %s" % mark(good)
                self.targets.append(("%s: unpaced mpupload %s of %s, ≥ 2 MB/s" % (bname, r["dir"], kb(r["size"])),
                                     "%.2f MB/s" % (rate(r) / 1e6) if ok else FAILED.get(r["status"]), good))
            self.emit("| %s | %s | %s | %.2f s | %s | %.3f | %s | %s |" % (
                bname, r["dir"], kb(r["size"]), float(r["secs"]),
                "%.2f MB/s" % (rate(r) / 1e6) if ok else FAILED.get(r["status"], r["status"]), wire(r),
                r.get("dropped", ""), target))
        self.emit()

    def heap(self):
        rs = [r for r in self.recs if r["section"] == "heap"]
        if not rs:
            return
        self.emit("## Board heap of a put (unpaced)")
        self.emit()
        self.emit("heap_peak counts garbage not yet collected, so on a 256 KB heap it grows until a collection; "
                  "the heap a transfer needs is the smallest `--heap` (2 KB steps from the board's least, 16 KB, to 256 KB) "
                  "the same put still runs with. Target: below 16 KB + one window (%d B: B.5's B × K)." % WINDOW)
        self.emit()
        self.emit("| board | file | idle heap_peak | heap_peak after | of heap | largest block | smallest heap it runs with | target |")
        self.emit("|---|---|---|---|---|---|---|---|")
        for r in rs:
            bname = dict(BOARDS)[r["board"]]
            self.note("heap %s mpupload put %s" % (bname, kb(r["size"])), r)
            least = r.get("least_kb", "")
            good = r["status"] == "ok" and least != "" and int(least) * 1024 <= 16384 + WINDOW
            step = int(r.get("step_kb") or 2)
            fig = ("%s%s KB%s" % ("" if step <= 2 or least == "16" else "≤ ", least,
                                  " (the least)" if least == "16" else "")) if least else (
                "none ≤ 256 KB" if r["status"] == "ok" else FAILED.get(r["status"], r["status"]))
            self.targets.append(("%s: heap of a %s put < 16 KB + window" % (bname, kb(r["size"])), fig, good))
            self.emit("| %s | %s | %s B | %s B | %s B | %s B | %s | < 16 KB + window: %s |" % (
                bname, kb(r["size"]), r["idle"], r["peak"], r["total"], r["alloc_max"], fig, mark(good)))
        self.emit()

    def sync(self):
        rs = [r for r in self.recs if r["section"] == "sync"]
        if not rs:
            return
        self.emit("## sync of an unchanged tree (paced)")
        self.emit()
        if rs[0]["status"] == "nosync":
            self.emit("n/a (no sync): this mpupload has no sync command.")
            self.emit()
            self.targets.append(("sync of an unchanged tree: one round, no data", "n/a (no sync)", None))
            return
        self.emit("| board | files | time | hash rounds | data bytes | board in | board out | target |")
        self.emit("|---|---|---|---|---|---|---|---|")
        for r in rs:
            bname = dict(BOARDS)[r["board"]]
            self.note("sync %s" % bname, r)
            ok = r["status"] == "ok"
            good = ok and r["rounds"] == "1" and r["data"] == "0"
            self.targets.append(("%s: sync of %s unchanged files: one round, no data" % (bname, r["files"]),
                                 "%s round(s), %s data bytes" % (r["rounds"], r["data"]) if ok
                                 else FAILED.get(r["status"]), good))
            self.emit("| %s | %s | %.2f s | %s | %s | %s B | %s B | 1 round, 0 data: %s |" % (
                bname, r["files"], float(r["secs"]), r["rounds"] if ok else "failed", r["data"] if ok else "",
                r["in"], r["out"], mark(good)))
        self.emit()

    def summary(self):
        self.emit("## Targets")
        self.emit()
        self.emit("| target | figure | mark |")
        self.emit("|---|---|---|")
        for what, fig, good in self.targets:
            self.emit("| %s | %s | %s |" % (what, fig, "n/a" if good is None else mark(good)))
        self.emit()
        if self.notes:
            self.emit("## Failures")
            self.emit()
            for n in self.notes:
                self.emit("- " + n.replace("|", "\\|"))
            self.emit()

    def render(self):
        self.header()
        self.paced()
        self.unpaced()
        self.heap()
        self.sync()
        self.summary()
        return "\n".join(self.out)


def gnuplot_script(series, png, terminal):
    colors = {"mpupload": "#1b7837", "mpremote": "#b2182b", "pyboard": "#2166ac"}
    s = ["set terminal %s size 1200,600" % terminal, "set output '%s'" % png.replace("'", "''")]
    blocks = []
    order = lambda kv: ([t for t, _ in TOOLS].index(kv[0][1]), [b for b, _ in BOARDS].index(kv[0][0]))
    for i, (key, pts) in enumerate(sorted(series.items(), key=order)):
        s.append("$d%d << EOD" % i)
        s += ["%g %g" % (size / 1024, r) for size, r in pts]
        s.append("EOD")
        blocks.append((i, key))
    s += [
        "set multiplot layout 1,2 title 'Payload rate against file size, random binary, 115200 baud (line: 11.52 KB/s)'",
        "set logscale x 2",
        "set xlabel 'file size (KB)'",
        "set ylabel 'payload rate (KB/s)'",
        # Room above the line for the key: a paced rate cannot pass the line.
        "set yrange [0:16]",
        "set ytics 0, 2, 12",
        "set grid",
        "set key top left Left reverse maxrows 4 samplen 3 font ',9'",
    ]
    for d, title in (("put", "put (host to board)"), ("get", "get (board to host)")):
        s.append("set title '%s'" % title)
        plots = ["11.52 with lines dt 3 lw 2 lc rgb 'gray40' title 'line'"]
        for i, (b, t, dd) in blocks:
            if dd != d:
                continue
            plots.append("$d%d using 1:2 with linespoints lw 2 pt %d dt %d lc rgb '%s' title '%s, %s'" % (
                i, 7 if b == "pyexec" else 6, 1 if b == "pyexec" else 2, colors.get(t, "black"),
                {"pyboard": "pyboard.py"}.get(t, t), b))
        s.append("plot " + ", \\\n     ".join(plots))
    s.append("unset multiplot")
    return "\n".join(s) + "\n"


def plot(rep, outdir):
    png = os.path.join(outdir, "transfer.png")
    if os.path.exists(png):
        os.remove(png)
    if not shutil.which("gnuplot"):
        print("bench-xfer: no gnuplot (tools/deps.sh installs gnuplot-nox): no transfer.png", file=sys.stderr)
        return
    series = rep.sweep()
    for terminal in ("pngcairo", "png"):
        gp = gnuplot_script(series, png, terminal)
        with open(os.path.join(outdir, "transfer.gp"), "w") as f:
            f.write(gp)
        p = subprocess.run(["gnuplot", os.path.join(outdir, "transfer.gp")], capture_output=True, text=True)
        if p.returncode == 0 and os.path.exists(png):
            return
    print("bench-xfer: gnuplot failed: %s" % p.stderr.strip().splitlines()[-1:], file=sys.stderr)


def sync_json(path):
    """Hash rounds and data bytes of an `mpupload --json sync` run ("?" when it does not say)."""
    events = []
    try:
        for line in open(path, encoding="utf-8"):
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
    except OSError:
        pass
    result = next((e for e in reversed(events) if e.get("event") == "result"), {})
    rounds = result.get("rounds", "?")
    # mpupload's result names the file bytes it sent "bytes"; else add up the files it put.
    data = next((result[k] for k in ("bytes", "data_bytes") if k in result), None)
    if data is None:
        sent = [e for e in events if e.get("event") == "file" and e.get("action") in ("put", "upload")]
        data = sum(int(e.get("size", 0)) for e in sent) if events else "?"
    print("%s %s" % (rounds, data))


def main():
    if sys.argv[1] == "sync-json":
        sync_json(sys.argv[2])
    elif sys.argv[1] == "render":
        rep = Report(load(sys.argv[2]))
        md = rep.render()
        with open(os.path.join(sys.argv[3], "transfer.md"), "w", encoding="utf-8") as f:
            f.write(md)
        plot(rep, sys.argv[3])
    else:
        sys.exit("report.py: unknown command %r" % sys.argv[1])


if __name__ == "__main__":
    main()
