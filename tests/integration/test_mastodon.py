"""The Mastodon connector end to end: the real srmd loads mastodon.so and
syncs from tests/fixtures/mastodon_fixture.py on 127.0.0.1."""

import json
import os
import urllib.request
from urllib.parse import parse_qs

import srmtest
from srmtest import Srmd, run, wait_for

import mastodon_fixture
from fixture import FixtureServer

TOKEN = "s3cret-token"


class Fixture:
    def __init__(self, mentions=0, tagged=0):
        mastodon_fixture.reset(token=TOKEN)
        mastodon_fixture.add_mentions(mentions)
        mastodon_fixture.add_statuses("srmd", tagged)
        self.srv = FixtureServer(mastodon_fixture.Handler)
        self.srv.start()
        self.base = "http://127.0.0.1:%d" % self.srv.port

    def requests(self, path_prefix):
        return [e for e in self.srv.stats()["log"]
                if e["path"].startswith(path_prefix)]

    def stop(self):
        self.srv.stop()


def source(fx, **extra):
    s = {"name": "masto", "plugin": "mastodon", "base_url": fx.base,
         "token": TOKEN, "hashtags": ["srmd"], "every": "10s",
         "stream": False}
    s.update(extra)
    return [s]


def mention_uris(d):
    return [r[0] for r in d.query(
        "SELECT remote_id FROM mentions WHERE network = 'mastodon'")]


def check_exactly_once(d, expected):
    got = mention_uris(d)
    assert len(got) == len(set(got)), "duplicates in the database"
    missing = set(expected) - set(got)
    assert not missing, "missing %d, e.g. %s" % (len(missing),
                                                 sorted(missing)[:3])
    assert len(got) == len(set(expected)), (len(got), len(set(expected)))


def test_first_pass_then_more_than_a_page():
    fx = Fixture(mentions=5, tagged=10)
    try:
        with Srmd(sources=source(fx)) as d:
            s = d.wait_passes("masto", 1)
            assert s["state"] == "idle", s
            truth = mastodon_fixture.truth()
            check_exactly_once(d, truth["notif"] + truth["tag:srmd"])
            # Identities: absolute acct (the base_url's host added for local
            # accounts), the actor uri as key.
            rows = d.query("SELECT remote_id, handle, bio FROM identities "
                           "WHERE network = 'mastodon' ORDER BY handle")
            handles = [r["handle"] for r in rows]
            assert "user0@127.0.0.1:%d" % fx.srv.port in handles, handles
            assert "user1@remote1.example" in handles, handles
            assert len(handles) == len(set(handles)) == 5, handles
            assert all(r["remote_id"].startswith("https://") for r in rows)
            assert all("<p>" not in (r["bio"] or "") and
                       "& I like" in (r["bio"] or "") for r in rows), rows[0]
            # Every mention is linked to its author.
            assert d.query("SELECT count(*) FROM mentions WHERE network = "
                           "'mastodon' AND identity_id IS NULL")[0][0] == 0
            # First run: no min_id; the token goes to notifications only.
            notif = fx.requests("/api/v1/notifications")
            assert len(notif) == 1 and "min_id" not in notif[0]["query"]
            assert ["Authorization", "Bearer " + TOKEN] in \
                notif[0]["headers"], notif[0]["headers"]

            # More than a page arrives: all of it, no gap, no duplicate.
            mastodon_fixture.add_statuses("srmd", 60)
            mastodon_fixture.add_mentions(3)
            before = len(fx.requests("/api/v1/timelines/tag/srmd"))
            d.call("sources.sync", {"name": "masto"})
            s = d.wait_passes("masto", 2)
            assert s["state"] == "idle", s
            truth = mastodon_fixture.truth()
            assert len(truth["tag:srmd"]) == 70
            check_exactly_once(d, truth["notif"] + truth["tag:srmd"])
            tag_reqs = fx.requests("/api/v1/timelines/tag/srmd")[before:]
            # 40 + 20 + the empty page that says we caught up.
            assert len(tag_reqs) == 3, [r["query"] for r in tag_reqs]
            for r in tag_reqs:
                q = parse_qs(r["query"])
                assert "min_id" in q and "since_id" not in q, r["query"]
            cur = d.call("sources.show", {"name": "masto"})["source"][
                "cursors"]
            assert cur["tag:srmd"] == max(
                (st["id"] for st in mastodon_fixture.STATE["statuses"]
                 if st["tags"]), key=int), cur

            # Nothing new: nothing changes.
            d.call("sources.sync", {"name": "masto"})
            s = d.wait_passes("masto", 3)
            assert s["new_mentions"] == 0, s
            check_exactly_once(d, truth["notif"] + truth["tag:srmd"])
    finally:
        fx.stop()


