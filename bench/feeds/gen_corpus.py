#!/usr/bin/env python3
"""gen_corpus.py - write the feed benchmark's corpus (deterministic).

    python3 bench/feeds/gen_corpus.py OUTDIR [--feeds 500] [--items 50]
                                             [--seed 20240601] [--rss-share 0.6]

Writes OUTDIR/f/NNNN.xml: `feeds` feeds of `items` entries each, a share of
them RSS 2.0 (with content:encoded, dc:creator) and the rest Atom 1.0, with
realistic text: titles and paragraphs of varying length, HTML with links,
emphasis, lists, code and character entities (escaped once more inside the
XML), authors with names, e-mail addresses or URIs, guids/ids and dates
(RFC 822 for RSS, RFC 3339 for Atom). About one entry in eight mentions
"srmd". The same arguments always give byte-identical files; with the
defaults the corpus is about 13 MB. Prints one line: feeds, entries, bytes.
Standard library only.
"""

import argparse
import os
import random
import sys
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

WORDS = """
the of and to in is that for it as with was on be by this are from at or an
have not they which one you were all we when there can been has more if will
would about so what out up into them some could time only new other than
then its also two first after use way these people may over such make well
system data server network daemon socket release feature performance memory
thread loop event queue buffer latency throughput cache database index query
transaction commit record schema migration plugin connector protocol client
request response header status error retry timeout backoff rate limit token
account identity person contact relationship team member conversation reply
mention inbox note outcome lead feedback advocate community social feed post
article blog weekly digest update changelog security patch kernel compiler
build test benchmark profile trace allocator parser encoding unicode json xml
yaml config option default value field column table row page cursor sync pass
interesting surprisingly quickly carefully simply really actually probably
open source project library framework tool script shell terminal editor
""".split()

FIRST = """Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj
Olivia Peggy Rupert Sybil Trent Victor Walter Zoe Amara Bjorn Chen Dmitri Eun
Fatima Giulia Hiroshi Ines Jamal Kofi Lena Mateo Nadia Oskar Priya Quentin
Rosa Sven Tariq Ursula Vikram Wen Ximena Yusuf Zainab""".split()
LAST = """Smith Jones Nguyen Garcia Müller Rossi Tanaka Kowalski Okafor Silva
Johansson Dubois Novak Haddad Kim Patel Schmidt Moreau Andersen Costa Ivanova
O'Brien Lindqvist Fernández Yamamoto Mbeki Horvath Petrov Kaur Walsh""".split()
TOPICS = """release notes|benchmark results|a postmortem|the new scheduler|
moving to SQLite|why we rewrote the parser|community call|a week of bugs|
conditional GET done right|rate limits explained|our Q3 roadmap|on-call notes|
profiling a hot loop|unicode normalisation|FTS5 in practice|plugins and ABI|
event loops 101|the cost of fsync|interviews with users|tips & tricks""".replace(
    "\n", "").split("|")
SITES = ["blog", "news", "dev", "notes", "journal", "log", "weekly", "labs"]
TLDS = ["example", "example.org", "example.net", "test"]
ENTITY_BITS = ["&amp;", "&lt;tag&gt;", "&quot;quoted&quot;", "&#8212;",
               "&#x2019;", "&copy;", "&eacute;", "&nbsp;", "&hellip;"]


def sentence(rng, lo=6, hi=22):
    n = rng.randint(lo, hi)
    w = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.05:
        w[rng.randrange(n)] = "srmd"
    w[0] = w[0].capitalize()
    return " ".join(w) + rng.choice([".", ".", ".", "!", "?"])


