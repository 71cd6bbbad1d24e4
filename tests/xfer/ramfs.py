# Run on a board without a filesystem (the qemu boards): mount a RAM disk at
# /ram, littlefs on a RAM block device when the firmware has vfs.VfsLfs2,
# else a small filesystem in Python. Prints the kind mounted.
import vfs


class RAMBlock:
    def __init__(self, n, size=512):
        self.size = size
        self.data = bytearray(n * size)

    def readblocks(self, n, buf, off=0):
        a = n * self.size + off
        buf[:] = self.data[a : a + len(buf)]

    def writeblocks(self, n, buf, off=None):
        a = n * self.size + (off or 0)
        self.data[a : a + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return len(self.data) // self.size
        if op == 5:  # block size
            return self.size
        if op == 6:  # erase
            return 0


class PyFile:
    def __init__(self, fs, p, mode):
        if "w" in mode or ("a" in mode and p not in fs.files):
            fs.files[p] = bytearray()
        if p not in fs.files:
            raise OSError(2)
        self.b = fs.files[p]
        self.pos = len(self.b) if "a" in mode else 0

    def write(self, b):
        self.b.extend(b)
        self.pos = len(self.b)
        return len(b)

    def readinto(self, m):
        n = min(len(m), len(self.b) - self.pos)
        m[:n] = self.b[self.pos : self.pos + n]
        self.pos += n
        return n

    def seek(self, o, w=0):
        self.pos = o if w == 0 else self.pos + o if w == 1 else len(self.b) + o
        return self.pos

    def tell(self):
        return self.pos

    def flush(self):
        pass

    def close(self):
        pass


class PyFS:
    def __init__(self):
        self.files = {}
        self.dirs = {""}

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def _p(self, p):
        return p.rstrip("/").lstrip("/")

    def open(self, p, mode):
        return PyFile(self, self._p(p), mode)

    def stat(self, p):
        p = self._p(p)
        if p in self.dirs:
            return (0x4000, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        if p in self.files:
            return (0x8000, 0, 0, 0, 0, 0, len(self.files[p]), 0, 0, 0)
        raise OSError(2)

    def ilistdir(self, p):
        p = self._p(p)
        pre = p + "/" if p else ""
        for n in sorted(self.dirs | set(self.files)):
            if n and n.startswith(pre) and "/" not in n[len(pre) :]:
                yield (n[len(pre) :], 0x4000 if n in self.dirs else 0x8000, 0)

    def mkdir(self, p):
        p = self._p(p)
        if p in self.dirs or p in self.files:
            raise OSError(17)
        self.dirs.add(p)

    def rmdir(self, p):
        self.dirs.remove(self._p(p))

    def remove(self, p):
        p = self._p(p)
        if p not in self.files:
            raise OSError(2)
        del self.files[p]

    def rename(self, a, b):
        self.files[self._p(b)] = self.files.pop(self._p(a))

    def statvfs(self, p):
        return (512, 512, 4096, 2048, 2048, 0, 0, 0, 0, 255)


if hasattr(vfs, "VfsLfs2"):
    bdev = RAMBlock(2560)  # 1.25 MB: a 1 MB file and the small ones
    vfs.VfsLfs2.mkfs(bdev)
    vfs.mount(vfs.VfsLfs2(bdev), "/ram")
    print("lfs2")
else:
    vfs.mount(PyFS(), "/ram")
    print("pyfs")