def test_wrong_token_is_auth_failed():
    fx = Fixture(mentions=2, tagged=2)
    try:
        srcs = source(fx)
        srcs[0]["token"] = "wrong"
        with Srmd(sources=srcs) as d:
            s = d.wait_source("masto", lambda s: s["state"] == "auth_failed",
                              what="masto to be auth_failed")
            err = s["last_error"] or ""
            assert "token refused by 127.0.0.1:%d" % fx.srv.port in err, err
            assert "The access token is invalid" in err, err
            assert mention_uris(d) == []
            assert "wrong" not in d.log()  # the token is never logged
    finally:
        fx.stop()


def test_secrets_never_leak():
    """The token is in no log line (at debug level), not in sources.show,
    not in an error, and not in the database file."""
    fx = Fixture(mentions=2, tagged=2)
    try:
        with Srmd(sources=source(fx), log_level="debug") as d:
            d.wait_passes("masto", 1)
            shown = d.call("sources.show", {"name": "masto"})["source"]
            assert shown["config"]["token"] == "***", shown["config"]
            assert TOKEN not in json.dumps(shown)
            out = d.ctl("--json", "source", "masto", check=True).stdout
            assert TOKEN not in out
        assert TOKEN not in d.log()
        for name in os.listdir(d.dir):
            if name.startswith("srmd.db"):
                with open(os.path.join(d.dir, name), "rb") as f:
                    assert TOKEN.encode() not in f.read(), name
        assert os.stat(d.db_path).st_mode & 0o777 == 0o600
    finally:
        fx.stop()


def test_stream_delivers_between_passes():
    fx = Fixture(mentions=1)
    try:
        srcs = source(fx, stream=True, every="1h")
        srcs[0]["hashtags"] = []
        with Srmd(sources=srcs) as d:
            d.wait_passes("masto", 1)
            wait_for(lambda: mastodon_fixture.STATE["streams"], 10,
                     "the stream to connect")
            mastodon_fixture.add_mentions(1, stream=True)
            truth = mastodon_fixture.truth()
            wait_for(lambda: len(mention_uris(d)) == 2, 10,
                     "the streamed mention in the database")
            check_exactly_once(d, truth["notif"])
            assert d.source("masto")["passes"] == 1
            # The next pass fetches it again by min_id: still once.
            d.call("sources.sync", {"name": "masto"})
            d.wait_passes("masto", 2)
            check_exactly_once(d, truth["notif"])
    finally:
        fx.stop()


def test_reply_to_is_the_parent_uri():
    """reply_to holds the parent's uri (a remote_id) when the connector
    knows the parent, never the server-local in_reply_to_id; and a reply
    posted with srmctl is remembered as a parent."""
    fx = Fixture(mentions=1)
    try:
        srcs = source(fx, every="1h")
        srcs[0]["hashtags"] = []
        with Srmd(sources=srcs) as d:
            d.wait_passes("masto", 1)
            first = mastodon_fixture.STATE["notifications"][0]["status"]
            # Answers, in one page, to the status of the first pass, to
            # one another, and to a status this source never saw.
            a = mastodon_fixture.add_mentions(1, reply_to=first["id"])[0]
            b = mastodon_fixture.add_mentions(1, reply_to=a["id"])[0]
            c = mastodon_fixture.add_mentions(1, reply_to="42")[0]
            d.call("sources.sync", {"name": "masto"})
            d.wait_passes("masto", 2)
            rows = dict(d.query("SELECT remote_id, reply_to FROM mentions"))
            assert rows[first["uri"]] is None, rows
            assert rows[a["uri"]] == first["uri"], rows
            assert rows[b["uri"]] == a["uri"], rows
            assert rows[c["uri"]] is None, rows

            # The team answers; an answer to that answer names our post.
            mid = d.query("SELECT id FROM mentions WHERE remote_id = ?",
                          c["uri"])[0][0]
            out = d.ctl("--json", "reply", str(mid), "thanks!")
            assert out.returncode == 0, (out.stdout, out.stderr)
            posted = mastodon_fixture.STATE["posted"][-1]
            assert posted["in_reply_to_id"] == c["id"], posted
            assert json.loads(out.stdout)["posted_id"] == posted["uri"]
            e = mastodon_fixture.add_mentions(1, reply_to=posted["id"])[0]
            d.call("sources.sync", {"name": "masto"})
            d.wait_passes("masto", 3)
            got = d.query("SELECT reply_to FROM mentions WHERE remote_id = ?",
                          e["uri"])
            assert got[0][0] == posted["uri"], got
            x = d.query("SELECT remote_id FROM interactions")
            assert [r[0] for r in x] == [posted["uri"]]
    finally:
        fx.stop()


if __name__ == "__main__":
    run(globals())
