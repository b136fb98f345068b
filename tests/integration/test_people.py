"""People, not accounts, end to end through the real srmd and srmctl:
identity resolution with evidence (automatic merges on strong evidence
only, suggestions on weak), rel="me" verification against
tests/fixtures/profile_fixture.py, merge and split, notes and
conversations, search, suggestions, stay-in-touch, export and import.

Data is either fed by the testnet connector or inserted with sqlite3 into
a stopped daemon's database, which is then started again."""

import json
import math
import os
import sqlite3
import subprocess
import time

import srmtest
from srmtest import RpcError, Srmd, run, wait_for

import profile_fixture
import testnet_fixture
from fixture import FixtureServer

TEAM = ("team:\n"
        "  members:\n"
        "    - user: alice\n"
        "      name: Alice\n"
        "    - user: bob\n"
        "      name: Bob\n"
        "    - user: carol\n"
        "      name: Carol\n")
DAY = 86400


class Seed:
    """Rows for a stopped daemon's database."""

    def __init__(self, path):
        self.c = sqlite3.connect(path)
        self.c.execute("PRAGMA foreign_keys = ON")
        self.now = int(time.time())

    def person(self, name, **kw):
        cols = {"display_name": name, "created_at": kw.pop("created_at",
                                                            self.now),
                "updated_at": self.now}
        cols.update(kw)
        cur = self.c.execute(
            "INSERT INTO people (%s) VALUES (%s)" % (
                ",".join(cols), ",".join("?" * len(cols))),
            list(cols.values()))
        return cur.lastrowid

    def identity(self, person, network, remote_id, **kw):
        cols = {"person_id": person, "network": network,
                "remote_id": remote_id, "first_seen_at": self.now,
                "last_seen_at": self.now}
        cols.update(kw)
        cur = self.c.execute(
            "INSERT INTO identities (%s) VALUES (%s)" % (
                ",".join(cols), ",".join("?" * len(cols))),
            list(cols.values()))
        return cur.lastrowid

    def link(self, identity, url, verified_at=None):
        self.c.execute("INSERT INTO identity_links (identity_id, label, url,"
                       " verified_at) VALUES (?, 'Website', ?, ?)",
                       (identity, url, verified_at))

    def mention(self, identity, remote_id, text, at, status="new"):
        self.c.execute(
            "INSERT INTO mentions (network, remote_id, identity_id, text,"
            " created_at, fetched_at, status) VALUES ('mastodon', ?, ?, ?,"
            " ?, ?, ?)", (remote_id, identity, text, at, at, status))

    def sql(self, q, *args):
        return self.c.execute(q, args)

    def close(self):
        self.c.commit()
        self.c.close()


def seeded(fill, extra=TEAM, **kw):
    """A daemon whose database holds what fill(Seed) inserted."""
    d = Srmd(extra=extra, **kw)
    d.start()
    d.stop()
    s = Seed(d.db_path)
    fill(s)
    s.close()
    d.start()
    return d


def person_of(d, identity_id):
    return d.query("SELECT person_id FROM identities WHERE id = ?",
                   identity_id)[0][0]


def state(d):
    """Everything a merge or split may touch, as comparable data."""
    q = d.query
    return {
        "people": [tuple(r) for r in q(
            "SELECT id, display_name, owner_id, cadence_days, strength,"
            " last_interaction_at, last_mention_at, created_at, updated_at"
            " FROM people ORDER BY id")],
        "identities": [tuple(r) for r in q(
            "SELECT id, person_id FROM identities ORDER BY id")],
        "notes": [tuple(r) for r in q(
            "SELECT id, person_id, text FROM notes ORDER BY id")],
        "interactions": [tuple(r) for r in q(
            "SELECT id, person_id, summary FROM interactions ORDER BY id")],
        "outcomes": [tuple(r) for r in q(
            "SELECT id, person_id, kind FROM outcomes ORDER BY id")],
        "tags": [tuple(r) for r in q(
            "SELECT person_id, tag FROM person_tags ORDER BY 1, 2")],
    }


# ---- identity resolution -------------------------------------------------

