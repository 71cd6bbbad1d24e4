# Recovery after a cut transfer (tests/pyexec/recover.test). usage:
#   recover.py SIM_LINK UPSTREAM_LINK WORKDIR
# On build/sim-board (SIM_LINK): a put, a get, a checked run (B.6) and a
# run --mpy (B.4, when build/mpy-cross is there) are cut in the middle by
# build/faultline --cut-after, leaving the board inside a block receiver (mid-block, then discarding input up to RESYNC: deaf to
# Ctrl-C). The next `mpupload exec 'print(1)'` over the clean link must
# succeed at its first call, in a time far below the board's receive timeout
# (MPU_PROTO_RX_TIMEOUT_MS of proto/mpu_proto.h): the session break, not the
# timeout, ended the transfer. On build/sim-board-upstream (UPSTREAM_LINK):
# the session break's bytes at the friendly and the raw REPL run nothing, and
# a board silent for a while after Ctrl-C (a program that catches
# KeyboardInterrupt) gets a break and still runs the next exec.
# Prints one line per case: seconds, and the ratio to an idle exec and to the
# receive timeout, measured with one clock in this run.
import hashlib
import os
import re
import select
import struct
import subprocess
import sys
import time
import tty
import zlib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build")
MPU = os.environ.get("MPUPLOAD") or os.path.join(BUILD, "mpupload")
FAULTLINE = os.path.join(BUILD, "faultline")
HEADER = open(os.path.join(ROOT, "proto", "mpu_proto.h")).read()
RX_S = int(re.search(r"#define MPU_PROTO_RX_TIMEOUT_MS \((\d+)\)", HEADER).group(1)) / 1000
# MPU_PROTO_BREAK: RESYNC, X block, Ctrl-C (tests/proto/header.test checks it).
BREAK = b"\xa5\x5a\xa5\x5aSYNC" + b"\xa5XH\x00\x00)$tQ" + b"\x03"
# A recovery must take less than this share of the receive timeout.
MAX_SHARE = 0.25

sim, up, work = sys.argv[1], sys.argv[2], sys.argv[3]
failed = []


def fail(msg):
    print("FAIL " + msg)
    failed.append(msg)


def mpu(link, *args, timeout=None):
    t0 = time.monotonic()
    p = subprocess.run([MPU, "-p", link] + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout or 3 * RX_S + 20)
    return p.returncode, p.stdout.replace(b"\r", b""), p.stderr, time.monotonic() - t0


