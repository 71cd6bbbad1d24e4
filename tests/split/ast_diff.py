# Compare the statement splitter with CPython's ast: for every .py file
# given (or found under a directory given), the boundaries split_run reports
# must be exactly the first bytes of the lines where the top-level
# statements after the first begin (for a decorated def or class, the first
# decorator's line).
# Usage: ast_diff.py SPLIT_RUN PATH...
# Exit codes: 0 all equal, 1 a mismatch (the first is shown), 2 bad usage
# or nothing compared.
import ast
import os
import re
import subprocess
import sys
import warnings

NEWLINE = re.compile(rb"\r\n|\r|\n")


def line_starts(data):
    starts = [0, 0]  # 1-based
    for m in NEWLINE.finditer(data):
        starts.append(m.end())
    return starts


def expected(data):
    # Returns the boundary offsets, or a reason to skip the file.
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "not parsed by CPython"
    starts = line_starts(data)
    offs = []
    prev_end = 0
    for node in tree.body:
        first = node
        if getattr(node, "decorator_list", None):
            first = node.decorator_list[0]
        if first.lineno == prev_end:
            # after a `;`: the same logical line
            prev_end = node.end_lineno
            continue
        off = starts[first.lineno]
        if node.col_offset != 0 or data[off : off + 1] in (b"\f", b" ", b"\t"):
            # CPython resets the column at a form feed; MicroPython's lexer
            # counts it as indentation, so such a file is not valid there
            return "form feed before a top-level statement"
        if prev_end:
            offs.append(off)
        else:
            off = 0  # the first statement's batch starts at byte 0
        if is_const_def(data, starts, tree.body, node):
            offs.append("c%d" % off)
        prev_end = node.end_lineno
    return len(tree.body), offs


def byte_offset(starts, line, col):
    return starts[line] + col


CONST_GAP = re.compile(rb"^(?:[ \t\f]|\\(?:\r\n|\r|\n))*=(?:[ \t\f]|\\(?:\r\n|\r|\n))*$")


def is_const_def(data, starts, body, node):
    # `NAME = const(...)` alone on its logical line, as the splitter sees it
    if not (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "const"
    ):
        return False
    i = body.index(node)
    if i + 1 < len(body) and body[i + 1].lineno == node.end_lineno:
        return False
    t = node.targets[0]
    gap = data[byte_offset(starts, t.end_lineno, t.end_col_offset) : byte_offset(starts, node.value.lineno, node.value.col_offset)]
    func = node.value.func
    paren = data[byte_offset(starts, func.end_lineno, func.end_col_offset) :]
    return bool(CONST_GAP.match(gap)) and re.match(rb"[ \t\f]*\(", paren) is not None


def files_of(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs.sort()
                for n in sorted(names):
                    if n.endswith(".py"):
                        yield os.path.join(root, n)
        else:
            yield p


def context(data, off, n=3):
    starts = line_starts(data)[1:]
    line = max(i for i, s in enumerate(starts) if s <= off)
    out = []
    for i in range(max(0, line - n), min(len(starts), line + n + 1)):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        mark = ">>" if i == line else "  "
        out.append("  %s %5d: %r" % (mark, i + 1, data[starts[i] : end]))
    return "\n".join(out)


def main():
    if len(sys.argv) < 3:
        print("usage: ast_diff.py SPLIT_RUN PATH...", file=sys.stderr)
        return 2
    split_run = sys.argv[1]
    todo = {}
    skipped = {}
    for path in files_of(sys.argv[2:]):
        with open(path, "rb") as f:
            data = f.read()
        e = expected(data)
        if isinstance(e, str):
            skipped[e] = skipped.get(e, 0) + 1
        else:
            todo[path] = (data,) + e
    paths = list(todo)
    got = {}
    for i in range(0, len(paths), 200):
        out = subprocess.run(
            [split_run, "-q"] + paths[i : i + 200], stdout=subprocess.PIPE, check=True
        ).stdout
        for line in out.decode("utf-8", "surrogateescape").splitlines():
            name, _, offs = line.partition("\t")
            got[name] = [x if x[0] == "c" else int(x) for x in offs.split()]
    stmts = 0
    boundaries = 0
    consts = 0
    for path in paths:
        data, n, want = todo[path]
        have = got.get(path)
        if have != want:
            print("MISMATCH in %s" % path)
            have = have or []
            for i in range(max(len(want), len(have))):
                w = want[i] if i < len(want) else None
                h = have[i] if i < len(have) else None
                if w != h:
                    break
            print("  CPython:  ...%s" % want[max(0, i - 2) : i + 3])
            print("  splitter: ...%s" % have[max(0, i - 2) : i + 3])
            at = w if isinstance(w, str) or not isinstance(h, str) else h
            if isinstance(at, str):
                at = int(at[1:])
                print("the const definition verdicts differ for the statement at byte %d:" % at)
            elif w is not None and (h is None or w < h):
                print("CPython has a statement at byte %d, the splitter missed it:" % w)
            else:
                at = h
                print("the splitter reports byte %d, where CPython starts no statement:" % at)
            print(context(data, at))
            return 1
        stmts += n
        boundaries += sum(1 for x in want if isinstance(x, int))
        consts += len(want) - sum(1 for x in want if isinstance(x, int))
    skips = ", ".join("%d %s" % (n, why) for why, n in sorted(skipped.items()))
    print(
        "%d files, %d statements, %d boundaries, %d const definitions compared with CPython %d.%d; skipped: %s"
        % (len(paths), stmts, boundaries, consts, sys.version_info[0], sys.version_info[1], skips or "none")
    )
    return 0 if paths else 2


if __name__ == "__main__":
    sys.exit(main())