def test_strong_evidence_merges_weak_evidence_suggests():
    ids = {}

    def fill(s):
        now = s.now
        # Same email from two sources.
        p = s.person("Ada")
        ids["ada_m"] = s.identity(p, "mastodon", "https://m.example/u/ada",
                                  handle="ada@m.example", email="ada@x.org")
        p = s.person("Ada L.")
        ids["ada_g"] = s.identity(p, "github", "101", handle="adal",
                                  email="ADA@x.org")
        # A Bluesky domain handle and a Mastodon link the network verified,
        # to the same site.
        p = s.person("Bob")
        ids["bob_b"] = s.identity(p, "bluesky", "did:plc:bob",
                                  handle="bob.example")
        s.link(ids["bob_b"], "https://bob.example", now)
        p = s.person("Robert")
        ids["bob_m"] = s.identity(p, "mastodon", "https://m.example/u/rob",
                                  handle="rob@m.example")
        s.link(ids["bob_m"], "http://bob.example/", now)
        # A verified Mastodon link that is a GitHub profile page.
        p = s.person("Carol")
        ids["carol_m"] = s.identity(p, "mastodon", "https://m.example/u/c",
                                    handle="carol@m.example")
        s.link(ids["carol_m"], "https://github.com/carolx", now)
        p = s.person("carolx")
        ids["carol_g"] = s.identity(p, "github", "303", handle="carolx",
                                    profile_url="https://github.com/carolx")
        # Weak: the same handle on two networks.
        p = s.person("Dave")
        ids["dave_m"] = s.identity(p, "mastodon", "https://m.example/u/d",
                                   handle="dave@m.example")
        p = s.person("Dave G")
        ids["dave_g"] = s.identity(p, "github", "404", handle="dave")
        # Weak: the same name and an unverified shared website.
        p = s.person("Erin Example")
        ids["erin_m"] = s.identity(p, "mastodon", "https://m.example/u/e",
                                   handle="erin1@m.example",
                                   display_name="Erin Example")
        s.link(ids["erin_m"], "https://erin.example")
        p = s.person("Erin Example")
        ids["erin_g"] = s.identity(p, "github", "505", handle="e-x",
                                   display_name="Erin Example")
        s.link(ids["erin_g"], "https://erin.example/")

    with seeded(fill) as d:
        before = d.query("SELECT count(*) FROM people")[0][0]
        res = d.call("people.resolve")
        assert res["merged"] == 3, res
        assert d.query("SELECT count(*) FROM people")[0][0] == before - 3
        for a, b in (("ada_m", "ada_g"), ("bob_b", "bob_m"),
                     ("carol_m", "carol_g")):
            assert person_of(d, ids[a]) == person_of(d, ids[b]), (a, b)
        for a, b in (("dave_m", "dave_g"), ("erin_m", "erin_g")):
            assert person_of(d, ids[a]) != person_of(d, ids[b]), (a, b)
        # people.show gives the evidence with kind and confidence.
        show = d.call("people.show", {"person": person_of(d, ids["ada_m"])})
        kinds = {(e["kind"], e["confidence"]) for e in show["evidence"]}
        assert ("email", 0.9) in kinds, show["evidence"]
        show = d.call("people.show", {"person": person_of(d, ids["bob_m"])})
        assert [e["kind"] for e in show["evidence"]] == [
            "shared_verified_link"], show["evidence"]
        show = d.call("people.show", {"person": person_of(d, ids["carol_m"])})
        assert [e["kind"] for e in show["evidence"]] == ["rel_me"]
        # Weak evidence: a suggestion with its reason, never a merge.
        dups = d.call("people.duplicates")["suggestions"]
        got = {(x["kind"], x["a"]["person"], x["b"]["person"]) for x in dups}
        assert ("same_handle", person_of(d, ids["dave_m"]),
                person_of(d, ids["dave_g"])) in got, dups
        assert ("name_website", person_of(d, ids["erin_m"]),
                person_of(d, ids["erin_g"])) in got, dups
        show = d.call("people.show", {"person": person_of(d, ids["dave_g"])})
        assert show["merge_suggestions"][0]["other_person"] == \
            person_of(d, ids["dave_m"])
        out = d.ctl("duplicates", check=True).stdout
        assert "same_handle" in out and "srmctl merge" in out
        # Resolving again changes nothing.
        assert d.call("people.resolve")["merged"] == 0