def through_cut(args, cut, board=None):
    """Run mpupload ARGS through a faulty line to BOARD (sim) cut as CUT says."""
    line = os.path.join(work, "line")
    log = os.path.join(work, "faultline.log")
    for p in (line, log):
        if os.path.lexists(p):
            os.unlink(p)
    fl = subprocess.Popen([FAULTLINE, "--board", board or sim, "--pty", line, "--log", log] + cut,
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    end = time.monotonic() + 10
    while not os.path.islink(line):
        if fl.poll() is not None or time.monotonic() > end:
            raise SystemExit("faultline did not start")
        time.sleep(0.01)
    rc, out, err, _ = mpu(line, *args)
    if fl.poll() is None:
        fl.terminate()
    fl.wait()
    rep = dict(l.strip().partition("=")[::2] for l in open(log))
    return rc, err, rep.get("cut") == "1"


def exec1(link, what):
    rc, out, err, secs = mpu(link, "exec", "print(1)")
    if rc != 0 or out != b"1\n":
        fail("%s: exec after it: exit %d, %r %r" % (what, rc, out[-80:], err[-200:]))
    return secs


def raw_io(link, writes, wait=0.3):
    """Write each chunk of WRITES with WAIT s between, return all read."""
    fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
    got = b""
    try:
        tty.setraw(fd)
        for w in writes:
            os.write(fd, w)
            end = time.monotonic() + wait
            while time.monotonic() < end:
                if select.select([fd], [], [], 0.02)[0]:
                    got += os.read(fd, 4096)
    finally:
        os.close(fd)
    return got


# The baseline: an exec on an idle board.
idle = min(exec1(sim, "idle") for _ in range(3))
print("idle exec: %.2f s; receive timeout %.0f s" % (idle, RX_S))

data = os.urandom(65536)
src = os.path.join(work, "r.bin")
open(src, "wb").write(data)
rc, out, err, _ = mpu(sim, "put", src, ":/r.bin")
if rc != 0:
    raise SystemExit("clean put: exit %d %r" % (rc, err))
script = os.path.join(work, "big.py")
exp = os.path.join(work, "big.exp")
subprocess.run([sys.executable, os.path.join(ROOT, "tests", "faultline", "gen-script.py"), script, exp],
               check=True)
slen = os.path.getsize(script)

cases = []
for at in (9000, 30011, 47777):
    cases.append(("put cut after %d bytes up" % at, ["put", src, ":/r.bin"], ["--dir", "up", "--cut-after", str(at)]))
for at in (9000, 30011):
    cases.append(("get cut after %d bytes down" % at, ["get", ":/r.bin", os.path.join(work, "got.bin")],
                  ["--dir", "down", "--cut-after", str(at)]))
for at in (slen // 3, slen // 2):
    cases.append(("checked run cut after %d bytes up" % at, ["run", script], ["--dir", "up", "--cut-after", str(at)]))
if os.path.exists(os.path.join(BUILD, "mpy-cross")):
    # The .mpy of big.py is over 3 KB: streamed in B.4 blocks.
    for at in (1500, 2500):
        cases.append(("run --mpy cut after %d bytes up" % at, ["run", "--mpy", script],
                      ["--dir", "up", "--cut-after", str(at)]))

for what, args, cut in cases:
    rc, err, was_cut = through_cut(args, cut)
    if not was_cut or rc == 0:
        fail("%s: not cut (cut=%s, exit %d)" % (what, was_cut, rc))
        continue
    secs = exec1(sim, what)
    print("%-36s recovery %.2f s, %4.1f x an idle exec, %.3f of the receive timeout"
          % (what, secs, secs / idle, secs / RX_S))
    if secs > MAX_SHARE * RX_S:
        fail("%s: recovery took %.2f s, over %.2f of the receive timeout" % (what, secs, MAX_SHARE))
# What the cut put left is the old file or nothing (the .part is removed).
rc, out, err, _ = mpu(sim, "sha256sum", ":/r.bin")
if rc != 0 or out.split()[0].decode() != hashlib.sha256(data).hexdigest():
    fail("the file after the cut puts: exit %d %r" % (rc, out[:100]))



def block(kind, seq, payload):
    body = bytes([kind, seq]) + struct.pack("<H", len(payload)) + payload
    return b"\xa5" + body + struct.pack("<I", zlib.crc32(body))


# After a CAN the board discards input, skipping whole blocks still in
# flight; a 0xa5 'D' with a length of 1024 that is no block (its start was
# lost) must not make it skip the host's Ctrl-C and session breaks.
req = b"P\x00" + struct.pack("<I", 100) + b"/stale.bin"
got = raw_io(sim, [b"\r\x03\x03\r\x01", b"\x05F\x01", block(ord("D"), 0, req),
                   block(ord("D"), 1, struct.pack("<I", 5)), b"\xa5D\x02\x00\x04" + b"\x00" * 40])
if b"\x18ValueError: bad start offset" not in got:
    fail("stale header: no CAN for a bad start offset: %r" % got[-120:])
secs = exec1(sim, "stale block header after a CAN")
print("%-36s recovery %.2f s, %4.1f x an idle exec, %.3f of the receive timeout"
      % ("stale block header after a CAN", secs, secs / idle, secs / RX_S))
if secs > MAX_SHARE * RX_S:
    fail("stale block header after a CAN: recovery took %.2f s" % secs)

# Stock board: a put cut inside a block leaves the receiver program waiting
# for the rest of it; the break's zeros complete it, so the first exec
# succeeds at once.
rc, out, err, _ = mpu(up, "put", src, ":/r.bin")
if rc != 0:
    raise SystemExit("clean stock put: exit %d %r" % (rc, err))
for at in (9000, 30011, 47777):
    what = "stock put cut after %d bytes up" % at
    rc, err, was_cut = through_cut(["put", src, ":/r.bin"], ["--dir", "up", "--cut-after", str(at)], up)
    if not was_cut or rc == 0:
        fail("%s: not cut (cut=%s, exit %d)" % (what, was_cut, rc))
        continue
    secs = exec1(up, what)
    print("%-36s recovery %.2f s, %4.1f x an idle exec, %.3f of the receive timeout"
          % (what, secs, secs / idle, secs / RX_S))
    if secs > MAX_SHARE * RX_S:
        fail("%s: recovery took %.2f s, over %.2f of the receive timeout" % (what, secs, MAX_SHARE))

# Stock board: the break's bytes run nothing at the friendly or raw REPL.
got = raw_io(up, [b"\r\x02", b"\x03", BREAK, b"\r"])
if b"Error" in got or b"Traceback" in got:
    fail("friendly REPL: the break ran something: %r" % got)
exec1(up, "friendly REPL and the break")
got = raw_io(up, [b"\r\x03\x03\r\x01", BREAK, b"print(7)\x04"])
if not got.endswith(b"raw REPL; CTRL-B to exit\r\n>OK7\r\n\x04\x04>"):
    fail("raw REPL: the break left something in the line: %r" % got)
exec1(up, "raw REPL and the break")

# A stock program silent for 1 s after Ctrl-C (it catches KeyboardInterrupt):
# no banner within 250 ms, so the host sends breaks; they reach the program
# as Ctrl-C and its raw REPL line as text that Ctrl-C clears.
prog = os.path.join(work, "slow.py")
open(prog, "w").write(
    "import time\n"
    "t = time.ticks_ms()\n"
    "while time.ticks_diff(time.ticks_ms(), t) < 1500:\n"
    "    try:\n"
    "        time.sleep_ms(10)\n"
    "    except KeyboardInterrupt:\n"
    "        pass\n"
    "print('slow done')\n")
p = subprocess.Popen([MPU, "-p", up, "run", prog], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(0.5)
p.kill()  # the host goes away; the program runs on
p.wait()
secs = exec1(up, "stock board busy after Ctrl-C")
print("%-36s exec %.2f s" % ("stock, program deaf for 1.5 s", secs))
rc, out, err, _ = mpu(up, "exec", "print(2+2)")
if rc != 0 or out != b"4\n":
    fail("stock board after the breaks: exit %d %r %r" % (rc, out, err))

sys.exit(1 if failed else 0)
