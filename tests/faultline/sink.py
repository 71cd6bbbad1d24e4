# A pty that records what it receives: sink.py LINK OUT. Makes a pty, links
# LINK to its slave, and writes every byte that arrives to OUT until the
# other end (faultline) closes it.
import os
import sys

link, out = sys.argv[1], sys.argv[2]
m, s = os.openpty()
try:
    os.unlink(link)
except FileNotFoundError:
    pass
os.symlink(os.ttyname(s), link)
data = bytearray()
while True:
    try:
        b = os.read(m, 65536)
    except OSError:  # EIO: the last slave fd is gone
        break
    if not b:
        break
    if s >= 0:
        # Hold the slave until faultline has it, so EIO means it left.
        os.close(s)
        s = -1
    data += b
os.unlink(link)
with open(out, "wb") as f:
    f.write(data)
