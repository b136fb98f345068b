"""The rss connector end to end: the real srmd loads rss.so and polls feeds
served by tests/fixtures/feeds_fixture.py on 127.0.0.1 (files from
tests/data/rss/ and tests/data/e2e/, plus generated items)."""

import calendar
import os
import signal
import time

import srmtest  # noqa: F401  (puts tests/fixtures on sys.path)
from srmtest import Srmd, run, wait_for

import feeds_fixture
from fixture import FixtureServer

GOOD = ("rss2", "atom", "latin1", "entities")


def fnv1a64(s):
    h = 14695981039346656037
    for b in s.encode("utf-8"):
        h ^= b
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def gmt(y, mo, d, h, mi=0, s=0):
    return calendar.timegm((y, mo, d, h, mi, s))


class Fixture:
    def __init__(self):
        feeds_fixture.reset()
        self.srv = FixtureServer(feeds_fixture.Handler)
        self.srv.start()
        self.port = self.srv.port

    def url(self, name):
        return "http://127.0.0.1:%d/feeds/%s" % (self.port, name)

    def requests(self, name=None):
        return [e for e in self.srv.stats()["log"]
                if name is None or e["path"] == "/feeds/%s" % name]

    def stop(self):
        self.srv.stop()


def add_good_feeds():
    feeds_fixture.set_feed("rss2", file="rss/rss2.xml")
    feeds_fixture.set_feed("atom", file="rss/atom.xml",
                           content_type="application/atom+xml")
    # Last-Modified only: the second pass must use If-Modified-Since.
    feeds_fixture.set_feed("latin1", file="rss/latin1.xml",
                           content_type="application/rss+xml; "
                           "charset=ISO-8859-1", etag=False)
    # ETag only: If-None-Match.
    feeds_fixture.set_feed("entities", file="e2e/entities.xml",
                           last_modified=False)


def source(fx, names, name="blogs"):
    return [{"name": name, "plugin": "rss", "every": "1h",
             "feeds": [fx.url(n) for n in names]}]


def expected(fx):
    """remote_id -> (text, url, created_at, author identity remote_id)."""
    r, a, l, e = (fx.url(n) for n in GOOD)
    host = "127.0.0.1"
    return {
        r + "#acme-post-1042": (
            "Why we moved to srmd \u2014 and didn\u2019t look back\n\n"
            "We tried srmd (https://srmd.example/) for a month.\nIt stays.",
            "https://blog.acme.example/2023/11/srmd", 1700000000,
            "mailto:jane@acme.example"),
        # No guid: the link, resolved against the feed URL, is the key.
        r + "#http://127.0.0.1:%d/2023/11/sqlite-wal" % fx.port: (
            "Tuning SQLite &amp; WAL\n\nCheckpoints matter.",
            "http://127.0.0.1:%d/2023/11/sqlite-wal" % fx.port, 1700010000,
            "Bob Builder@" + host),
        # No guid, no link: FNV-1a of title and date.
        r + "#" + fnv1a64("\nMon, 6 Nov 23 09:05 PDT"): (
            "A link post with no title, guid or link, dated in 2-digit "
            "years.", None, 1699286700, None),
        a + "#tag:example.org,2003:3.2397": (
            "Atom & srmd\n\nInline XHTML body.\n"
            "Second link (https://srmd.example/).",
            "https://example.org/blog/2023/11/atom-srmd", 1699979402,
            "https://example.org/people/mark"),
        a + "#tag:example.org,2003:3.2398": (
            "Plain entry\n\nJust a summary & nothing more.",
            "https://example.org/archive/old-post", 1699617600,
            "mailto:owner@example.org"),
        l + "#cafe-1": (
            "R\u00e9sum\u00e9 na\u00efve \u00e0 Z\u00fcrich\n\n"
            "Cr\u00e8me br\u00fbl\u00e9e", None, 1698829200, None),
        e + "#ent-1": (
            "Caf\u00e9 & Cr\u00e8me <3 \"srmd\"\n\n"
            "Fish & chips \u2014 \u201cquoted\u201d",
            "http://entities.example/posts/1", gmt(2023, 11, 15, 10),
            "mailto:zoe@entities.example"),
        e + "#http://entities.example/posts/2": (
            "Tom & Jerry's <3 for AT&T\n\nLine one\nLine two & <tag>",
            "http://entities.example/posts/2", gmt(2023, 11, 15, 11),
            "mailto:zoe@entities.example"),
        e + "#ent-3": (
            "\U0001F600 emoji \u00a9 2023 'quotes' \u2014 <b>not bold</b>"
            "\n\nPlain & simple",
            "http://entities.example/posts/3", gmt(2023, 11, 15, 12),
            "Ren\u00e9e Entity@" + host),
    }