def test_rel_me_verified_by_srmd_and_flagged_when_it_stops():
    profile_fixture.reset()
    srv = FixtureServer(profile_fixture.Handler)
    srv.start()
    site = "http://127.0.0.1:%d" % srv.port
    ids = {}
    profile_fixture.PAGES["/gus"] = ["https://m.example/@gus",
                                     "https://github.com/gus"]
    profile_fixture.PAGES["/hal"] = []  # links to nobody

    def fill(s):
        p = s.person("Gus")
        ids["gus_m"] = s.identity(p, "mastodon", "https://m.example/u/gus",
                                  handle="gus@m.example",
                                  profile_url="https://m.example/@gus")
        s.link(ids["gus_m"], site + "/gus")
        p = s.person("Gus H")
        ids["gus_g"] = s.identity(p, "github", "77", handle="gush",
                                  profile_url="https://github.com/gus")
        s.link(ids["gus_g"], site + "/gus")
        p = s.person("Hal")
        ids["hal_m"] = s.identity(p, "mastodon", "https://m.example/u/hal",
                                  handle="hal@m.example",
                                  profile_url="https://m.example/@hal")
        s.link(ids["hal_m"], site + "/hal")
        p = s.person("Hal B")
        ids["hal_g"] = s.identity(p, "github", "78", handle="halb",
                                  profile_url="https://github.com/hal")
        s.link(ids["hal_g"], site + "/hal")

    try:
        with seeded(fill) as d:
            assert person_of(d, ids["gus_m"]) != person_of(d, ids["gus_g"])
            assert d.call("people.verify")["started"] is True

            def checked(status):
                rows = d.query("SELECT identity_id, status FROM link_checks")
                got = dict((r[0], r[1]) for r in rows)
                return len(got) == 4 and got[ids["gus_m"]] == status and got
            got = wait_for(lambda: checked("verified"), 15,
                           "four link checks")
            assert got[ids["hal_m"]] == "unverified", got
            # The site links back to both Gus profiles: one person now.
            assert person_of(d, ids["gus_m"]) == person_of(d, ids["gus_g"])
            assert person_of(d, ids["hal_m"]) != person_of(d, ids["hal_g"])
            show = d.call("people.show", {"person": person_of(d,
                                                             ids["gus_m"])})
            ev = show["evidence"]
            assert [(e["kind"], e["state"]) for e in ev] == [
                ("shared_verified_link", "active")], ev
            links = [l for i in show["identities"] for l in i["links"]]
            assert all(l["srmd_check"]["status"] == "verified"
                       for l in links), links
            assert srv.stats()["requests"].get("/gus", 0) >= 2
            # The page stops linking back: flagged, not silently kept.
            profile_fixture.PAGES["/gus"] = []
            wait_for(lambda: d.call("people.verify")["started"], 10,
                     "a second round to start")
            wait_for(lambda: checked("failing"), 15, "failing checks")
            show = d.call("people.show", {"person": person_of(d,
                                                             ids["gus_m"])})
            assert [e["state"] for e in show["evidence"]] == ["failing"]
            out = d.ctl("person", str(person_of(d, ids["gus_m"])),
                        check=True).stdout
            assert "FAILING" in out, out
    finally:
        srv.stop()


def test_merge_then_split_restores_the_exact_state():
    ids = {}

    def fill(s):
        now = s.now
        a = s.person("Ivy", cadence_days=30, created_at=now - 50 * DAY)
        b = s.person("Ivy N", cadence_days=7, strength=2.5,
                     created_at=now - 40 * DAY)
        ids["a"], ids["b"] = a, b
        ids["ia"] = s.identity(a, "mastodon", "https://m.example/u/ivy",
                               handle="ivy@m.example", email="ivy@x.org")
        ids["ib"] = s.identity(b, "github", "909", handle="ivyn",
                               email="ivy@x.org")
        ids["ib2"] = s.identity(b, "bluesky", "did:plc:ivy",
                                handle="ivy.bsky.social")
        s.mention(ids["ib"], "m1", "ivy says hi", now - 3 * DAY)
        s.sql("INSERT INTO notes (person_id, text, created_at) VALUES"
              " (?, 'met at the meetup', ?)", b, now - 9 * DAY)
        s.sql("INSERT INTO notes (person_id, text, created_at) VALUES"
              " (?, 'prefers email', ?)", a, now - 8 * DAY)
        s.sql("INSERT INTO interactions (person_id, identity_id, network,"
              " direction, at, summary) VALUES (?, ?, 'github', 'out', ?,"
              " 'reviewed her PR')", b, ids["ib"], now - 5 * DAY)
        s.sql("INSERT INTO outcomes (person_id, kind, at) VALUES"
              " (?, 'lead', ?)", b, now - 4 * DAY)
        s.sql("INSERT INTO person_tags VALUES (?, 'rust'), (?, 'speaker'),"
              " (?, 'rust')", b, b, a)
        s.sql("UPDATE people SET last_interaction_at = ?, last_mention_at"
              " = ? WHERE id = ?", now - 5 * DAY, now - 3 * DAY, b)

    with seeded(fill) as d:
        before = state(d)
        out = d.ctl("merge", str(ids["b"]), str(ids["a"]), check=True)
        assert "merged person %d into person %d" % (ids["b"], ids["a"]) in \
            out.stdout
        merged = state(d)
        # Nothing is lost: every row now hangs off the merged person.
        assert [r[0] for r in merged["people"]] == [ids["a"]]
        assert {r[1] for r in merged["identities"]} == {ids["a"]}
        assert len(merged["notes"]) == 2 and len(merged["outcomes"]) == 1
        assert {r[1] for r in merged["tags"]} == {"rust", "speaker"}
        assert merged["people"][0][3] == 7  # the shorter cadence
        show = d.call("people.show", {"person": "ivy@m.example"})
        kinds = [e["type"] for e in show["timeline"]]
        assert kinds == ["mention", "outcome", "interaction", "note",
                         "note"], kinds
        assert show["merges"][0]["from"] == ids["b"]
        # Split one of the identities that came with the merge: undone.
        out = d.ctl("split", str(ids["ib2"]), check=True)
        assert "merge undone" in out.stdout, out.stdout
        assert state(d) == before
        # The team undid it: strong evidence (the email) no longer merges.
        res = d.call("people.resolve")
        assert res["merged"] == 0 and res["blocked"] >= 1, res
        assert state(d)["people"] == before["people"]
        # Merged again by hand and split with --only: the identity alone.
        d.ctl("merge", str(ids["b"]), str(ids["a"]), check=True)
        res = d.call("people.split", {"identity": ids["ib2"], "only": True})
        assert res["undid_merge"] is None
        assert person_of(d, ids["ib2"]) != ids["a"]
        assert d.query("SELECT count(*) FROM identities WHERE person_id = ?",
                       person_of(d, ids["ib2"]))[0][0] == 1
        assert person_of(d, ids["ib"]) == ids["a"]
        # An identity alone in its person cannot be split out.
        try:
            d.call("people.split", {"identity": ids["ib2"], "only": True})
            assert False
        except RpcError as e:
            assert e.code == -32003, e


