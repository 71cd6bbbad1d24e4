# Byte-exact transcripts of the numbered steps of proto/PROTOCOL.md, sent
# over the board's pty.  Usage: steps.py PORT new|upstream
# Part A must read the same bytes from both boards; part B is refused by
# upstream with R\x00.
import struct
import sys

sys.dont_write_bytecode = True  # nothing written next to the tests
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
from wire import Wire, block, crc32  # noqa: E402

port, kind = sys.argv[1], sys.argv[2]
new = kind == "new"
w = Wire(port, timeout=15)
TB = b"Traceback (most recent call last):\r\n"
RAW = b"raw REPL; CTRL-B to exit\r\n>"
n = 0


def step(name, send, want):
    global n
    w.write(send)
    w.expect(name, want)
    n += 1


# A.1/A.2: friendly REPL to raw REPL.
w.write(b"\x02")
time.sleep(0.3)
w.drain()
step("A.1 Ctrl-C", b"\x03", b"\r\n>>> ")
step("A.2.2 enter", b"\x01", b"\r\n" + RAW)
step("A.2.3-5 run", b"print(1)\x04", b"OK1\r\n\x04\x04>")
step("A.2.3 Ctrl-C discards", b"print(2)\x03print(3)\x04", b"OK3\r\n\x04\x04>")
step("A.2.3 Ctrl-A restarts", b"print(4)\x01", RAW)
step("A.2.5 exception", b"1/0\x04", b"OK\x04" + TB + b'  File "<stdin>", line 1, in <module>\r\nZeroDivisionError: divide by zero\r\n\x04>')
step("A.2.5 SyntaxError, nothing ran", b"print(5)\nx = )\nprint(6)\x04", b"OK\x04" + TB + b'  File "<stdin>", line 2\r\nSyntaxError: invalid syntax\r\n\x04>')
step("A.2 bytes 0x05 in text", b"\x05print(7)\x04", b"OK\x04" + TB + b'  File "<stdin>", line 1\r\nSyntaxError: invalid syntax\r\n\x04>')
step("A.2.3 Ctrl-B leaves", b"print(8)\x02", b"\r\n")
w.read_until(b">>> ")
step("A.2.2 enter again", b"\x01", b"\r\n" + RAW)

# A.3 raw-paste.
step("A.3.1-4 negotiate", b"\x05A\x01", b"R\x01\x80\x00\x01")
step("A.3.5-7 data and end", b"print(123)\x04", b"\x04123\r\n\x04\x04>")
step("A.3 refused letter", b"\x05Z\x01", b"R\x00>")
step("A.3 negotiate", b"\x05A\x01", b"R\x01\x80\x00\x01")
step("A.3 host abort", b"print(9)\x03", b"\x04\x04KeyboardInterrupt: \r\n\x04>")
# Device abort: a SyntaxError in the first statement ends the data early.
step("A.3 negotiate", b"\x05A\x01", b"R\x01\x80\x00\x01")
body = b"x = )\n" + b"y = 1\n" * 40
step("A.3 device abort", body[:200], b"\x04")
step("A.3 device abort result", b"\x04", b"\x04" + TB + b'  File "<stdin>", line 1\r\nSyntaxError: invalid syntax\r\n\x04>')
# Window credits: 2 windows of 128 up front, one \x01 per 128 consumed.
step("A.3 negotiate", b"\x05A\x01", b"R\x01\x80\x00\x01")
prog = b"a = 1\n" * 42 + b"#ab\n"
assert len(prog) == 256
step("A.3 credits for 2 windows", prog, b"\x01\x01")
step("A.3 end", b"print(a)\x04", b"\x04" + b"1\r\n\x04\x04>")

