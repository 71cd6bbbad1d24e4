"""A small reference host of proto/PROTOCOL.md B.5 (native file transfer).

Used by the tests of tests/pyexec (file-*.test) against firmware/pyexec, and
by hand:

    filehost.py PORT put LOCAL REMOTE [--resume] [--parents] [--base NAME]
    filehost.py PORT get REMOTE LOCAL [--offset N]
    filehost.py PORT info

Exit status: 0 done, 1 the board refused or failed (its CAN text on
stderr), 2 bad command line, 3 protocol error or timeout.
The hooks of put() and get() (corrupt, stop_after, nak, abort_after...) damage
the exchange on purpose, for the tests.
"""

import hashlib
import struct
import sys
import time
import zlib

import serial

SYNC = 0xA5
ACK, NAK, CAN = 0x06, 0x15, 0x18
RESYNC = b"\xa5\x5a\xa5\x5aSYNC"
F_RESUME, F_PARENTS = 0x01, 0x02


class Can(Exception):
    """The board ended the transfer with CAN + text + \\x04."""

    def __init__(self, text):
        Exception.__init__(self, text)
        self.text = text


class ProtocolError(Exception):
    pass


def block(typ, seq, payload):
    body = bytes([ord(typ), seq & 0xFF]) + struct.pack("<H", len(payload)) + payload
    return bytes([SYNC]) + body + struct.pack("<I", zlib.crc32(body))


