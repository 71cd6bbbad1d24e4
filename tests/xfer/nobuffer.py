"""Relay between stdio and a board process (its --stdio) that hides from the
transfer program what a smaller board lacks: nobuffer.py LEVEL BOARD ARGS...
LEVEL 6: no sys.stdin.buffer (base64 lines); h: no base64 either (hex lines);
p: no binascii.unhexlify either (hex decoded in plain Python)."""
import os, select, subprocess, sys

names = {"6": [b"'buffer'"], "h": [b"'buffer'", b"'a2b_base64'"],
         "p": [b"'buffer'", b"'a2b_base64'", b"'unhexlify'"]}[sys.argv[1]]
hide = [(n, n[:-1] + b"X'") for n in names]
p = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
pend = b""  # host bytes held back while a name may be cut in two
while True:
    r, _, _ = select.select([0, p.stdout.fileno()], [], [], 0.02 if pend else None)
    if not r:
        os.write(p.stdin.fileno(), pend)
        pend = b""
    for fd in r:
        try:
            d = os.read(fd, 65536)
        except OSError:
            d = b""
        if not d:
            p.kill()
            sys.exit(0)
        if fd == 0:
            pend += d
            for a, b in hide:
                pend = pend.replace(a, b)
            os.write(p.stdin.fileno(), pend[:-16])
            pend = pend[-16:]
        else:
            os.write(1, d)
