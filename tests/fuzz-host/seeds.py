# Seed corpus for fuzz_engine from the engine's byte scripts: seeds.py OUTDIR
# SCRIPT.bs... Each script's board answers (escaped as fuzz_engine.c reads
# them) behind each header that runs one of its sequences.
import os
import re
import sys

ESC = {"r": 13, "n": 10, "t": 9, "0": 0, "\\": 92, '"': 34}


def unquote(s):
    m = re.search(r'"((?:[^"\\]|\\.)*)"', s)
    out = bytearray()
    t = m.group(1) if m else ""
    i = 0
    while i < len(t):
        c = t[i]
        if c == "\\":
            e = t[i + 1]
            if e == "x":
                out.append(int(t[i + 2 : i + 4], 16))
                i += 4
                continue
            out.append(ESC[e])
            i += 2
            continue
        out += c.encode()
        i += 1
    return bytes(out)


outdir = sys.argv[1]
os.makedirs(outdir, exist_ok=True)
for path in sys.argv[2:]:
    board = bytearray()
    for line in open(path, encoding="utf-8"):
        w = line.split(None, 1)
        if not w:
            continue
        if w[0] in ("board", "board-forever"):
            b = unquote(w[1]).replace(b"\xff", b"\xff\xff")
            board += b * (20 if w[0] == "board-forever" else 1)
        elif w[0] == "stall":
            board += b"\xff\x00"
        elif w[0] == "hangup":
            board += b"\xff\x02"
        elif w[0] == "interrupt":
            board += b"\xff\x01"
    name = os.path.splitext(os.path.basename(path))[0]
    for seq in range(8):
        for h1 in (0x30, 0x61, 0x38):
            with open(os.path.join(outdir, "%s-%d-%02x" % (name, seq, h1)), "wb") as f:
                f.write(bytes([seq, h1]) + board)
