"""The hostile web, first cases: each fault is served on 127.0.0.1; the crawl finishes, records the
failure with URL and reason, and stores everything else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.guard import internal_host
from crawler.retry import retry_after
from sample_site import Page
from tests.conftest import cli_json, crawl, write_seeds
from tests.sites import PARAGRAPHS, TimedSiteServer, serve_feed, story

pytestmark = pytest.mark.e2e
# The hostile site's server, the crawl's run summary, and the articles it stored.
Crawled = tuple[TimedSiteServer, dict[str, Any], list[Any]]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    with TimedSiteServer() as server:
        good = "/news/2024-09/01/good-story.html"
        pages = {
            good: story(1),
            "/news/2024-09/02/flaky-story.html": Page(b"oops", status=500, then=story(2)),
            "/news/2024-09/03/busy-story.html": Page(b"slow down", status=429, headers={"Retry-After": "1"},
                                                     then=story(3)),
            "/news/2024-09/04/loop-a.html": Page(b"", status=302, headers={"Location": "/news/2024-09/04/loop-b.html"}),
            "/news/2024-09/04/loop-b.html": Page(b"", status=302, headers={"Location": "/news/2024-09/04/loop-a.html"}),
            "/news/2024-09/05/to-file.html": Page(b"", status=301, headers={"Location": "file:///etc/passwd"}),
            "/news/2024-09/06/to-internal.html": Page(b"", status=301,
                                                      headers={"Location": "http://127.0.0.2:9/admin/"}),
            "/news/2024-09/07/huge-story.html": Page(b"<html><body>" + b"x" * 300_000 + b"</body></html>"),
            "/news/2024-09/08/report.html": Page(b"%PDF-1.4 binary", headers={"Content-Type": "application/pdf"}),
            "/news/2024-09/09/empty.html": Page(b""),
        }
        serve_feed(server, "/rss.xml", pages)
        # A sitemap index that lists itself: read once, no loop.
        pages["/sitemap.xml"] = Page(f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/'
                                     f'sitemap/0.9"><sitemap><loc>{server.url}/sitemap.xml</loc></sitemap>'
                                     f"</sitemapindex>".encode(), headers={"Content-Type": "application/xml"})
        for path, page in pages.items():
            server.set_page(path, page)
        folder = tmp_path_factory.mktemp("faults")
        seeds = write_seeds(folder / "seeds", {"name": "hostile", "feeds": [f"{server.url}/rss.xml"],
                                               "sitemaps": [f"{server.url}/sitemap.xml"]})
        db = f"sqlite:///{folder / 'n.db'}"
        run = crawl(db, seeds, env={"NEWSMON_MAX_RESPONSE_BYTES": "200000", "NEWSMON_RETRY_TIMES": "2"})
        yield server, run, cli_json(db, "query", "--all")


def _reasons(run: dict[str, Any]) -> dict[str, str]:
    return {e["url"].rsplit("/", 1)[-1]: e["reason"] for e in run["error_list"]}


def test_the_crawl_finishes_and_stores_the_good_pages(crawled: Crawled) -> None:
    _, run, stored = crawled
    assert run["outcome"] == "ok"
    titles = {a["title"] for a in stored}
    assert titles == {"Story 1", "Story 2", "Story 3"}  # the 500 and the 429 succeeded on retry


def test_each_failure_is_recorded_with_its_reason(crawled: Crawled) -> None:
    _, run, _ = crawled
    reasons = _reasons(run)
    # Exactly these fail; the 500 and the 429 succeed on retry; a page too large, a PDF and an empty
    # page are no articles: skipped, not failed.
    assert set(reasons) == {"loop-a.html", "loop-b.html", "to-file.html", "to-internal.html"}
    assert reasons["loop-a.html"] == reasons["loop-b.html"] == "IgnoreRequest: max redirections reached"
    assert reasons["to-file.html"] == "HTTP 301"  # a redirect to file: is not followed
    assert reasons["to-internal.html"] == "IgnoreRequest: refused: private or loopback address 127.0.0.2"
    assert run["errors"] == len(run["error_list"])


def test_pages_that_are_no_articles_are_skipped_with_their_reason(crawled: Crawled) -> None:
    _, run, _ = crawled
    skips = {e["url"].rsplit("/", 1)[-1]: e["reason"] for e in run["skip_list"]}
    assert set(skips) == {"huge-story.html", "report.html", "empty.html"}
    assert skips["huge-story.html"] == ("too large: Expected to receive 300026 bytes which is larger than download "
                                        "max size (200000) (the max_response_bytes setting)")
    assert skips["report.html"] == "not an HTML page (Content-Type: application/pdf)"
    assert skips["empty.html"].startswith("not an article: no HTML to parse")
    assert run["skipped"] == 3


def test_retry_after_is_honoured(crawled: Crawled) -> None:
    server, _, _ = crawled
    times = [t for path, _, t in server.answer_times() if path.endswith("busy-story.html")]
    assert len(times) == 2 and times[1] - times[0] >= 0.9


def test_a_self_listing_sitemap_index_is_read_once(crawled: Crawled) -> None:
    server, _, _ = crawled
    assert server.requests().count("/sitemap.xml") == 1


@pytest.mark.parametrize(("host", "internal"), [("127.0.0.1", True), ("10.1.2.3", True), ("192.168.0.1", True),
                                                ("169.254.169.254", True), ("[::1]", True), ("localhost", True),
                                                ("news.localhost", True), ("8.8.8.8", False),
                                                ("www.chinadaily.com.cn", False)])
def test_internal_hosts(host: str, internal: bool) -> None:
    assert internal_host(host) is internal


def test_retry_after_header_forms() -> None:
    from datetime import UTC, datetime

    assert retry_after(b"120") == 120.0
    assert retry_after(b"Sat, 21 Sep 2024 09:00:30 GMT", now=datetime(2024, 9, 21, 9, 0, tzinfo=UTC)) == 30.0
    assert retry_after(b"soon") is None and retry_after(None) is None


def test_trickle_reset_and_gzip_bomb_are_recorded_and_the_rest_stored(tmp_path: Path) -> None:
    from tests.fault_server import FaultServer

    with FaultServer() as faults, TimedSiteServer() as site:
        good = "/news/2024-09/10/fine.html"
        site.set_page(good, story(7))
        site.set_page("/news/2024-09/11/empty.html", Page(b""))
        site.set_page("/news/2024-09/12/no-type.html", Page(story(8).body, headers={"Content-Type": ""}))
        # A charset nobody knows, and a header that contradicts the page's own meta charset.
        site.set_page("/news/2024-09/13/bad-charset.html",
                      Page(story(9).body, headers={"Content-Type": "text/html; charset=no-such-charset"}))
        conflicting = story(10).body.replace(b"<head>", b'<head><meta charset="gbk">')
        site.set_page("/news/2024-09/14/conflict.html",
                      Page(conflicting, headers={"Content-Type": "text/html; charset=utf-8"}))
        links = [f"{faults.url}/news/2024-09/01/trickle.html", f"{faults.url}/news/2024-09/02/reset.html",
                 f"{faults.url}/news/2024-09/03/bomb.html", site.url + good, site.url + "/news/2024-09/11/empty.html",
                 site.url + "/news/2024-09/12/no-type.html", site.url + "/news/2024-09/13/bad-charset.html",
                 site.url + "/news/2024-09/14/conflict.html"]
        seeds = write_seeds(tmp_path / "seeds", {"name": "hostile", "feeds": [serve_feed(site, "/rss.xml", links)]})
        db = f"sqlite:///{tmp_path / 'n.db'}"
        run = crawl(db, seeds, env={"NEWSMON_DOWNLOAD_TIMEOUT": "2", "NEWSMON_RETRY_TIMES": "1",
                                    "NEWSMON_MAX_RESPONSE_BYTES": "5000000"})
        articles = cli_json(db, "query", "--all")
        stored = {a["title"] for a in articles}
        texts = {a["title"]: a["text"] for a in articles}
    reasons = _reasons(run)
    assert set(reasons) == {"trickle.html", "reset.html", "bomb.html"}
    assert reasons["trickle.html"] == (f"DownloadTimeoutError: Getting {faults.url}/news/2024-09/01/trickle.html "
                                       "took longer than 2.0 seconds.")
    # The reset arrives after the request went out: the connection is lost, not refused (after the retry).
    assert reasons["reset.html"].startswith("DownloadFailedError: ") and "ConnectionLost" in reasons["reset.html"]
    assert reasons["bomb.html"].startswith("IgnoreRequest: Ignored response <200 ")
    assert "exceeded DOWNLOAD_MAXSIZE (5000000 B) during decompression" in reasons["bomb.html"]
    # The empty page is no article; a missing Content-Type, an unknown charset and a header that
    # contradicts the meta charset still give the (UTF-8) article, decoded right.
    assert stored == {"Story 7", "Story 8", "Story 9", "Story 10"}
    for n in (9, 10):
        assert PARAGRAPHS[(n * 3) % len(PARAGRAPHS)] in texts[f"Story {n}"]
    assert run["outcome"] == "ok"


def test_a_host_name_resolving_to_loopback_is_refused(tmp_path: Path) -> None:
    import socket

    name = socket.gethostname()
    try:
        if not internal_host(name, resolve=True) or internal_host(name):
            pytest.skip(f"this machine's name {name!r} does not resolve to a private address")
    except OSError:
        pytest.skip("host name does not resolve")
    with TimedSiteServer() as site:
        port = site.url.rsplit(":", 1)[1]
        sneaky = f"http://{name}:{port}/news/2024-09/01/inside.html"
        site.set_page("/news/2024-09/01/inside.html", story(1))
        seeds = write_seeds(tmp_path / "seeds", {"name": "s", "feeds": [serve_feed(site, "/rss.xml", [sneaky])]})
        run = crawl(f"sqlite:///{tmp_path / 'n.db'}", seeds)
        assert "/news/2024-09/01/inside.html" not in site.requests()
    assert _reasons(run)["inside.html"] == f"IgnoreRequest: refused: private or loopback address {name}"
