# Programs for the tests of tests/pyexec: each spans several compile batches
# (MICROPY_PYEXEC_BATCH_SIZE is 4 KB by default) and checks one behaviour.


def filler(n, tag="v"):
    # n short top-level statements (~16 bytes each).
    return "".join("%s%d = %d\n" % (tag, i, i) for i in range(n))


def structured(n):
    # Functions, classes, decorators, strings and comments.
    out = ["def deco(f):\n    return f\n"]
    for i in range(n):
        out.append(
            "@deco\n"
            "def f%d(a, b=(1,\n  2)):\n"
            "    '''doc\n\nstring'''\n"
            "    # comment\n"
            "    if a:\n        return a + b[0]\n"
            "    else:\n        return b[1]\n"
            "\n"
            "# between\n"
            "class C%d:\n    x = %d\n    s = 'a#b\\\\'\n"
            "try:\n    pass\nexcept Exception:\n    pass\nfinally:\n    pass\n" % (i, i, i)
        )
    return "".join(out)


CASES = {
    # const() of an earlier batch still folds in later ones.
    "const": "from micropython import const\n_K = const(7)\n_L = const(_K * 2)  # comment\n"
    + filler(900)
    + "def g():\n    return _K + _L\n"
    + filler(900, "w")
    + "print(_K, _L, g(), v899, w899)\n",
    # Line numbers of a traceback in a late batch.
    "lines": filler(1200) + "def h(x):\n    return 1 // x\n" + filler(300, "w") + "h(0)\n",
    # A SyntaxError in the last batch: nothing ran, not even the first print.
    "syntax_last": "print('ran')\n" + filler(1200) + "x = (\n",
    # A SyntaxError in the first batch.
    "syntax_first": "print('ran')\nx = )\n" + filler(1200),
    # Functions, decorators, else/except/finally, strings across batches.
    "structured": structured(60) + "print(C59.x, f3(1), f3(0), C1.s)\n",
    # Output and an exception, as raw REPL reports them.
    "output": "import sys\nprint('out')\n" + filler(600) + "print(v599)\nraise ValueError('bad')\n",
}
