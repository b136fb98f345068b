"""The daemon's life cycle and its control socket, end to end: start-up,
status, graceful stop, config errors, reload, roles, abuse of the socket."""

import json
import os
import resource
import signal
import socket
import subprocess
import threading
import time

import srmtest
from srmtest import Client, Srmd, run, wait_for

import testnet_fixture
from fixture import FixtureServer

TESTNET_DIR = os.path.join(srmtest.BUILD, "tests", "testnet")


def fixture_server():
    testnet_fixture.reset()
    srv = FixtureServer(testnet_fixture.Handler)
    srv.start()
    return srv


def testnet_source(name, port, every="1h", extra=""):
    return ("  - name: %s\n    plugin: testnet\n    every: %s\n"
            "    url: http://127.0.0.1:%d/feed/%s\n%s" % (
                name, every, port, name, extra))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def test_start_status_stop():
    t0 = time.monotonic()
    d = Srmd(start=False)
    d.start(wait=False)
    st = d.wait_ready()
    ready_ms = (time.monotonic() - t0) * 1000
    assert st["version"] and st["protocol"] == 1
    assert st["caller"]["admin"] is True
    out = d.ctl("status", check=True)
    assert "srmd" in out.stdout or "version" in out.stdout
    js = json.loads(d.ctl("--json", "status", check=True).stdout)
    assert js["pid"] == d.proc.pid
    idle_rss = rss_kib(d.proc.pid)
    print("figure: start-up to served status %.1f ms, idle RSS %d KiB" % (
        ready_ms, idle_rss))
    t1 = time.monotonic()
    assert d.stop() == 0
    stop_ms = (time.monotonic() - t1) * 1000
    print("figure: SIGTERM to exit %.1f ms" % stop_ms)
    assert stop_ms < 1000, "an idle srmd must exit within a second"
    assert not os.path.exists(d.sock), "the socket is removed on exit"
    rows = d.query("PRAGMA integrity_check")
    assert rows[0][0] == "ok"
    assert d.query("PRAGMA user_version")[0][0] >= 1


