"""`newsmon sources add` and `sources check`: a site's sources found from its pages, the block that
crawls it, its safe addition to sources.toml, and a dry run that stores nothing.

The allow-pattern proposal is tested on URL sets shaped like the outlets in seeds/sources.toml;
the rest against real sites on 127.0.0.1 through the real CLI (Scrapy fetching, a real database).
"""

from __future__ import annotations

import json
import re
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crawler.allow_pattern import AllowProposal, propose_allow
from crawler.config import ConfigError
from crawler.site_probe import Found, Proposal, SiteProbe, page_links, robots_sitemaps, source_name
from sample_site import Page, SampleSite, build_sample_site, sources_toml
from scheduler.schedule import load_config
from scheduler.source_block import append_block, conflict
from tests.conftest import cli_json, crawl, run_cli, write_seeds
from tests.sites import TimedSiteServer, serve_feed, serve_stories, story

# -- the allow pattern, on the outlets' URL shapes ------------------------------------------------

# (outlet, article URLs seen, article URLs not seen (other days, ids, sections), its listing pages).
OUTLETS = [
    ("xinhua", ["https://english.news.cn/20240921/0a1b2c3d4e5f67890a1b2c3d4e5f6789/c.html",
                "https://english.news.cn/20240920/ffeeddccbbaa99887766554433221100/c.html",
                "https://english.news.cn/20240919/1234567890abcdef1234567890abcdef/c.html",
                "https://english.news.cn/20240918/abcdefabcdefabcdefabcdefabcdef01/c.html"],
     ["https://english.news.cn/20251103/9f8e7d6c5b4a39281706f5e4d3c2b1a0/c.html"],
     ["https://english.news.cn/business/index.htm", "https://english.news.cn/china/index.htm",
      "https://english.news.cn/"]),
    ("china-daily", ["https://www.chinadaily.com.cn/a/202409/21/WS66ee5a67a310f3a5e3b2d7a1.html",
                     "https://www.chinadaily.com.cn/a/202409/20/WS66ed0b2fa310f3a5e3b2d123.html",
                     "https://www.chinadaily.com.cn/a/202408/31/WS66d2a1b0a310f3a5e3b2c9f0.html"],
     ["https://www.chinadaily.com.cn/a/202511/02/WS6906f1a2a310f735438b8e21.html?utm_source=rss"],
     ["https://www.chinadaily.com.cn/business/", "https://www.chinadaily.com.cn/business/tech",
      "https://www.chinadaily.com.cn/"]),
    ("cgtn", ["https://news.cgtn.com/news/2024-09-21/China-s-new-energy-vehicles-1wXyZabcd/index.html",
              "https://news.cgtn.com/news/2024-09-20/Trade-talks-resume-1qAbCdEf/index.html",
              "https://news.cgtn.com/news/2024-09-19/Markets-rally-1pQrStUv/p.html",
              "https://news.cgtn.com/news/2024-09-18/Port-output-rises-1aAbBcC/index.html",
              "https://news.cgtn.com/news/2024-09-17/Chip-exports-1bBcCdD/p.html",
              "https://news.cgtn.com/news/2024-09-16/Harvest-1cCdDeE/index.html"],
     ["https://news.cgtn.com/news/2025-11-02/Green-steel-plant-opens-1zZyYxX/index.html"],
     ["https://www.cgtn.com/business", "https://www.cgtn.com/"]),
    ("global-times", ["https://www.globaltimes.cn/page/202409/1320000.shtml",
                      "https://www.globaltimes.cn/page/202409/1319876.shtml",
                      "https://www.globaltimes.cn/page/202408/1318001.shtml"],
     ["https://www.globaltimes.cn/page/202511/1346802.shtml"],
     ["https://www.globaltimes.cn/business/index.html", "https://www.globaltimes.cn/"]),
    ("ecns", ["https://www.ecns.cn/news/economy/2024-09-21/detail-ihcuxayu8965627.shtml",
              "https://www.ecns.cn/business/2024-09-20/detail-ihcuwxyz8965001.shtml",
              "https://www.ecns.cn/business/2024-09-19/detail-ihabcdef8964002.shtml"],
     ["https://www.ecns.cn/cns-wire/2025-11-02/detail-ihfqrstu1234567.shtml"],
     ["https://www.ecns.cn/business/", "https://www.ecns.cn/news/economy/"]),
]