def test_notes_and_conversations_survive_merges():
    ids = {}

    def fill(s):
        ids["p"] = s.person("Jo")
        ids["i"] = s.identity(ids["p"], "mastodon", "https://m.example/u/jo",
                              handle="jo@m.example")
        ids["q"] = s.person("Jo G")
        ids["j"] = s.identity(ids["q"], "github", "55", handle="jog")

    with seeded(fill) as d:
        d.ctl("note", "jo@m.example", "asked about pricing", check=True)
        d.ctl("log", "jog", "--via", "github", "answered the issue",
              check=True)
        r = d.ctl("log", "jo@m.example", "--via", "mastodon",
                  "thanked them", check=True)
        assert "logged" in r.stdout
        user = d.query("SELECT member FROM audit WHERE action = 'note'")[0][0]
        assert d.query("SELECT m.user FROM notes n JOIN members m ON m.id ="
                       " n.member_id")[0][0] == user
        d.ctl("merge", "jog", "jo@m.example", check=True)
        show = d.call("people.show", {"person": ids["p"]})
        texts = [(e["type"], e["text"]) for e in show["timeline"]]
        assert ("note", "asked about pricing") in texts
        assert ("interaction", "answered the issue") in texts
        assert ("interaction", "thanked them") in texts
        assert show["person"]["last_interaction_at"] is not None
        out = d.ctl("person", "jog", check=True).stdout
        assert "answered the issue" in out and "github" in out
        # Bad input is refused with a clear error.
        r = d.ctl("log", "nobody-here", "--via", "x", "hi")
        assert r.returncode == 1 and "no person" in r.stderr, r


# ---- explicit links in srmd.yaml ------------------------------------------

def link_yaml(*entries):
    """people: entries as YAML text: (name or None, [identities])."""
    out = "people:\n"
    for name, ids in entries:
        out += "  - identities:\n" + "".join(
            "      - %s\n" % i for i in ids)
        if name:
            out += "    name: %s\n" % name
    return out


def config_line(d, prefix):
    """The 1-based line of d's config that starts with prefix."""
    with open(d.config) as f:
        for n, line in enumerate(f, 1):
            if line.startswith(prefix):
                return n
    raise AssertionError("no line %r in %s" % (prefix, d.config))


