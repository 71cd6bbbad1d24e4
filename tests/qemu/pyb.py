# Run MicroPython's own tools/pyboard.py (its main(), unchanged) in one
# chosen transfer mode, and exit 3 if another mode was used.
# Usage: $PYTHON pyb.py MICROPY_TREE paste|raw PYBOARD-ARGS...
#   paste: raw-paste, pyboard.py's default; raw: plain raw REPL, as with
#   firmware that lacks raw-paste (use_raw_paste=False on the Pyboard).
import os
import sys

tree, mode = sys.argv[1], sys.argv[2]
if mode not in ("paste", "raw"):
    sys.exit("pyb.py: mode must be paste or raw, not %r" % mode)
del sys.argv[1:3]
sys.path.insert(0, os.path.join(tree, "tools"))
import pyboard

execs = []
pastes = []

_init = pyboard.Pyboard.__init__
_exec = pyboard.Pyboard.exec_raw_no_follow
_paste = pyboard.Pyboard.raw_paste_write


def init(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.use_raw_paste = mode == "paste"


def exec_raw_no_follow(self, command):
    execs.append(len(command))
    return _exec(self, command)


def raw_paste_write(self, command_bytes):
    pastes.append(len(command_bytes))
    return _paste(self, command_bytes)


pyboard.Pyboard.__init__ = init
pyboard.Pyboard.exec_raw_no_follow = exec_raw_no_follow
pyboard.Pyboard.raw_paste_write = raw_paste_write


def check_mode():
    # pyboard.py falls back to raw REPL silently when raw-paste is refused.
    if mode == "paste" and len(pastes) != len(execs):
        return "raw-paste was not used for %d of %d commands" % (len(execs) - len(pastes), len(execs))
    if mode == "raw" and pastes:
        return "raw-paste was used"
    return None


try:
    pyboard.main()
    code = 0
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else 1
sys.stdout.flush()
problem = check_mode()
if problem:
    sys.stderr.write("pyb.py: %s\n" % problem)
    code = 3
sys.exit(code)