@pytest.mark.parametrize(("outlet", "seen", "unseen", "listings"), OUTLETS, ids=[o[0] for o in OUTLETS])
def test_the_proposed_allow_takes_the_outlets_articles_and_not_its_sections(
        outlet: str, seen: list[str], unseen: list[str], listings: list[str]) -> None:
    proposal = propose_allow(seen, listings)
    assert proposal.patterns, f"{outlet}: no pattern"
    assert proposal.matched == proposal.total == len(seen)
    for url in seen + unseen:
        assert any(re.search(p, url) for p in proposal.patterns), f"{outlet}: {url} not taken by {proposal.patterns}"
    for url in listings:
        assert not any(re.search(p, url) for p in proposal.patterns), f"{outlet}: {url} taken by {proposal.patterns}"


def test_the_proposed_allow_keeps_the_outlets_literal_parts() -> None:
    shapes = {outlet: propose_allow(seen).patterns for outlet, seen, _, _ in OUTLETS}
    assert shapes["china-daily"] == (r"/a/\d{6}/\d{2}/WS[0-9a-f]+\.html(?:\?|$)",)
    assert shapes["xinhua"] == (r"/\d{8}/[0-9a-f]{32}/c\.html(?:\?|$)",)
    assert shapes["cgtn"] == (r"/news/\d{4}-\d{2}-\d{2}/[\w-]+/(?:index|p)\.html(?:\?|$)",)
    assert shapes["global-times"] == (r"/page/\d{6}/\d+\.shtml(?:\?|$)",)
    # Sections of different depths, one date-and-id shape: the sections are dropped, a prefix kept.
    assert shapes["ecns"] == (r"/\d{4}-\d{2}-\d{2}/detail-\w+\.shtml(?:\?|$)",)


def test_a_shared_leading_word_goes_when_other_sections_articles_share_the_shape() -> None:
    feed = [f"https://x.example/business/2024-09/2{d}/story-number-{d}.html" for d in range(1, 4)]
    assert propose_allow(feed).patterns == (r"/business/\d{4}-\d{2}/\d{2}/[\w-]+\.html(?:\?|$)",)
    links = ["https://x.example/world/2024-09/21/another-story.html", "https://x.example/about/team.html"]
    assert propose_allow(feed, also=links).patterns == (r"/\d{4}-\d{2}/\d{2}/[\w-]+\.html(?:\?|$)",)


def test_slugs_alone_make_a_pattern_only_when_they_read_as_headlines() -> None:
    headlines = propose_allow(["https://a.example/business/china-steel-goes-green-again",
                               "https://a.example/world/market-rally-lifts-shares-higher"])
    assert headlines.patterns == (r"/\w+(?:-\w+){3,}(?:\?|$)",)
    assert not re.search(headlines.patterns[0], "https://a.example/business/china-tech")
    # Short slugs under varying sections look just like section pages: no pattern, the heuristic decides.
    assert propose_allow(["https://a.example/business/steel", "https://a.example/world/markets"]).patterns == ()


def test_an_odd_shape_is_left_out_and_counted() -> None:
    urls = [f"https://blog.example/2024/09/{d:02d}/a-long-headline-number-{d}/" for d in range(1, 9)]
    proposal = propose_allow([*urls, "https://blog.example/video/123456"])
    assert proposal.patterns == (r"/\d{4}/\d{2}/\d{2}/[\w-]+/(?:\?|$)",)
    assert (proposal.matched, proposal.total) == (8, 9)


# -- reading pages (pure) --------------------------------------------------------------------------