def _thread_nices(pid):
    """{tid: nice} of every thread of pid, from /proc."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        out[int(tid)] = int(fields[16])  # field 19 of stat(5)
    return out


def test_writer_yields_to_queries():
    # The writer thread runs at nice +5 so queries win the CPU during
    # a big sync; every other thread keeps the process's own nice.
    with Srmd() as d:
        nices = _thread_nices(d.proc.pid)
        base = nices[d.proc.pid]
        lowered = [t for t, n in nices.items() if n == min(base + 5, 19)]
        assert len(lowered) == 1, nices
        assert all(n == base for t, n in nices.items()
                   if t not in lowered), nices


def test_check_config():
    d = Srmd(start=False)
    out = subprocess.run([srmtest.SRMD, "-c", d.config, "--check-config"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    d.write_config(text=(
        "daemon:\n  socket: s\n  log_level: loud\n"
        "sources:\n  - name: a\n    plugin: nope\n    every: soon\n"
        "bogus: 1\n"))
    out = subprocess.run([srmtest.SRMD, "-c", d.config, "-t"],
                         capture_output=True, text=True)
    assert out.returncode == 2, out
    err = out.stderr
    name = d.config
    assert "%s:3:14: daemon.log_level:" % name in err, err
    assert "%s:7:12: sources[0].every: expected a duration like 5m" % name \
        in err, err
    assert "%s:8:1: bogus:" % name in err, err
    # srmd itself refuses to start on the same file, with status 2.
    out = subprocess.run([srmtest.SRMD, "-c", d.config], capture_output=True,
                         text=True, timeout=10)
    assert out.returncode == 2


def test_unknown_plugin_is_a_config_error():
    d = Srmd(start=False, sources="  - name: x\n    plugin: nosuch\n")
    out = subprocess.run([srmtest.SRMD, "-c", d.config, "-t"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "sources[0].plugin: no plugin named nosuch" in out.stderr, \
        out.stderr


def test_reload_applies_and_refuses():
    srv = fixture_server()
    try:
        d = Srmd(sources=testnet_source("a", srv.port),
                 plugin_dir=TESTNET_DIR)
        with d:
            d.wait_passes("a", 1)
            assert d.source("a")["state"] == "idle"
            # SIGHUP: add b, change a's URL.
            d.write_config(sources=testnet_source("a", srv.port, every="2h")
                           + testnet_source("b", srv.port),
                           )
            d.reload_signal()
            d.wait_source("b", lambda s: s["passes"] >= 1)
            assert d.source("a")["every_s"] == 7200
            # srmctl reload: remove b.
            d.write_config(sources=testnet_source("a", srv.port, every="2h"))
            out = d.ctl("--json", "reload", check=True)
            res = json.loads(out.stdout)
            assert res["removed"] == ["b"] and res["unchanged"] == 1, res
            names = [s["name"] for s in d.call("sources.list")["sources"]]
            assert names == ["a"]
            # A bad file is refused with its position; nothing changes.
            d.write_config(text=open(d.config).read() + "oops: [\n")
            out = d.ctl("reload")
            assert out.returncode == 1, out
            assert "srmd.yaml:" in out.stderr, out.stderr
            d.reload_signal()
            d.wait_log("reload refused")
            assert [s["name"] for s in
                    d.call("sources.list")["sources"]] == ["a"]
            assert d.call("status")["sources"]["total"] == 1
    finally:
        srv.stop()


def test_sources_list_pages_and_filters():
    srv = fixture_server()
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    closed = probe.getsockname()[1]
    probe.close()  # nothing listens there: those sources fail
    try:
        cfg = "".join(testnet_source("s%d" % i, srv.port) for i in range(6))
        cfg += "".join(testnet_source("f%d" % i, closed) for i in range(2))
        with Srmd(sources=cfg, plugin_dir=TESTNET_DIR) as d:
            for i in range(2):
                d.wait_source("f%d" % i, lambda x: x["state"] == "failing")
            # Pages of 3 in config order; next names the last one given.
            names, after, pages = [], None, 0
            while True:
                params = {"limit": 3}
                if after:
                    params["after"] = after
                r = d.call("sources.list", params)
                pages += 1
                assert len(r["sources"]) <= 3, r
                names += [x["name"] for x in r["sources"]]
                after = r["next"]
                if after is None:
                    break
                assert after == names[-1]
            assert names == ["s%d" % i for i in range(6)] + ["f0", "f1"]
            assert pages == 3
            # A state filter pages over the matching sources only.
            r = d.call("sources.list", {"state": "failing", "limit": 1})
            assert [x["name"] for x in r["sources"]] == ["f0"]
            assert r["next"] == "f0"
            r = d.call("sources.list", {"state": "failing", "after": "f0"})
            assert [x["name"] for x in r["sources"]] == ["f1"]
            assert r["next"] is None
            r = d.call("sources.list", {"state": "failing", "limit": 2})
            assert r["next"] is None, r
            assert d.call("sources.list")["next"] is None
            # Bad parameters are refused, and the connection lives on.
            c = d.client()
            try:
                for params, code in (({"limit": 0}, -32602),
                                     ({"limit": "3"}, -32602),
                                     ({"state": "sleepy"}, -32602),
                                     ({"after": "nope"}, -32002)):
                    try:
                        c.call("sources.list", params)
                        raise AssertionError("accepted %r" % params)
                    except srmtest.RpcError as e:
                        assert e.code == code, (params, e)
                assert len(c.call("sources.list")["sources"]) == 8
            finally:
                c.close()
            # srmctl pages for the user and prints one list.
            out = d.ctl("--json", "sources", check=True)
            assert len(json.loads(out.stdout)["sources"]) == 8
            out = d.ctl("sources", "--state", "failing", check=True)
            rows = [l.split()[0] for l in out.stdout.splitlines()[1:]]
            assert rows == ["f0", "f1"], out.stdout
            assert d.ctl("sources", "--bogus").returncode == 2
    finally:
        srv.stop()


def test_fulltext_off_refuses_search_and_reload_turns_it_on():
    srv = fixture_server()
    try:
        d = Srmd(sources=testnet_source("a", srv.port),
                 plugin_dir=TESTNET_DIR, daemon_extra="  fulltext: false\n")
        with d:
            d.wait_passes("a", 1)
            c = d.client()
            try:
                c.call("mentions.search", {"query": "item"})
                raise AssertionError("search answered with fulltext off")
            except srmtest.RpcError as e:
                assert e.code == -32005 and "daemon.fulltext" in e.message, e
            assert len(c.call("mentions.list", {})["items"]) > 0
            c.close()
            assert d.query("SELECT count(*) FROM mentions_fts_docsize")[0][
                0] == 0
            # Back on by reload: what was skipped is indexed at once.
            d.daemon_extra = ""
            d.write_config(sources=testnet_source("a", srv.port))
            d.ctl("reload", check=True)
            n = d.query("SELECT count(*) FROM mentions")[0][0]
            wait_for(lambda: d.query("SELECT count(*) FROM "
                                     "mentions_fts_docsize")[0][0] == n,
                     10, "the skipped mentions to be indexed")
            assert d.call("mentions.search", {"query": "item"})["items"]
    finally:
        srv.stop()


def test_malformed_requests_keep_the_connection():
    with Srmd() as d:
        c = d.client()
        c.send_raw(b"{not json\n")
        r = c.read_line()
        assert r["error"]["code"] == -32700 and r["id"] is None
        c.send_raw(b'{"jsonrpc":"2.0","id":7}\n')
        r = c.read_line()
        assert r["error"]["code"] == -32600 and r["id"] == 7
        c.send_raw(b'{"jsonrpc":"2.0","id":8,"method":"no.such"}\n')
        r = c.read_line()
        assert r["error"]["code"] == -32601
        big = b'{"jsonrpc":"2.0","id":9,"method":"status","params":{"x":"' + \
            b"a" * (2 << 20) + b'"}}\n'
        c.send_raw(big)
        r = c.read_line()
        assert r["error"]["code"] == -32600, r
        assert "too large" in r["error"]["message"]
        assert c.call("status")["version"]
        c.send_raw(b'{"jsonrpc":"2.0","id":10,"method":"sources.show",'
                   b'"params":{"name":5}}\n')
        r = c.read_line()
        assert r["error"]["code"] == -32602, r
        c.close()
        # A client that disconnects mid-request leaves the daemon serving.
        half = socket.socket(socket.AF_UNIX)
        half.connect(d.sock)
        half.sendall(b'{"jsonrpc":"2.0","id":1,"meth')
        half.close()
        assert d.call("status")["version"]


def test_200_concurrent_clients():
    with Srmd() as d:
        results = []
        errors = []
        barrier = threading.Barrier(200)

        def one():
            try:
                c = Client(d.sock)
                barrier.wait(10)
                t = time.monotonic()
                st = c.call("status")
                results.append((st["pid"], time.monotonic() - t))
                c.close()
            except Exception as e:  # reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=one) for _ in range(200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors[:3]
        assert len(results) == 200
        assert all(pid == d.proc.pid for pid, _ in results)
        lat = sorted(x for _, x in results)
        print("figure: 200 concurrent status: p50 %.1f ms, max %.1f ms" % (
            lat[100] * 1000, lat[-1] * 1000))


def _call_as(uid, sock, method):
    """Connect as another Unix user (forked child) and return the answer."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgid(65534)
            os.setuid(uid)
            c = Client(sock)
            resp = c.request(method)
            os.write(w, json.dumps(resp).encode())
        except Exception as e:
            os.write(w, json.dumps({"exception": repr(e)}).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data)


