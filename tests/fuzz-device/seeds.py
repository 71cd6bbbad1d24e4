# Seed corpus for fuzz_device from the protocol's own vectors: seeds.py OUTDIR
# [--mpy-cross BIN] [SCRIPT.bs...]. Writes inputs as fuzz_device.c reads them
# (a header byte, then the host's bytes with FF escaped as FF FF; FF 00 and
# FF 01 are the host's pauses): every mode and extension of
# proto/PROTOCOL.md built here from its byte layouts, and the host's side of
# each byte script (tests/mpupload/scripts, tests/proto/scripts: the bytes of
# host/mpupload's own sessions). Each input is written twice, without and with
# the recovery of header bit 1. Prints the number of inputs written.
import hashlib
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
HDR_FRIENDLY = 0x01
HDR_RECOVER = 0x02


class Pause:
    # The host is silent: FF 00 longer than any receive timeout, FF 01 longer
    # than a gap inside a block.
    def __init__(self, code):
        self.code = code


LONG = Pause(b"\xff\x00")
SHORT = Pause(b"\xff\x01")


def host(*parts):
    # The input's bytes: FF in the data escaped, the pauses as they are.
    return b"".join(p.code if isinstance(p, Pause) else p.replace(b"\xff", b"\xff\xff") for p in parts)


ESC = {"r": 13, "n": 10, "t": 9, "0": 0, "\\": 92, '"': 34}


def unquote(t):
    # A C string literal's body (PROTOCOL.md's scripts and mpu_proto.h).
    out = bytearray()
    i = 0
    while i < len(t):
        c = t[i]
        if c == "\\":
            e = t[i + 1]
            if e == "x":
                m = re.match(r"[0-9a-fA-F]{1,2}", t[i + 2 :])
                out.append(int(m.group(0), 16))
                i += 2 + len(m.group(0))
                continue
            out.append(ESC[e])
            i += 2
            continue
        out += c.encode()
        i += 1
    return bytes(out)


def proto_strings():
    # The string constants of proto/mpu_proto.h, macros expanded.
    defs = {}
    for line in open(os.path.join(ROOT, "proto", "mpu_proto.h"), encoding="utf-8"):
        m = re.match(r"#define (MPU_PROTO_\w+) ((?:(?:MPU_PROTO_\w+|\"(?:[^\"\\]|\\.)*\")\s*)+)(//.*)?$", line.strip())
        if not m:
            continue
        parts = re.findall(r"MPU_PROTO_\w+|\"(?:[^\"\\]|\\.)*\"", m.group(2))
        if all(p in defs for p in parts if p.startswith("MPU")):
            defs[m.group(1)] = b"".join(defs[p] if p.startswith("MPU") else unquote(p[1:-1]) for p in parts)
    return defs


P = proto_strings()
RESYNC = P["MPU_PROTO_RESYNC"]
BREAK = P["MPU_PROTO_BREAK"]


def block(kind, seq, payload):
    # B.2: SYNC TYPE SEQ LEN(u16) PAYLOAD CRC32(u32 over TYPE..PAYLOAD).
    body = kind + bytes([seq & 0xFF]) + struct.pack("<H", len(payload)) + payload
    return b"\xa5" + body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def bad(blk):
    # The same block with its last CRC byte damaged.
    return blk[:-1] + bytes([blk[-1] ^ 0x5A])


# The CRC is zlib's (B.2), checked on the protocol's own examples.
assert zlib.crc32(b"123456789") == 0xCBF43926
assert block(b"D", 0, b"print(1)\nprint(2)\n") == b"\xa5D\x00\x12\x00print(1)\nprint(2)\nz\x836\x81"
assert block(b"E", 1, struct.pack("<I", 18)) == b"\xa5E\x01\x04\x00\x12\x00\x00\x00V\xc5\xa9\xc3"
assert BREAK == RESYNC + block(b"X", 0x48, b"") + b"\x03" and len(BREAK) == 18


def blocks(data, size, seq=0):
    # D blocks of data, size bytes each, from seq on; returns (bytes, next seq).
    out = b""
    for i in range(0, len(data), size):
        out += block(b"D", seq, data[i : i + size])
        seq += 1
    return out, seq


def checked(prog, size=64):
    # B.6: the blocks one per credit (the device reads them when it asks).
    d, seq = blocks(prog, size)
    return b"\x05C\x01" + d + block(b"E", seq, struct.pack("<I", len(prog)))


