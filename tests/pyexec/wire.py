# Byte-level driver of a board's REPL over a pty, for the tests of
# tests/pyexec: send exact bytes, read exact bytes, compare with golden ones.
import struct
import sys
import time
import zlib

import serial


class Wire:
    def __init__(self, port, timeout=10):
        self.s = serial.Serial(port, timeout=timeout)
        self.timeout = timeout

    def write(self, b):
        self.s.write(b)

    def read_until(self, end, timeout=None):
        # Everything up to and including `end`; raises on timeout.
        deadline = time.monotonic() + (timeout or self.timeout)
        data = b""
        while not data.endswith(end):
            if time.monotonic() > deadline:
                raise TimeoutError("waiting for %r, got %r" % (end, data[-300:]))
            c = self.s.read(1)
            data += c
        return data

    def read(self, n):
        data = self.s.read(n)
        if len(data) != n:
            raise TimeoutError("wanted %d bytes, got %r" % (n, data))
        return data

    def drain(self, quiet=0.2):
        old = self.s.timeout
        self.s.timeout = quiet
        data = b""
        while True:
            c = self.s.read(4096)
            if not c:
                break
            data += c
        self.s.timeout = old
        return data

    def expect(self, what, want):
        got = self.read(len(want))
        if got != want:
            got += self.drain()
            raise AssertionError("%s: expected %r, got %r" % (what, want, got))

    def raw(self):
        # Friendly REPL -> raw REPL, as pyboard.py does.
        self.write(b"\r\x03")
        time.sleep(0.1)
        self.drain()
        self.write(b"\r\x01")
        self.read_until(b"raw REPL; CTRL-B to exit\r\n>")

    def paste(self, letter=b"A"):
        # Raw-paste negotiation: returns the window increment.
        self.write(b"\x05" + letter + b"\x01")
        self.expect("negotiation", b"R\x01")
        w = struct.unpack("<H", self.read(2))[0]
        self.expect("second window", b"\x01")
        return w

    def paste_send(self, data, w, end=b"\x04"):
        # A.3 step 5 as pyboard.py does it; returns the bytes read that were
        # not credits (b"\x04" when the device ended the data early).
        remain = w
        i = 0
        while i < len(data):
            while remain == 0 or self.s.in_waiting:
                c = self.read(1)
                if c == b"\x01":
                    remain += w
                elif c == b"\x04":
                    self.write(b"\x04")
                    return c
                else:
                    raise AssertionError("unexpected read during raw paste: %r" % c)
            chunk = data[i:i + remain]
            self.write(chunk)
            remain -= len(chunk)
            i += len(chunk)
        self.write(end)
        return b""


def crc32(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def block(kind, seq, payload):
    body = kind + bytes([seq & 0xFF]) + struct.pack("<H", len(payload)) + payload
    return b"\xa5" + body + struct.pack("<I", crc32(body))
