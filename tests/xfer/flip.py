"""Relay between stdio and a board process (its --stdio), flipping one bit in
each byte at the given offsets of one direction: flip.py up|down OFF,OFF,... BOARD ARGS...
up: host to board; down: board to host."""
import os
import select
import subprocess
import sys

way, offs = sys.argv[1], {int(x) for x in sys.argv[2].split(",")}
p = subprocess.Popen(sys.argv[3:], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
src = {0: p.stdin.fileno(), p.stdout.fileno(): 1}
pos = {"up": 0, "down": 0}
while True:
    r, _, _ = select.select([0, p.stdout.fileno()], [], [])
    for fd in r:
        try:
            data = bytearray(os.read(fd, 4096))
        except OSError:
            data = b""
        if not data:
            p.kill()
            sys.exit(0)
        d = "up" if fd == 0 else "down"
        if d == way:
            for i in range(len(data)):
                if pos[d] + i in offs:
                    data[i] ^= 0x01
        pos[d] += len(data)
        os.write(src[fd], bytes(data))
