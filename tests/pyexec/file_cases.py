"""The B.5 cases of tests/pyexec/file-*.test, run against one board.

    file_cases.py PORT KIND [CASE...]

KIND: "sim" (build/sim-board or -asan, littlefs at /), "qemu" (a RAM disk
is mounted at /ram first), "nospace" (a board with a small filesystem),
"upstream" (must refuse F with R\\x00). Prints "ok CASE" per case; any
failure ends with a traceback (exit 1).
"""

import hashlib
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from filehost import Can, FileHost  # noqa: E402

RAMDISK = """
import vfs
class _RAM:
    def __init__(self, n):
        self.d = bytearray(n * 512)
        self.m = memoryview(self.d)
    def readblocks(self, b, buf, off=0):
        a = b * 512 + off
        buf[:] = self.m[a:a + len(buf)]
    def writeblocks(self, b, buf, off=0):
        a = b * 512 + off
        self.m[a:a + len(buf)] = buf
    def ioctl(self, op, arg):
        if op == 4:
            return len(self.d) // 512
        if op == 5:
            return 512
        if op == 6:
            return 0
_b = _RAM(%d)
vfs.VfsLfs2.mkfs(_b)
vfs.mount(vfs.VfsLfs2(_b), '/ram')
"""

rnd = random.Random(5)


def data(n, byte=None):
    if byte is not None:
        return bytes([byte]) * n
    return bytes(rnd.getrandbits(8) for _ in range(n)) if n < 65536 else rnd.randbytes(n)