def html_paragraph(rng, base_url):
    """One <p> of HTML (unescaped: the caller escapes it for XML)."""
    parts = []
    for _ in range(rng.randint(1, 2)):
        s = sentence(rng, 3, 9)
        r = rng.random()
        if r < 0.25:
            words = s.split(" ")
            i = rng.randrange(len(words))
            words[i] = '<a href="%s/%s-%d">%s</a>' % (
                base_url, rng.choice(WORDS), rng.randint(1, 9999), words[i])
            s = " ".join(words)
        elif r < 0.35:
            words = s.split(" ")
            i = rng.randrange(len(words))
            words[i] = "<em>%s</em>" % words[i]
            s = " ".join(words)
        elif r < 0.45:
            s = s[:-1] + " " + rng.choice(ENTITY_BITS) + s[-1]
        elif r < 0.50:
            s += " <code>%s_%s()</code>" % (rng.choice(WORDS), rng.choice(WORDS))
        parts.append(s)
    return "<p>" + " ".join(parts) + "</p>"


def html_body(rng, base_url, mention):
    # Lengths vary a lot, as on real blogs: many short items, a few long.
    n = min(6, 1 + int(rng.expovariate(1 / 0.3)))
    paras = [html_paragraph(rng, base_url) for _ in range(n)]
    if rng.random() < 0.08:
        paras.insert(rng.randrange(len(paras) + 1), "<ul>" + "".join(
            "<li>%s</li>" % sentence(rng, 3, 8) for _ in range(rng.randint(2, 5)))
            + "</ul>")
    if mention:
        paras.insert(rng.randrange(len(paras) + 1),
                     "<p>We tried <strong>srmd</strong> for this &mdash; "
                     "see <a href=\"https://srmd.example/\">srmd</a>.</p>")
    return "\n".join(paras)


