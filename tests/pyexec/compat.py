# Runs every program of scripts.CASES on a board with MicroPython's own
# tools/pyboard.py, over raw REPL and raw-paste, and prints one line per run:
#   MODE CASE repr(output) repr(exception text)
# Usage: compat.py PORT MPY_DIR [CASE...]
import os
import sys

sys.dont_write_bytecode = True  # nothing written next to the tests

sys.path.insert(0, os.path.join(sys.argv[2], "tools"))
sys.path.insert(0, os.path.dirname(__file__))
import pyboard  # noqa: E402
import scripts  # noqa: E402

names = sys.argv[3:] or sorted(scripts.CASES)
pyb = pyboard.Pyboard(sys.argv[1])
pyb.enter_raw_repl(soft_reset=False)
for mode in ("raw", "paste"):
    pyb.use_raw_paste = mode == "paste"
    for name in names:
        out, err = pyb.exec_raw(scripts.CASES[name], timeout=60)
        print(mode, name, repr(out), repr(err))
        sys.stdout.flush()
pyb.exit_raw_repl()
pyb.close()
