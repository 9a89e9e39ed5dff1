"""Nothing new costs next to nothing: conditional requests, unchanged bodies, date skipping, pagination stop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.conditional import conditional_headers, judge
from sample_site import Page, SiteServer
from store.records import ValidatorRecord
from tests.conftest import crawl, write_seeds
from tests.sites import serve_feed, story

NOW = datetime(2024, 9, 21, tzinfo=UTC)


def _record(**kw: Any) -> ValidatorRecord:
    base = {"url": "u", "etag": '"v1"', "last_modified": "Sat, 21 Sep 2024 09:00:00 GMT", "content_hash": "h1",
            "trusted": True, "not_modified": 0, "checked": NOW, "changed": NOW}
    return ValidatorRecord(**{**base, **kw})


def test_conditional_headers_only_for_trusted_validators_and_not_every_time() -> None:
    assert conditional_headers(None) == {}
    assert conditional_headers(_record()) == {"If-None-Match": '"v1"',
                                              "If-Modified-Since": "Sat, 21 Sep 2024 09:00:00 GMT"}
    assert conditional_headers(_record(trusted=False)) == {}
    assert conditional_headers(_record(not_modified=9), verify_every=10) == {}  # the verifying fetch
    assert conditional_headers(_record(not_modified=8), verify_every=10) != {}


def test_judge_spots_a_lying_validator() -> None:
    assert judge(None, '"v1"', None, "h1").changed
    assert not judge(_record(), '"v1"', None, "h1").changed
    lie = judge(_record(), '"v1"', None, "h2")
    assert lie.changed and lie.distrust
    honest = judge(_record(), '"v2"', None, "h2")
    assert honest.changed and not honest.distrust


# -- real crawls ---------------------------------------------------------------------------------

def _article(server: SiteServer, n: int) -> str:
    path = f"/news/2024-09/{1 + n % 28:02d}/story-number-{n}.html"
    server.set_page(path, story(n))
    return path


def _feed(server: SiteServer, paths: list[str], etag: str) -> None:
    serve_feed(server, "/rss.xml", paths, headers={"ETag": etag})


def test_a_304_ends_the_branch(server: SiteServer, tmp_path: Path) -> None:
    paths = [_article(server, n) for n in range(3)]
    _feed(server, paths, etag='"feed-1"')
    seeds = write_seeds(tmp_path / "seeds", {"name": "s", "feeds": [f"{server.url}/rss.xml"]})
    db = f"sqlite:///{tmp_path / 'n.db'}"
    assert crawl(db, seeds)["new"] == 3
    server.clear_log()
    second = crawl(db, seeds)
    assert ("/rss.xml", 304) in server.answers()
    assert server.requests() == ["/rss.xml"]  # robots.txt is kept from the first crawl
    assert second["new"] == 0 and second["errors"] == 0 and second["outcome"] == "ok"
    # An honest server changes its ETag with the content: the new article is found at once.
    paths.append(_article(server, 3))
    _feed(server, paths, etag='"feed-2"')
    assert crawl(db, seeds)["new"] == 1


def test_a_lying_etag_does_not_hide_a_changed_feed(server: SiteServer, tmp_path: Path) -> None:
    paths = [_article(server, n) for n in range(2)]
    _feed(server, paths, etag='"always-the-same"')
    seeds = write_seeds(tmp_path / "seeds", {"name": "s", "feeds": [f"{server.url}/rss.xml"]})
    db = f"sqlite:///{tmp_path / 'n.db'}"
    env = {"NEWSMON_VALIDATOR_CHECK_EVERY": "2"}
    crawl(db, seeds, env=env)
    paths.append(_article(server, 2))
    _feed(server, paths, etag='"always-the-same"')
    server.clear_log()
    fooled = crawl(db, seeds, env=env)  # the server answers 304 although the feed changed
    assert fooled["new"] == 0 and ("/rss.xml", 304) in server.answers()
    caught = crawl(db, seeds, env=env)  # the verifying fetch sees the change
    assert caught["new"] == 1
    server.clear_log()
    crawl(db, seeds, env=env)
    assert ("/rss.xml", 200) in server.answers()  # not trusted again: fetched in full
    assert not any(p.startswith("/news/") for p in server.requests())  # but the unchanged body ends it


def test_unchanged_listing_and_pagination_stop(server: SiteServer, tmp_path: Path) -> None:
    paths = [_article(server, n) for n in range(6)]

    def listing(items: list[str]) -> None:
        for page in range(3):
            links = "".join(f'<li><a href="{p}">story</a></li>' for p in items[page * 2:(page + 1) * 2])
            nxt = f'<a rel="next" href="/list/?page={page + 2}">Next</a>' if page < 2 else ""
            path = "/list/" if page == 0 else f"/list/?page={page + 1}"
            server.set_page(path, Page(f"<html><body><ul>{links}</ul>{nxt}</body></html>".encode()))

    listing(paths)
    seeds = write_seeds(tmp_path / "seeds", {"name": "s", "start_urls": [f"{server.url}/list/"],
                                             "allow": ["/news/"], "follow": 3})
    db = f"sqlite:///{tmp_path / 'n.db'}"
    assert crawl(db, seeds)["new"] == 6
    server.clear_log()
    crawl(db, seeds)
    assert server.requests() == ["/list/"]  # same body as last time: nothing to follow (robots.txt kept)
    newest = _article(server, 6)
    listing([newest, *paths])  # one new story pushes the others down a page
    server.clear_log()
    assert crawl(db, seeds)["new"] == 1
    assert "/list/?page=2" in server.requests()
    assert "/list/?page=3" not in server.requests()  # page 2 held only known stories


def test_sitemap_entries_older_than_the_last_full_read_are_skipped(server: SiteServer, tmp_path: Path) -> None:
    old = [_article(server, n) for n in range(3)]

    def sitemap(entries: list[tuple[str, datetime]]) -> None:
        urls = "".join(f"<url><loc>{server.url}{p}</loc><lastmod>{d.isoformat()}</lastmod></url>" for p, d in entries)
        server.set_page("/sitemap.xml", Page(f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/'
                                             f'schemas/sitemap/0.9">{urls}</urlset>'.encode(),
                                             headers={"Content-Type": "application/xml"}))

    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    sitemap([(p, long_ago) for p in old])
    seeds = write_seeds(tmp_path / "seeds", {"name": "s", "sitemaps": [f"{server.url}/sitemap.xml"],
                                             "allow": ["/news/"]})
    db = f"sqlite:///{tmp_path / 'n.db'}"
    assert crawl(db, seeds)["new"] == 3
    # Dates are the evidence: an entry dated before the last full read counts as seen then.
    stale = _article(server, 10)
    fresh = _article(server, 11)
    sitemap([*[(p, long_ago) for p in old], (stale, long_ago), (fresh, datetime.now(UTC) + timedelta(hours=1))])
    server.clear_log()
    assert crawl(db, seeds)["new"] == 1
    assert fresh in server.requests() and stale not in server.requests()