def title(rng, mention):
    t = "%s: %s" % (rng.choice(TOPICS).strip().capitalize(),
                    " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))))
    if mention:
        t += " (with srmd)"
    return t


def person(rng, host):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    name = "%s %s" % (first, last)
    slug = (first + "." + last).lower().replace("'", "")
    kind = rng.random()
    email = "%s@%s" % (slug.encode("ascii", "ignore").decode(), host)
    uri = "https://%s/people/%s" % (host, slug.encode("ascii", "ignore").decode())
    return name, email if kind < 0.5 else None, uri if kind >= 0.3 else None


def rfc822(dt):
    return dt.strftime("%a, %d %b %Y %H:%M:%S +0000")


def rfc3339(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def gen_feed(rng, idx, items, is_rss, base_time):
    host = "%s%d.%s" % (rng.choice(SITES), idx, rng.choice(TLDS))
    site = "https://%s" % host
    ftitle = "%s %s" % (rng.choice(FIRST), rng.choice(TOPICS).strip().title())
    authors = [person(rng, host) for _ in range(rng.randint(1, 4))]
    # Newest first, irregular spacing (minutes to days).
    t = base_time - timedelta(minutes=rng.randint(0, 60 * 24 * 3))
    entries = []
    for i in range(items):
        mention = rng.random() < 0.12
        slug = "%d-%s-%s" % (items - i, rng.choice(WORDS), rng.choice(WORDS))
        entries.append({
            "title": title(rng, mention),
            "link": "%s/%d/%s" % (site, t.year, slug),
            "id": "%s/p/%d-%d" % (site, idx, items - i),
            "date": t,
            "author": rng.choice(authors),
            "html": html_body(rng, site, mention),
            "summary": sentence(rng, 6, 16),
            "cats": rng.sample(WORDS, rng.choice([0, 0, 1, 2])),
        })
        t -= timedelta(minutes=int(rng.expovariate(1 / 600)) + 1)
    out = []
    w = out.append
    if is_rss:
        w('<?xml version="1.0" encoding="UTF-8"?>\n')
        w('<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
          ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
          ' xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n')
        w("<title>%s</title>\n<link>%s/</link>\n" % (escape(ftitle), site))
        w("<description>%s</description>\n" % escape(sentence(rng)))
        w("<language>en</language>\n<lastBuildDate>%s</lastBuildDate>\n"
          % rfc822(entries[0]["date"]))
        w("<generator>gen_corpus.py</generator>\n")
        for e in entries:
            name, email, uri = e["author"]
            w("<item>\n<title>%s</title>\n<link>%s</link>\n" % (
                escape(e["title"]), e["link"]))
            if rng.random() < 0.85:
                w('<guid isPermaLink="false">%s</guid>\n' % e["id"])
            else:
                w("<guid>%s</guid>\n" % e["link"])
            w("<pubDate>%s</pubDate>\n" % rfc822(e["date"]))
            if email and rng.random() < 0.5:
                w("<author>%s (%s)</author>\n" % (email, escape(name)))
            else:
                w("<dc:creator>%s</dc:creator>\n" % escape(name))
            for c in e["cats"]:
                w("<category>%s</category>\n" % c)
            if rng.random() < 0.15:
                w("<description>%s</description>\n" % escape(e["summary"]))
            if rng.random() < 0.5:
                w("<content:encoded><![CDATA[%s]]></content:encoded>\n" % e["html"])
            else:
                w("<content:encoded>%s</content:encoded>\n" % escape(e["html"]))
            w("</item>\n")
        w("</channel>\n</rss>\n")
    else:
        w('<?xml version="1.0" encoding="utf-8"?>\n')
        w('<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">\n')
        w("<title>%s</title>\n" % escape(ftitle))
        w('<link rel="alternate" type="text/html" href="%s/"/>\n' % site)
        w('<id>tag:%s,2024:feed</id>\n<updated>%s</updated>\n' % (
            host, rfc3339(entries[0]["date"])))
        for e in entries:
            name, email, uri = e["author"]
            if "&" in e["title"] or rng.random() < 0.3:
                w("<entry>\n<title type=\"html\">%s</title>\n"
                  % escape(escape(e["title"])))
            else:
                w("<entry>\n<title>%s</title>\n" % escape(e["title"]))
            if rng.random() < 0.4:
                w('<link rel="alternate" type="text/html" href="%s"/>\n' % e["link"])
            else:
                w('<link href="%s"/>\n' % e["link"])
            w("<id>%s</id>\n" % ("tag:%s,2024:%s" % (host, e["id"].rsplit("/", 1)[1])))
            if rng.random() < 0.3:
                w("<published>%s</published>\n" % rfc3339(e["date"]))
                w("<updated>%s</updated>\n" % rfc3339(
                    e["date"] + timedelta(minutes=rng.randint(0, 90))))
            else:
                w("<updated>%s</updated>\n" % rfc3339(e["date"]))
            w("<author><name>%s</name>" % escape(name))
            if email and not uri:
                w("<email>%s</email>" % email)
            if uri:
                w("<uri>%s</uri>" % uri)
            w("</author>\n")
            for c in e["cats"]:
                w('<category term="%s"/>\n' % c)
            if rng.random() < 0.15:
                w('<summary type="text">%s</summary>\n' % escape(e["summary"]))
            w('<content type="html">%s</content>\n' % escape(e["html"]))
            w("</entry>\n")
        w("</feed>\n")
    return "".join(out).encode("utf-8")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--rss-share", type=float, default=0.6)
    a = ap.parse_args(argv)
    rng = random.Random(a.seed)
    base_time = datetime(2024, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
    d = os.path.join(a.outdir, "f")
    os.makedirs(d, exist_ok=True)
    n_rss = round(a.feeds * a.rss_share)
    kinds = [True] * n_rss + [False] * (a.feeds - n_rss)
    rng.shuffle(kinds)
    total = 0
    for i in range(a.feeds):
        data = gen_feed(rng, i, a.items, kinds[i], base_time)
        total += len(data)
        with open(os.path.join(d, "%04d.xml" % i), "wb") as f:
            f.write(data)
    print("%d feeds (%d RSS 2.0, %d Atom), %d entries, %d bytes" % (
        a.feeds, n_rss, a.feeds - n_rss, a.feeds * a.items, total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