def test_config_links_join_identities_with_nothing_in_common():
    testnet_fixture.reset()
    srv = FixtureServer(testnet_fixture.Handler)
    srv.start()
    now = int(time.time())

    def items(feed, *authors):
        with testnet_fixture.LOCK:
            lst = testnet_fixture.STATE["custom"].setdefault(feed, [])
            for a, name in authors:
                lst.append({"id": "%s-%d" % (feed, len(lst)), "author": a,
                            "name": name, "text": "hi from %s" % a,
                            "created_at": now - len(lst)})

    # Two sources, two accounts of one person that share nothing: handle,
    # name, links all differ. A second pair is linked later by a reload.
    items("a", ("ada", "Ada"), ("bob", "Bob"))
    items("b", ("countess", "The Countess"), ("robert", "R."))
    src = "".join("  - name: %s\n    plugin: testnet\n    every: 1h\n"
                  "    url: http://127.0.0.1:%d/custom/%s\n" % (n, srv.port,
                                                                 n)
                  for n in ("a", "b"))
    ada = link_yaml(("Ada Lovelace", ["testnet:ada", "testnet:@countess"]))
    try:
        with Srmd(sources=src, extra=TEAM + ada, plugin_dir=os.path.join(
                srmtest.BUILD, "tests", "testnet")) as d:
            d.wait_passes("a", 1)
            d.wait_passes("b", 1)

            def pid(remote_id):
                return d.query("SELECT person_id FROM identities WHERE"
                               " network = 'testnet' AND remote_id = ?",
                               remote_id)[0][0]
            # Neither existed at start-up: the link took effect as ingest
            # stored them.
            assert pid("ada") == pid("countess")
            show = d.call("people.show", {"person": "countess"})
            assert show["person"]["display_name"] == "Ada Lovelace", show
            ev = [(e["kind"], e["confidence"], e["state"])
                  for e in show["evidence"]]
            assert ev == [("config", 1.0, "active")], show["evidence"]
            assert show["evidence"][0]["detail"] == "%s:%d: Ada Lovelace" % (
                d.config, config_line(d, "  - identities:")), show["evidence"]
            out = d.ctl("person", "ada", check=True).stdout
            assert "config 1.00" in out and "Ada Lovelace" in out, out
            assert pid("bob") != pid("robert")

            # A link added by reload takes effect on identities that exist.
            d.write_config(sources=src, extra=TEAM + link_yaml(
                ("Ada Lovelace", ["testnet:ada", "testnet:countess"]),
                (None, ["testnet:bob", "testnet:robert"])))
            d.ctl("reload", check=True)
            wait_for(lambda: pid("bob") == pid("robert"), 10,
                     "the reloaded link to merge bob and robert")
            kinds = [e["kind"] for e in d.call(
                "people.show", {"person": "robert"})["evidence"]]
            assert kinds == ["config"], kinds

            # Taken out again (SIGHUP): withdrawn, the people stay one.
            d.write_config(sources=src, extra=TEAM + ada)
            d.reload_signal()

            def withdrawn():
                ev = d.call("people.show", {"person": "robert"})["evidence"]
                return [e["state"] for e in ev] == ["withdrawn"]
            wait_for(withdrawn, 10, "the removed link's evidence")
            assert pid("bob") == pid("robert")

            # A bad entry is refused with its position; nothing changes.
            d.write_config(sources=src, extra=TEAM + link_yaml(
                ("Ada Lovelace", ["testnet:ada", "https://x.example/@ada"])))
            line = config_line(d, "      - https://")
            out = d.ctl("reload")
            assert out.returncode == 1, out
            want = "srmd.yaml:%d:9: people[0].identities[1]: a profile " \
                   "URL needs its network first" % line
            assert want in out.stderr, out.stderr
            chk = subprocess.run([srmtest.SRMD, "-c", d.config, "-t"],
                                 capture_output=True, text=True)
            assert chk.returncode == 2 and want in chk.stderr, chk
            ev = d.call("people.show", {"person": "ada"})["evidence"]
            assert [e["state"] for e in ev] == ["active"], ev
    finally:
        srv.stop()


# ---- search ----------------------------------------------------------------

