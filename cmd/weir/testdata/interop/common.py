"""Shared plumbing of the interop client scripts (see ../interop_test.go).

Every script is run as

    python3 SCRIPT BOOTSTRAP TOPIC COUNT MODE [key=value ...]

(and kafkajs_client.js under node, which follows the same protocol).

BOOTSTRAP is host:port[,host:port...]. MODE is "produce", "consume" or
"group". In produce mode the records come on stdin, one JSON object a line,
{"p": partition, "k": b64|null, "v": b64|null, "h": [[name, b64|null], ...]},
and COUNT of them are expected. Everything the script reports goes to stdout
as JSON lines:

    {"delivered": {"i": index, "p": partition, "o": offset}}   produce
    {"record": {"p":, "o":, "k":, "v":, "h":}}                   consume
    {"summary": {...}}                                          last line

Diagnostics go to stderr; a failure exits non-zero. A missing client module
exits 77 (the Go test skips on it).
"""

import base64
import json
import sys
import time

MISSING_MODULE = 77


def b64(b):
    return None if b is None else base64.b64encode(bytes(b)).decode("ascii")


def unb64(s):
    return None if s is None else base64.b64decode(s)


def emit(kind, obj):
    sys.stdout.write(json.dumps({kind: obj}, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def fail(msg):
    sys.stderr.write("interop: " + msg + "\n")
    sys.stderr.flush()
    sys.exit(1)


class Args:
    def __init__(self, argv):
        if len(argv) < 5:
            fail("usage: %s BOOTSTRAP TOPIC COUNT produce|consume|group [key=value ...]" % argv[0])
        self.bootstrap, self.topic = argv[1], argv[2]
        self.count = int(argv[3])
        self.mode = argv[4]
        if self.mode not in ("produce", "consume", "group"):
            fail("mode %r: want produce, consume or group" % self.mode)
        self.opts = {}
        for kv in argv[5:]:
            k, _, v = kv.partition("=")
            self.opts[k] = v
        # The whole run's bound; every blocking call below is bounded too.
        self.deadline = time.monotonic() + float(self.opts.get("timeout", "30"))

    def left(self):
        """Seconds left before the deadline (at least a little)."""
        return max(0.1, self.deadline - time.monotonic())

    def expired(self):
        return time.monotonic() >= self.deadline


def read_records(count):
    recs = []
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        recs.append((r["p"], unb64(r.get("k")), unb64(r.get("v")),
                     [(n, unb64(v)) for n, v in (r.get("h") or [])]))
    if len(recs) != count:
        fail("read %d records on stdin, want %d" % (len(recs), count))
    return recs


def record(p, o, k, v, headers):
    emit("record", {"p": p, "o": o, "k": b64(k), "v": b64(v),
                    "h": [[n, b64(hv)] for n, hv in (headers or [])]})
