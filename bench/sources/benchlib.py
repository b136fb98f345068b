"""benchlib.py - helpers shared by bench/sources/run, bench/idle/run and
bench/query/run: child processes in their own process groups (killed on
exit, even on failure), a loopback nginx, srmd with a generated config, a
JSON-RPC client over the control socket, /proc readings and percentiles.

Standard library only.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def logger(tag):
    def log(msg):
        sys.stderr.write("[%s] %s\n" % (tag, msg))
        sys.stderr.flush()
    return log


class Procs:
    """Child processes, each in its own process group, killed on exit."""

    def __init__(self):
        self.procs = []

    def start(self, argv, **kw):
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=30):
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        else:
            try:  # the leader is gone; its group may not be
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        return p.returncode

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p, timeout=10)


def install_signal_exit():
    """SIGTERM/SIGHUP end the run through the callers' finally blocks."""
    def bye(signum, frame):
        raise SystemExit("stopped by signal %d" % signum)
    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGHUP, bye)


def need_tool(cmd, pkg):
    path = shutil.which(cmd) or (cmd if os.path.exists(cmd) else None)
    if path is None and os.path.exists("/usr/sbin/" + cmd):
        path = "/usr/sbin/" + cmd
    if path is None:
        sys.exit("%s is missing: apt-get install -y %s" % (cmd, pkg))
    return path


def check_build(build, files):
    for f in files:
        if not os.path.exists(os.path.join(build, f)):
            sys.exit("%s/%s is missing: cmake -S . -B %s "
                     "-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSRM_BUILD_BENCH=ON "
                     "&& cmake --build %s -j2" % (build, f, build, build))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout, what, interval=0.01):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except (OSError, ValueError, KeyError, EOFError) as e:
            last = e
        if time.monotonic() > deadline:
            raise RuntimeError("timed out after %.0fs waiting for %s%s" % (
                timeout, what, ": %r" % last if last else ""))
        time.sleep(interval)


def http_status(port, path):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        s.sendall(b"HEAD %s HTTP/1.0\r\nHost: localhost\r\n\r\n"
                  % path.encode())
        return int(s.recv(256).split(b"\r\n", 1)[0].split()[1])
    finally:
        s.close()


NGINX_CONF = """daemon off;
master_process on;
worker_processes %(workers)d;
pid nginx.pid;
error_log nginx-error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
    log_format bench '$msec $status $body_bytes_sent "$request"';
    access_log %(access)s;
    client_body_temp_path tmp/client_body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    types { application/json json; }
    default_type application/json;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 300;
    keepalive_requests 1000000;
    etag on;
    if_modified_since exact;
    server {
        listen 127.0.0.1:%(port)d;
        server_name localhost;
        root %(root)s;
%(locations)s
    }
}
"""


def start_nginx(procs, tmp, www, locations="", probe="/", workers=1,
                access_log=True):
    """A real nginx on 127.0.0.1:<free port> serving www; returns
    (process, port, folder with its logs)."""
    nginx = need_tool("nginx", "nginx-light")
    port = free_port()
    ndir = os.path.join(tmp, "nginx")
    os.makedirs(os.path.join(ndir, "tmp"), exist_ok=True)
    path = os.path.join(ndir, "nginx.conf")
    with open(path, "w") as f:
        f.write(NGINX_CONF % {
            "workers": workers, "port": port, "root": www,
            "locations": locations,
            "access": "nginx-access.log bench" if access_log else "off"})
    err = open(os.path.join(ndir, "stderr.log"), "wb")
    p = procs.start([nginx, "-p", ndir + "/", "-c", path],
                    stdout=err, stderr=subprocess.STDOUT)

    def up():
        if p.poll() is not None:
            sys.exit("nginx exited %d: %s" % (p.returncode, open(
                os.path.join(ndir, "stderr.log")).read()))
        st = http_status(port, probe)
        if st != 200:
            sys.exit("nginx answered %d for %s; see %s" % (
                st, probe, os.path.join(ndir, "nginx-error.log")))
        return True
    wait_for(up, 10, "nginx on port %d" % port)
    if access_log:  # the probe is not part of any pass
        open(os.path.join(ndir, "nginx-access.log"), "w").close()
        os.kill(p.pid, signal.SIGUSR1)
    return p, port, ndir


class RpcError(RuntimeError):
    def __init__(self, method, err):
        RuntimeError.__init__(self, "%s: %s" % (method, err))
        self.code = err.get("code") if isinstance(err, dict) else None


class Rpc:
    def __init__(self, path, timeout=30):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.n = 0

    def call(self, method, params=None):
        self.n += 1
        msg = {"jsonrpc": "2.0", "id": self.n, "method": method}
        if params is not None:
            msg["params"] = params
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            while b"\n" not in self.buf:
                chunk = self.s.recv(1 << 20)
                if not chunk:
                    raise EOFError("srmd closed the connection")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            r = json.loads(line)
            if r.get("id") == self.n:
                if "error" in r:
                    raise RpcError(method, r["error"])
                return r["result"]

    def timed(self, method, params=None):
        """(seconds, result) of one call, the clock around send..reply."""
        t = time.perf_counter()
        r = self.call(method, params)
        return time.perf_counter() - t, r

    def close(self):
        self.s.close()


def write_config(path, sock, db, plugin_dir, sources, log_level="warning",
                 extra_daemon=""):
    with open(path, "w") as f:
        f.write("daemon:\n  socket: %s\n  database: %s\n  plugin_dir: %s\n"
                "  log_level: %s\n%ssources:\n" % (
                    sock, db, plugin_dir, log_level, extra_daemon))
        for s in sources:
            f.write("  - %s\n" % json.dumps(s))


def start_srmd(procs, build, cfg, log_path, sock, timeout=120):
    logf = open(log_path, "wb")
    t0 = time.monotonic()
    p = procs.start([os.path.join(build, "bin", "srmd"), "-c", cfg],
                    stdout=logf, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL)

    def connect():
        if p.poll() is not None:
            sys.exit("srmd exited %d; log %s:\n%s" % (
                p.returncode, log_path, tail(log_path)))
        return Rpc(sock)
    rpc = wait_for(connect, timeout, "srmd's socket", 0.005)
    return p, rpc, t0


def tail(path, n=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def proc_cpu(pid):
    """utime+stime of a live process (all threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def thread_switches(pid):
    """{tid: (name, voluntary, nonvoluntary)} for every thread."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            name, vol, nvol = "?", 0, 0
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("Name:"):
                        name = line.split(None, 1)[1].strip()
                    elif line.startswith("voluntary_ctxt_switches:"):
                        vol = int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        nvol = int(line.split()[1])
            out[int(tid)] = (name, vol, nvol)
        except OSError:
            pass
    return out


def thread_cpu(pid):
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[int(tid)] = (int(fields[11]) + int(fields[12])) / TICK
        except OSError:
            pass
    return out


def pct(values, p):
    """The p-th percentile (nearest rank) of values."""
    if not values:
        return float("nan")
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model,
            "kernel": os.uname().release,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def srmd_version(build):
    try:
        r = subprocess.run([os.path.join(build, "bin", "srmd"), "--version"],
                           capture_output=True, text=True, timeout=10)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except Exception:
        return "?"


def verdict(ok):
    return "pass" if ok else "SHORT"