def test_search_prefix_phrase_handle_ranked_and_paged():
    def fill(s):
        p = s.person("Katherine Johnson")
        s.identity(p, "mastodon", "https://m.example/u/kj",
                   handle="kjohnson@m.example",
                   bio="orbital mechanics and the rust compiler")
        p = s.person("Kathy Q")
        s.identity(p, "github", "61", handle="kq",
                   bio="compiler rust enthusiast")
        p = s.person("Leo")
        s.identity(p, "github", "62", handle="leo", bio="mentions katherine")
        s.sql("INSERT INTO notes (person_id, text, created_at) VALUES"
              " (?, 'loves quokkas', 0)", p)
        s.sql("INSERT INTO person_tags VALUES (?, 'vip')", p)
        for i in range(7):
            p = s.person("Kath Filler %d" % i)

    with seeded(fill) as d:
        d.call("people.resolve")
        # Rebuild the index for rows inserted behind srmd's back.
        res = d.call("people.search", {"q": "kath*"})
        names = [p["display_name"] for p in res["people"]]
        assert "Katherine Johnson" in names and "Kathy Q" in names
        # Name matches rank above a bio that merely mentions the word.
        res = d.call("people.search", {"q": "katherine"})
        names = [p["display_name"] for p in res["people"]]
        assert names[0] == "Katherine Johnson" and names[-1] == "Leo", names
        res = d.call("people.search", {"q": '"rust compiler"'})
        assert [p["display_name"] for p in res["people"]] == [
            "Katherine Johnson"]
        res = d.call("people.search", {"q": "kjohnson@m.example"})
        assert [p["display_name"] for p in res["people"]] == [
            "Katherine Johnson"]
        assert [p["display_name"] for p in d.call(
            "people.search", {"q": "quokkas"})["people"]] == ["Leo"]
        assert [p["display_name"] for p in d.call(
            "people.search", {"q": "vip"})["people"]] == ["Leo"]
        # Paging with the cursor gives every result once, in rank order.
        full = [p["id"] for p in d.call(
            "people.search", {"q": "kath*", "limit": 100})["people"]]
        assert len(full) == 10, full  # Leo's bio says "katherine"
        got, cursor = [], None
        while True:
            params = {"q": "kath*", "limit": 2}
            if cursor:
                params["cursor"] = cursor
            res = d.call("people.search", params)
            got += [p["id"] for p in res["people"]]
            cursor = res["next_cursor"]
            if not cursor:
                break
        assert got == full
        out = d.ctl("people", "--search", "kath*", check=True).stdout
        assert "Katherine Johnson" in out


def test_ingested_identities_are_searchable():
    testnet_fixture.reset()
    testnet_fixture.STATE.update(items=6, page_size=10, authors=3)
    srv = FixtureServer(testnet_fixture.Handler)
    srv.start()
    try:
        src = ("  - name: a\n    plugin: testnet\n    every: 1h\n"
               "    url: http://127.0.0.1:%d/feed/a\n" % srv.port)
        with Srmd(sources=src, plugin_dir=os.path.join(
                srmtest.BUILD, "tests", "testnet")) as d:
            d.wait_passes("a", 1)
            res = d.call("people.search", {"q": "user"})
            assert len(res["people"]) == 3, res
            # Repeated sightings do not touch the curated data.
            pid = res["people"][0]["id"]
            d.call("people.cadence", {"person": pid, "cadence": "2w"})
            d.query("SELECT 1")
            d.ctl("sync", "a", check=True)
            d.wait_passes("a", 2)
            assert d.call("people.show", {"person": pid})["person"][
                "cadence_days"] == 14
    finally:
        srv.stop()


# ---- suggestions and stay in touch ----------------------------------------

def score(now, ats, followers, answered, last_interaction):
    """docs/people.md, in Python."""
    recency = sum(0.5 ** ((now - t) / DAY / 14.0) for t in ats
                  if now - t <= 90 * DAY)
    reach = math.log10(1 + followers) if followers and followers > 0 else 0
    quiet = 1.0 if not last_interaction else min(
        1.0, max(0.0, (now - last_interaction) / DAY / 30.0))
    return 3 * recency + reach + 2 * (0 if answered else 1) + quiet


def test_suggestions_follow_the_documented_score():
    facts = {}

    def fill(s):
        now = s.now
        plan = [
            # name, followers, mention ages (days), answered, last contact
            ("Mia", 120, [0.5, 1, 2], False, None),
            ("Ned", 1000000, [60], True, 10),
            ("Ola", 0, [1], False, None),
            ("Pia", 5000, [20, 25], True, 2),
            ("Quin", 50, [100], False, None),  # outside the window
        ]
        for n, (name, fol, ages, answered, last) in enumerate(plan):
            p = s.person(name)
            i = s.identity(p, "mastodon", "https://m.example/u/%d" % n,
                           handle="%s@m.example" % name.lower(),
                           followers=fol)
            ats = [int(now - a * DAY) for a in ages]
            for k, at in enumerate(ats):
                s.mention(i, "%s-%d" % (name, k), "hello", at)
            li = None
            if last is not None:
                li = int(now - last * DAY)
                s.sql("INSERT INTO interactions (person_id, identity_id,"
                      " network, direction, at) VALUES (?, ?, 'mastodon',"
                      " 'out', ?)", p, i, li)
                s.sql("UPDATE people SET last_interaction_at = ? WHERE id"
                      " = ?", li, p)
            facts[name] = (ats, fol, answered, li)

    with seeded(fill) as d:
        res = d.call("people.suggest", {"limit": 10})
        now = int(time.time())
        got = [(p["display_name"], p["score"]) for p in res["people"]]
        want = sorted(((n, score(now, *f)) for n, f in facts.items()
                       if n != "Quin"), key=lambda x: -x[1])
        assert [g[0] for g in got] == [w[0] for w in want], (got, want)
        for (gn, gs), (wn, ws) in zip(got, want):
            assert abs(gs - ws) < 0.01, (gn, gs, ws)
        mia = res["people"][0]
        assert mia["display_name"] == "Mia"
        assert "mentioned us 3 times in the last 30 days" in \
            mia["reasons"][0], mia
        assert "the team never answered" in mia["reasons"]
        out = d.ctl("suggest", check=True).stdout
        assert out.index("Mia") < out.index("Ola") and "120 followers" in out


