"""Soak: many transfers of random files and scripts through a faulty line.

Each stream (board, kind, rate) runs N transfers against its own board
process and filesystem image: `mpupload put` of random binary files (kind
put), `mpupload run --mpy` (kind mpy: CRC-checked .mpy blocks) and plain
`mpupload run` (kind src) of random scripts, through build/faultline
(drops, flips, duplicates and stalls in both directions at RATE bytes in
total, RATE/4 each, and now and then a cut, half of which also kill the
board as a power cut would). After every transfer the board is checked over
a clean link (its pty, no faultline): the target is the old or the new
content (SHA-256), never anything else; after a success, no temporary file
is left; after a failure, the board answers `exec 'print(1)'` (asked again
and again: the time until it answers is the recovery time; a board that
does not answer within 30 s is restarted on the same filesystem image and
counted unrecovered); mpupload's exit status is 0, 1, 3 or 4; a run past the
deadline is a hang.

usage: soak.py [--n N] [--n-run N] [--rates "0 1e-4 1e-3"] [--boards B,B] [--kinds put,mpy,src]
               [--seed S] [--jobs J] [--shards K] [--deadline SECS] [--out DIR] [--only I]
       soak.py --report DIR   (the table of the records so far)
A transfer's faults and data depend only on the seed, its board, kind, rate
and number: `--only I` replays number I (on a fresh filesystem, so a put
may find another old content).
Prints the table, writes DIR/soak.md and DIR/<stream>.jsonl. Exit status: 0
when no row has a hang, a bad exit status, an unrecovered board or a
recovery over 2 s (--no-timing: not checked) and no checked row has a
corruption or a leftover; 1 otherwise; 2 usage. Rows of unchecked modes
(plain source, the stock .mpy file on a board without hashlib) are labelled "known gap".
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build")
MPUPLOAD = os.environ.get("MPUPLOAD") or os.path.join(BUILD, "mpupload")
FAULTLINE = os.path.join(BUILD, "faultline")
BOARDS = {
    "sim-board": os.environ.get("SIM_BOARD") or os.path.join(BUILD, "sim-board"),
    "sim-board-upstream": os.path.join(BUILD, "sim-board-upstream"),
}
DOCUMENTED_EXITS = (0, 1, 3, 4)
RECOVERY_LIMIT = 2.0  # seconds: the board must answer within this after a failure
CLEAN_TIMEOUT = 10.0  # a clean-link command past this: the board is dead
RECOVERY_GIVEUP = 30.0  # seconds of asking before the board is restarted
STALL_MS = 200
# Run modes (mpupload --json "mode") that carry no integrity check: plain
# source (raw-paste, raw REPL, streamed execution B.3) and, on stock boards
# without hashlib, the .mpy written as a repr with only its size checked. Any
# other mode (the CRC-checked .mpy blocks B.4, checked streamed execution B.6,
# the stock .mpy file put through B.5) is checked.
UNCHECKED_MODES = {"raw-paste": "source", "raw": "source", "stream": "source",
                   "mpy-file-repr": "raw .mpy file (board without hashlib)"}
PUT_TARGET = "soak.bin"
RESULT = "soak.res"


def sha(data):
    return hashlib.sha256(data).hexdigest()


class Board:
    """A board process on a pty link, restartable on the same image."""

    def __init__(self, name, work):
        self.bin = BOARDS[name]
        self.link = os.path.join(work, "board")
        self.image = os.path.join(work, "fs.img")
        self.err = open(os.path.join(work, "board.err"), "ab")
        self.proc = None
        self.starts = 0

    def start(self):
        if os.path.lexists(self.link):
            os.unlink(self.link)
        self.proc = subprocess.Popen([self.bin, "--pty", self.link, "--fs", self.image],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.err)
        self.starts += 1
        end = time.monotonic() + 20
        while not os.path.islink(self.link):
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start (%d)" % (self.bin, self.proc.returncode))
            if time.monotonic() > end:
                raise RuntimeError("%s made no link in 20 s" % self.bin)
            time.sleep(0.01)

    def kill(self):
        """A power cut: SIGKILL, no goodbye."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self):
        self.kill()
        self.start()