class FileHost:
    def __init__(self, port, timeout=15):
        self.s = serial.Serial(port, timeout=timeout)
        self.timeout = timeout
        self.naks_seen = 0
        self.getting = False

    # -- link ----------------------------------------------------------------

    def read(self, n):
        data = b""
        deadline = time.monotonic() + self.timeout
        while len(data) < n:
            data += self.s.read(n - len(data))
            if len(data) < n and time.monotonic() > deadline:
                raise ProtocolError("timeout: wanted %d bytes, got %r" % (n, data[-100:]))
        return data

    def read_until(self, end, timeout=None):
        data = b""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not data.endswith(end):
            if time.monotonic() > deadline:
                raise ProtocolError("timeout waiting for %r, got %r" % (end, data[-200:]))
            data += self.s.read(1)
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

    def raw(self):
        # Friendly REPL -> raw REPL, as pyboard.py does.
        self.s.write(b"\r\x03")
        time.sleep(0.1)
        self.drain()
        self.s.write(b"\r\x01")
        self.read_until(b"raw REPL; CTRL-B to exit\r\n>")

    def exec(self, code):
        # A raw REPL program (A.2): returns (output, exception text).
        self.s.write(code.encode() + b"\x04")
        self.read_until(b"OK")
        out = self.read_until(b"\x04", 60)[:-1]
        err = self.read_until(b"\x04", 60)[:-1]
        self.read_until(b">")
        return out, err

    def eval(self, expr):
        out, err = self.exec("print(repr(%s))" % expr)
        if err:
            raise ProtocolError("board: %s" % err.decode(errors="replace"))
        return eval(out.decode())

    def info(self):
        self.s.write(b"\x05I\x01")
        r = self.read(2)
        if r != b"R\x01":
            self.read_until(b">")
            return None
        n = self.read(1)[0]
        rec = self.read(n)
        self.read_until(b">")
        return rec

    # -- B.5 -----------------------------------------------------------------

    def start(self):
        # Returns (B, K), or None when the board refuses (R\x00>).
        self.s.write(b"\x05F\x01")
        r = self.read(2)
        if r == b"R\x00":
            self.read_until(b">")
            return None
        if r != b"R\x01":
            raise ProtocolError("negotiation: %r" % (r + self.drain()))
        b, k = struct.unpack("<HB", self.read(3))
        self.B, self.K = b, k
        return b, k

    def _can(self):
        # After CAN: the text up to \x04, then \x04 from us (not once a get
        # sends blocks: the board then waits for 100 ms of quiet), then '>'.
        text = self.read_until(b"\x04")[:-1].decode(errors="replace")
        if not self.getting:
            self.s.write(b"\x04")
        self.read_until(b">", self.timeout + 15)
        raise Can(text.strip())

    def _byte(self, timeout=None):
        old = self.s.timeout
        if timeout is not None:
            self.s.timeout = timeout
        c = self.s.read(1)
        self.s.timeout = old
        if not c:
            raise ProtocolError("timeout waiting for the board")
        if c[0] == CAN:
            self._can()
        return c[0]

    def _reply(self, want_op):
        # ACK of block 0, then a reply record (or CAN).
        c = self._byte()
        seq = self.read(1)[0]
        if (c, seq) != (ACK, 0):
            raise ProtocolError("request: %r" % bytes([c, seq]))
        op = self._byte()
        if op != ord(want_op):
            raise ProtocolError("reply record: %r" % bytes([op]))
        n, h = struct.unpack("<I32s", self.read(36))
        return n, h

    def _request(self, op, flags, n, path):
        p = path.encode() if isinstance(path, str) else path
        self.s.write(block("D", 0, bytes([ord(op), flags]) + struct.pack("<I", n) + p))

    def put(self, data, path, base=None, resume=False, parents=False, block_size=None,
            corrupt=(), bad_hash=False, stop_after=None, bad_start=False, abort_at=None, shrink=True):
        """Sends data to path; returns the offset it started from (O or 0).

        corrupt: indices of stream blocks (0 = the start-offset block) sent
        with a flipped payload byte, once per time listed; stop_after: stop writing after so
        many data blocks and wait for the board's CAN (a receive timeout);
        abort_at: send an X block in place of that stream block.
        """
        neg = self.start()
        if neg is None:
            raise Can("refused")
        bmax, k = neg
        bs = min(block_size or bmax, bmax)
        rpath = path.encode() + (b"\x00" + base.encode() if base else b"")
        flags = (F_RESUME if resume else 0) | (F_PARENTS if parents else 0)
        self._request("P", flags, len(data), rpath)
        o, h = self._reply("P")
        s = o if o and o <= len(data) and hashlib.sha256(data[:o]).digest() == h else 0
        if bad_start:
            s = len(data) + 1
        sha = hashlib.sha256(data).digest()
        if bad_hash:
            sha = bytes([sha[0] ^ 1]) + sha[1:]
        # The stream after the request: start offset, data, E.
        def tail(at, bs):
            # Data blocks from offset at, then E: (type, payload, offset).
            t = [("D", data[i:i + bs], i) for i in range(at, len(data), bs)]
            return t + [("E", sha, len(data))]

        chunks = [("D", struct.pack("<I", s), s)] + tail(s, bs)
        corrupt = list(corrupt)
        acked = sent = 0
        while acked < len(chunks):
            while sent < len(chunks) and sent - acked < k:
                if stop_after is not None and sent >= stop_after + 1:
                    break
                typ, payload, _ = chunks[sent]
                if sent == abort_at:
                    typ, payload = "X", b""
                b = block(typ, sent + 1, payload)
                if sent in corrupt:
                    corrupt.remove(sent)
                    b = b[:5] + bytes([b[5] ^ 0x40]) + b[6:]
                self.s.write(b)
                sent += 1
            if stop_after is not None and sent >= stop_after + 1 and acked == sent:
                # The host "dies": no more blocks; the board times out.
                self._byte(self.timeout + 15)
                raise ProtocolError("no CAN after the host went silent")
            c = self._byte()
            seq = self.read(1)[0]
            if c == ACK and seq == (acked + 1) & 0xFF:
                acked += 1
            elif c == NAK and (seq - (acked + 1)) & 0xFF < sent - acked:
                self.naks_seen += 1
                acked += (seq - (acked + 1)) & 0xFF
                sent = acked
                self.s.write(RESYNC)
                if shrink and acked > 0 and bs > 64:
                    # A noisy or overflowing line: shorter blocks from here.
                    bs //= 2
                    chunks[acked:] = tail(chunks[acked][2], bs)
            else:
                raise ProtocolError("put: reply %r" % bytes([c, seq]))
        if self.read(1) != b">":
            raise ProtocolError("put: no '>' at the end")
        return s

    def get(self, path, offset=0, nak=(), abort_after=None):
        """Returns the file's bytes from offset on, checked by size and SHA-256.

        nak: indices of blocks (0 = the first D block) answered with a NAK,
        once per time listed; abort_after: answer the block after so many with b"X".
        """
        if self.start() is None:
            raise Can("refused")
        self._request("G", 0, offset, path)
        size, h = self._reply("G")
        self.getting = True
        try:
            return self._get_blocks(size, h, offset, list(nak), abort_after)
        finally:
            self.getting = False

    def _resync(self):
        # After our NAK: whole blocks still in flight, then RESYNC (or CAN).
        while True:
            if self._byte() != SYNC:
                raise ProtocolError("get: no RESYNC after a NAK")
            c = self.read(1)
            if c == RESYNC[1:2]:
                if self.read(6) != RESYNC[2:]:
                    raise ProtocolError("get: bad RESYNC")
                return
            hdr = self.read(3)
            self.read((hdr[1] | hdr[2] << 8) + 4)

    def _get_blocks(self, size, h, offset, nak, abort_after):
        data = bytearray()
        i = 0
        while True:
            # A block: sync, type, seq, length, payload, CRC.
            c = self._byte()
            if c != SYNC:
                raise ProtocolError("get: byte %#x instead of a block" % c)
            hdr = self.read(4)
            typ, seq, n = hdr[0], hdr[1], hdr[2] | hdr[3] << 8
            payload = self.read(n)
            crc = struct.unpack("<I", self.read(4))[0]
            if crc != zlib.crc32(hdr + payload) or seq != (i + 1) & 0xFF:
                raise ProtocolError("get: bad block %d" % i)
            if abort_after is not None and i == abort_after:
                self.s.write(b"X")
                # The board answers CAN; whole blocks in flight come first.
                while True:
                    if self._byte() == SYNC:
                        hdr = self.read(4)
                        self.read((hdr[2] | hdr[3] << 8) + 4)
            if i in nak:
                nak.remove(i)
                self.s.write(bytes([NAK, seq]))
                self.naks_seen += 1
                self._resync()
                continue
            self.s.write(bytes([ACK, seq]))
            i += 1
            if typ == ord("E"):
                break
            data += payload
        if self.read(1) != b">":
            raise ProtocolError("get: no '>' at the end")
        if len(data) != size - offset:
            raise ProtocolError("get: %d bytes, board said %d" % (len(data), size - offset))
        if offset == 0 and hashlib.sha256(data).digest() != h:
            raise ProtocolError("get: SHA-256 mismatch")
        return bytes(data)


