"""A relay between a board's pty link and a new pty of its own that changes
what run --mpy relies on: mpyrun-relay.py MODE BOARD_LINK NEW_LINK.
MODE facts: the board's facts come back with another .mpy version (mpy 5);
check: their checksum line is lost; nosha: the board seems to lack
hashlib.sha256 (the preparation's import of it fails); nompy: the facts'
program is damaged on its way and asks for another attribute than _mpy;
keep: the removal of the .mpy in the run's finally names another file;
keepall: so does the checked removal that follows it.
The facts are changed once the host has sent their program, only what may
start a match is held back (20 ms at most): the protocol's bytes pass at once."""
import os, re, select, sys, tty

mode, board_link, new_link = sys.argv[1:4]
# Host to board: what to change, and into what.
FINALLY = (b"  __import__('os').remove(b'", b"  __import__('os').remove(b'Z")
UP = {"nosha": [(b"from hashlib import sha256;", b"from hashlib import sha25X;")],
      "nompy": [(b"'_mpy'", b"'_mpX'")],
      "keep": [FINALLY],
      "keepall": [FINALLY, (b"  os.remove(n)\n", b"  os.remove(n+'Z')\n")]}
if mode not in ("facts", "check") and mode not in UP:
    sys.exit("mpyrun-relay.py: unknown mode %s" % mode)
armed = [False]  # the facts' program went up, their answer is not changed yet


def down(b):
    """Board to host: (bytes to pass, bytes held)."""
    if not armed[0] or mode in UP:
        return b, b""
    # A line starts after \n, or the raw REPL's OK, or raw-paste's \x04.
    if mode == "facts":
        b, n = re.subn(rb"(?<=[\nK\x04])mpy \d+(?=\r?\n)", b"mpy 5", b)
        part = rb"([\nK\x04](m(p(y( \d*\r?)?)?)?)?)?"
    else:
        b, n = re.subn(rb"\ncheck \d+\r?\n", b"\n", b)
        part = rb"([\nK\x04](c(h(e(c(k( \d*\r?)?)?)?)?)?)?)?"
    if n:
        armed[0] = False
        return b, b""
    i = max(b.rfind(b"\n"), b.rfind(b"K"), b.rfind(b"\x04"))
    if i >= 0 and re.fullmatch(part, b[i:]):
        return b[:i], b[i:]
    return b, b""


def up(b):
    """Host to board: (bytes to pass, bytes held)."""
    if mode not in UP:
        armed[0] = armed[0] or b"_mpu_info(" in b
        return b, b""
    for a, z in UP[mode]:
        b = b.replace(a, z)
    for k in range(min(len(b), max(len(a) for a, _ in UP[mode]) - 1), 0, -1):
        if any(a.startswith(b[-k:]) for a, _ in UP[mode]):
            return b[:-k], b[-k:]
    return b, b""


board = os.open(board_link, os.O_RDWR | os.O_NOCTTY)
tty.setraw(board)
master, slave = os.openpty()
tty.setraw(slave)  # the slave stays open here: the host may come and go
if os.path.lexists(new_link):
    os.unlink(new_link)
os.symlink(os.ttyname(slave), new_link)
route = {master: (board, up), board: (master, down)}
pend = {master: b"", board: b""}
while True:
    r, _, _ = select.select(list(route), [], [], 0.02 if any(pend.values()) else None)
    if not r:
        for fd in pend:
            os.write(route[fd][0], pend[fd])
            pend[fd] = b""
    for fd in r:
        try:
            d = os.read(fd, 65536)
        except OSError:
            d = b""
        if not d:
            if fd == board:
                sys.exit(0)
            continue
        out, pend[fd] = route[fd][1](pend[fd] + d)
        os.write(route[fd][0], out)