def test_roles_from_peer_credentials():
    if os.getuid() != 0:
        print("skipped: needs root to act as other users")
        return
    nobody = 65534
    with Srmd(extra="team:\n  members:\n    - user: nobody\n"
                    "      name: Nobody\n") as d:
        os.chmod(d.sock, 0o666)  # let the test's other users reach it
        os.chmod(d.dir, 0o755)
        r = _call_as(nobody, d.sock, "status")
        assert r.get("result", {}).get("caller", {}).get("member") is True, r
        assert r["result"]["caller"]["admin"] is False
        r = _call_as(nobody, d.sock, "shutdown")
        assert r["error"]["code"] == -32001, r
        assert "admin" in r["error"]["message"]
        r = _call_as(54321, d.sock, "status")
        assert r["error"]["code"] == -32001, r
        assert "not a member" in r["error"]["message"], r
        assert d.call("status")["version"]


def test_stale_socket_and_second_instance():
    d = Srmd()
    d.start()
    second = subprocess.run([srmtest.SRMD, "-c", d.config],
                            capture_output=True, text=True, timeout=15)
    assert second.returncode != 0
    assert "already serving" in second.stderr, second.stderr
    assert d.call("status")["pid"] == d.proc.pid
    d.kill9()
    assert os.path.exists(d.sock), "kill -9 leaves the socket file behind"
    d.start()  # replaces the stale socket
    assert d.call("status")["pid"] == d.proc.pid
    assert d.stop() == 0


def test_srmctl_exit_codes():
    with Srmd() as d:
        assert d.ctl("sources").returncode == 0
        out = d.ctl("source", "nope")
        assert out.returncode == 1 and "no source named nope" in out.stderr
        assert d.ctl("no-such-command").returncode == 2
        out = d.ctl("status", env={"SRM_SOCKET": d.sock + ".missing"})
        assert out.returncode == 3, out
        assert "cannot reach srmd" in out.stderr
        out = d.ctl("--json", "call", "sources.list", check=True)
        assert json.loads(out.stdout) == {"sources": [], "next": None}


def test_shutdown_rpc():
    d = Srmd().start()
    out = d.ctl("shutdown", check=True)
    assert d.proc.wait(10) == 0
    assert "stopped" in d.log()


if __name__ == "__main__":
    run(globals())