# A.5 friendly paste mode.
step("A.5 leave raw", b"\x02", b"\r\n")
w.read_until(b">>> ")
step("A.5.1 paste", b"\x05", b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ")
step("A.5.2 echo", b"x = 6\r", b"x = 6\r\n=== ")
step("A.5.4 run", b"print(x * 7)\r\x04", b"print(x * 7)\r\n=== \r\n42\r\n>>> ")
step("A.5.1 paste", b"\x05", b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ")
step("A.5.3 cancel", b"print(1)\r\x03", b"print(1)\r\n=== \r\n>>> ")
step("A.2.2 enter", b"\x01", b"\r\n" + RAW)

# Part B.
if not new:
    for letter in b"ISM":
        step("B refused by upstream", b"\x05" + bytes([letter]) + b"\x01", b"R\x00>")
    print("%d steps ok" % n)
    sys.exit(0)

# B.1 capability query.
w.write(b"\x05I\x01")
w.expect("B.1.2", b"R\x01")
ln = w.read(1)[0]
info = w.read(ln)
w.expect("B.1.4", b">")
ver, flags, win, bmax, k, mpyv = struct.unpack("<BBHHBB", info[:8])
assert ver == 1 and win == 128 and flags & 0x0B == 0x0B and mpyv == 6, info
assert struct.unpack("<H", info[10:12])[0] == 4096, info
n += 1

# B.3 streamed execution.
step("B.3.2", b"\x05S\x01", b"R\x01\x80\x00\x01")
step("B.3 example", b"print(1)\nprint(2)\n\x04", b"\x04\x021\r\n2\r\n\x04\x06>")
# Several batches: each runs as soon as compiled, before the end of data.
step("B.3.2", b"\x05S\x01", b"R\x01\x80\x00\x01")
prog = b"print('a')\n" + b"v = 1\n" * 800 + b"print('b')\n"
out = b""
remain = 256
i = 0
while i < len(prog):
    while remain == 0 or w.s.in_waiting:
        c = w.read(1)
        if c == b"\x01":
            remain += 128
        else:
            out += c
    chunk = prog[i:i + remain]
    w.write(chunk)
    remain -= len(chunk)
    i += len(chunk)
assert out.startswith(b"\x02a\r\n\x04\x06"), out  # the first batch ran before the end
w.write(b"\x04")
out += w.read_until(b">")
out = out.replace(b"\x01", b"")
assert out == b"\x02a\r\n\x04\x06\x04\x02b\r\n\x04\x06>", out
n += 1
# SyntaxError in a later batch: earlier ones ran, then \x15 + traceback.
step("B.3.2", b"\x05S\x01", b"R\x01\x80\x00\x01")
w.write(b"print(1)\n\x04")
w.write(b"")
step("B.3 end", b"", b"\x04\x021\r\n\x04\x06>")
step("B.3.2", b"\x05S\x01", b"R\x01\x80\x00\x01")
step("B.3.4 compile error", b"print(1)\nx = )\n\x04", b"\x04\x15" + TB + b'  File "<stdin>", line 2\r\nSyntaxError: invalid syntax\r\n\x04>')
step("B.3.2", b"\x05S\x01", b"R\x01\x80\x00\x01")
step("B.3.4 batch raised", b"print(1)\n1/0\n\x04", b"\x04\x021\r\n\x04\x15" + TB + b'  File "<stdin>", line 2, in <module>\r\nZeroDivisionError: divide by zero\r\n\x04>')

# B.4 streamed .mpy, with a corrupted block re-sent.
mpy = open(sys.argv[3], "rb").read() if len(sys.argv) > 3 else None
if mpy:
    w.write(b"\x05M\x01")
    w.expect("B.4.2", b"R\x01")
    bmax, k = struct.unpack("<HB", w.read(3))
    blocks = [mpy[i:i + bmax] for i in range(0, len(mpy), bmax)]
    for seq, b in enumerate(blocks):
        frame = block(b"D", seq, b)
        if seq == 1:
            bad = bytearray(frame)
            bad[7] ^= 0x40
            w.write(bytes(bad))
            w.expect("B.2 NAK", b"\x15\x01")
            w.write(b"\xa5\x5a\xa5\x5aSYNC")
        w.write(frame)
        w.expect("B.2 ACK", b"\x06" + bytes([seq]))
    seq = len(blocks)
    w.write(block(b"E", seq, struct.pack("<I", len(mpy))))
    w.expect("B.4 END ACK", b"\x06" + bytes([seq & 0xFF]))
    w.expect("B.4.4 result", b"mpy 42\r\n\x04\x04>")
    n += 1
    # A bad .mpy: refused with CAN.
    w.write(b"\x05M\x01")
    w.expect("B.4.2", b"R\x01")
    w.read(3)
    w.write(block(b"D", 0, b"Mxyz"))
    w.expect("B.2 ACK", b"\x06\x00")
    w.write(block(b"E", 1, struct.pack("<I", 4)))
    want = b"\x18ValueError: incompatible .mpy file\r\n\x04"
    w.expect("B.4 bad mpy", want)
    w.write(b"\x04")
    w.expect("B.4 prompt", b">")
    n += 1
print("%d steps ok" % n)
