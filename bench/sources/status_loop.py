#!/usr/bin/env python3
"""status_loop.py SOCKET OUT [GAP_MS] - issue `status` over one connection in
a loop until SIGTERM/SIGINT, then write one line per call to OUT:
"<time.monotonic() at send> <latency in seconds>". GAP_MS (default 1) is a
pause between calls, so the client does not take a whole core from srmd
on a 2-core machine. Run by bench/sources/run as its own process, so the
parent's work (parsing sources.list) never delays the measured calls."""

import json
import signal
import socket
import sys
import time

stop = False


def on_sig(signum, frame):
    global stop
    stop = True


def main():
    path, out = sys.argv[1], sys.argv[2]
    gap = float(sys.argv[3]) / 1000.0 if len(sys.argv) > 3 else 0.001
    signal.signal(signal.SIGTERM, on_sig)
    signal.signal(signal.SIGINT, on_sig)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    buf = b""
    rows = []
    n = 0
    clock = time.monotonic
    perf = time.perf_counter
    errors = 0
    while not stop:
        n += 1
        req = b'{"jsonrpc":"2.0","id":%d,"method":"status"}\n' % n
        t = clock()
        p0 = perf()
        try:
            s.sendall(req)
            while b"\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    raise EOFError
                buf += chunk
        except (OSError, EOFError, InterruptedError):
            if stop:
                break
            errors += 1
            break
        dt = perf() - p0
        line, buf = buf.split(b"\n", 1)
        if b'"result"' not in line:
            errors += 1
        rows.append((t, dt))
        if gap > 0:
            time.sleep(gap)
    with open(out, "w") as f:
        f.write("# errors %d\n" % errors)
        for t, dt in rows:
            f.write("%.6f %.7f\n" % (t, dt))


if __name__ == "__main__":
    main()
