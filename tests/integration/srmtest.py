"""srmtest.py - run the real srmd and drive it with the real srmctl.

Integration tests import this module (stdlib only). Each test gets a
temporary folder holding the config, database, socket and log; srmd runs in
the foreground as a child process. Waits are bounded and wait for an event
(the socket answering, a state in sources.list, a row), never a fixed sleep.

    import srmtest
    from srmtest import Srmd, run

    def test_status():
        with Srmd() as d:                       # starts and waits for status
            assert d.call("status")["version"]
            out = d.ctl("status")               # srmctl, returns CompletedProcess
            assert out.returncode == 0

    if __name__ == "__main__":
        run(globals())                          # runs every test_* function

Environment (set by CTest): SRM_BUILD_DIR (build/bin/srmd, build/plugins),
SRM_SOURCE_DIR (tests/fixtures/fixture.py is importable through
srmtest.fixture).

SRM_VALGRIND=1 (tests/valgrind/run sets it) runs every srmd that
Srmd.start() starts under valgrind's memcheck: any invalid access, use of
uninitialised memory, or definite/indirect leak makes srmd exit 99, which
fails the test like any other non-zero exit. The report is in srmd.log.
Waits (wait_for, the readiness and stop timeouts) are multiplied by
SRM_VALGRIND_SLOWDOWN (default 6) because srmd runs 10-50x slower.
SRM_VALGRIND_SUPP names a suppressions file (default
tests/valgrind/srmd.supp when it exists).
"""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback

BUILD = os.path.abspath(os.environ.get("SRM_BUILD_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build"))
SOURCE = os.environ.get("SRM_SOURCE_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..")
SRMD = os.path.join(BUILD, "bin", "srmd")
SRMCTL = os.path.join(BUILD, "bin", "srmctl")
PLUGIN_DIR = os.path.join(BUILD, "plugins")
TEST_PLUGIN_DIR = os.path.join(BUILD, "tests", "plugins")

sys.path.insert(0, os.path.join(SOURCE, "tests", "fixtures"))
import fixture  # noqa: E402  (re-exported for tests)

VALGRIND = bool(os.environ.get("SRM_VALGRIND"))
SLOWDOWN = float(os.environ.get("SRM_VALGRIND_SLOWDOWN", "6")) \
    if VALGRIND else 1.0


def valgrind_argv():
    """The memcheck prefix for srmd under SRM_VALGRIND, else []."""
    if not VALGRIND:
        return []
    argv = ["valgrind", "--tool=memcheck", "--error-exitcode=99",
            "--leak-check=full", "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect", "--track-fds=no",
            "--num-callers=30", "--child-silent-after-fork=yes"]
    supp = os.environ.get("SRM_VALGRIND_SUPP") or os.path.join(
        SOURCE, "tests", "valgrind", "srmd.supp")
    if os.path.exists(supp):
        argv.append("--suppressions=" + os.path.abspath(supp))
    return argv


class RpcError(Exception):
    def __init__(self, error):
        super().__init__("%s (%s)" % (error.get("message"), error.get("code")))
        self.code = error.get("code")
        self.message = error.get("message")
        self.data = error.get("data")


def wait_for(predicate, timeout=10.0, what="condition", interval=0.02):
    """Poll predicate() until it returns a true value; return that value.
    Raises AssertionError naming `what` after timeout seconds."""
    timeout *= SLOWDOWN
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = predicate()
            if v:
                return v
        except Exception as e:  # the daemon may be between states
            last_exc = e
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s%s" % (
                timeout, what, (": %r" % last_exc) if last_exc else ""))
        time.sleep(interval)


