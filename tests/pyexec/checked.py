# B.6 checked streamed execution, byte by byte over the board's pty: the
# example of proto/PROTOCOL.md, a damaged block NAKed and sent again (a flip
# inside a string literal, a dropped byte, a damaged RESYNC), errors, host
# aborts, too many NAKs.  Usage: checked.py PORT new|upstream
import re
import struct
import sys

sys.dont_write_bytecode = True  # nothing written next to the tests
import os  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from wire import Wire, block  # noqa: E402

port, kind = sys.argv[1], sys.argv[2]
w = Wire(port, timeout=15)
TB = b"Traceback (most recent call last):\r\n"
RAW = b"raw REPL; CTRL-B to exit\r\n>"
RESYNC = b"\xa5\x5a\xa5\x5aSYNC"
n = 0


def ok(name):
    global n
    n += 1


def alive():
    # Back at the raw REPL prompt, with an empty line.
    w.write(b"print(5)\x04")
    w.expect("raw REPL after", b"OK5\r\n\x04\x04>")


def negotiate():
    w.write(b"\x05C\x01")
    w.expect("negotiation", b"R\x01")
    bmax = struct.unpack("<H", w.read(2))[0]
    assert bmax == 247, bmax
    w.expect("first credit", b"\x01")
    return bmax


def end_block(seq, prog):
    return block(b"E", seq, struct.pack("<I", len(prog)))


def frames(data):
    # Escaped, for messages.
    return repr(data)


w.write(b"\x02")
time.sleep(0.3)
w.drain()
w.write(b"\x03")
w.read_until(b">>> ")
w.write(b"\x01")
w.read_until(RAW)

if kind != "new":
    w.write(b"\x05C\x01")
    w.expect("refused by upstream", b"R\x00>")
    alive()
    print("2 steps ok")
    sys.exit(0)

# B.1 offers C.
w.write(b"\x05I\x01")
w.expect("B.1", b"R\x01")
info = w.read(w.read(1)[0])
w.expect("B.1 end", b">")
assert info[1] & 0x10, info
ok("B.1 flag")

# The example of proto/PROTOCOL.md, byte for byte.
doc = open(os.path.join(os.path.dirname(__file__), "..", "..", "proto", "PROTOCOL.md"), "rb").read()
ex = doc[doc.index(b"### B.6"):]
ex = ex[ex.index(b"Example (B = 247"):]
assert b'write: b"\\xa5D\\x00\\x12\\x00print(1)\\nprint(2)\\nz\\x836\\x81"' in ex
prog = b"print(1)\nprint(2)\n"
assert block(b"D", 0, prog) == b"\xa5D\x00\x12\x00print(1)\nprint(2)\nz\x836\x81"
assert end_block(1, prog) == b"\xa5E\x01\x04\x00\x12\x00\x00\x00V\xc5\xa9\xc3"
assert b'b"\\xa5E\\x01\\x04\\x00\\x12\\x00\\x00\\x00V\\xc5\\xa9\\xc3"' in ex
negotiate()
w.write(block(b"D", 0, prog))
w.expect("example ACK", b"\x06\x00\x01")
w.write(end_block(1, prog))
w.expect("example end", b"\x06\x01\x021\r\n2\r\n\x04>")
alive()
ok("example")

# A bit flipped inside a string literal: NAK, RESYNC, the block again.
prog = b"s = 'checked'\nprint(s, len(s))\n"
negotiate()
good = block(b"D", 0, prog)
bad = bytearray(good)
bad[5 + prog.index(b"checked") + 2] ^= 0x04  # 'e' -> 'a': still valid Python
w.write(bytes(bad))
w.expect("NAK of the flipped block", b"\x15\x00")
w.write(RESYNC)
w.expect("credit after RESYNC", b"\x01")
w.write(good)
w.expect("ACK", b"\x06\x00\x01")
w.write(end_block(1, prog))
w.expect("output of the good text", b"\x06\x01\x02checked 7\r\n\x04>")
alive()
ok("flip in a string literal")

# A dropped byte: the device NAKs after a pause inside the block.
prog = b"print('dropped')\n"
negotiate()
good = block(b"D", 0, prog)
w.write(good[:9] + good[10:])
w.expect("NAK of the short block", b"\x15\x00")
w.write(RESYNC)
w.expect("credit", b"\x01")
w.write(good)
w.expect("ACK", b"\x06\x00\x01")
w.write(end_block(1, prog))
w.expect("end", b"\x06\x01\x02dropped\r\n\x04>")
alive()
ok("dropped byte")

# A damaged RESYNC: the NAK again after a pause; a second RESYNC where a
# block starts is skipped.
prog = b"print('resync')\n"
negotiate()
good = block(b"D", 0, prog)
w.write(good[:-1] + bytes([good[-1] ^ 1]))
w.expect("NAK", b"\x15\x00")
w.write(b"\xa5\x5a\xa5\x5aSYNX")
w.expect("NAK again after a pause", b"\x15\x00")
w.write(RESYNC + RESYNC)
w.expect("credit", b"\x01")
w.write(good)
w.expect("ACK", b"\x06\x00\x01")
w.write(end_block(1, prog))
w.expect("end", b"\x06\x01\x02resync\r\n\x04>")
alive()
ok("damaged RESYNC")

