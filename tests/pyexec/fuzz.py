# Random bytes at every prompt and in every mode of the REPL state machine;
# after each burst the board must come back to the friendly prompt.
# Usage: fuzz.py PORT ROUNDS SEED
import random
import sys

sys.dont_write_bytecode = True  # nothing written next to the tests
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
from wire import Wire  # noqa: E402

port, rounds, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
w = Wire(port, timeout=5)
ENTRY = [
    b"",  # friendly prompt
    b"\x05",  # paste mode
    b"\r\x01",  # raw REPL
    b"\r\x01\x05A\x01",  # raw-paste
    b"\r\x01\x05S\x01",  # streamed execution
    b"\r\x01\x05M\x01",  # streamed .mpy
    b"\r\x01\x05I\x01",  # capability query
    b"\r\x01\x05",  # half a negotiation
]
ALPHABET = b"\x00\x01\x02\x03\x04\x05\x06\x15\x18\xa5\r\n ()=:'\"#\\xa1_\tdefifelseconst" + bytes(range(256))


def recover():
    # Back to the friendly prompt; blocked binary modes time out (10 s).
    deadline = time.monotonic() + 40
    seen = b""
    while time.monotonic() < deadline:
        w.write(b"\x04\x03\x03\x02")
        seen += w.drain(0.5)
        if seen.endswith(b">>> ") or b">>> " in seen[-200:]:
            w.write(b"\r\x03")
            w.drain(0.3)
            return
    raise SystemExit("round %d: no prompt after the burst; last bytes %r" % (r, seen[-200:]))


for r in range(rounds):
    entry = rng.choice(ENTRY)
    n = rng.randrange(1, 400)
    burst = bytes(rng.choice(ALPHABET) for _ in range(n))
    w.write(entry)
    time.sleep(0.02)
    w.write(burst)
    recover()
# Still working: run code over raw REPL (a last burst may still be timing out).
seen = b""
deadline = time.monotonic() + 40
while not seen.endswith(b"raw REPL; CTRL-B to exit\r\n>"):
    if time.monotonic() > deadline:
        raise SystemExit("no raw REPL at the end; last bytes %r" % seen[-200:])
    w.write(b"\x04\x03\x02\r\x01")
    seen += w.drain(1.0)
w.write(b"print(6 * 7)\x04")
w.expect("final run", b"OK42\r\n\x04\x04>")
print("%d rounds ok" % rounds)