def mpu(args, timeout):
    """Run mpupload; return (exit status or None on timeout, stdout, stderr, seconds)."""
    t0 = time.monotonic()
    p = subprocess.Popen([MPUPLOAD] + args, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        rc = None
    return rc, out, err, time.monotonic() - t0


def gen_put(rng):
    return bytes(rng.getrandbits(8) for _ in range(rng.randrange(65537)))


def gen_script(rng, runid):
    """A script carrying random data; it writes its run id and the data's
    SHA-256 and length to RESULT. Returns (source, expected RESULT)."""
    data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(24577)))
    src = ("import hashlib, binascii\n"
           "d = bytes.fromhex(%r)\n"
           "h = binascii.hexlify(hashlib.sha256(d).digest()).decode()\n"
           "f = open(%r, 'w')\n"
           "f.write('%s ' + h + ' ' + str(len(d)))\n"
           "f.close()\n"
           "print('soak', len(d))\n") % (data.hex(), RESULT, runid)
    return src.encode(), ("%s %s %d" % (runid, sha(data), len(data))).encode()


class Stream:
    """Transfers SHARD, SHARD + SHARDS, ... below N of one board, kind and
    rate, on a board process and image of its own."""

    def __init__(self, board, kind, rate, n, shard, shards, seed, deadline, out):
        self.board_name, self.kind, self.rate = board, kind, rate
        self.indices = range(shard, n, shards)
        self.seed, self.deadline = seed, deadline
        self.config = "%s-%s-%s" % (board, kind, rate)
        self.name = self.config + ("" if shards == 1 else ".%d" % shard)
        self.work = os.path.join(out, self.name)
        self.jsonl = os.path.join(out, self.name + ".jsonl")
        self.records = []
        self.modes = set()

    def faultline_args(self, rng, size):
        r = float(self.rate)
        if r == 0:
            return [], False
        args = ["--dir", "both"]
        for flag in ("--drop", "--flip", "--dup"):
            args += [flag, repr(r / 4)]
        args += ["--stall", "%r:%d" % (r / 4, STALL_MS)]
        cut = rng.random() < 0.05
        if cut:
            # Bytes counted both ways; somewhere in or a little past the transfer.
            args += ["--cut-after", str(rng.randrange(2 * size + 4000))]
        return args, cut and rng.random() < 0.5

    def clean(self, args):
        return mpu(["-p", self.board.link] + args, CLEAN_TIMEOUT)

    def names(self):
        rc, out, err, _ = self.clean(["ls", ":/"])
        if rc != 0:
            raise RuntimeError("ls over the clean link: exit %s: %s" % (rc, err.decode(errors="replace")))
        return [l for l in out.decode("utf-8", "replace").split("\n") if l]

    def target_state(self, names):
        """The target's content as seen over the clean link: its SHA-256 for
        put, RESULT's bytes for scripts, None when absent."""
        if self.kind == "put":
            if PUT_TARGET not in names:
                return None
            rc, out, err, _ = self.clean(["sha256sum", ":/" + PUT_TARGET])
            if rc != 0:
                raise RuntimeError("sha256sum: exit %s: %s" % (rc, err.decode(errors="replace")))
            return out.split()[0].decode()
        if RESULT not in names:
            return None
        rc, out, err, _ = self.clean(["cat", ":/" + RESULT])
        if rc != 0:
            raise RuntimeError("cat: exit %s: %s" % (rc, err.decode(errors="replace")))
        return out

    def recover(self):
        """Seconds until the board answers print(1) over the clean link (asked
        again and again), and None, or None and what it said when it did not
        within RECOVERY_GIVEUP s (it is restarted on the same image then)."""
        t0 = time.monotonic()
        self.attempts = []
        while True:
            rc, out, err, secs = self.clean(["exec", "print(1)"])
            if rc == 0 and out.replace(b"\r", b"") == b"1\n":
                return time.monotonic() - t0, None
            # Each failed attempt's time and message, for a slow recovery's record.
            self.attempts.append("%.2f s: exit %s: %s" % (secs, rc, err.decode(errors="replace").strip()[-160:]))
            if time.monotonic() - t0 > RECOVERY_GIVEUP:
                self.board.restart()
                return None, "exit %s: %r %r" % (rc, out[-100:], err[-200:])
            time.sleep(0.1)

    def one(self, i):
        rng = random.Random("%s/%s/%d" % (self.seed, self.config, i))
        fseed = rng.getrandbits(32)
        runid = "r%d-%d" % (i, fseed)
        local = os.path.join(self.work, "src.py" if self.kind != "put" else "src.bin")
        if self.kind == "put":
            data = gen_put(rng)
            new = sha(data)
            cmd = ["put", local, ":/" + PUT_TARGET]
        else:
            data, new = gen_script(rng, runid)
            cmd = ["--json", "run", local] + (["--mpy"] if self.kind == "mpy" else [])
        with open(local, "wb") as f:
            f.write(data)
        fargs, power_cut = self.faultline_args(rng, len(data))
        line = os.path.join(self.work, "line")
        flog = os.path.join(self.work, "faultline.log")
        for p in (line, flog):
            if os.path.lexists(p):
                os.unlink(p)
        fl = subprocess.Popen([FAULTLINE, "--board", self.board.link, "--pty", line,
                               "--log", flog, "--seed", str(fseed)] + fargs,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=open(os.path.join(self.work, "faultline.err"), "ab"))
        end = time.monotonic() + 10
        while not os.path.islink(line):
            if fl.poll() is not None or time.monotonic() > end:
                raise RuntimeError("faultline did not start")
            time.sleep(0.005)

        t0 = time.monotonic()
        p = subprocess.Popen([MPUPLOAD, "-p", line] + cmd, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        outbuf, errbuf = [], []
        readers = [threading.Thread(target=lambda s, b: b.append(s.read()), args=(p.stdout, outbuf)),
                   threading.Thread(target=lambda s, b: b.append(s.read()), args=(p.stderr, errbuf))]
        for t in readers:
            t.start()
        killed_board = False
        hang = False
        while p.poll() is None:
            if power_cut and not killed_board and fl.poll() is not None:
                self.board.kill()  # the line was cut: so is the power
                killed_board = True
            if time.monotonic() - t0 > self.deadline:
                p.kill()
                hang = True
                break
            time.sleep(0.005)
        p.wait()
        for t in readers:
            t.join()
        secs = time.monotonic() - t0
        rc = None if hang else p.returncode
        out, err = outbuf[0], errbuf[0]
        if fl.poll() is None:
            fl.terminate()
        fl.wait()
        rep = {}
        if os.path.exists(flog):
            for l in open(flog):
                k, _, v = l.strip().partition("=")
                rep[k] = v
        cut = rep.get("cut") == "1"
        if power_cut and cut and not killed_board:
            self.board.kill()
            killed_board = True
        if killed_board:
            self.board.start()

        naks = 0
        mode = None
        if self.kind == "put":
            m = re.search(rb"(\d+) blocks? re-sent", err)
            naks = int(m.group(1)) if m else 0
        else:
            for l in out.split(b"\n"):
                try:
                    ev = json.loads(l)
                except ValueError:
                    continue
                if isinstance(ev, dict) and ev.get("event") == "result":
                    mode = ev.get("mode")
                    naks = ev.get("naks") or 0
            if mode:
                self.modes.add(mode)

        rec = {"i": i, "seed": fseed, "size": len(data), "rc": rc, "secs": round(secs, 3),
               "faults": int(rep.get("faults", 0)), "cut": cut, "power_cut": killed_board,
               "naks": naks, "mode": mode, "hang": hang, "faultline": " ".join(fargs)}
        if rc is None or rc != 0:
            # Each message's start (a long one quotes what the board sent).
            rec["stderr"] = "\n".join(l[:200] for l in err.decode(errors="replace").split("\n"))[-600:]
        rec["badexit"] = not hang and rc not in DOCUMENTED_EXITS
        # Recovery: after every failed run, the board answers at once.
        rec["recovery"] = None
        rec["unrecovered"] = False
        if rc != 0:
            r, dead = self.recover()
            rec["recovery"] = None if r is None else round(r, 3)
            rec["unrecovered"] = dead is not None
            if self.attempts:
                rec["attempts"] = self.attempts[:5]
            if dead:
                rec["dead"] = dead
        # The target over the clean link: old or new, never anything else. A
        # board that does not answer it is restarted and asked once more
        # (counted unrecovered, its message kept); a second silence ends the soak.
        try:
            names = self.names()
            now = self.target_state(names)
        except RuntimeError as e:
            rec["unrecovered"] = True
            rec["clean_fail"] = str(e)[-300:]
            self.board.restart()
            names = self.names()
            now = self.target_state(names)
        if self.kind == "put":
            ok = now == new if rc == 0 else now in (self.old, new)
        else:
            # A script reported failed may have run or not; one reported run
            # must have run exactly what was sent.
            ok = now == new if rc == 0 else True
        rec["corrupt"] = not ok
        rec["state"] = "new" if now == new else "old" if now == self.old else "other"
        if not ok:
            rec["seen"] = now if isinstance(now, str) or now is None else now[:200].decode(errors="replace")
        allowed = {PUT_TARGET} if self.kind == "put" else {RESULT}
        extra = [n for n in names if n not in allowed]
        rec["leftover"] = rc == 0 and bool(extra)
        if extra:
            rec["extra"] = extra
        self.old = now
        return rec

    def run(self):
        if os.path.isdir(self.work):
            shutil.rmtree(self.work)
        os.makedirs(self.work)
        self.board = Board(self.board_name, self.work)
        self.board.start()
        self.old = None
        with open(self.jsonl, "w") as f:
            try:
                for i in self.indices:
                    rec = self.one(i)
                    self.records.append(rec)
                    f.write(json.dumps(rec) + "\n")
                    f.flush()
            finally:
                self.board.stop()
        return self


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None


def row(s, timing=True):
    rs = s.records
    rec = [r["recovery"] for r in rs if r["recovery"] is not None]
    unrec = sum(r["unrecovered"] for r in rs)
    gaps = sorted({UNCHECKED_MODES[m] for m in s.modes if m in UNCHECKED_MODES})
    checked = s.kind == "put" or not gaps
    kind = {"put": "put", "mpy": "run --mpy", "src": "run"}[s.kind]
    if not checked:
        kind += ", unchecked %s (known gap)" % " and ".join(gaps)
    d = {
        "board": s.board_name, "kind": kind, "rate": s.rate, "transfers": len(rs),
        "faults": sum(r["faults"] for r in rs), "cuts": sum(r["cut"] for r in rs),
        "power": sum(r["power_cut"] for r in rs), "retries": sum(r["naks"] for r in rs),
        "failures": sum(r["rc"] != 0 for r in rs),
        "corrupt": sum(r["corrupt"] for r in rs), "hangs": sum(r["hang"] for r in rs),
        "badexit": sum(r["badexit"] for r in rs), "leftover": sum(r["leftover"] for r in rs),
        "unrec": unrec,
        "median": statistics.median(rec) if rec else None, "worst": max(rec) if rec else None,
        "checked": checked, "modes": ",".join(sorted(s.modes)),
    }
    # Corruption and stray files follow from unchecked bytes; hangs, exit
    # statuses and recovery are demanded of every row.
    d["bad"] = bool((checked and (d["corrupt"] or d["leftover"])) or d["hangs"] or d["badexit"]
                    or unrec or (timing and d["worst"] is not None and d["worst"] > RECOVERY_LIMIT))
    return d


COLS = [("board", "board"), ("kind", "kind"), ("rate", "rate"), ("transfers", "transfers"),
        ("faults", "faults injected"), ("cuts", "cuts (power)"), ("retries", "retries"),
        ("failures", "failures reported"), ("corrupt", "silent corruptions"),
        ("hangs", "hangs"), ("badexit", "bad exit"), ("leftover", "leftover temporaries"),
        ("unrec", "unrecovered"), ("median", "median recovery s"), ("worst", "worst recovery s")]


def cell(d, k):
    v = d[k]
    if k == "cuts":
        return "%d (%d)" % (v, d["power"])
    if k in ("median", "worst"):
        return "-" if v is None else "%.2f" % v
    return str(v)


def table(rows):
    lines = ["| " + " | ".join(h for _, h in COLS) + " |",
             "|" + "|".join("---" for _ in COLS) + "|"]
    for d in rows:
        lines.append("| " + " | ".join(cell(d, k) for k, _ in COLS) + " |")
    return "\n".join(lines)


def report(out):
    """The table of the records in OUT/*.jsonl (a soak running or cut short)."""
    configs = {}
    for f in sorted(os.listdir(out)):
        if not f.endswith(".jsonl"):
            continue
        config = f[:-len(".jsonl")].split(".")[0]
        m = re.match(r"(.*)-(put|mpy|src)-(.*)$", config)
        if not m:
            continue
        board, kind, rate = m.groups()
        if config not in configs:
            configs[config] = Stream(board, kind, rate, 0, 0, 1, "", 0, out)
        for line in open(os.path.join(out, f)):
            try:
                r = json.loads(line)
            except ValueError:
                continue  # a line being written
            configs[config].records.append(r)
            if r.get("mode"):
                configs[config].modes.add(r["mode"])
    order = {"put": 0, "mpy": 1, "src": 2}
    rows = [row(s) for s in sorted(configs.values(), key=lambda s: (
        s.board_name, order[s.kind], float(s.rate)))]
    print(table(rows))


def main():
    global MPUPLOAD, FAULTLINE
    if len(sys.argv) == 3 and sys.argv[1] == "--report":
        report(sys.argv[2])
        return
    ap = argparse.ArgumentParser(description="soak mpupload through a faulty line")
    ap.add_argument("--n", type=int, default=1000, help="transfers per board, kind and rate")
    ap.add_argument("--n-run", type=int, help="the same for the kinds mpy and src (default: --n)")
    ap.add_argument("--rates", default="0 1e-4 1e-3")
    ap.add_argument("--boards", default="sim-board,sim-board-upstream")
    ap.add_argument("--kinds", default="put,mpy,src")
    ap.add_argument("--seed", default="1")
    ap.add_argument("--jobs", type=int, default=2, help="streams at a time")
    ap.add_argument("--shards", type=int, default=1, help="streams (boards) per board, kind and rate")
    ap.add_argument("--deadline", type=float, default=60.0, help="seconds a run may take")
    ap.add_argument("--out", default=os.path.join(BUILD, "soak"))
    ap.add_argument("--no-timing", action="store_true",
                    help="a recovery over 2 s is shown, not failed (for tests: no timed assertions)")
    ap.add_argument("--only", type=int, help="run transfer number ONLY alone (after a fresh start)")
    a = ap.parse_args()
    streams = []
    try:
        rates = [r for r in a.rates.split() if 0 <= float(r) <= 1]
        assert len(rates) == len(a.rates.split()) and rates
    except (ValueError, AssertionError):
        ap.error("--rates: want rates from 0 to 1, e.g. \"0 1e-4 1e-3\"")
    for b in a.boards.split(","):
        if b not in BOARDS:
            ap.error("--boards: unknown board %s (known: %s)" % (b, ", ".join(BOARDS)))
        for k in a.kinds.split(","):
            if k not in ("put", "mpy", "src"):
                ap.error("--kinds: unknown kind %s (put, mpy, src)" % k)
            for r in rates:
                n = a.n if k == "put" or a.n_run is None else a.n_run
                for sh in range(a.shards):
                    st = Stream(b, k, r, n, sh, a.shards, a.seed, a.deadline, a.out)
                    if a.only is not None:
                        st.indices = [a.only] if a.only % a.shards == sh else []
                    streams.append(st)
    for p in [MPUPLOAD, FAULTLINE] + [BOARDS[b] for b in a.boards.split(",")]:
        if not os.access(p, os.X_OK):
            sys.exit("soak: %s is not built (run make)" % p)
    os.makedirs(a.out, exist_ok=True)
    # A snapshot of the binaries: a rebuild during the soak changes nothing.
    src_mpupload = MPUPLOAD
    bindir = os.path.join(a.out, "bin")
    os.makedirs(bindir, exist_ok=True)
    for name in ("mpupload", "faultline") + tuple(BOARDS):
        src = {"mpupload": MPUPLOAD, "faultline": FAULTLINE}.get(name) or BOARDS[name]
        if os.path.exists(src):
            shutil.copy2(src, os.path.join(bindir, name))
            if name in BOARDS:
                BOARDS[name] = os.path.join(bindir, name)
    MPUPLOAD = os.path.join(bindir, "mpupload")
    FAULTLINE = os.path.join(bindir, "faultline")
    mpy_cross = os.environ.get("MPY_CROSS") or os.path.join(os.path.dirname(src_mpupload), "mpy-cross")
    if os.path.exists(mpy_cross):
        shutil.copy2(mpy_cross, os.path.join(bindir, "mpy-cross"))
    git = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
    t0 = time.monotonic()
    # The longest streams (faulty, so slow) first.
    order = sorted(streams, key=lambda s: -float(s.rate))
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for s in ex.map(lambda s: s.run(), order):
            print("soak: %s: %d transfers" % (s.name, len(s.records)), flush=True)
    configs = {}
    for s in streams:
        if s.config not in configs:
            configs[s.config] = Stream(s.board_name, s.kind, s.rate, 0, 0, 1, a.seed, a.deadline, a.out)
        configs[s.config].records += s.records
        configs[s.config].modes |= s.modes
    rows = [row(s, not a.no_timing) for s in configs.values()]
    secs = time.monotonic() - t0
    text = table(rows)
    cmd = "make soak SOAK_N=%d%s SOAK_RATES=\"%s\" SOAK_SEED=%s SOAK_BOARDS=%s SOAK_KINDS=%s SOAK_SHARDS=%d" % (
        a.n, "" if a.n_run is None else " SOAK_N_RUN=%d" % a.n_run, a.rates, a.seed, a.boards,
        a.kinds, a.shards)
    if a.no_timing:
        cmd += " (here with --no-timing)"
    notes = [
        "",
        "Reproduce: `%s` (%.0f s, source %s; per-transfer records in %s/*.jsonl)." % (
            cmd, secs, git or "?", os.path.relpath(a.out, ROOT)),
        "Rate: faults per byte in each direction, a quarter each drops, bit flips,",
        "duplicates and %d ms stalls; 5%% of faulty transfers also cut the line, half" % STALL_MS,
        "of those killing the board (power cut) before it restarts on the same image.",
    ]
    modes = sorted({m for s in streams for m in s.modes})
    if modes:
        notes.append("Run modes seen: %s." % ", ".join(modes))
    print(text)
    print("\n".join(notes), flush=True)
    with open(os.path.join(a.out, "soak.md"), "w") as f:
        f.write(text + "\n" + "\n".join(notes) + "\n")
    bad = [d for d in rows if d["bad"]]
    for d in bad:
        print("soak: FAIL %s %s %s" % (d["board"], d["kind"], d["rate"]), file=sys.stderr)
    for s in configs.values():
        for r in sorted(s.records, key=lambda r: r["i"]):
            if r["corrupt"] or r["hang"] or r["badexit"] or r["leftover"] or r["unrecovered"] \
                    or (not a.no_timing and (r["recovery"] or 0) > RECOVERY_LIMIT):
                print("soak: %s #%d: %s" % (s.name, r["i"], json.dumps(r)), file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    main()
