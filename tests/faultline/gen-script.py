# Write a test script to argv[1] whose output (argv[2]) depends on every
# byte of its data: a damaged upload cannot print the right answer by luck.
import contextlib
import io
import random
import sys

r = random.Random(1)
lines = ["d = []"]
for i in range(60):
    s = "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(56))
    lines.append("d.append(%r)" % s)
lines += [
    "h = 0",
    "for s in d:",
    "    for c in s:",
    "        h = (h * 31 + ord(c)) & 0xffffff",
    "print(len(d), h)",
]
src = "\n".join(lines) + "\n"
open(sys.argv[1], "w").write(src)
out = io.StringIO()
with contextlib.redirect_stdout(out):
    exec(src, {})
open(sys.argv[2], "w").write(out.getvalue())