def rss_rows(d):
    return {r["remote_id"]: r for r in d.query(
        "SELECT m.remote_id, m.text, m.url, m.created_at, m.matched, "
        "m.context_title, m.context_url, m.identity_id, i.network AS inet, "
        "i.remote_id AS author FROM mentions m LEFT JOIN identities i "
        "ON i.id = m.identity_id WHERE m.network = 'rss'")}


def check_expected(d, fx, extra=0):
    rows = rss_rows(d)
    want = expected(fx)
    missing = set(want) - set(rows)
    assert not missing, "missing %s; have %s" % (sorted(missing),
                                                  sorted(rows))
    assert len(rows) == len(want) + extra, sorted(rows)
    for rid, (text, url, created, author) in want.items():
        r = rows[rid]
        got = (r["text"], r["url"], r["created_at"], r["author"])
        assert got == (text, url, created, author), (rid, got)
        if author is not None:
            assert r["inet"] == "web", (rid, r["inet"])
        assert r["matched"] == rid.split("#")[0], (rid, r["matched"])
    return rows


def served_since(n):
    return feeds_fixture.served()[n:]


def check_conditional(fx, reqs):
    """Each good feed was asked with the validators it had served."""
    by_name = {}
    for e in reqs:
        by_name.setdefault(e["path"].rsplit("/", 1)[1], []).append(e)
    for name in GOOD:
        assert len(by_name.get(name, [])) == 1, (name, by_name.get(name))
        hdrs = {k.lower(): v for k, v in by_name[name][0]["headers"]}
        v = feeds_fixture.validators(name)
        if v["etag"]:
            assert hdrs.get("if-none-match") == v["etag"], (name, hdrs)
        if v["last_modified"]:
            assert hdrs.get("if-modified-since") == v["last_modified"], (
                name, hdrs)