def mpy_stream(mpy, size=48):
    d, seq = blocks(mpy, size)
    return b"\x05M\x01" + d + block(b"E", seq, struct.pack("<I", len(mpy)))


def put_req(path, size, flags=0x02):
    return block(b"D", 0, b"P" + bytes([flags]) + struct.pack("<I", size) + path)


def put(path, data, size=1024, flags=0x02):
    # B.5 put: request, start offset 0, the data, E with the SHA-256.
    d, seq = blocks(data, size, 2)
    return (b"\x05F\x01" + put_req(path, len(data), flags) + block(b"D", 1, struct.pack("<I", 0))
            + d + block(b"E", seq, hashlib.sha256(data).digest()))


def get(path, nblocks, offset=0):
    # B.5 get: the request, then the host's ACK of each block and of the E.
    acks = b"".join(b"\x06" + bytes([s]) for s in range(1, nblocks + 2))
    return b"\x05F\x01" + block(b"D", 0, b"G\x00" + struct.pack("<I", offset) + path) + acks


def mpy_of(mpy_cross, src):
    # A real .mpy of src from the build's mpy-cross, for B.4's loader.
    if mpy_cross is None:
        return b"M\x06\x00\x1f" + b"\x00" * 12
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "m.py"), "wb") as f:
            f.write(src)
        subprocess.run([os.path.abspath(mpy_cross), "-o", "m.mpy", "m.py"], cwd=d, check=True)
        with open(os.path.join(d, "m.mpy"), "rb") as f:
            return f.read()