def test_due_list_clock_and_rebalance():
    ids = {}

    def fill(s):
        now = s.now
        alice = s.sql("SELECT id FROM members WHERE user = 'alice'"
                      ).fetchone()[0]
        bob = s.sql("SELECT id FROM members WHERE user = 'bob'").fetchone()[0]
        # (name, cadence, days since last interaction or None, created)
        for name, cad, last, created, owner in [
                ("Rae", 30, 45, 400, alice),   # 15 days overdue
                ("Sam", 7, 30, 400, alice),    # 23 days overdue
                ("Tom", 30, 10, 400, alice),   # not due
                ("Uma", 14, None, 20, alice),  # never talked: 6 days
                ("Vic", None, 5, 400, alice),  # no cadence
                ("Wes", 60, None, 400, bob)]:  # 340 days
            p = s.person(name, cadence_days=cad, owner_id=owner,
                         created_at=now - created * DAY,
                         last_interaction_at=(now - last * DAY
                                              if last else None))
            ids[name] = p
            s.identity(p, "mastodon", "https://m.example/u/" + name,
                       handle=name.lower() + "@m.example")

    with seeded(fill) as d:
        due = d.call("people.due")
        assert [x["display_name"] for x in due["due"]] == [
            "Wes", "Sam", "Rae", "Uma"], due
        assert [x["overdue_days"] for x in due["due"]] == [340, 23, 15, 6]
        # Any member's interaction on any network resets the clock.
        d.call("interactions.log", {"person": ids["Sam"], "via": "email",
                                    "text": "caught up"})
        due = d.call("people.due")
        assert "Sam" not in [x["display_name"] for x in due["due"]]
        load = {m["user"]: m["active"] for m in due["members"]}
        assert load["alice"] == 5 and load["bob"] == 1 and load["carol"] == 0
        # Dunbar view: stretched past the limit.
        due = d.call("people.due", {"dunbar": 3})
        assert [m["user"] for m in due["members"] if m["stretched"]] == [
            "alice"]
        out = d.ctl("due", "--dunbar", "3", check=True).stdout
        assert "stretched" in out and out.index("Wes") < out.index("Rae")
        plan = d.call("people.rebalance", {"dunbar": 3})
        assert plan["applied"] is False
        assert [(m["from"], m["to"], m["count"]) for m in plan["moves"]] == [
            ("alice", "carol", 2)], plan
        # Least recently in touch move first.
        moved = [p["display_name"] for p in plan["moves"][0]["people"]]
        assert moved == ["Uma", "Rae"], moved
        d.ctl("rebalance", "--dunbar", "3", "--apply", check=True)
        load = {m["user"]: m["active"] for m in d.call(
            "people.due", {"dunbar": 3})["members"]}
        assert load == {"alice": 3, "bob": 1, "carol": 2}, load


# ---- export and import ----------------------------------------------------