def test_four_feeds_then_304s_then_three_new_items():
    fx = Fixture()
    add_good_feeds()
    try:
        with Srmd(sources=source(fx, GOOD)) as d:
            s = d.wait_passes("blogs", 1)
            assert s["state"] == "idle" and s["last_error"] is None, s
            rows = check_expected(d, fx)
            assert s["new_mentions"] == 9, s
            # Feed titles and site links as the mentions' context.
            ctx = {rid.split("#")[0]: (r["context_title"], r["context_url"])
                   for rid, r in rows.items()}
            assert ctx == {
                fx.url("rss2"): ("Acme Engineering & Friends",
                                 "https://blog.acme.example/"),
                fx.url("atom"): ("Example Blog", "https://example.org/blog/"),
                fx.url("latin1"): ("Caf\u00e9 Cr\u00e8me",
                                   "http://cafe.example/"),
                fx.url("entities"): ("Entities & Escapes \u2014 a test feed",
                                     "http://entities.example/"),
            }, ctx
            # Authors: identities of network web, one per author (Zoe's
            # two spellings of her address are one identity).
            ids = {r["remote_id"]: r for r in d.query(
                "SELECT remote_id, display_name, email FROM identities "
                "WHERE network = 'web'")}
            assert set(ids) == {
                "mailto:jane@acme.example", "Bob Builder@127.0.0.1",
                "https://example.org/people/mark",
                "mailto:owner@example.org", "mailto:zoe@entities.example",
                "Ren\u00e9e Entity@127.0.0.1"}, sorted(ids)
            assert ids["mailto:zoe@entities.example"]["display_name"] == \
                "Zo\u00eb Ent", ids["mailto:zoe@entities.example"]
            assert ids["mailto:jane@acme.example"]["display_name"] == \
                "Jane Doe"
            assert d.query("SELECT count(*) FROM identities WHERE "
                           "network <> 'web'")[0][0] == 0
            # Cursors: the newest entry date of each feed.
            cur = d.call("sources.show", {"name": "blogs"})["source"][
                "cursors"]
            assert cur == {
                "feed:" + fx.url("rss2"): "1700010000",
                "feed:" + fx.url("atom"): "1699979402",
                "feed:" + fx.url("latin1"): "1698829200",
                "feed:" + fx.url("entities"): str(gmt(2023, 11, 15, 12)),
            }, cur
            # Every feed answered 200 once, in parallel.
            assert sorted(feeds_fixture.served()) == sorted(
                (n, 200) for n in GOOD), feeds_fixture.served()

            # Second pass: every feed is asked with its validators and
            # answers 304; nothing new.
            n_req, n_served = len(fx.requests()), len(feeds_fixture.served())
            d.call("sources.sync", {"name": "blogs"})
            s = d.wait_passes("blogs", 2)
            assert s["state"] == "idle" and s["new_mentions"] == 0, s
            check_conditional(fx, fx.requests()[n_req:])
            assert sorted(served_since(n_served)) == sorted(
                (n, 304) for n in GOOD), served_since(n_served)
            check_expected(d, fx)

            # The entities feed gains 3 items, and rss2 and atom change
            # bytes without changing entries: exactly 3 new rows, and the
            # re-read entries keep their remote ids.
            for name, f in (("rss2", "rss/rss2.xml"), ("atom",
                                                      "rss/atom.xml")):
                with open(os.path.join(feeds_fixture.DATA, f), "rb") as fh:
                    feeds_fixture.set_feed(
                        name, body=fh.read() + b"<!-- touched -->\n")
            feeds_fixture.gain("entities", 3)
            n_served = len(feeds_fixture.served())
            d.call("sources.sync", {"name": "blogs"})
            s = d.wait_passes("blogs", 3)
            assert s["state"] == "idle" and s["new_mentions"] == 3, s
            assert sorted(served_since(n_served)) == sorted(
                [("rss2", 200), ("atom", 200), ("entities", 200),
                 ("latin1", 304)]), served_since(n_served)
            rows = check_expected(d, fx, extra=3)
            new = {fx.url("entities") + "#" + k
                   for k in feeds_fixture.gained_ids("entities", 3)}
            assert new <= set(rows), sorted(rows)
            for rid in new:
                assert rows[rid]["author"].startswith("mailto:author"), \
                    rows[rid]["author"]
                assert "<b>" not in rows[rid]["text"], rows[rid]["text"]
            assert tuple(d.query("SELECT count(*), count(DISTINCT remote_id) "
                           "FROM mentions")[0]) == (12, 12)
            assert d.query("SELECT count(*) FROM identities WHERE network "
                           "= 'web'")[0][0] == 8
    finally:
        fx.stop()


BROKEN = {
    "b500": ("status", "HTTP 500"),
    "trunc": ("truncated", "not well-formed XML"),
    "html": ("html", "not well-formed XML"),
    "big": ("big", "body over 8 MiB"),
}


def add_broken_feeds():
    for name, (mode, _) in BROKEN.items():
        feeds_fixture.set_feed(name, file="rss/rss2.xml", mode=mode)


def feed_failures(d, fx, name):
    """Log lines reporting a failure of the feed, with their reasons."""
    prefix = "feed %s: " % fx.url(name)
    return [line.split(prefix, 1)[1] for line in d.log().splitlines()
            if prefix in line]


