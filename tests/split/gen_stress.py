# Write a deterministic random Python module that is valid for CPython and
# full of what the statement splitter must get right: nested blocks,
# else/elif/except/finally after column-0 comments and blank lines,
# decorators, names that start like keywords, strings of every kind,
# brackets over lines with column-0 content, backslash continuations,
# const definitions and near misses, and CR LF or lone CR line endings.
# Usage: gen_stress.py SEED STATEMENTS OUT
import ast
import random
import sys

NAMES = ["x", "elsewhere", "else_", "elif2", "exceptional", "finally_", "fin", "e", "f", "é", "_C", "r", "rb", "fr"]
PREFIXES = ["", "r", "b", "u", "f", "rb", "br", "Rb", "bR", "rf", "fR", "Fr", "RB", "U", "F"]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        # one unit per module: CPython rejects tabs and spaces mixed ambiguously
        self.indent = self.r.choice(["    ", "  ", "\t", " \t"])

    def name(self):
        return self.r.choice(NAMES) + self.r.choice(["", "", "1", "_x"])

    def string(self):
        r = self.r
        p = r.choice(PREFIXES)
        q = r.choice(["'", '"', "'''", '"""'])
        for _ in range(20):
            s = "".join(r.choice(self.pieces(q, p)) for _ in range(r.randint(0, 6)))
            lit = p + q + s + q
            try:
                # one literal: pieces can combine into a closing quote
                if isinstance(ast.parse("(%s)" % lit, mode="eval").body, (ast.Constant, ast.JoinedStr)):
                    return lit
            except SyntaxError:
                pass
        return p + q + "x" + q

    def pieces(self, q, p):
        other = '"' if q[0] == "'" else "'"
        raw = "r" in p.lower()
        out = ["abc", " ", "# not a comment", other, other * 3, "é", "\\\\", "\\" + q[0], "( [ {", ") ] }", "@x", "else:"]
        if "f" in p.lower():
            out = [x.replace("{", "{{").replace("}", "}}") for x in out]
            out += ["{x}", "{x!r:>4}", "{%sk%s}" % (other, other), "{{lit}}"]
        if not raw:
            out += ["\\n", "\\t"]
        if "b" in p.lower():
            out = [x for x in out if x.isascii()]
        if len(q) == 3:
            out += ["\n", "\nelse:\n", "\n# col 0\n", "\ndef f():\n", q[0], q[0] * 2 + "x", "\\" + q, "\\\n"]
        else:
            out += ["\\\nelse: x\\\n"]
        return out

    def expr(self, depth=0):
        r = self.r
        k = r.randint(0, 9 if depth < 3 else 3)
        if k == 0:
            return str(r.randint(0, 99))
        if k == 1:
            return self.name()
        if k in (2, 3):
            return self.string()
        if k == 4:
            return "(%s\n%s)" % (self.expr(depth + 1), r.choice(["", " ", "# c ' \"\n"]))
        if k == 5:
            items = [self.expr(depth + 1) for _ in range(r.randint(0, 3))]
            sep = r.choice([", ", ",\n", ",\n# col 0 comment\n", ",\n\n", ", \\\n"])
            o, c = r.choice(["[]", "()", "{}"])
            if o == "(" and len(items) == 1:
                items.append("")
            return o + sep.join(items) + c
        if k == 6:
            return "%s %s %s" % (self.expr(depth + 1), r.choice(["+", "if x else", "@", "==", "and"]), self.expr(depth + 1))
        if k == 7:
            return "%s \\\n %s" % (self.expr(depth + 1), "+ " + self.expr(depth + 1))
        if k == 8:
            return "{%s: %s}" % (self.expr(depth + 1), self.expr(depth + 1))
        return "%s(%s)" % (self.name(), self.expr(depth + 1))

    def simple(self):
        r = self.r
        k = r.randint(0, 12)
        if k == 0:
            return "%s = %s" % (self.name(), self.expr())
        if k == 1:
            return self.expr()
        if k == 2:
            return "%s = %s; %s" % (self.name(), self.expr(), self.expr())
        if k == 3:
            return "pass"
        if k == 4:
            return "%s%s=%sconst%s(%s)%s%s" % (
                r.choice(["_C", "X", "else_c"]),
                r.choice(["", " ", "\t", " \\\n"]),
                r.choice(["", " ", "  "]),
                r.choice(["", " "]),
                self.expr(2),
                r.choice(["", "  ", ";"]),
                r.choice(["", "  # const(", " # x = 1"]),
            )
        if k == 5:
            return "%s = %s" % (
                r.choice(["_C", "X"]),
                r.choice(["const(1) + 1", "(const(1))", "const(1); y = 2", "const[1]", "constant(2)", "const(1).real", "const (1)(2)"]),
            )
        if k == 6:
            return "%s == const(1)" % self.name()
        if k == 7:
            return "import %s" % self.name()
        if k == 8:
            return "global %s" % self.name()
        if k == 9:
            return "del %s" % self.name()
        return "%s = %s" % (self.name(), self.expr())

    def filler(self, ind):
        # blank and comment lines, at any column
        r = self.r
        out = []
        for _ in range(r.choice([0, 0, 0, 1, 2])):
            out.append(r.choice(["", "# it's a \"comment\" \\", ind + "# indented", "  ", "#else:"]))
        return out

    def block(self, ind, depth):
        lines = []
        for _ in range(self.r.randint(1, 3)):
            lines += self.stmt(ind, depth)
        return lines

    def stmt(self, ind, depth):
        r = self.r
        k = r.randint(0, 10 if depth < 3 else 0)
        sub = ind + self.indent
        lines = self.filler(ind)
        if k <= 3:
            return lines + [ind + self.simple()]
        if k == 4:
            lines += [ind + "if %s:" % self.expr(2)] + self.block(sub, depth + 1)
            for _ in range(r.randint(0, 2)):
                lines += self.filler(ind) + [ind + "elif %s:" % self.expr(2)] + self.block(sub, depth + 1)
            if r.random() < 0.5:
                lines += self.filler(ind) + [ind + r.choice(["else:", "else :", "else:  # x"])] + self.block(sub, depth + 1)
            return lines
        if k == 5:
            lines += [ind + "try:"] + self.block(sub, depth + 1)
            n = r.randint(0, 2)
            for _ in range(n):
                lines += self.filler(ind) + [ind + r.choice(["except:", "except Exception:", "except(E):", "except E as e:"])]
                lines += self.block(sub, depth + 1)
            if n and r.random() < 0.5:
                lines += self.filler(ind) + [ind + "else:"] + self.block(sub, depth + 1)
            if not n or r.random() < 0.5:
                lines += self.filler(ind) + [ind + r.choice(["finally:", "finally :"])] + self.block(sub, depth + 1)
            return lines
        if k == 6:
            lines += [ind + r.choice(["for x in %s:", "while %s:"]) % self.expr(2)] + self.block(sub, depth + 1)
            if r.random() < 0.5:
                lines += self.filler(ind) + [ind + "else:"] + self.block(sub, depth + 1)
            return lines
        if k == 7:
            for _ in range(r.randint(1, 3)):
                lines += [ind + "@%s" % r.choice(["d", "d.x", "d(1,\n2)", "e", "f(x)"])] + self.filler(ind)
            lines += [ind + r.choice(["def", "async def", "class"]) + " %s():" % self.name()] + self.block(sub, depth + 1)
            return lines
        if k == 8:
            lines += [ind + "def %s(a,\nb=%s):" % (self.name(), self.string())] + self.block(sub, depth + 1)
            return lines
        if k == 9:
            lines += [ind + "class %s:" % self.name(), sub + self.string()] + self.block(sub, depth + 1)
            return lines
        lines += [ind + "with %s as %s:" % (self.expr(2), self.name())] + self.block(sub, depth + 1)
        return lines


def main():
    seed, count, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    g = Gen(seed)
    nl = g.r.choice(["\n", "\r\n", "\r"])
    parts = []
    for _ in range(count):
        parts.append("\n".join(g.stmt("", 0)))
    text = "\n".join(parts) + "\n"
    with open(out, "wb") as f:
        f.write(text.replace("\n", nl).encode("utf-8"))


if __name__ == "__main__":
    main()