def test_a_pages_declared_feeds_and_navigation_are_read() -> None:
    html = b"""<html><head>
      <link rel="alternate" type="application/rss+xml" title="News" href="/feeds/news.rss">
      <link rel="alternate" type="application/atom+xml" href="https://cdn.example/atom.xml">
      <link rel="alternate" type="application/rss+xml" title="Comments Feed" href="/comments/feed/">
      <link rel="stylesheet" href="/style.css"></head>
      <body><header><ul class="menu"><li><a href="/business/">Business</a></li></ul></header>
      <div id="main-nav"><a href="/world/">World</a></div>
      <main><a href="/2024/09/21/a-story-with-a-long-slug/#top">story</a> <a href="mailto:x@y">mail</a></main>
      </body></html>"""
    links = page_links(html, "https://site.example/")
    assert links.feeds == ["https://site.example/feeds/news.rss", "https://cdn.example/atom.xml"]
    assert links.nav == ["https://site.example/business/", "https://site.example/world/"]
    assert "https://site.example/2024/09/21/a-story-with-a-long-slug/" in links.links
    robots = b"User-agent: *\nDisallow: /private/\nSitemap: https://site.example/news.xml\nsitemap:/maps/all.xml\n"
    assert robots_sitemaps(robots, "https://site.example/robots.txt") == [
        "https://site.example/news.xml", "https://site.example/maps/all.xml"]


@pytest.mark.parametrize(("url", "name"), [
    ("https://www.chinadaily.com.cn/business/", "chinadaily-business"),
    ("https://english.news.cn/", "english-news"),
    ("https://www.bbc.co.uk/news", "bbc-news"),
    ("http://127.0.0.1:8000/", "127-0-0-1"),
])
def test_a_source_name_comes_from_the_host_and_the_first_path_word(url: str, name: str) -> None:
    assert source_name(url) == name


def test_common_paths_are_tried_only_when_the_site_names_none() -> None:
    probe = SiteProbe("https://site.example/")
    (page,) = probe.start()
    declared = b'<html><head><link rel="alternate" type="application/rss+xml" href="/feed.rss"></head></html>'
    (robots,) = probe.received(page, "https://site.example/", declared, "text/html")
    wants = probe.received(robots, robots.url, b"Sitemap: https://site.example/news.xml\n", "text/plain")
    assert [(w.kind, w.url) for w in wants] == [("feed", "https://site.example/feed.rss"),
                                                ("sitemap", "https://site.example/news.xml")]
    # The declared feed is gone (404): the common paths are tried then, once.
    common = probe.failed(wants[0], "HTTP 404")
    assert {w.url for w in common} == {f"https://site.example{p}" for p in ("/feed", "/rss", "/rss.xml", "/feed.xml",
                                                                            "/atom.xml", "/index.xml")}
    for want in common:
        assert probe.failed(want, "HTTP 404") == []
    assert not probe.proposal().found_anything


# -- writing sources.toml ------------------------------------------------------------------------

BLOCK = '[[source]]\nname = "extra"\nfeeds = ["https://extra.example/rss.xml"]\nevery = "1h"\n'


def test_a_block_is_appended_only_when_the_result_loads(tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds", {"name": "first", "feeds": ["https://first.example/rss"]},
                        text="# my sources\n")
    before = (seeds / "sources.toml").read_bytes()
    for broken in ('[[source]]\nname = "extra"\nfeeds = ["not a url"]\n', '[[source]]\nname = "first"\n'
                   'feeds = ["https://x.example/"]\n', '[[source]]\nname = "extra"\nevery = "soon"\nfeeds = [\n'):
        with pytest.raises(ConfigError, match=re.escape(str(seeds / "sources.toml"))):
            append_block(seeds, broken)
        assert (seeds / "sources.toml").read_bytes() == before
        assert sorted(p.name for p in seeds.iterdir()) == ["examples", "rules.toml", "sources.toml"]
    append_block(seeds, BLOCK)
    text = (seeds / "sources.toml").read_text()
    assert text.startswith(before.decode()) and text.endswith("\n\n" + BLOCK)
    assert [s.name for s in load_config(seeds).sources] == ["first", "extra"]


