"""The bluesky connector end to end: the real srmd and srmctl, bluesky.so
and tests/fixtures/bluesky_fixture.py (a fake PDS/AppView) on 127.0.0.1."""

import json
import os
import pwd
import time

import srmtest
from srmtest import Srmd, run, wait_for

import bluesky_fixture as bf
from fixture import FixtureServer

LOGIN = "/xrpc/com.atproto.server.createSession"
REFRESH = "/xrpc/com.atproto.server.refreshSession"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
NOTIF = "/xrpc/app.bsky.notification.listNotifications"
PROFILES = "/xrpc/app.bsky.actor.getProfiles"
CREATE = "/xrpc/com.atproto.repo.createRecord"


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


def counts(d):
    """identities' remote_id -> (followers, following, posts, bio)."""
    return {r[0]: tuple(r[1:]) for r in d.query(
        "SELECT remote_id, followers, following, posts, bio FROM identities"
        " WHERE network = 'bluesky'")}


def expected_counts(did):
    p = bf.profile(did)
    return (p["followersCount"], p["followsCount"], p["postsCount"],
            p["description"])


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
            # Post views carry no follower counts: one getProfiles for the
            # five authors gave them, with their bios.
            assert fx.count(PROFILES) == 1
            asked = bf.STATE["profile_requests"][0]
            assert sorted(asked) == sorted(
                "did:plc:" + n for n in ("alice", "bob", "carol", "erin",
                                         "gus")), asked
            got = counts(d)
            for did in asked:
                assert got[did] == expected_counts(did), (did, got[did])

            # Nothing new: a second pass adds nothing twice, and asks for
            # no counts (fresh for a day).
            assert d.ctl("sync", "sky").returncode == 0
            s = d.wait_passes("sky", 2)
            assert s["state"] == "idle", s
            assert mentions(d) == rows
            assert fx.count(PROFILES) == 1

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
            # Only hana is new: bob's counts are still fresh.
            assert fx.count(PROFILES) == 2
            assert bf.STATE["profile_requests"][1] == ["did:plc:hana"]
            assert counts(d)["did:plc:hana"] == expected_counts(
                "did:plc:hana")

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


def test_reply_threads_and_is_recorded():
    """srmctl reply to Bluesky mentions: createRecord gets a post whose
    reply.root is the thread's root and reply.parent the mention, with the
    session's token; srmd records the reply as an interaction."""
    fx = Fixture(page_size=10)
    try:
        root = bf.add_post("root", "dave.bsky.social",
                           "Which CRM does your team use?", age=400)
        r1 = bf.add_post("r1", "erin.bsky.social", "srmd, clearly",
                         age=300, reply_to=root)
        r2 = bf.add_post("r2", "frank.bsky.social", "+1 for srmd", age=200,
                         reply_to=r1, root=root)
        p1 = bf.add_post("p1", "alice.example.com", "srmd is neat", age=100)
        n3 = bf.add_notification("n3", "gus.bsky.social", "thanks!",
                                 reason="reply", age=70)
        with Srmd(sources=source(fx)) as d:
            s = d.wait_passes("sky", 1)
            assert s["state"] == "idle", (s, d.log())
            ids = {r[0]: r[1] for r in d.query(
                "SELECT remote_id, id FROM mentions")}
            assert set(ids) == {r1["uri"], r2["uri"], p1["uri"],
                                n3["uri"]}, ids
            # reply_to is the parent's AT-URI, a mention's remote_id.
            reply_to = dict(d.query("SELECT remote_id, reply_to FROM "
                                    "mentions"))
            assert reply_to[r2["uri"]] == r1["uri"]
            assert reply_to[r1["uri"]] == root["uri"]
            assert reply_to[p1["uri"]] is None
            assert reply_to[n3["uri"]] == bf.MY_POST_URI

            me = pwd.getpwuid(os.geteuid()).pw_name
            cases = [
                # (mention, text, expected root ref, expected parent ref)
                (r2, "Thanks Frank!", bf.strong_ref(root),
                 bf.strong_ref(r2)),
                (p1, "Glad you like it, Alice", bf.strong_ref(p1),
                 bf.strong_ref(p1)),
                (n3, "You are welcome \u2728",
                 {"uri": bf.MY_POST_URI, "cid": bf.MY_POST_CID},
                 bf.strong_ref(n3)),
            ]
            for k, (m, text, want_root, want_parent) in enumerate(cases, 1):
                before = time.time()
                out = d.ctl("--json", "reply", str(ids[m["uri"]]), text)
                assert out.returncode == 0, (out.stdout, out.stderr,
                                             d.log()[-3000:])
                res = json.loads(out.stdout)
                posted = "at://%s/app.bsky.feed.post/reply%d" % (bf.ME_DID,
                                                                 k)
                assert res["posted_id"] == posted, res
                assert res["posted_url"] == (
                    "https://bsky.app/profile/%s/post/reply%d" % (
                        bf.IDENTIFIER, k)), res
                assert res["mention"]["status"] == "replied", res

                rec = bf.STATE["records"][-1]
                assert len(bf.STATE["records"]) == k
                body = rec["body"]
                assert body["repo"] == bf.ME_DID, body
                assert body["collection"] == "app.bsky.feed.post", body
                post = body["record"]
                assert post["$type"] == "app.bsky.feed.post", post
                assert post["text"] == text, post
                created = bf.parse_iso(post["createdAt"])
                assert before - 5 <= created <= time.time() + 5, post
                assert post["reply"]["root"] == want_root, post
                assert post["reply"]["parent"] == want_parent, post
                # The session's access token, not the refresh token.
                assert rec["bearer"] == bf.STATE["last_access"], rec
                assert rec["bearer"] in bf.STATE["access"]

                # Recorded as srmd records a reply: an outgoing
                # interaction by the caller with the mention's author.
                x = d.query(
                    "SELECT i.direction, mb.user, i.network, i.summary,"
                    " i.mention_id, i.remote_id, idn.remote_id"
                    " FROM interactions i JOIN members mb"
                    " ON mb.id = i.member_id"
                    " JOIN identities idn ON idn.id = i.identity_id"
                    " WHERE i.mention_id = ?", ids[m["uri"]])
                assert [tuple(r) for r in x] == [
                    ("out", me, "bluesky", text, ids[m["uri"]], posted,
                     m["author"]["did"])], [tuple(r) for r in x]
                st = d.query("SELECT status FROM mentions WHERE id = ?",
                             ids[m["uri"]])
                assert st[0][0] == "replied"
            assert fx.count(CREATE) == 3
            # One login served the pass and the three replies.
            assert fx.count(LOGIN) == 1
            h = d.call("history", {"id": ids[p1["uri"]]})["events"]
            assert [(e["member"], e["action"]) for e in h] == [
                (me, "replied")], h
            assert h[0]["detail"]["posted_id"] == \
                "at://%s/app.bsky.feed.post/reply2" % bf.ME_DID, h
    finally:
        fx.stop()


if __name__ == "__main__":
    run(globals())
