"""The GitHub connector end to end: the real srmd loads github.so and syncs
issue search and notifications from tests/fixtures/github_fixture.py."""

import time

from srmtest import Srmd, run, wait_for

import github_fixture as gh
from fixture import FixtureServer

TOKEN = "gh-s3cret"
NOW = int(time.time())


def start_fixture():
    gh.reset(TOKEN)
    srv = FixtureServer(gh.Handler)
    srv.start()
    return srv


def source(port, token=TOKEN):
    return ("  - name: gh\n    plugin: github\n    every: 1h\n"
            "    base_url: http://127.0.0.1:%d\n    token: %s\n"
            "    query: [srmd]\n    backfill: 1d\n" % (port, token))


def rows(d):
    return [tuple(r) for r in d.query(
        "SELECT remote_id, text, identity_id IS NOT NULL FROM mentions "
        "ORDER BY remote_id")]


def requests(srv, path):
    return [e for e in srv.stats()["log"] if e["path"] == path]


def test_search_and_notifications_incremental():
    srv = start_fixture()
    try:
        for n in range(1, 131):  # more than one page of 100
            gh.issue(n, "srmd question %d" % n, "body %d" % n,
                     NOW - 7200 + n, author=(500 + n % 3, "user%d" % (n % 3)))
        gh.issue(999, "unrelated", "nothing here", NOW - 100)
        gh.issue(998, "srmd but old", "too old for the backfill",
                 NOW - 3 * 86400)
        gh.thread(77, "You were mentioned in srmd#5", NOW - 600)
        with Srmd(sources=source(srv.port)) as d:
            s = d.wait_passes("gh", 1)
            assert s["state"] == "idle", s
            got = rows(d)
            issues = [r for r in got if r[0].startswith("I_")]
            assert len(issues) == 130, len(issues)
            assert all(r[2] for r in issues)  # authors linked
            assert ("thread:77",) == tuple(r[0] for r in got
                                           if r[0].startswith("thread:"))
            assert d.query("SELECT count(*) FROM identities WHERE "
                           "network='github'")[0][0] == 3
            search = requests(srv, "/search/issues")
            assert len(search) == 2, search  # two pages via Link
            # Second pass: an edit and one new issue; notifications 304.
            gh.issue(5, "srmd question 5 (edited)", "body 5", NOW + 5)
            gh.issue(131, "srmd question 131", "new", NOW + 6)
            d.call("sources.sync", {"name": "gh"})
            s = d.wait_passes("gh", 2)
            assert s["state"] == "idle", s
            assert s["new_mentions"] == 1, s
            got = rows(d)
            assert len([r for r in got if r[0].startswith("I_")]) == 131
            assert ("I_5", "srmd question 5 (edited)\n\nbody 5", 1) in got
            # The second search asked only for what changed since the mark.
            q = requests(srv, "/search/issues")[-1]["query"]
            assert "updated%3A%3E%3D" in q or "updated:>=" in q, q
            # Third pass: nothing changed; notifications answer 304.
            d.call("sources.sync", {"name": "gh"})
            d.wait_passes("gh", 3)
            notif = requests(srv, "/notifications")
            assert any(k.lower() == "if-modified-since"
                       for k, _ in notif[-1]["headers"]), notif[-1]
            assert d.query("SELECT count(*) FROM mentions")[0][0] == 132
    finally:
        srv.stop()


def test_bad_credentials_is_auth_failed():
    srv = start_fixture()
    try:
        gh.issue(1, "srmd", "x", NOW - 60)
        with Srmd(sources=source(srv.port, token="wrong-token")) as d:
            s = d.wait_source("gh", lambda s: s["state"] == "auth_failed")
            assert "Bad credentials" in s["last_error"], s
            assert d.query("SELECT count(*) FROM mentions")[0][0] == 0
        assert "wrong-token" not in d.log()
    finally:
        srv.stop()


if __name__ == "__main__":
    run(globals())