def test_a_feed_another_source_reads_is_a_conflict(tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds", {"name": "wire", "feeds": ["https://feeds.example/wire.xml"]})
    config = load_config(seeds)
    feed = Found("https://feeds.example/wire.xml", "feed", "common feed path", 10)
    proposal = Proposal("https://news.example/", "news", (feed,), (), (), AllowProposal((), 0, 0))
    assert conflict(config, "news", "https://news.example/") is None
    assert conflict(config, "news", "https://news.example/", proposal) == (
        f"source 'wire' in {seeds / 'sources.toml'} already reads https://feeds.example/wire.xml")
    assert conflict(config, "wire", "https://news.example/").startswith(f"{seeds / 'sources.toml'} already has")


# -- the sample site, from its home page -----------------------------------------------------------

@dataclass
class Added:
    site: SampleSite
    server: TimedSiteServer
    proposal: dict[str, Any]
    seeds: Path
    db: str
    stderr: str


@pytest.fixture(scope="module")
def added(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Added]:
    """`sources add --write` from the sample site's home page into a seeds folder."""
    folder = tmp_path_factory.mktemp("sources-add")
    seeds = write_seeds(folder / "seeds", text="# the user's own sources\n")
    with TimedSiteServer() as server:
        site = build_sample_site(server.url)
        server.set_pages(site.pages)
        proc = run_cli("--seeds", str(seeds), "sources", "add", server.url + "/", "--name", "sample-news", "--write",
                       "--format", "json")
        assert proc.returncode == 0, proc.stderr
        (proposal,) = json.loads(proc.stdout)
        yield Added(site, server, proposal, seeds, f"sqlite:///{folder / 'newsmon.db'}", proc.stderr)


@pytest.mark.e2e
def test_add_finds_the_feeds_and_the_news_sitemap_from_the_home_page(added: Added) -> None:
    u, p = added.server.url, added.proposal
    assert [f["url"] for f in p["feeds"]] == [u + "/rss.xml", u + "/atom.xml"]
    assert [(s["url"], s["kind"], s["via"]) for s in p["sitemaps"]] == [
        (u + "/sitemap-news.xml", "news sitemap", u + "/sitemap_index.xml")]
    # The full sitemap is named, not proposed: it lists the archive.
    assert u + "/sitemap_index.xml" in {s["url"] for s in p["other_sitemaps"]}
    assert [s["url"] for s in p["start_urls"]] == [u + "/", u + "/business/"]
    (allow,) = p["allow"]["patterns"]
    for url in added.site.articles.values():
        assert re.search(allow, url), url
    for listing in ("/", "/business/", "/world/", "/business/?page=2", "/rss.xml", "/sitemap-news.xml"):
        assert not re.search(allow, u + listing), listing
    # Every URL tried is named with what it was; the declared-nothing site was asked its common paths.
    results = {t["url"]: t["result"] for t in p["tried"]}
    assert results[u + "/feed"] == "HTTP 404" and results[u + "/rss.xml"] == "a feed of 3 entries"
    assert f"Added source 'sample-news' to {added.seeds / 'sources.toml'}" in added.stderr


@pytest.mark.e2e
def test_the_written_block_crawls_the_site_storing_articles_and_no_listing_page(added: Added) -> None:
    text = (added.seeds / "sources.toml").read_text()
    assert text.startswith("# the user's own sources\n\n# Added by `newsmon sources add")
    assert "# at a common feed path (the page declares no feed): 3 entries" in text
    run = crawl(added.db, added.seeds)
    assert run["outcome"] == "ok" and run["errors"] == 1  # the sample site's page that always fails
    stored = {a["url"] for a in cli_json(added.db, "query", "--all", seeds=added.seeds)}
    articles = added.site.articles
    # Every article its feeds, news sitemap and listings lead to (weather is only in the full
    # sitemap), the syndicated copy as a copy; nothing else.
    assert stored == {*articles.values(), added.site.syndicated[1]} - {articles["weather"]}
    skips = {s["url"]: s["reason"] for r in cli_json(added.db, "runs", "--skipped", seeds=added.seeds)
             for s in r["skip_list"]}
    assert skips == {added.site.disallowed: "robots.txt forbids it"}


@pytest.mark.e2e
def test_write_refuses_a_name_or_a_site_already_there_and_leaves_the_file(added: Added) -> None:
    path = added.seeds / "sources.toml"
    before = path.read_bytes()
    url = added.server.url + "/"
    covered = f"source 'sample-news' in {path} already covers 127.0.0.1 (to watch another part of the site"
    for args, says in [(("--name", "sample-news"), f"{path} already has a source named 'sample-news'"),
                       (("--name", "other"), covered), ((), covered)]:
        added.server.clear_log()
        proc = run_cli("--seeds", str(added.seeds), "sources", "add", url, *args, "--write")
        assert proc.returncode == 2, proc.stderr
        (line,) = proc.stderr.splitlines()
        assert line.startswith(f"Error: {says}"), line
        assert path.read_bytes() == before
        assert added.server.requests() == []  # refused before fetching anything


@pytest.mark.e2e
def test_write_refuses_seeds_that_do_not_load_before_fetching_anything(tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds", text='[[source]]\nname = "x"\nfeeds = ["nope"]\n')
    with TimedSiteServer() as server:
        proc = run_cli("--seeds", str(seeds), "sources", "add", server.url + "/", "--write")
        assert proc.returncode == 2
        (line,) = proc.stderr.splitlines()
        assert line.startswith(f"Error: {seeds / 'sources.toml'}: source 'x': feeds[1]")
        assert server.requests() == []


# -- other sites -------------------------------------------------------------------------------------

def _article_site(server: TimedSiteServer) -> list[str]:
    """Serve a site that declares its feed in its head and its news sitemap in robots.txt."""
    paths = [f"/2024/09/{d:02d}/a-long-story-about-day-{d}" for d in range(20, 24)]
    for n, path in enumerate(paths):
        server.set_page(path, story(n))
    listing = "".join(f'<li><a href="{p}">Story</a></li>' for p in paths)
    server.set_page("/", Page(f"""<html><head><title>Site</title>
        <link rel="alternate" type="application/rss+xml" href="/feeds/news.rss"></head><body>
        <nav><a href="/markets/">Markets</a> <a href="/about/">About</a></nav><ul>{listing}</ul>
        </body></html>""".encode()))
    server.set_page("/markets/", Page(f"<html><body><ul>{listing}</ul></body></html>".encode()))
    serve_feed(server, "/feeds/news.rss", paths[:2])
    urls = "".join(f"<url><loc>{server.url}{p}</loc><news:news><news:publication_date>2024-09-21"
                   "</news:publication_date></news:news></url>" for p in paths[2:])
    server.set_page("/maps/news.xml", Page(
        ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
         f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>').encode(),
        headers={"Content-Type": "application/xml"}))
    server.set_page("/robots.txt", Page(f"User-agent: *\nSitemap: {server.url}/maps/news.xml\n".encode(),
                                        headers={"Content-Type": "text/plain"}))
    return paths


@pytest.mark.e2e
def test_a_declared_feed_and_a_robots_sitemap_are_used_and_no_path_is_guessed(
        server: TimedSiteServer, tmp_path: Path) -> None:
    _article_site(server)
    seeds = write_seeds(tmp_path / "seeds")
    proc = run_cli("--seeds", str(seeds), "sources", "add", server.url + "/", "--name", "day-news")
    assert proc.returncode == 0, proc.stderr
    block = proc.stdout
    declared = '    # declared by <link rel="alternate"> on the page given: 2 entries\n'
    assert f'{declared}    "{server.url}/feeds/news.rss",' in block
    assert f'    "{server.url}/maps/news.xml",' in block and "robots.txt Sitemap: line" in block
    assert f'"{server.url}/markets/",' in block and "/about/" not in block
    assert "allow = ['/\\d{4}/\\d{2}/\\d{2}/[\\w-]+(?:\\?|$)']" in block
    asked = set(server.requests())
    assert not asked & {"/feed", "/rss", "/rss.xml", "/atom.xml", "/sitemap.xml", "/sitemap_index.xml"}
    # Printed, not written: the block loads as it is.
    (seeds / "sources.toml").write_text(block, encoding="utf-8")
    assert load_config(seeds).source("day-news").feeds == (f"{server.url}/feeds/news.rss",)


@pytest.mark.e2e
def test_a_site_with_nothing_to_crawl_says_what_was_tried_and_exits_1(server: TimedSiteServer) -> None:
    server.set_page("/", Page(b"<html><body><p>Under construction.</p></body></html>"))
    proc = run_cli("sources", "add", server.url + "/")
    assert proc.returncode == 1 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert lines[0] == "Tried 11 URLs:"
    assert f"  {server.url}/rss.xml (common feed path): HTTP 404" in lines
    assert lines[-1] == f"Error: no feed, sitemap or section page found from {server.url}/"


@pytest.mark.e2e
def test_an_unreachable_url_is_one_error_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = run_cli("sources", "add", f"http://127.0.0.1:{port}/")
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"Error: http://127.0.0.1:{port}/: could not be fetched: ")
    assert "Traceback" not in proc.stderr


# -- sources check ---------------------------------------------------------------------------------

_TABLES = ("articles", "article_urls", "matches", "runs", "run_errors", "run_skips", "validators",
           "boilerplate_blocks", "article_bands")


def _row_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in _TABLES}


