"""Turn mpupload.1.md (the subset of pandoc Markdown it uses) into roff, for
machines without pandoc. Usage: md2man.py IN.md > OUT.1"""
import re
import sys


def inline(s):
    s = s.replace("\\", "\\e")
    s = re.sub(r"\*\*(.+?)\*\*", r"\\fB\1\\fR", s)
    s = re.sub(r"\*(.+?)\*", r"\\fI\1\\fR", s)
    s = re.sub(r"`(.+?)`", r"\\fB\1\\fR", s)
    s = s.replace("-", "\\-")
    if s[:1] in ".'":
        s = "\\&" + s
    return s


def main(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    out = []
    code = False
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.startswith("% "):
            if not out:
                head = line[2:].split()
                name, sect = re.match(r"(\w+)\((\d)\)", head[0]).groups()
                out.append('.TH "%s" "%s" "" "%s"' % (name, sect, " ".join(head[1:])))
        elif line.startswith("# "):
            out.append(".SH " + line[2:])
        elif code and not line.startswith("    ") and line:
            out.append(".fi")
            code = False
            continue
        elif line.startswith(":   "):
            out.append(inline(line[4:]))
        elif line.startswith("    ") and not code and (not out or out[-1] in (".PP", "") or
                                                       out[-1].startswith(".SH")):
            out.append(".IP\n.nf")
            out.append(inline(line[4:]))
            code = True
        elif line.startswith("    "):
            out.append(inline(line[4:]))
        elif line == "":
            if code:
                pass
        elif nxt.startswith(":   "):
            out.append(".TP")
            out.append(inline(line))
        else:
            prev = lines[i - 1] if i else ""
            if prev == "" or prev.startswith("#"):
                out.append(".PP")
            out.append(inline(line))
        i += 1
    if code:
        out.append(".fi")
    sys.stdout.write("\n".join(out) + "\n")


main(sys.argv[1])
