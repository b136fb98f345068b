"""The hackernews connector end to end: the real srmd loads hackernews.so
and searches tests/fixtures/algolia_fixture.py (a fake hn.algolia.com) on
127.0.0.1."""

import time
from urllib.parse import parse_qs

import srmtest  # noqa: F401  (puts tests/fixtures on sys.path)
from srmtest import Srmd, run

import algolia_fixture as af
from fixture import FixtureServer

BACKFILL = 2 * 86400
SHOW_HN = "Show HN: srmd, a relationship daemon"
ASK_HN = "Ask HN: how do you keep in touch?"


class Fixture:
    def __init__(self):
        af.reset()
        self.srv = FixtureServer(af.Handler)
        self.srv.start()
        self.base = "http://127.0.0.1:%d" % self.srv.port

    def searches(self):
        return [parse_qs(e["query"]) for e in self.srv.stats()["log"]
                if e["path"] == "/api/v1/search_by_date"]

    def stop(self):
        self.srv.stop()


def source(fx, **extra):
    s = {"name": "hn", "plugin": "hackernews", "every": "1h",
         "base_url": fx.base, "query": ["srmd"], "hits_per_page": 3,
         "backfill": "2d"}
    s.update(extra)
    return [s]


def seed(now):
    """Five hits the first pass must store, and three it must not."""
    s1 = af.story(38300000, "bob", SHOW_HN, now - 30 * 3600,
                  url="https://srmd.example/", points=42, num_comments=3)
    c1 = af.comment(38300001, "alice",
                    "<p>I switched to <a href=\"https://srmd.example/docs\" "
                    "rel=\"nofollow\">srmd</a> last week &amp; it&#x27;s "
                    "great.<p>Second paragraph.", now - 20 * 3600,
                    38300000, SHOW_HN, "https://srmd.example/")
    c2 = af.comment(38300002, "carol", "Does srmd speak IMAP?",
                    now - 10 * 3600, 38300000, SHOW_HN,
                    "https://srmd.example/", parent_id=38300001)
    c3 = af.comment(38300003, "alice", "srmd <i>rocks</i>", now - 5 * 3600,
                    38300000, SHOW_HN, "https://srmd.example/")
    s2 = af.story(38300010, "dave", ASK_HN, now - 2 * 3600,
                  story_text="Mostly <i>spreadsheets</i>.<br>And srmd.")
    # Older than the backfill window, not about srmd, a job ad.
    old = af.story(38200000, "erin", "srmd, the early days",
                   now - 3 * 86400)
    other = af.comment(38300020, "frank", "Nothing relevant here",
                       now - 3600, 38300000, "Another story")
    job = af.story(38300030, "acme", "Acme (YC) hires srmd engineers",
                   now - 4 * 3600)
    job["_tags"] = ["job", "author_acme", "story_38300030"]
    af.add(s1, c1, c2, c3, s2, old, other, job)
    return [h["objectID"] for h in (s1, c1, c2, c3, s2)]


def hn_rows(d):
    return {r["remote_id"]: r for r in d.query(
        "SELECT m.remote_id, m.text, m.url, m.created_at, m.reply_to, "
        "m.matched, m.context_title, m.context_url, i.network AS inet, "
        "i.remote_id AS author, i.handle, i.profile_url FROM mentions m "
        "LEFT JOIN identities i ON i.id = m.identity_id "
        "WHERE m.network = 'hackernews'")}


def mark_of(q):
    f = q["numericFilters"][0]
    assert f.startswith("created_at_i>="), f
    return int(f[len("created_at_i>="):])


