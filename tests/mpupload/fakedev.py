"""A scriptable fake board on a pty, for mpupload's misbehaviour tests.

usage: fakedev.py SCRIPT.bs LINK

Makes LINK a symlink to a new pty and plays SCRIPT (the byte-script format of
scripts/README): waits for every `client` string (checking each byte), sends
every `board` string, repeats `board-forever` every 10 ms, goes silent at
`stall`, closes the pty at `hangup`. Lines it does not act on (run, rc, argv,
exit, ...) are the test's business. It logs to stderr; a client byte that
differs from the script is reported as "fakedev: MISMATCH ..." and the fake
board then goes silent. At the end of the script it stays silent until killed.
"""
import os
import re
import select
import sys
import time
import tty


def unescape(s):
    m = re.match(r'\s*"((?:[^"\\]|\\.)*)"', s)
    if not m:
        raise SystemExit("fakedev: expected a quoted string: %r" % s)
    out = bytearray()
    body = m.group(1)
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            e = body[i + 1]
            i += 2
            if e == "x":
                out.append(int(body[i:i + 2], 16))
                i += 2
            else:
                out += {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0", "\\": b"\\", '"': b'"'}[e]
        else:
            out += c.encode("utf-8")
            i += 1
    return bytes(out), s[m.end():]


def parse(path):
    events = []
    code = b""
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n").strip()
        if not line or line.startswith("#"):
            continue
        kw, _, rest = line.partition(" ")
        if kw in ("client", "board", "board-forever"):
            events.append((kw, unescape(rest)[0]))
        elif kw == "client-code":
            off, ln = rest.split()
            data = code[int(off):] if ln == "rest" else code[int(off):int(off) + int(ln)]
            events.append(("client", data))
        elif kw == "code":
            code += unescape(rest)[0]
        elif kw == "code-repeat":
            s, tail = unescape(rest)
            code += s * int(tail)
        elif kw in ("stall", "hangup"):
            events.append((kw, b""))
    return events


def esc(b):
    return repr(bytes(b))[2:-1]


def main():
    script, link = sys.argv[1:3]
    events = parse(script)
    master, slave = os.openpty()
    tty.setraw(slave)
    name = os.ttyname(slave)
    tmp = link + ".tmp"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(name, tmp)
    os.rename(tmp, link)
    log = sys.stderr
    got = bytearray()  # client bytes not yet matched

    def read_some(timeout):
        r, _, _ = select.select([master], [], [], timeout)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            got.extend(data)
            return bool(data)
        return False

    for n, (kw, data) in enumerate(events):
        if kw == "client":
            while True:
                k = min(len(got), len(data))
                if got[:k] != data[:k]:
                    log.write("fakedev: MISMATCH at event %d: got %s, expected %s\n"
                              % (n, esc(got[:k + 16]), esc(data[:k + 16])))
                    log.flush()
                    while True:
                        time.sleep(3600)
                if len(got) >= len(data):
                    del got[:len(data)]
                    log.write("fakedev: client event %d matched\n" % n)
                    log.flush()
                    break
                read_some(1.0)
        elif kw == "board":
            os.write(master, data)
        elif kw == "board-forever":
            end = time.monotonic() + 60
            while time.monotonic() < end:
                try:
                    os.write(master, data)
                except OSError:
                    break
                read_some(0.01)
                got.clear()
        elif kw == "stall":
            break
        elif kw == "hangup":
            log.write("fakedev: hangup\n")
            log.flush()
            os.close(master)
            os.close(slave)
            while True:
                time.sleep(3600)
    log.write("fakedev: end of script\n")
    log.flush()
    while True:
        read_some(3600)
        got.clear()


main()
