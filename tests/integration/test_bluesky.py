"""The bluesky connector end to end: the real srmd and srmctl, bluesky.so
and tests/fixtures/bluesky_fixture.py (a fake PDS/AppView) on 127.0.0.1."""

import json

import srmtest
from srmtest import Srmd, run, wait_for

import bluesky_fixture as bf
from fixture import FixtureServer

LOGIN = "/xrpc/com.atproto.server.createSession"
REFRESH = "/xrpc/com.atproto.server.refreshSession"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
NOTIF = "/xrpc/app.bsky.notification.listNotifications"


class Fixture:
    def __init__(self, **kw):
        bf.reset(**kw)
        self.srv = FixtureServer(bf.Handler)
        self.srv.start()
        self.url = "http://127.0.0.1:%d" % self.srv.port

    def count(self, path):
        return self.srv.stats()["requests"].get(path, 0)

    def stop(self):
        self.srv.stop()


def source(fx, login=True, extra=""):
    s = ("  - name: sky\n"
         "    plugin: bluesky\n"
         "    every: 1h\n"
         "    base_url: %s\n"
         "    service: %s\n"
         "    query: [srmd]\n" % (fx.url, fx.url))
    if login:
        s += ("    identifier: %s\n"
              "    app_password: %s\n" % (bf.IDENTIFIER, bf.PASSWORD))
    return s + extra


def mentions(d):
    return d.query("SELECT remote_id, text, url, matched, reply_ref "
                   "FROM mentions WHERE network = 'bluesky' "
                   "ORDER BY remote_id")


def seed():
    bf.add_post("p1", "alice.example.com", "srmd is neat", age=300)
    bf.add_post("p2", "bob.bsky.social", "Trying SRMD today", age=200)
    bf.add_post("p3", "carol.bsky.social", "srmd, again", age=100)
    bf.add_post("p4", "dave.bsky.social", "unrelated post", age=50)
    bf.add_notification("n1", "erin.bsky.social", "@team.example.com hi",
                        age=90)
    bf.add_notification("n2", "erin.bsky.social", "", reason="like", age=80)
    bf.add_notification("n3", "gus.bsky.social", "thanks!", reason="reply",
                        age=70)


def test_session_source_syncs_search_and_notifications():
    fx = Fixture(page_size=2)
    try:
        seed()
        with Srmd(sources=source(fx)) as d:
            s = d.wait_passes("sky", 1)
            assert s["state"] == "idle", (s, d.log())
            rows = mentions(d)
            ids = [r[0] for r in rows]
            # Three search hits over two pages, a mention and a reply.
            assert len(ids) == 5 and len(set(ids)) == 5, rows
            assert "at://did:plc:dave/app.bsky.feed.post/p4" not in ids
            by_id = {r[0]: r for r in rows}
            p1 = by_id["at://did:plc:alice/app.bsky.feed.post/p1"]
            assert p1[2] == ("https://bsky.app/profile/alice.example.com/"
                             "post/p1"), p1
            assert p1[3] == "srmd"
            assert json.loads(p1[4])["cid"] == "bafyreip1"
            n3 = by_id["at://did:plc:gus/app.bsky.feed.post/n3"]
            assert n3[3] == "reply"
            # Authors are identities keyed by DID, with their handle.
            handles = dict(d.query("SELECT remote_id, handle FROM identities "
                                   "WHERE network = 'bluesky'"))
            assert handles["did:plc:alice"] == "alice.example.com", handles
            assert handles["did:plc:erin"] == "erin.bsky.social"
            cursors = d.call("sources.show", {"name": "sky"})["source"][
                "cursors"]
            assert set(cursors) == {"q:srmd", "notif"}, cursors
            assert fx.count(LOGIN) == 1
            assert fx.count(SEARCH) == 2
            assert fx.count(NOTIF) == 1  # stopped by the reasons filter

            # Nothing new: a second pass adds nothing twice.
            assert d.ctl("sync", "sky").returncode == 0
            s = d.wait_passes("sky", 2)
            assert s["state"] == "idle", s
            assert mentions(d) == rows

            # New posts arrive once.
            bf.add_post("p5", "bob.bsky.social", "srmd 1.0 is out", age=5)
            bf.add_notification("n4", "hana.bsky.social", "look",
                                reason="quote", age=3)
            assert d.ctl("sync", "sky").returncode == 0
            d.wait_passes("sky", 3)
            ids3 = [r[0] for r in mentions(d)]
            assert len(ids3) == 7 and len(set(ids3)) == 7, ids3
            assert "at://did:plc:bob/app.bsky.feed.post/p5" in ids3
            assert "at://did:plc:hana/app.bsky.feed.post/n4" in ids3

            # One login over all passes.
            assert fx.count(LOGIN) == 1
            assert fx.count(REFRESH) == 0
    finally:
        fx.stop()


def test_short_tokens_are_refreshed_not_relogged():
    # Access tokens live 2 minutes: every pass after the first refreshes.
    fx = Fixture(page_size=10, access_ttl=120)
    try:
        seed()
        with Srmd(sources=source(fx)) as d:
            d.wait_passes("sky", 1)
            for n in (2, 3, 4):
                assert d.ctl("sync", "sky").returncode == 0
                s = d.wait_passes("sky", n)
                assert s["state"] == "idle", (s, d.log())
            assert fx.count(LOGIN) == 1
            assert fx.count(REFRESH) == 3
            assert len(mentions(d)) == 5
    finally:
        fx.stop()


def test_wrong_password_and_no_session():
    fx = Fixture()
    try:
        seed()
        bad = source(fx, login=False) + (
            "    identifier: %s\n"
            "    app_password: wrong-wrong-wrong\n" % bf.IDENTIFIER)
        anon = source(fx, login=False).replace("name: sky", "name: anon")
        with Srmd(sources=bad + anon) as d:
            s = d.wait_passes("sky", 1)
            assert "Invalid identifier or password" in (
                s["last_error"] or ""), s
            a = d.wait_passes("anon", 1)
            assert "set identifier and app_password" in (
                a["last_error"] or ""), a
            assert mentions(d) == []
    finally:
        fx.stop()


if __name__ == "__main__":
    run(globals())