def main(argv):
    import argparse

    ap = argparse.ArgumentParser(prog="filehost.py")
    ap.add_argument("port")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("put")
    p.add_argument("local")
    p.add_argument("remote")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--parents", action="store_true")
    p.add_argument("--base")
    g = sub.add_parser("get")
    g.add_argument("remote")
    g.add_argument("local")
    g.add_argument("--offset", type=int, default=0)
    sub.add_parser("info")
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    try:
        h = FileHost(a.port)
        h.raw()
        t0 = time.monotonic()
        if a.cmd == "put":
            with open(a.local, "rb") as f:
                data = f.read()
            h.put(data, a.remote, base=a.base, resume=a.resume, parents=a.parents)
            n = len(data)
        elif a.cmd == "get":
            data = h.get(a.remote, offset=a.offset)
            with open(a.local, "wb") as f:
                f.write(data)
            n = len(data)
        else:
            print(h.info().hex())
            return 0
        dt = time.monotonic() - t0
        print("%s %d bytes in %.3f s: %.2f MB/s, %d NAKs" % (a.cmd, n, dt, n / dt / 1e6 if dt else 0, h.naks_seen))
        return 0
    except Can as e:
        sys.stderr.write("filehost.py: board: %s\n" % e.text)
        return 1
    except (ProtocolError, serial.SerialException, OSError) as e:
        sys.stderr.write("filehost.py: %s\n" % e)
        return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