class Cases:
    def __init__(self, port, kind):
        self.h = FileHost(port)
        self.kind = kind
        self.root = "/ram" if kind == "qemu" else ""
        self.h.raw()
        if kind == "qemu":
            out, err = self.h.exec(RAMDISK % 1024)
            assert not err, err

    def p(self, name):
        return self.root + name

    # board-side checks through plain Python programs (independent of F)
    def exists(self, path):
        # The size of path, None when it does not exist.
        out, err = self.h.exec("import os\ntry:\n print(os.stat(%r)[6])\nexcept OSError:\n print(None)" % path)
        assert not err, err
        return eval(out.decode())

    def board_sha(self, path):
        out, err = self.h.exec(
            "import hashlib\nh=hashlib.sha256()\nb=bytearray(512)\nf=open(%r,'rb')\n"
            "while 1:\n n=f.readinto(b)\n if not n:break\n h.update(b[:n])\nf.close()\n"
            "print(h.digest().hex())" % path)
        assert not err, err
        return bytes.fromhex(out.decode().strip())

    def roundtrip(self, path, d, **kw):
        self.h.put(d, path, **kw)
        back = self.h.get(path)
        assert back == d, "%s: %d bytes back, %d sent" % (path, len(back), len(d))
        assert self.board_sha(path) == hashlib.sha256(d).digest(), path
        assert self.exists(path + ".part") is None, path + ".part left"

    def expect_can(self, want, fn, *a, **kw):
        try:
            fn(*a, **kw)
        except Can as e:
            assert want in e.text, "CAN %r, wanted %r" % (e.text, want)
            return e.text
        raise AssertionError("no CAN (wanted %r)" % want)

    # -- the cases -----------------------------------------------------------

    def case_info(self):
        rec = self.h.info()
        assert rec[1] & 4, "capability flag bit 2 (F) not set: %r" % rec

    def case_example(self):
        # The native put example of proto/PROTOCOL.md B.5, byte for byte.
        from filehost import block
        h = self.h
        path = self.p("/a").encode()
        h.s.write(b"\x05F\x01")
        assert h.read(5) == b"R\x01\x00\x08\x04"
        h.s.write(block("D", 0, b"P\x00\x02\x00\x00\x00" + path))
        assert h.read(39) == b"\x06\x00" + b"P\x00\x00\x00\x00" + 32 * b"\x00"
        h.s.write(block("D", 1, b"\x00\x00\x00\x00"))
        h.s.write(block("D", 2, b"hi"))
        assert h.read(4) == b"\x06\x01\x06\x02"
        h.s.write(block("E", 3, hashlib.sha256(b"hi").digest()))
        assert h.read(3) == b"\x06\x03>"
        assert h.get(self.p("/a")) == b"hi"

    def case_sizes(self):
        sizes = [0, 1, 4095, 4096, 4097]
        sizes.append(1 << 20 if self.kind == "sim" else 65536)
        for i, n in enumerate(sizes):
            self.roundtrip(self.p("/rt/f%d.bin" % n), data(n), parents=(i == 0))
        # A put over an existing file replaces it.
        self.roundtrip(self.p("/rt/f1.bin"), b"again")

    def case_offset(self):
        d = data(5000)
        self.h.put(d, self.p("/off.bin"))
        assert self.h.get(self.p("/off.bin"), offset=1000) == d[1000:]
        assert self.h.get(self.p("/off.bin"), offset=5000) == b""
        self.expect_can("EINVAL", self.h.get, self.p("/off.bin"), offset=5001)

    def case_corrupt(self):
        # A damaged block: NAK, resync, sent again; the file is right. The
        # file spans the same number of the board's blocks whatever its B.
        self.h.put(b"x", self.p("/cor.bin"))
        # Damaged blocks more than K apart: each is sent before the next NAK
        # (one in the window behind a NAK is discarded unread).
        d = data(9000 * self.h.B // 1024)
        k = self.h.K
        n0 = self.h.naks_seen
        self.roundtrip(self.p("/cor.bin"), d, corrupt=[0, k + 1, 2 * k + 2])
        assert self.h.naks_seen - n0 == 3, self.h.naks_seen - n0
        # 16 NAKs in a row are tolerated, the 17th is a CAN
        self.roundtrip(self.p("/cor16.bin"), d, corrupt=[2] * 16)
        t = self.p("/cor17.bin")
        self.expect_can("too many bad blocks", self.h.put, d, t, corrupt=[2] * 17)
        assert self.exists(t + ".part") is None, ".part left"
        n0 = self.h.naks_seen - 3
        # and the other way: the host NAKs blocks of a get
        back = self.h.get(self.p("/cor.bin"), nak=[0, 4, 8, 9])
        assert back == d
        assert self.h.naks_seen - n0 == 7
        assert self.h.get(self.p("/cor.bin"), nak=[1] * 16) == d
        self.expect_can("too many bad blocks", self.h.get, self.p("/cor.bin"), nak=[1] * 17)
        assert self.h.eval("6*7") == 42

    def case_badhash(self):
        t = self.p("/bh.txt")
        self.h.put(b"old", t)
        self.expect_can("SHA-256 mismatch", self.h.put, data(3000), t, bad_hash=True)
        assert self.h.get(t) == b"old", "target touched"
        assert self.exists(t + ".part") is None, ".part left"
        self.expect_can("bad start offset", self.h.put, data(3000), t, bad_start=True)
        assert self.exists(t + ".part") is None, ".part left"
        # the host's X block (abort) mid-file
        self.expect_can("KeyboardInterrupt", self.h.put, data(8000), t, abort_at=3)
        assert self.h.get(t) == b"old", "target touched"
        assert self.exists(t + ".part") is None, ".part left"

    def case_parents(self):
        d = data(100)
        self.expect_can("ENOENT", self.h.put, d, self.p("/nod/x.bin"))
        assert self.exists(self.p("/nod")) is None
        self.roundtrip(self.p("/nod/deep/er/x.bin"), d, parents=True)
        # DEST\0BASE: an existing directory gets DEST/BASE.
        self.h.put(d, self.p("/nod"), base="y.bin")
        assert self.h.get(self.p("/nod/y.bin")) == d
        self.h.put(d, self.p("/nod/"), base="z.bin")
        assert self.h.get(self.p("/nod/z.bin")) == d
        # A DEST that is not a directory is the target itself.
        self.h.put(b"w", self.p("/nod/w.bin"), base="ignored")
        assert self.h.get(self.p("/nod/w.bin")) == b"w"
        assert self.exists(self.p("/nod/w.bin/ignored")) is None

    def case_get_errors(self):
        self.expect_can("OSError: [Errno 2] ENOENT", self.h.get, self.p("/missing.bin"))
        d = data(20000)
        self.h.put(d, self.p("/ab.bin"))
        self.expect_can("OSError: aborted by host", self.h.get, self.p("/ab.bin"), abort_after=3)
        # the board is back at the raw REPL and works
        assert self.h.eval("6*7") == 42
        assert self.h.get(self.p("/ab.bin")) == d

    def case_resume(self):
        # The host stops after 5 blocks: the board's receive timeout (a CAN)
        # keeps TARGET.part; a resumed put continues from its end.
        t = self.p("/res.bin")
        d = data(20000)
        self.expect_can("ETIMEDOUT", self.h.put, d, t, stop_after=5, block_size=1024)
        assert self.exists(t) is None
        kept = self.exists(t + ".part")
        assert kept == 5 * 1024, "kept %r" % kept
        s = self.h.put(d, t, resume=True)
        assert s == kept, "started from %d" % s
        assert self.h.get(t) == d
        assert self.exists(t + ".part") is None
        # A .part that is not a prefix of the file: the host starts at 0.
        self.expect_can("ETIMEDOUT", self.h.put, data(20000), t, stop_after=2)
        s = self.h.put(d, t, resume=True)
        assert s == 0, "started from %d" % s
        assert self.h.get(t) == d

    def case_nospace(self):
        t = self.p("/ns.bin")
        self.h.put(b"keep", t)
        # 0x04 bytes everywhere: the blocks in flight after the CAN are
        # skipped whole, not taken for the host's end byte.
        self.expect_can("28", self.h.put, data(400000, 4), t)  # ENOSPC
        assert self.h.get(t) == b"keep", "target touched"
        assert self.exists(t + ".part") is None, ".part left"
        assert self.h.eval("6*7") == 42

    def case_upstream(self):
        assert self.h.start() is None, "stock board accepted F"
        assert self.h.eval("6*7") == 42


def main():
    port, kind = sys.argv[1], sys.argv[2]
    names = sys.argv[3:]
    c = Cases(port, kind)
    for name in names:
        getattr(c, "case_" + name)()
        print("ok", name, flush=True)


if __name__ == "__main__":
    main()