def vectors(mpy_cross):
    # (name, starts at the friendly REPL, host bytes or a list of host bytes
    # and pauses) from PROTOCOL.md.
    prog = b"print(1)\nprint(2)\n"
    mpy = mpy_of(mpy_cross, b"import sys\nfor i in range(3):\n    print('mpy', i)\nprint(sys.implementation.name)\n")
    mid = block(b"D", 0, b"print('lost')\n")[:9]  # a block cut short
    return [
        # A.2 raw REPL, A.4 soft reset.
        ("raw-exec", False, b"print('fuzz-device-%d' % (6 * 7))\x04"),
        ("raw-raise", False, b"print(1)\n1/0\x04"),
        ("raw-syntax", False, b"for i in range(3)\n print(i)\x04"),
        ("raw-two", False, b"x = 5\x04print(x * 2)\x04"),
        ("raw-soft-reset", False, b"x = 1\x04\x04print('x' in globals())\x04"),
        ("raw-leave", False, b"print(3)\x04\x02print(4)\r"),
        ("raw-ctrl-c", False, b"print(5)\x03print(6)\x04"),
        ("raw-loop", False, b"while 1:\n    pass\n\x04print(7)\x04"),
        ("raw-reset", False, b"import machine\nmachine.reset()\x04print(8)\x04"),
        ("raw-stdin", False, b"import sys\nprint(sys.stdin.read(3))\x04abc\x04"),
        ("raw-fs", False, b"open('/t', 'w').write('hi')\nimport os\nprint(os.listdir('/'))\x04"),
        # A.3 raw-paste.
        ("paste", False, b"\x05A\x01" + prog + b"\x04"),
        ("paste-abort", False, b"\x05A\x01print(1)\x03"),
        ("paste-stall", False, [b"\x05A\x01print(1)\n", LONG, b"print(2)\x04"]),
        ("paste-half", False, [b"\x05A", LONG, b"\x05Z\x01"]),
        # B.1 capability query.
        ("info", False, b"\x05I\x01"),
        ("info-twice", False, b"\x05I\x01\x05I\x01print(1)\x04"),
        # B.3 streamed execution.
        ("stream", False, b"\x05S\x01" + prog + b"\x04"),
        ("stream-raise", False, b"\x05S\x01print(1)\nraise ValueError('v')\nprint(2)\n\x04"),
        ("stream-syntax", False, b"\x05S\x01print(1)\nif\n\x04"),
        ("stream-abort", False, b"\x05S\x01print(1)\nwhile 1:\n    pass\n\x03"),
        ("stream-def", False, b"\x05S\x01def f(x):\n    return x + 1\n\nprint(f(1))\nclass A:\n    pass\n\x04"),
        # B.4 streamed .mpy.
        ("mpy", False, mpy_stream(mpy)),
        ("mpy-bad-crc", False, b"\x05M\x01" + bad(block(b"D", 0, mpy[:48])) + RESYNC + mpy_stream(mpy)[3:]),
        ("mpy-abort", False, b"\x05M\x01" + block(b"D", 0, mpy[:48]) + block(b"X", 1, b"")),
        ("mpy-short", False, b"\x05M\x01" + block(b"D", 0, mpy[:20]) + block(b"E", 1, struct.pack("<I", 20))),
        ("mpy-bad-length", False, mpy_stream(mpy)[:-13] + block(b"E", (len(mpy) + 47) // 48, struct.pack("<I", 7))),
        # B.5 file transfer.
        ("put", False, put(b"/a", b"hi")),
        ("put-get", False, put(b"/f.txt", bytes(range(256)) * 6, 512) + get(b"/f.txt", 2)),
        ("put-dir", False, put(b"/\x00base", b"into a directory\n") + b"import os\nprint(os.listdir())\x04"),
        ("put-parents", False, put(b"/d/e/f", b"x" * 100, 40, flags=0x03)),
        ("put-bad-crc", False, b"\x05F\x01" + bad(put_req(b"/a", 2)) + RESYNC + put(b"/a", b"hi")[3:]),
        ("put-abort", False, b"\x05F\x01" + put_req(b"/a", 2) + block(b"D", 1, struct.pack("<I", 0)) + block(b"X", 2, b"") + b"\x04"),
        ("put-bad-hash", False, put(b"/a", b"hi")[:-41] + block(b"E", 3, b"\x00" * 32) + b"\x04"),
        ("put-stall", False, [b"\x05F\x01" + put_req(b"/a", 4) + block(b"D", 1, struct.pack("<I", 0)), LONG, b"\x04"]),
        ("put-resume", False, [b"\x05F\x01" + put_req(b"/r", 6) + block(b"D", 1, struct.pack("<I", 0)) + block(b"D", 2, b"abc"),
            LONG, b"\x04\x05F\x01" + put_req(b"/r", 6, 0x03) + block(b"D", 1, struct.pack("<I", 3)) + block(b"D", 2, b"def")
            + block(b"E", 3, hashlib.sha256(b"abcdef").digest()) + b"print(open('/r').read())\x04"]),
        ("get-missing", False, get(b"/nothing", 0)),
        ("get-nak", False, put(b"/g", b"0123456789") + get(b"/g", 1)[:-4] + b"\x15\x01" + RESYNC + b"\x06\x01\x06\x02"),
        ("get-abort", False, put(b"/g", b"0123456789") + get(b"/g", 0) + b"\r\x03"),
        # B.6 checked streamed execution.
        ("checked", False, checked(prog)),
        ("checked-long", False, checked(b"".join(b"x%d = %d\n" % (i, i) for i in range(40)) + b"print('checked', x39 + 3)\n", 100)),
        ("checked-bad-crc", False, b"\x05C\x01" + bad(block(b"D", 0, prog)) + RESYNC + checked(prog)[3:]),
        ("checked-gap", False, [b"\x05C\x01" + block(b"D", 0, prog)[:10], SHORT, RESYNC + checked(prog)[3:]]),
        ("checked-abort", False, b"\x05C\x01" + block(b"D", 0, b"print(1)\n") + block(b"X", 7, b"") + RESYNC + b"\x03"),
        ("checked-ctrl-c", False, b"\x05C\x01" + block(b"D", 0, b"while 1:\n    pass\n") + b"\r\x03" + RESYNC + b"\x03"),
        ("checked-raise", False, checked(b"print(1)\nraise OSError(5)\nprint(2)\n") + RESYNC + b"\x03"),
        ("checked-length", False, b"\x05C\x01" + block(b"D", 0, prog) + block(b"E", 1, struct.pack("<I", 99)) + RESYNC + b"\x03"),
        ("checked-seq", False, b"\x05C\x01" + block(b"D", 3, prog) + RESYNC + checked(prog)[3:]),
        # B.2 RESYNC and X blocks between blocks and at the prompt.
        ("resync", False, RESYNC + b"print(9)\x04"),
        ("x-block", False, block(b"X", 0, b"") + b"\x03print(9)\x04"),
        # B.7 session break: a host that left the device inside a block.
        ("break-midblock", False, [b"\x05C\x01" + mid + b"\r\x03\x03\r\x01", SHORT, BREAK, SHORT, b"\r\x03\x03\r\x01"]),
        ("break-put", False, [b"\x05F\x01" + put_req(b"/a", 9) + block(b"D", 1, struct.pack("<I", 0))[:6],
            SHORT, BREAK, SHORT, b"\r\x03\x03\r\x01print(1)\x04"]),
        ("break-mpy", False, [b"\x05M\x01" + mid, SHORT, BREAK, SHORT, BREAK + b"\r\x01"]),
        ("break-prompt", True, BREAK + b"\r\x01" + BREAK + b"\x04"),
        # A.1 friendly REPL, A.5 paste mode.
        ("friendly", True, b"print(1)\rx = [i * i for i in range(5)]\rx\r"),
        ("friendly-block", True, b"for i in range(2):\rprint(i)\r\r\x08\x08def f():\rreturn 4\r\rf()\r"),
        ("friendly-edit", True, b"prnt\x1b[D\x1b[Di\x1b[C\x1b[C(2)\r\x1b[A\r\x01\x05\x0b\r"),
        ("friendly-tab", True, b"im\t sys\rsys.imp\t\r\t\r"),
        ("friendly-paste", True, b"\x05for i in range(2):\n    print('paste', i + 41)\n\x04"),
        ("friendly-paste-cancel", True, b"\x05print('no')\n\x03print('yes')\r"),
        ("friendly-ctrl-d", True, b"x = 1\r\x04x\r"),
        ("friendly-raise", True, b"1/0\rimport nosuchmodule\r"),
        ("friendly-raw", True, b"\r\x01print(1)\x04\x02print(2)\r"),
        ("friendly-ctrl-c", True, b"while True: pass\r\r\x03print(3)\r"),
        ("friendly-garbage", True, bytes(range(1, 256))),
    ]


def script_bytes(path):
    # The host's side of a byte script (tests/mpupload/scripts/README).
    code = b""
    out = bytearray()
    for line in open(path, encoding="utf-8"):
        w = line.split(None, 1)
        if not w:
            continue
        arg = w[1].strip() if len(w) > 1 else ""
        m = re.match(r'"((?:[^"\\]|\\.)*)"\s*(.*)$', arg)
        if w[0] == "code":
            code = unquote(m.group(1))
        elif w[0] == "code-repeat":
            code = unquote(m.group(1)) * int(m.group(2))
        elif w[0] == "client":
            out += unquote(m.group(1)).replace(b"\xff", b"\xff\xff")
        elif w[0] == "client-code":
            off, n = arg.split()
            out += code[int(off) :][: None if n == "rest" else int(n)].replace(b"\xff", b"\xff\xff")
        elif w[0] == "client-block":
            a = arg.split()
            if a[0] == "E":
                b = block(b"E", int(a[1]), struct.pack("<I", int(a[2])))
            else:
                b = block(a[0].encode(), int(a[1]), code[int(a[2]) : int(a[2]) + int(a[3])])
            out += b.replace(b"\xff", b"\xff\xff")
        elif w[0] == "stall":
            out += LONG.code
        elif w[0] == "hangup":
            break
    return bytes(out)


def main():
    args = sys.argv[1:]
    outdir = args.pop(0)
    mpy_cross = None
    if args[:1] == ["--mpy-cross"]:
        mpy_cross = args[1]
        args = args[2:]
    os.makedirs(outdir, exist_ok=True)
    inputs = []
    for name, friendly, parts in vectors(mpy_cross):
        parts = parts if isinstance(parts, list) else [parts]
        inputs.append((name, HDR_FRIENDLY if friendly else 0, host(*parts)))
    for path in args:
        name = "bs-" + os.path.splitext(os.path.basename(path))[0]
        # Every script starts at the friendly REPL with "\r\x03\x03".
        inputs.append((name, HDR_FRIENDLY, script_bytes(path)))
    n = 0
    for name, hdr, data in inputs:
        for rec in (0, HDR_RECOVER):
            with open(os.path.join(outdir, "%s-%02x" % (name, hdr | rec)), "wb") as f:
                f.write(bytes([hdr | rec]) + data)
            n += 1
    print(n)


main()