def test_broken_feeds_fail_alone_with_a_reason():
    fx = Fixture()
    add_good_feeds()
    add_broken_feeds()
    try:
        with Srmd(sources=source(fx, GOOD + tuple(BROKEN))) as d:
            t0 = time.monotonic()
            s = d.wait_passes("blogs", 1, timeout=30)
            took = time.monotonic() - t0
            # The good feeds' items are stored; the pass is OK because some
            # feeds worked.
            assert s["state"] == "idle", s
            check_expected(d, fx)
            for name, (_, reason) in BROKEN.items():
                assert not d.query(
                    "SELECT 1 FROM mentions WHERE remote_id LIKE ?",
                    fx.url(name) + "#%"), name
                lines = feed_failures(d, fx, name)
                assert len(lines) == 1 and lines[0].startswith(reason), (
                    name, lines)
            # The cut-off of the 20 MiB body did not wait for all of it.
            assert took < 20, took
            # Only good feeds moved a cursor.
            cur = d.call("sources.show", {"name": "blogs"})["source"][
                "cursors"]
            assert sorted(cur) == sorted("feed:" + fx.url(n) for n in GOOD)
    finally:
        fx.stop()


def test_broken_feed_fails_again_on_the_next_pass():
    """A feed whose body could not be parsed must not be skipped as '304
    Not Modified' next time: srmd must not keep the validators of a
    response the connector rejected."""
    fx = Fixture()
    add_good_feeds()
    add_broken_feeds()
    try:
        with Srmd(sources=source(fx, GOOD + tuple(BROKEN))) as d:
            d.wait_passes("blogs", 1, timeout=30)
            n_served = len(feeds_fixture.served())
            d.call("sources.sync", {"name": "blogs"})
            d.wait_passes("blogs", 2, timeout=30)
            again = dict(served_since(n_served))
            silent = []
            for name, (_, reason) in BROKEN.items():
                lines = feed_failures(d, fx, name)
                if not (len(lines) == 2 and lines[1].startswith(reason)):
                    silent.append("%s: answered %s on pass 2, failures "
                                  "logged %r" % (name, again.get(name),
                                                 lines))
            assert not silent, silent
            validators = [r[0] for r in d.query(
                "SELECT url FROM http_validators")]
            for name in ("trunc", "html"):
                assert fx.url(name) not in validators, (name, validators)
    finally:
        fx.stop()


def test_stalled_feed_does_not_hold_back_the_others():
    fx = Fixture()
    add_good_feeds()
    feeds_fixture.set_feed("stall", file="rss/rss2.xml", mode="stall")
    try:
        with Srmd(sources=source(fx, GOOD + ("stall",))) as d:
            # Each feed commits on its own: the good feeds' items are
            # stored while the stalled one still holds the pass open.
            wait_for(lambda: len(rss_rows(d)) == 9, 15,
                     "the good feeds' 9 items")
            assert d.source("blogs")["state"] == "syncing", d.source("blogs")
            check_expected(d, fx)
            # SIGTERM with a request hanging: srmd still exits promptly.
            t0 = time.monotonic()
            assert d.stop(signal.SIGTERM, timeout=10) == 0
            assert time.monotonic() - t0 < 10
            rows = d.query("SELECT count(*) FROM mentions")[0][0]
            assert rows == 9, rows
    finally:
        fx.stop()


def test_validators_survive_a_restart():
    fx = Fixture()
    add_good_feeds()
    try:
        d = Srmd(sources=source(fx, GOOD))
        with d:
            d.wait_passes("blogs", 1)
            check_expected(d, fx)
            saved = {r["url"]: (r["etag"], r["last_modified"]) for r in
                     d.query("SELECT url, etag, last_modified FROM "
                             "http_validators")}
            for name in GOOD:
                v = feeds_fixture.validators(name)
                assert saved.get(fx.url(name)) == (v["etag"],
                                                   v["last_modified"]), (
                    name, saved)
            assert d.stop() == 0
            # Same folder, same database: a new process.
            fx.srv.reset_stats()
            n_served = len(feeds_fixture.served())
            d.start()
            wait_for(lambda: len(fx.requests()) >= len(GOOD), 15,
                     "the first pass after the restart")
            s = d.wait_source("blogs", lambda s: s["state"] == "idle" and
                              s["last_ok_at"] is not None, 15)
            check_conditional(fx, fx.requests())
            assert sorted(served_since(n_served)) == sorted(
                (n, 304) for n in GOOD), served_since(n_served)
            check_expected(d, fx)
            assert s["new_mentions"] == 0, s
    finally:
        fx.stop()


if __name__ == "__main__":
    run(globals())