def test_export_reimport_creates_no_duplicates():
    def fill(s):
        p = s.person("Xena")
        s.identity(p, "mastodon", "https://m.example/u/xena",
                   handle="xena@m.example",
                   profile_url="https://m.example/@xena")
        s.identity(p, "github", "71", handle="xena",
                   profile_url="https://github.com/xena", email="x@x.org")
        s.sql("INSERT INTO notes (person_id, text, created_at) VALUES"
              " (?, 'likes, commas; and semicolons', 0)", p)
        s.sql("INSERT INTO person_tags VALUES (?, 'vip')", p)
        p = s.person("Yann")
        s.identity(p, "bluesky", "did:plc:yann", handle="yann.bsky.social")

    with seeded(fill) as d:
        before = state(d)
        for fmt in ("vcard", "csv"):
            out = d.ctl("export", "--format", fmt, check=True).stdout
            if fmt == "vcard":
                assert "IMPP;X-SERVICE-TYPE=mastodon:mastodon:xena@m." \
                    "example" in out
                assert "URL;TYPE=github:https://github.com/xena" in out
            path = os.path.join(d.dir, "people." + fmt)
            with open(path, "w") as f:
                f.write(out)
            r = d.ctl("import", path, check=True)
            assert "0 new people, 2 matched" in r.stdout, r.stdout
            assert state(d) == before, fmt
        nd = d.ctl("export", "--format", "ndjson", check=True).stdout
        rows = [json.loads(l) for l in nd.splitlines()]
        assert [r["display_name"] for r in rows] == ["Xena", "Yann"]
        assert d.ctl("export", "--format", "ndjson", "--mentions",
                     check=True).returncode == 0
        # A contact matched by email or profile URL is not duplicated.
        path = os.path.join(d.dir, "match.vcf")
        with open(path, "w") as f:
            f.write("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:X. Ena\r\n"
                    "EMAIL;TYPE=work:X@x.org\r\nEND:VCARD\r\n"
                    "BEGIN:VCARD\nVERSION:4.0\nFN:Xena again\n"
                    "URL:http://m.example/@xena/\nEND:VCARD\n")
        r = d.ctl("import", path, check=True)
        assert "0 new people, 2 matched" in r.stdout, r.stdout


def test_malformed_vcard_and_csv_lines_are_reported_rest_imported():
    with Srmd(extra=TEAM) as d:
        vcf = os.path.join(d.dir, "bad.vcf")
        with open(vcf, "w") as f:
            f.write("BEGIN:VCARD\n"            # 1
                    "VERSION:4.0\n"            # 2
                    "FN:Zoe One\n"             # 3
                    "EMAIL:zoe@z.org\n"        # 4
                    "END:VCARD\n"              # 5
                    "BEGIN:VCARD\n"            # 6
                    "VERSION:3.0\n"            # 7
                    "this line is broken\n"    # 8
                    "FN:Zed\n"                 # 9
                    " Two\n"                   # 10 (folded)
                    "END:VCARD\n"              # 11
                    "BEGIN:VCARD\n"            # 12
                    "VERSION:4.0\n"            # 13
                    "TEL:123\n"                # 14
                    "END:VCARD\n"              # 15
                    "BEGIN:VCARD\n"            # 16
                    "FN:Unclosed\n")           # 17
        r = d.ctl("import", vcf)
        assert r.returncode == 1, r
        assert "2 new people" in r.stdout, r.stdout
        errs = r.stderr.splitlines()
        assert any(e.startswith(vcf + ":8: expected NAME:VALUE")
                   for e in errs), errs
        assert any(e.startswith(vcf + ":12: vCard without FN")
                   for e in errs), errs
        assert any(e.startswith(vcf + ":16: vCard not closed")
                   for e in errs), errs
        names = {r[0] for r in d.query("SELECT display_name FROM people")}
        assert names == {"Zoe One", "ZedTwo"} or names == {"Zoe One",
                                                            "Zed Two"}, names
        csv = os.path.join(d.dir, "bad.csv")
        with open(csv, "w") as f:
            f.write("Name,Email,Website,Tags,Notes\n"       # 1
                    "Amy,amy@a.org,,vip,\n"                 # 2
                    "Ben,ben@b.org,https://ben.example,,\"multi\n"  # 3
                    "line note\"\n"                         # 4
                    "Cy,cy@c.org,,,,extra,fields\n"         # 5
                    "D\"oh,d@d.org,,,\n"                    # 6
                    ",,,,\n"                                # 7
                    "Eve,eve@e.org,,,\n")                   # 8
        r = d.ctl("import", csv)
        assert r.returncode == 1 and "3 new people" in r.stdout, r
        errs = r.stderr.splitlines()
        assert any(e.startswith(csv + ":5: 7 fields") for e in errs), errs
        assert any(e.startswith(csv + ":6: stray quote") for e in errs), errs
        assert any(e.startswith(csv + ":7: row has no name") for e in errs)
        show = d.call("people.show", {"person": "ben@b.org"})
        assert {t["text"] for t in show["timeline"]} == {"multi",
                                                         "line note"}
        assert d.call("people.show", {"person": "amy@a.org"})["person"][
            "tags"] == ["vip"]
        # Zoe again, by email: matched, not created (Zed has nothing to
        # match on but a name, which is not enough).
        r = d.ctl("import", vcf)
        assert "1 new people, 1 matched" in r.stdout, r.stdout


if __name__ == "__main__":
    run(globals())