@pytest.mark.e2e
def test_check_tells_what_a_crawl_would_store_skip_and_match_and_stores_nothing(
        server: TimedSiteServer, tmp_path: Path) -> None:
    site = build_sample_site(server.url)
    server.set_pages(site.pages)
    seeds = write_seeds(tmp_path / "seeds", text=sources_toml(site))
    db_file = tmp_path / "newsmon.db"
    db = f"sqlite:///{db_file}"
    crawl(db, seeds)
    # Since that crawl: a new story on a business page, and a page too short to be an article.
    fresh, short = "/business/2024-09/30/green-steel-mill-opens.html", "/business/2024-09/30/short-note.html"
    server.set_page(fresh, story(3, title="Green steel mill opens", lead="<p>The factory makes green steel with "
                                "hydrogen: low-carbon manufacturing at scale, the company said on Monday.</p>"))
    server.set_page(short, Page(b"<html><body><article><h1>Note</h1><p>Back soon.</p></article></body></html>"))
    business = site.pages["/business/"].body.replace(b'<ul class="story-list">', (
        f'<ul class="story-list"><li><a href="{fresh}">Green steel</a></li><li><a href="{short}">Note</a></li>'
    ).encode())
    server.set_page("/business/", Page(business))
    before = _row_counts(db_file)

    pages = {p["url"]: p for p in cli_json(db, "sources", "check", "sample-news", seeds=seeds)}
    assert _row_counts(db_file) == before
    u = server.url
    new = pages[u + fresh]
    assert (new["outcome"], new["found_on"], new["title"]) == ("new", u + "/business/", "Green steel mill opens")
    assert "green steel" in new["rules"]["green-manufacturing"]
    assert pages[u + short]["outcome"] == "skipped" and pages[u + short]["reason"].startswith("too short")
    assert pages[site.disallowed]["reason"] == "robots.txt forbids it"
    assert (pages[site.failing]["outcome"], pages[site.failing]["reason"]) == ("failed", "HTTP 500")
    known = {url for url, p in pages.items() if p["outcome"] == "known"}
    assert {site.articles["000"], site.articles["bank"], site.syndicated[1]} <= known
    assert (pages[u + "/business/"]["outcome"], pages[u + "/business/"]["links"]) == ("read", 3)
    assert {p["outcome"] for p in pages.values()} == {"new", "known", "skipped", "failed", "read"}

    # The same for people: grouped, each URL whole on its own line, 80 columns.
    proc = run_cli("--db", db, "--seeds", str(seeds), "sources", "check", "sample-news", env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    assert _row_counts(db_file) == before
    out = proc.stdout.splitlines()
    assert "Would be stored (1 new):" in out and f"  {u}{fresh}" in out
    assert "    matches green-manufacturing: " in "\n".join(out)
    assert f"  {u}{short}" in out and "Skipped (2):" in out
    assert all(len(line) <= 80 or line.strip().startswith("http") for line in out), out
    summary = " ".join(out[len(out) - out[::-1].index(""):])
    assert summary.startswith("1 new (1 matching a rule), 0 copies, ") and "2 skipped, 1 failed" in summary


@pytest.mark.e2e
def test_check_calls_a_page_whose_story_is_stored_under_another_url_a_copy(server: TimedSiteServer,
                                                                          tmp_path: Path) -> None:
    original, again = "/news/2024-09/story-one.html", "/wire/2024-09/story-one-syndicated.html"
    server.set_page(original, story(1))
    serve_feed(server, "/rss.xml", [original])
    seeds = write_seeds(tmp_path / "seeds", {"name": "s", "feeds": [f"{server.url}/rss.xml"]})
    db = f"sqlite:///{tmp_path / 'newsmon.db'}"
    assert crawl(db, seeds)["new"] == 1
    server.set_page(again, story(1))  # the same story, syndicated under another URL
    serve_feed(server, "/rss.xml", [original, again])
    pages = {p["url"]: p for p in cli_json(db, "sources", "check", "s", seeds=seeds)}
    copy = pages[server.url + again]
    assert (copy["outcome"], copy["reason"]) == ("copy", f"the same story as {server.url + original}, already stored")
    assert crawl(db, seeds)["new"] == 0  # as the real crawl then stores it: a copy, nothing new


@pytest.mark.e2e
def test_check_reads_a_postgresql_database_and_changes_nothing(pg_schema_url: str, server: TimedSiteServer,
                                                               tmp_path: Path) -> None:
    from store.repository import Repository

    paths = serve_stories(server, 3)
    seeds = write_seeds(tmp_path / "seeds", {"name": "tiny", "feeds": [server.url + "/rss.xml"]})
    assert crawl(pg_schema_url, seeds)["new"] == 3
    paths += serve_stories(server, 4)[3:]
    repo = Repository.open(pg_schema_url)
    try:
        before = (repo.articles.count(), [r.id for r in repo.runs.recent(limit=5)])
        pages = cli_json(pg_schema_url, "sources", "check", "tiny", seeds=seeds)
        assert (repo.articles.count(), [r.id for r in repo.runs.recent(limit=5)]) == before
    finally:
        repo.close()
    outcomes = {p["url"]: p["outcome"] for p in pages if p["kind"] == "article"}
    assert outcomes == {server.url + p: "known" for p in paths[:3]} | {server.url + paths[3]: "new"}


@pytest.mark.e2e
def test_check_without_a_database_creates_none(tmp_path: Path, server: TimedSiteServer) -> None:
    paths = [f"/news/2024-09/{n:02d}/story-{n}.html" for n in range(1, 4)]
    for n, path in enumerate(paths):
        server.set_page(path, story(n))
    serve_feed(server, "/rss.xml", paths)
    seeds = write_seeds(tmp_path / "seeds", {"name": "tiny", "feeds": [server.url + "/rss.xml"]})
    pages = cli_json(f"sqlite:///{tmp_path / 'newsmon.db'}", "sources", "check", "tiny", "--limit", "2", seeds=seeds)
    assert sorted((p["outcome"], p["url"]) for p in pages if p["kind"] == "article") == [
        ("new", server.url + paths[0]), ("new", server.url + paths[1]), ("not fetched", server.url + paths[2])]
    assert not (tmp_path / "newsmon.db").exists()
    assert "/news/2024-09/03/story-3.html" not in server.requests()
