#!/usr/bin/env python3
"""fault_fixture.py - the misbehaving servers of the soak (bench/soak/run).

    fault_fixture.py --port-file PATH [--retry-after S] [--slow-ms MS]

GET /f/<kind>/<n>?after=K answers in the testnet connector's page format
(tests/testnet/testnet.c), or fails, by kind:
  e500   always HTTP 500
  flaky  every other request 500, else a page
  reset  promises 100,000 bytes, sends 1,000, resets the connection
  slow   a page after --slow-ms (default 3000)
  trunc  200 with JSON cut in the middle
  r429   one request in three 429 with Retry-After (--retry-after, default
         20 s; run it on its own port: srmd pauses the whole host), else a
         page
  grow   pages only
Feeds that answer pages grow by 2 items a minute from 30; pages of 20 carry
an ETag, so an unchanged page is a 304. GET /__truth -> {feed: items}.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "fixtures"))
import fixture  # noqa: E402
from fixture import FixtureHandler, route  # noqa: E402

T0 = time.monotonic()
LOCK = threading.Lock()
COUNT = {}
OPTS = {"retry_after": 20, "slow_ms": 3000}
PAGE = 20


def items_now():
    return 30 + int((time.monotonic() - T0) / 60) * 2


class Handler(FixtureHandler):
    def page(self, kind, n):
        name = "f%s%s" % (kind, n)
        total = items_now()
        after = self.query.get("after", [""])[0]
        start = int(after) if after.isdigit() else 0
        etag = '"%s-%d-%d"' % (name, start, total)
        if self.conditional(etag=etag):
            return
        end = min(total, start + PAGE)
        items = [{"id": "%s:%d" % (name, i), "author": "fu%d" % (i % 50),
                  "name": "Fault user %d" % (i % 50),
                  "text": "item %d of %s about srmd soak" % (i, name),
                  "created_at": 1700000000 + i} for i in range(start, end)]
        self.send_json({"items": items, "next": str(end) if items else None},
                       headers={"ETag": etag})

    @route("GET", r"/f/(?P<kind>\w+)/(?P<n>\d+)")
    def feed(self, kind, n):
        with LOCK:
            c = COUNT[(kind, n)] = COUNT.get((kind, n), 0) + 1
        if kind == "e500":
            self.send_json({"error": "on purpose"}, status=500)
        elif kind == "flaky" and c % 2 == 1:
            self.send_json({"error": "flaky"}, status=503 if c % 4 == 1
                           else 500)
        elif kind == "reset":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b'{"items": [' + b" " * 1000)
            self.abort_connection()
        elif kind == "slow":
            self.wait(OPTS["slow_ms"] / 1000.0)
            self.page(kind, n)
        elif kind == "trunc":
            self.send_status(200, {"Content-Type": "application/json"},
                             b'{"items": [{"id": "x:1", "author": "a", "te')
        elif kind == "r429" and c % 3 == 1:
            self.send_json({"error": "slow down"}, status=429, headers={
                "Retry-After": str(OPTS["retry_after"])})
        else:
            self.page(kind, n)

    @route("GET", r"/__truth")
    def truth(self):
        self.send_json({"items_now": items_now(),
                        "requests": {"%s/%s" % k: v
                                     for k, v in COUNT.items()}})


def setup(server, args):
    OPTS["retry_after"] = args.retry_after
    OPTS["slow_ms"] = args.slow_ms


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--retry-after", type=int, default=20)
    ap.add_argument("--slow-ms", type=int, default=3000)
    a, _ = ap.parse_known_args()
    sys.exit(fixture.main(Handler, setup=lambda s, _a: setup(s, a)))
