"""The hostile web, first cases: each fault is served on 127.0.0.1; the crawl finishes, records the
failure with URL and reason, and stores everything else."""

from __future__ import annotations

import html
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.config import default_seeds_dir
from crawler.guard import internal_host
from crawler.retry import retry_after
from scheduler.sample_site import Page, SiteServer, load_articles
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e
PARAGRAPHS = [p for a in load_articles() for p in a["paragraphs"] if len(p) > 150]


def _article(n: int) -> Page:
    body = "".join(f"<p>{html.escape(PARAGRAPHS[(n * 3 + k) % len(PARAGRAPHS)])}</p>" for k in range(4))
    return Page(f"<html><head><title>Story {n}</title></head><body><article><h1>Story {n}</h1>{body}"
                f"</article></body></html>".encode())


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SiteServer, dict[str, Any], list[Any]]]:
    with SiteServer() as server:
        good = "/news/2024-09/01/good-story.html"
        pages = {
            good: _article(1),
            "/news/2024-09/02/flaky-story.html": Page(b"oops", status=500, then=_article(2)),
            "/news/2024-09/03/busy-story.html": Page(b"slow down", status=429, headers={"Retry-After": "1"},
                                                     then=_article(3)),
            "/news/2024-09/04/loop-a.html": Page(b"", status=302, headers={"Location": "/news/2024-09/04/loop-b.html"}),
            "/news/2024-09/04/loop-b.html": Page(b"", status=302, headers={"Location": "/news/2024-09/04/loop-a.html"}),
            "/news/2024-09/05/to-file.html": Page(b"", status=301, headers={"Location": "file:///etc/passwd"}),
            "/news/2024-09/06/to-internal.html": Page(b"", status=301,
                                                      headers={"Location": "http://127.0.0.2:9/admin/"}),
            "/news/2024-09/07/huge-story.html": Page(b"<html><body>" + b"x" * 300_000 + b"</body></html>"),
            "/news/2024-09/08/report.html": Page(b"%PDF-1.4 binary", headers={"Content-Type": "application/pdf"}),
            "/news/2024-09/09/empty.html": Page(b""),
        }
        items = "".join(f"<item><title>t</title><link>{server.url}{p}</link></item>" for p in pages)
        pages["/rss.xml"] = Page(f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{items}'
                                 f"</channel></rss>".encode(), headers={"Content-Type": "application/rss+xml"})
        # A sitemap index that lists itself: read once, no loop.
        pages["/sitemap.xml"] = Page(f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/'
                                     f'sitemap/0.9"><sitemap><loc>{server.url}/sitemap.xml</loc></sitemap>'
                                     f"</sitemapindex>".encode(), headers={"Content-Type": "application/xml"})
        server.set_pages(pages)
        folder = tmp_path_factory.mktemp("faults")
        seeds = folder / "seeds"
        seeds.mkdir()
        (seeds / "sources.toml").write_text(f'[[source]]\nname = "hostile"\nfeeds = ["{server.url}/rss.xml"]\n'
                                            f'sitemaps = ["{server.url}/sitemap.xml"]\n')
        shutil.copyfile(default_seeds_dir() / "rules.toml", seeds / "rules.toml")
        db = f"sqlite:///{folder / 'n.db'}"
        proc = run_cli("--db", db, "--seeds", str(seeds), "crawl", "now", "--format", "json",
                       env={"NEWSMON_MAX_RESPONSE_BYTES": "200000", "NEWSMON_RETRY_TIMES": "2"})
        assert proc.returncode == 0, proc.stderr
        (run,) = json.loads(proc.stdout)
        stored = json.loads(run_cli("--db", db, "query", "--all", "--format", "json").stdout)
        yield server, run, stored


def _reasons(run: dict[str, Any]) -> dict[str, str]:
    return {e["url"].rsplit("/", 1)[-1]: e["reason"] for e in run["error_list"]}


def test_the_crawl_finishes_and_stores_the_good_pages(crawled: tuple[SiteServer, dict[str, Any], list[Any]]) -> None:
    _, run, stored = crawled
    assert run["outcome"] == "ok"
    titles = {a["title"] for a in stored}
    assert titles == {"Story 1", "Story 2", "Story 3"}  # the 500 and the 429 succeeded on retry


def test_each_failure_is_recorded_with_its_reason(crawled: tuple[SiteServer, dict[str, Any], list[Any]]) -> None:
    _, run, _ = crawled
    reasons = _reasons(run)
    assert reasons["loop-a.html"] == "IgnoreRequest: max redirections reached"
    assert reasons["to-file.html"] == "HTTP 301"  # a redirect to file: is not followed
    assert reasons["to-internal.html"].startswith("IgnoreRequest: refused: private or loopback address 127.0.0.2")
    assert "maxsize" in reasons["huge-story.html"].lower() or "larger than" in reasons["huge-story.html"]
    assert reasons["report.html"] == "not an HTML page (Content-Type: application/pdf)"
    assert "flaky-story.html" not in reasons and "busy-story.html" not in reasons
    assert run["errors"] == len(run["error_list"])