def test_backfill_two_pages_then_only_new_hits():
    fx = Fixture()
    now = int(time.time())
    want = seed(now)
    try:
        t0 = int(time.time())
        with Srmd(sources=source(fx)) as d:
            s = d.wait_passes("hn", 1)
            t1 = int(time.time())
            assert s["state"] == "idle" and s["last_error"] is None, s
            # One query, two pages, the mark at now - backfill.
            qs = fx.searches()
            assert [q["page"] for q in qs] == [["0"], ["1"]], qs
            for q in qs:
                assert q["query"] == ["srmd"], q
                assert q["tags"] == ["(story,comment)"], q
                assert q["hitsPerPage"] == ["3"], q
                assert t0 - BACKFILL - 1 <= mark_of(q) <= t1 - BACKFILL, (
                    q, t0 - BACKFILL)
            assert mark_of(qs[0]) == mark_of(qs[1])

            rows = hn_rows(d)
            assert sorted(rows) == sorted(want), sorted(rows)
            assert s["new_mentions"] == 5, s
            by = {h["objectID"]: h for h in af.hits()}
            for rid, r in rows.items():
                h = by[rid]
                assert r["url"] == \
                    "https://news.ycombinator.com/item?id=" + rid, r["url"]
                assert r["created_at"] == h["created_at_i"]
                assert r["matched"] == "srmd"
                # Authors are identities of network hackernews.
                assert r["inet"] == "hackernews" and \
                    r["author"] == h["author"] == r["handle"], dict(r)
                assert r["profile_url"] == \
                    "https://news.ycombinator.com/user?id=" + h["author"]
                # The story's title is the context, for comments too.
                title = h.get("story_title") or h["title"]
                assert r["context_title"] == title, (rid, r["context_title"])
                assert "<" not in r["text"], (rid, r["text"])
            assert rows["38300001"]["text"] == (
                "I switched to srmd (https://srmd.example/docs) last week "
                "& it's great.\nSecond paragraph."), rows["38300001"]["text"]
            assert rows["38300001"]["reply_to"] == "38300000"
            assert rows["38300002"]["reply_to"] == "38300001"
            assert rows["38300000"]["reply_to"] is None
            assert rows["38300000"]["text"] == SHOW_HN
            assert rows["38300000"]["context_url"] == "https://srmd.example/"
            assert rows["38300003"]["text"] == "srmd rocks"
            assert rows["38300010"]["text"] == \
                "Mostly spreadsheets.\nAnd srmd.", rows["38300010"]["text"]
            ids = sorted(r[0] for r in d.query(
                "SELECT remote_id FROM identities WHERE network = "
                "'hackernews'"))
            assert ids == ["alice", "bob", "carol", "dave"], ids
            newest = now - 2 * 3600
            cur = d.call("sources.show", {"name": "hn"})["source"]["cursors"]
            assert cur == {"q:srmd": str(newest)}, cur

            # Two new comments: one later, one in the newest second already
            # seen (which ">=" exists to catch).
            af.add(af.comment(38300040, "gina", "srmd in production",
                              now - 1800, 38300010, ASK_HN),
                   af.comment(38300041, "hank", "same second, srmd too",
                              newest, 38300010, ASK_HN))
            n = len(fx.searches())
            d.call("sources.sync", {"name": "hn"})
            s = d.wait_passes("hn", 2)
            assert s["state"] == "idle" and s["new_mentions"] == 2, s
            qs = fx.searches()[n:]
            assert len(qs) == 1 and mark_of(qs[0]) == newest, qs
            assert qs[0]["page"] == ["0"]
            rows = hn_rows(d)
            assert sorted(rows) == sorted(want + ["38300040", "38300041"])
            assert tuple(d.query(
                "SELECT count(*), count(DISTINCT remote_id) FROM mentions")[
                    0]) == (7, 7)
            assert rows["38300041"]["context_title"] == ASK_HN
            cur = d.call("sources.show", {"name": "hn"})["source"]["cursors"]
            assert cur == {"q:srmd": str(now - 1800)}, cur

            # Nothing new: the mark moved to the newest hit, no new rows.
            n = len(fx.searches())
            d.call("sources.sync", {"name": "hn"})
            s = d.wait_passes("hn", 3)
            assert s["state"] == "idle" and s["new_mentions"] == 0, s
            qs = fx.searches()[n:]
            assert len(qs) == 1 and mark_of(qs[0]) == now - 1800, qs
            assert d.query("SELECT count(*) FROM mentions")[0][0] == 7
            assert d.query("SELECT count(*) FROM identities WHERE network "
                           "= 'hackernews'")[0][0] == 6
    finally:
        fx.stop()


def test_429_puts_the_source_in_backoff_for_retry_after():
    fx = Fixture()
    seed(int(time.time()))
    af.fail_next(429, retry_after=300)
    try:
        with Srmd(sources=source(fx)) as d:
            s = d.wait_passes("hn", 1)
            assert s["state"] == "backoff", s
            wait = s["next_sync_at"] - s["last_sync_at"]
            assert 295 <= wait <= 305, s
            assert "rate limited" in (s["last_error"] or ""), s
            assert len(fx.searches()) == 1
            assert d.query("SELECT count(*) FROM mentions")[0][0] == 0
            assert d.call("sources.show", {"name": "hn"})["source"][
                "cursors"] == {}
    finally:
        fx.stop()


def test_429_mid_walk_resumes_after_retry_after_without_loss():
    fx = Fixture()
    want = seed(int(time.time()))
    # Page 0 is answered, page 1 gets 429 with a one-second wait.
    af.fail_next(429, retry_after=1, after=1)
    try:
        with Srmd(sources=source(fx)) as d:
            s = d.wait_passes("hn", 1)
            assert s["state"] == "backoff", s
            assert s["next_sync_at"] - s["last_sync_at"] <= 2, s
            # The query's cursor did not move past the page that failed.
            assert d.call("sources.show", {"name": "hn"})["source"][
                "cursors"] == {}
            first_mark = mark_of(fx.searches()[0])
            # The retry comes by itself (every is 1h) and walks it all.
            s = d.wait_passes("hn", 2, timeout=10)
            assert s["state"] == "idle", s
            qs = fx.searches()
            assert [q["page"][0] for q in qs] == ["0", "1", "0", "1"], qs
            assert abs(mark_of(qs[2]) - first_mark) <= 3, qs
            rows = hn_rows(d)
            assert sorted(rows) == sorted(want), sorted(rows)
            assert tuple(d.query(
                "SELECT count(*), count(DISTINCT remote_id) FROM mentions")[
                    0]) == (5, 5)
    finally:
        fx.stop()


if __name__ == "__main__":
    run(globals())