# Batches run before the end of the program: the first one's output comes
# while the host still holds the rest.
negotiate()
prog = b"print('first')\n" + b"v = 1\n" * 800 + b"print('last', v)\n"
blocks = [prog[i:i + 247] for i in range(0, len(prog), 247)]
got = b""
for seq, b in enumerate(blocks):
    w.write(block(b"D", seq, b))
    rep = w.read(2)
    assert rep == b"\x06" + bytes([seq]), (seq, rep)
    while True:
        c = w.read(1)
        if c == b"\x01":
            break
        got += c
        if c == b"\x02":
            got += w.read_until(b"\x04")
    if seq == len(blocks) - 1:
        assert got == b"\x02first\r\n\x04", frames(got)
w.write(end_block(len(blocks), prog))
w.expect("end", b"\x06" + bytes([len(blocks)]) + b"\x02last 1\r\n\x04>")
alive()
ok("batches run as they come")

# A compile error: CAN + traceback + \x04; RESYNC and Ctrl-C, then '>'.
prog = b"print(1)\nx = )\n"
negotiate()
w.write(block(b"D", 0, prog))
w.expect("ACK", b"\x06\x00\x01")
w.write(end_block(1, prog))
w.expect("compile error", b"\x06\x01\x18" + TB + b'  File "<stdin>", line 2\r\nSyntaxError: invalid syntax\r\n\x04')
w.write(RESYNC + b"\x03")
w.expect("prompt", b">")
alive()
ok("compile error")

# A batch that raises; the ZeroDivisionError's line is the script's.
prog = b"print(1)\n\n\n1/0\nprint(2)\n"
negotiate()
w.write(block(b"D", 0, prog))
w.expect("ACK", b"\x06\x00\x01")
w.write(end_block(1, prog))
w.expect("raised", b"\x06\x01\x021\r\n\x04\x18" + TB + b'  File "<stdin>", line 4, in <module>\r\nZeroDivisionError: divide by zero\r\n\x04')
w.write(RESYNC + b"\x03")
w.expect("prompt", b">")
alive()
ok("batch raised")

# Host abort while a batch runs (Ctrl-C between blocks).
prog = b"print('loop')\nwhile 1:\n    pass\nprint('never')\n"
negotiate()
w.write(block(b"D", 0, prog))
w.expect("ACK", b"\x06\x00\x01")
w.write(end_block(1, prog))
w.expect("running", b"\x06\x01\x02loop\r\n")
time.sleep(0.2)
w.write(b"\x03")
got = w.read_until(b"KeyboardInterrupt: \r\n\x04")
assert re.fullmatch(rb'\x04\x18Traceback \(most recent call last\):\r\n  File "<stdin>", line [23], in <module>\r\nKeyboardInterrupt: \r\n\x04', got), frames(got)
w.write(RESYNC + b"\x03")
w.expect("prompt", b">")
alive()
ok("abort while running")

# Host abort where a block would start: "\r\x03" as any host stops a board.
negotiate()
w.write(block(b"D", 0, b"x = 1\n"))
w.expect("ACK", b"\x06\x00\x01")
w.write(b"\r\x03")
w.expect("interrupted", b"\x18KeyboardInterrupt: \r\n\x04")
w.write(b"\x03")
w.expect("prompt", b">")
alive()
ok("abort between blocks")

# An X block aborts too.
negotiate()
w.write(block(b"X", 0, b""))
w.expect("X block", b"\x18KeyboardInterrupt: \r\n\x04")
w.write(RESYNC)
w.expect("prompt", b">")
alive()
ok("X block")

# Too many bad blocks in a row: 16 NAKs, then CAN.
negotiate()
bad = bytearray(block(b"D", 0, b"print(1)\n"))
bad[-1] ^= 0xFF
for i in range(16):
    w.write(bytes(bad))
    w.expect("NAK %d" % i, b"\x15\x00")
    w.write(RESYNC)
    w.expect("credit", b"\x01")
w.write(bytes(bad))
w.expect("gives up", b"\x18OSError: too many bad blocks\r\n\x04")
w.write(RESYNC + b"\x03")
w.expect("prompt", b">")
alive()
ok("too many NAKs")

# A wrong length in the end block.
negotiate()
w.write(block(b"D", 0, b"x = 1\n"))
w.expect("ACK", b"\x06\x00\x01")
w.write(block(b"E", 1, struct.pack("<I", 7)))
w.expect("length mismatch", b"\x18ValueError: program length mismatch\r\n\x04")
w.write(RESYNC + b"\x03")
w.expect("prompt", b">")
alive()
ok("length mismatch")

# A host that dies mid-block: a new host's "\r\x03\x03" gets the board back
# within a few hundred ms (the first bytes may complete the block).
negotiate()
w.write(block(b"D", 0, b"print('cut')\n")[:10])
time.sleep(0.5)
w.write(b"\r\x03\x03")
got = w.read_until(b">", timeout=2)
assert re.fullmatch(rb"(\x15\x00)+\x18KeyboardInterrupt: \r\n\x04>", got), frames(got)
w.write(b"\r\x01")
w.read_until(RAW)
alive()
ok("recovery after a cut")

print("%d steps ok" % n)