def test_retry_after_is_honoured(crawled: tuple[SiteServer, dict[str, Any], list[Any]]) -> None:
    server, _, _ = crawled
    times = [t for path, _, t in server.answer_times() if path.endswith("busy-story.html")]
    assert len(times) == 2 and times[1] - times[0] >= 0.9


def test_a_self_listing_sitemap_index_is_read_once(crawled: tuple[SiteServer, dict[str, Any], list[Any]]) -> None:
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

    with FaultServer() as faults, SiteServer() as site:
        good = "/news/2024-09/10/fine.html"
        site.set_page(good, _article(7))
        site.set_page("/news/2024-09/11/empty.html", Page(b""))
        site.set_page("/news/2024-09/12/no-type.html", Page(_article(8).body, headers={"Content-Type": ""}))
        # A charset nobody knows, and a header that contradicts the page's own meta charset.
        site.set_page("/news/2024-09/13/bad-charset.html",
                      Page(_article(9).body, headers={"Content-Type": "text/html; charset=no-such-charset"}))
        conflicting = _article(10).body.replace(b"<head>", b'<head><meta charset="gbk">')
        site.set_page("/news/2024-09/14/conflict.html",
                      Page(conflicting, headers={"Content-Type": "text/html; charset=utf-8"}))
        links = [f"{faults.url}/news/2024-09/01/trickle.html", f"{faults.url}/news/2024-09/02/reset.html",
                 f"{faults.url}/news/2024-09/03/bomb.html", site.url + good, site.url + "/news/2024-09/11/empty.html",
                 site.url + "/news/2024-09/12/no-type.html", site.url + "/news/2024-09/13/bad-charset.html",
                 site.url + "/news/2024-09/14/conflict.html"]
        items = "".join(f"<item><title>t</title><link>{link}</link></item>" for link in links)
        site.set_page("/rss.xml", Page(f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{items}'
                                       f"</channel></rss>".encode(), headers={"Content-Type": "application/rss+xml"}))
        seeds = tmp_path / "seeds"
        seeds.mkdir()
        (seeds / "sources.toml").write_text(f'[[source]]\nname = "hostile"\nfeeds = ["{site.url}/rss.xml"]\n')
        shutil.copyfile(default_seeds_dir() / "rules.toml", seeds / "rules.toml")
        db = f"sqlite:///{tmp_path / 'n.db'}"
        proc = run_cli("--db", db, "--seeds", str(seeds), "crawl", "now", "--format", "json",
                       env={"NEWSMON_DOWNLOAD_TIMEOUT": "2", "NEWSMON_RETRY_TIMES": "1",
                            "NEWSMON_MAX_RESPONSE_BYTES": "5000000"})
        assert proc.returncode == 0, proc.stderr
        (run,) = json.loads(proc.stdout)
        articles = json.loads(run_cli("--db", db, "query", "--all", "--format", "json").stdout)
        stored = {a["title"] for a in articles}
        texts = {a["title"]: a["text"] for a in articles}
    reasons = _reasons(run)
    assert "TimeoutError" in reasons["trickle.html"] or "timeout" in reasons["trickle.html"].lower()
    assert reasons["reset.html"]  # connection lost / reset, after the retry
    assert "exceeded DOWNLOAD_MAXSIZE" in reasons["bomb.html"] and "during decompression" in reasons["bomb.html"]
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
    with SiteServer() as site:
        port = site.url.rsplit(":", 1)[1]
        sneaky = f"http://{name}:{port}/news/2024-09/01/inside.html"
        site.set_page("/news/2024-09/01/inside.html", _article(1))
        site.set_page("/rss.xml", Page(f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title><item>'
                                       f"<title>t</title><link>{sneaky}</link></item></channel></rss>".encode(),
                                       headers={"Content-Type": "application/rss+xml"}))
        seeds = tmp_path / "seeds"
        seeds.mkdir()
        (seeds / "sources.toml").write_text(f'[[source]]\nname = "s"\nfeeds = ["{site.url}/rss.xml"]\n')
        shutil.copyfile(default_seeds_dir() / "rules.toml", seeds / "rules.toml")
        proc = run_cli("--db", f"sqlite:///{tmp_path / 'n.db'}", "--seeds", str(seeds), "crawl", "now",
                       "--format", "json")
        assert proc.returncode == 0, proc.stderr
        (run,) = json.loads(proc.stdout)
        assert "/news/2024-09/01/inside.html" not in site.requests()
    assert _reasons(run)["inside.html"] == f"IgnoreRequest: refused: private or loopback address {name}"
