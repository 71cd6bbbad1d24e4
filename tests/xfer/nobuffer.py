"""Relay between stdio and a board process (its --stdio) that hides sys.stdin.buffer
from the transfer programs, as on a board built without it: nobuffer.py BOARD ARGS..."""
import os, select, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
while True:
    r, _, _ = select.select([0, p.stdout.fileno()], [], [])
    for fd in r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            d = b""
        if not d:
            p.kill(); sys.exit(0)
        if fd == 0:
            os.write(p.stdin.fileno(), d.replace(b"i=sys.stdin.buffer", b"i=sys.stdin.bufferX"))
        else:
            os.write(1, d)