class Client:
    """One connection to the control socket: NDJSON JSON-RPC."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.next_id = 1

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("srmd closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def request(self, method, params=None):
        """Send a request and return the whole response object."""
        rid = self.next_id
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send_raw(json.dumps(msg).encode() + b"\n")
        while True:
            resp = self.read_line()
            if resp.get("id") == rid:
                return resp

    def call(self, method, params=None):
        resp = self.request(method, params)
        if "error" in resp:
            raise RpcError(resp["error"])
        return resp["result"]

    def close(self):
        self.sock.close()


class Srmd:
    """A srmd process with its own folder.

    sources: YAML text of the `sources:` list items (indented as list items
    at column 2), or a list of dicts rendered as JSON-in-YAML.
    extra: YAML text appended at top level (team:, listen:, ...)."""

    def __init__(self, sources=None, extra="", plugin_dir=PLUGIN_DIR,
                 env=None, start=True, log_level="debug", folder=None,
                 daemon_extra=""):
        self.dir = folder or tempfile.mkdtemp(prefix="srmd-test-")
        self.sock = os.path.join(self.dir, "srmd.sock")
        self.db_path = os.path.join(self.dir, "srmd.db")
        self.config = os.path.join(self.dir, "srmd.yaml")
        self.log_path = os.path.join(self.dir, "srmd.log")
        self.plugin_dir = plugin_dir
        self.log_level = log_level
        self.daemon_extra = daemon_extra  # more "  key: value" lines
        self.env = dict(os.environ)
        if env:
            self.env.update(env)
        self.proc = None
        self.write_config(sources, extra)
        self._start_wanted = start

    # -- configuration --
    def render(self, sources=None, extra=""):
        if isinstance(sources, list):
            src = "sources:\n" + "".join(
                "  - %s\n" % json.dumps(s) for s in sources) if sources \
                else "sources: []\n"
        elif sources:
            src = "sources:\n" + sources.rstrip("\n") + "\n"
        else:
            src = "sources: []\n"
        return ("daemon:\n"
                "  socket: %s\n"
                "  database: %s\n"
                "  plugin_dir: %s\n"
                "  log_level: %s\n%s%s%s" % (
                    self.sock, self.db_path, self.plugin_dir, self.log_level,
                    self.daemon_extra, extra.rstrip("\n") + "\n" if extra
                    else "", src))

    def write_config(self, sources=None, extra="", text=None):
        with open(self.config, "w") as f:
            f.write(text if text is not None else self.render(sources, extra))

    # -- process --
    def start(self, wait=True, args=()):
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(valgrind_argv() +
                                     [SRMD, "-c", self.config] + list(args),
                                     stdout=self.log_file,
                                     stderr=subprocess.STDOUT, env=self.env)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=15.0):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("srmd exited with %d:\n%s" % (
                    self.proc.returncode, self.log()))
            try:
                c = Client(self.sock, timeout=2)
            except OSError:
                return False
            try:
                return c.call("status")
            finally:
                c.close()
        try:
            return wait_for(ready, timeout, "srmd to answer status")
        except AssertionError as e:
            if "srmd exited" in str(e):
                raise AssertionError(str(e).split(" waiting for")[-1])
            raise

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Signal srmd and wait for it; returns its exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        timeout *= SLOWDOWN
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("srmd did not exit within %.0fs after %s" % (
                timeout, signal.Signals(sig).name))

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def reload_signal(self):
        self.proc.send_signal(signal.SIGHUP)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, text, timeout=10.0):
        return wait_for(lambda: text in self.log(), timeout,
                        "log line %r" % text)

    # -- control socket --
    def client(self):
        return Client(self.sock)

    def call(self, method, params=None):
        c = Client(self.sock)
        try:
            return c.call(method, params)
        finally:
            c.close()

    def ctl(self, *args, check=False, env=None, input=None, timeout=30):
        e = dict(self.env)
        e["SRM_SOCKET"] = self.sock
        if env:
            e.update(env)
        out = subprocess.run([SRMCTL] + list(args), capture_output=True,
                             text=True, env=e, input=input, timeout=timeout)
        if check and out.returncode != 0:
            raise AssertionError("srmctl %s exited %d: %s%s" % (
                " ".join(args), out.returncode, out.stdout, out.stderr))
        return out

    def source(self, name):
        for s in self.call("sources.list")["sources"]:
            if s["name"] == name:
                return s
        raise KeyError(name)

    def wait_source(self, name, predicate, timeout=15.0, what=None):
        """Wait until predicate(source dict) holds; return the dict."""
        def check():
            s = self.source(name)
            return s if predicate(s) else None
        return wait_for(check, timeout, what or "source %s" % name)

    def wait_passes(self, name, n, timeout=15.0):
        """Wait until source name has finished at least n passes."""
        return self.wait_source(
            name, lambda s: s["passes"] >= n and s["state"] != "syncing",
            timeout, "%d passes of %s" % (n, name))

    # -- database --
    def db(self):
        c = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True,
                            timeout=10)
        c.row_factory = sqlite3.Row
        return c

    def query(self, sql, *args):
        c = self.db()
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()

    def __enter__(self):
        if self._start_wanted and self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        status = None
        if self.proc is not None and self.proc.poll() is None:
            status = self.stop()
        if exc[0] is None and status not in (None, 0):
            # Under ASan/LSan a leak or a bad access makes srmd exit
            # non-zero at its end: every test checks that for free.
            raise AssertionError("srmd exited %s:\n%s" % (
                status, self.log()[-6000:]))
        if exc[0] is not None:
            sys.stderr.write("---- srmd log (%s) ----\n%s\n" % (
                self.dir, self.log()[-6000:]))
        return False


def run(namespace, only=None):
    """Run every test_* function of namespace in order; print one line per
    test and the closing 'N passed, N failed' line; exit non-zero on
    failure."""
    tests = [(n, f) for n, f in namespace.items()
             if n.startswith("test_") and callable(f)]
    if only or len(sys.argv) > 1:
        names = set(only or sys.argv[1:])
        tests = [(n, f) for n, f in tests if n in names]
    passed = failed = 0
    for name, fn in tests:
        t0 = time.monotonic()
        try:
            fn()
        except Exception:
            failed += 1
            print("FAIL %s (%.2fs)" % (name, time.monotonic() - t0))
            traceback.print_exc()
        else:
            passed += 1
            print("ok   %s (%.2fs)" % (name, time.monotonic() - t0))
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
