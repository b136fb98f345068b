"""Faults: misbehaving plugins and hostile network responses. Each fault is
reported with a readable reason naming its source, the daemon stays up, the
other sources keep syncing, and nothing partial is committed."""

import os
import socket

import srmtest
from srmtest import Srmd, run, wait_for

import http_fixture
import testnet_fixture
from fixture import FixtureServer, route

FAULTY_DIR = os.path.join(srmtest.BUILD, "tests", "faulty")
TESTNET_DIR = os.path.join(srmtest.BUILD, "tests", "testnet")

GOOD_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Good</title><link>http://good/</link>
<item><guid>g1</guid><title>Fine item</title><description>srmd is here
</description></item>
<item><guid>g2</guid><title>Odd text</title><description>a replacement
 character \ufffd is fine</description></item>
</channel></rss>"""


class FaultHandler(http_fixture.Handler):
    @route("GET", r"/good-feed")
    def good_feed(self):
        self.send_text(GOOD_FEED, content_type="application/rss+xml")

    @route("GET", r"/utf8-feed")
    def utf8_feed(self):
        # Invalid UTF-8 and a raw NUL byte inside an element: not XML, so
        # the feed fails with a reason rather than storing garbage.
        body = (b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0">'
                b"<channel><title>x</title><item><guid>u1</guid><title>"
                b"caf\xc3 \xff\x00 end</title></item></channel></rss>")
        self.send_status(200, headers={"Content-Type": "application/rss+xml",
                                       "Content-Length": str(len(body))},
                         body=body)

    @route("GET", r"/wrong-type")
    def wrong_type(self):
        self.send_json({"not": "a feed"})


def faulty_source(name, fault, every="1h"):
    return ("  - name: %s\n    plugin: faulty\n    every: %s\n"
            "    fault: %s\n" % (name, every, fault))


def test_misbehaving_plugins_are_named_and_contained():
    # Plugins from two folders: the daemon takes one plugin_dir, so link
    # the testnet and faulty connectors into one folder of the test's.
    d = Srmd(start=False)
    pdir = os.path.join(d.dir, "plugins")
    os.makedirs(pdir)
    # The loader refuses symlinks (on purpose): copy the files.
    for src in (os.path.join(FAULTY_DIR, "faulty.so"),
                os.path.join(TESTNET_DIR, "testnet.so")):
        with open(src, "rb") as f, open(os.path.join(
                pdir, os.path.basename(src)), "wb") as g:
            g.write(f.read())
    fx = FixtureServer(testnet_fixture.Handler)
    testnet_fixture.reset()
    fx.start()
    try:
        d.plugin_dir = pdir
        d.write_config(sources=(
            faulty_source("ok", "ok") + faulty_source("err", "error") +
            faulty_source("syncfail", "sync_fails") +
            faulty_source("bad", "bad_records") +
            faulty_source("late", "after_done") +
            faulty_source("refused", "create_fails") +
            "  - name: good\n    plugin: testnet\n    every: 1h\n"
            "    url: http://127.0.0.1:%d/feed/good\n" % fx.port))
        with d.start():
            for n in ("ok", "err", "syncfail", "bad", "late", "good"):
                d.wait_passes(n, 1)
            assert d.source("ok")["state"] == "idle"
            s = d.source("err")
            assert s["state"] == "failing" and "on purpose" in \
                s["last_error"], s
            s = d.source("syncfail")
            assert s["state"] == "failing" and "sync could not start" in \
                s["last_error"], s
            s = d.source("refused")
            assert s["state"] == "bad_config", s
            log = d.log()
            assert "[faulty/refused]" in log and "fault: refusing this " \
                "source on purpose" in log, log[-3000:]
            # Invalid records are refused by name; valid ones are cleaned.
            assert "[faulty/bad] plugin emitted an invalid mention: " \
                "remote_id missing" in log
            assert "[faulty/bad] plugin emitted an invalid contact" in log
            row = d.query("SELECT text, length(text) FROM mentions WHERE "
                          "remote_id = 'bad-utf8'")[0]
            assert "\ufffd" in row[0] and "surrogate" in row[0], row
            huge = d.query("SELECT length(CAST(text AS BLOB)), "
                           "length(CAST(url AS BLOB)) FROM mentions WHERE "
                           "remote_id = 'huge'")[0]
            assert huge[0] <= 64 * 1024 and huge[1] <= 4096, huge
            # Calls after pass_done are ignored and reported.
            assert "[faulty/late] plugin emitted a identity outside a " \
                "pass; ignored" in log or "[faulty/late] plugin emitted " \
                "a mention outside a pass; ignored" in log, log[-3000:]
            assert "[faulty/late] plugin called pass_done outside a pass" \
                in log
            assert d.query("SELECT count(*) FROM mentions WHERE remote_id "
                           "= 'faulty-late'")[0][0] == 0
            cur = d.call("sources.show", {"name": "late"})["source"][
                "cursors"]
            assert cur == {"pass": "done"}, cur
            # The good source went on, and the daemon answers.
            assert d.source("good")["mentions_total"] == 10
            assert d.call("status")["sources"]["total"] == 7
    finally:
        fx.stop()


def test_pass_that_never_finishes_is_reclaimed():
    d = Srmd(start=False, plugin_dir=FAULTY_DIR,
             daemon_extra="  pass_timeout: 2s\n")
    d.write_config(sources=faulty_source("stuck", "never_finish") +
                   faulty_source("fine", "ok"))
    with d.start():
        s = d.wait_source("stuck", lambda s: s["state"] == "failing",
                          timeout=20, what="the stuck pass to be reclaimed")
        assert "did not finish within 2 s" in s["last_error"], s
        assert d.source("fine")["state"] == "idle"
        # It is scheduled again, and a new pass can start.
        assert d.call("sources.sync", {"name": "stuck"})["started"]
        assert "[faulty/stuck] pass did not finish" in d.log()


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return port


def test_hostile_network_responses_fail_their_feed_only():
    srv = FixtureServer(FaultHandler)
    srv.start()
    try:
        base = "http://127.0.0.1:%d" % srv.port
        bad = {
            "refused": "http://127.0.0.1:%d/feed" % closed_port(),
            "reset": base + "/reset",
            "500": base + "/status/500",
            "502": base + "/status/502",
            "gzipbomb": base + "/gzip-bomb",
            "big": base + "/big/104857600",
            "loop": base + "/redirect-loop",
            "type": base + "/wrong-type",
            "utf8": base + "/utf8-feed",
        }
        feeds = "".join("      - %s\n" % u for u in bad.values())
        sources = (
            "  - name: hostile\n    plugin: rss\n    every: 1h\n"
            "    feeds:\n" + feeds + "      - %s/good-feed\n" % base +
            "  - name: allbad\n    plugin: rss\n    every: 1h\n"
            "    feeds:\n      - %s/status/503\n      - %s\n" % (
                base, bad["refused"]))
        with Srmd(sources=sources) as d:
            s = d.wait_passes("hostile", 1, timeout=60)
            # The good feed's items are stored; the pass is ok overall but
            # says how many feeds failed.
            assert s["state"] == "idle", s
            rows = d.query("SELECT remote_id, text FROM mentions "
                           "ORDER BY remote_id")
            assert [r[0].rsplit("#", 1)[1] for r in rows] == ["g1", "g2"], \
                rows
            log = d.log()
            for reason in ("Couldn't connect", "HTTP 500", "HTTP 502",
                           "over", "redirect"):
                assert reason.lower() in log.lower(), (reason, log[-4000:])
            s = d.wait_passes("allbad", 1)
            assert s["state"] == "failing" and s["last_error"], s
            # Memory stayed bounded despite a 100 MB body and a gzip bomb.
            with open("/proc/%d/status" % d.proc.pid) as f:
                hwm = [int(l.split()[1]) for l in f if
                       l.startswith("VmHWM")][0]
            assert hwm < 200 * 1024, hwm
            print("figure: peak RSS with 100 MB body and gzip bomb: "
                  "%d KiB" % hwm)
    finally:
        srv.stop()


def test_429_storm_backs_off_without_failing():
    fx = FixtureServer(testnet_fixture.Handler)
    testnet_fixture.reset()
    fx.start()
    try:
        testnet_fixture.STATE["fail"] = {"status": 429, "count": 1000,
                                         "retry_after": 30}
        srcs = "".join(
            "  - name: s%d\n    plugin: testnet\n    every: 10s\n"
            "    url: http://127.0.0.1:%d/feed/s%d\n" % (i, fx.port, i)
            for i in range(5))
        with Srmd(sources=srcs, plugin_dir=TESTNET_DIR) as d:
            for i in range(5):
                s = d.wait_passes("s%d" % i, 1)
                assert s["state"] == "backoff", s
                assert s["next_sync_at"] - s["last_sync_at"] >= 25, s
            # The host was paused after the first 429: the others did not
            # all hit the server.
            hits = sum(n for p, n in fx.stats()["requests"].items()
                       if p.startswith("/feed/"))
            assert hits <= 5, hits
    finally:
        fx.stop()


if __name__ == "__main__":
    run(globals())
