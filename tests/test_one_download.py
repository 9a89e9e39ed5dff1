"""One download per article: URL variants of one article are coalesced before they are requested,
within a crawl (trailing slash, index page, tracking parameters, parameter order; the URL a page
ended at after redirects and its canonical link, for links found later) and across crawls (the key
form is stored with the article, so a variant never requested is known too). Counted from the
fixture server's request log."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler.config import Source
from crawler.discovery import Link
from crawler.items import FetchedPage
from crawler.signals import page_skipped
from crawler.spiders.news import NewsSpider
from crawler.urls import article_key
from sample_site import Page
from tests.conftest import crawl, fresh_db, write_seeds
from tests.sites import TimedSiteServer, serve_feed, story

ARTICLES = 6
# The forms the home page links each article by in the first crawl (the first one is requested),
# and in the second: forms never linked before, whose canonical forms were never stored either.
FIRST_FORMS = ("{p}/", "{p}", "{p}/index.html", "{p}/?utm_source=home&utm_medium=web", "{p}/#comments")
LATER_FORMS = ("{p}/index.htm", "{p}/index.php", "{p}/index.htm?utm_campaign=later")


def _article(n: int) -> str:
    return f"/news/2024-09/{1 + n:02d}/story-{n}"


def _home(forms: tuple[str, ...]) -> Page:
    links = "".join(f'<li><a href="{form.format(p=_article(n))}">Story {n}</a></li>'
                    for n in range(ARTICLES) for form in forms)
    return Page(f"<html><body><h1>Latest</h1><ul>{links}</ul></body></html>".encode())


def _serve(server: TimedSiteServer) -> None:
    for n in range(ARTICLES):
        page = story(n)
        # A directory served under each of its names, as a real server does.
        for form in ("{p}/", "{p}", "{p}/index.html", "{p}/index.htm", "{p}/index.php"):
            server.set_page(form.format(p=_article(n)), page)
    server.set_page("/", _home(FIRST_FORMS))
    # The feed names each article once more, with a tracking parameter.
    serve_feed(server, "/rss.xml", [f"{_article(n)}/?utm_source=rss" for n in range(ARTICLES)])


@dataclass
class Crawled:
    server: TimedSiteServer
    runs: list[dict[str, Any]]
    requests: list[list[str]]  # the server's request log of each crawl

    def article_downloads(self, crawl: int) -> Counter[str]:
        return Counter(article_key(self.server.url + p) for p in self.requests[crawl] if p.startswith("/news/"))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def crawled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    folder = tmp_path_factory.mktemp(f"one-download-{request.param}")
    with ExitStack() as stack, TimedSiteServer() as server:
        db = fresh_db(request.param, folder, stack)
        _serve(server)
        seeds = write_seeds(folder / "seeds", {"name": "variants", "start_urls": [f"{server.url}/"],
                                                 "feeds": [f"{server.url}/rss.xml"]})
        runs, requests = [], []
        for forms in (FIRST_FORMS, LATER_FORMS):
            # Changed, the home page is read again in the second crawl.
            server.set_page("/", _home(forms))
            server.clear_log()
            runs.append(crawl(db, seeds))
            requests.append(server.requests())
        yield Crawled(server, runs, requests)


def test_the_first_crawl_downloads_each_article_once(crawled: Crawled) -> None:
    expected = {article_key(crawled.server.url + _article(n)): 1 for n in range(ARTICLES)}
    assert crawled.article_downloads(0) == expected
    assert crawled.runs[0]["new"] == ARTICLES and crawled.runs[0]["duplicates"] == 0
    assert crawled.runs[0]["skipped"] == 0 and crawled.runs[0]["errors"] == 0


def test_the_second_crawl_downloads_no_article_not_even_a_form_never_requested(crawled: Crawled) -> None:
    assert "/" in crawled.requests[1]  # the home page was read, its links checked
    assert crawled.article_downloads(1) == Counter()
    assert crawled.runs[1]["new"] == 0 and crawled.runs[1]["outcome"] == "ok"


# -- Within a crawl, what a fetched page reveals (the spider alone, no crawl) -----------------------

def _spider(known: set[str] | None = None, **kwargs: Any) -> tuple[NewsSpider, list[tuple[str, str]]]:
    crawler = get_crawler(NewsSpider)
    spider = NewsSpider.from_crawler(crawler, source=Source("s", feeds=("https://news.example/rss.xml",)),
                                     known_urls=lambda urls: set(urls) & (known or set()), **kwargs)
    skipped: list[tuple[str, str]] = []
    crawler.signals.connect(lambda url, reason: skipped.append((url, reason)), signal=page_skipped, weak=False)
    return spider, skipped


def _links(*urls: str) -> list[Link]:
    return [Link(u) for u in urls]


def test_variants_on_one_page_are_one_request_that_carries_the_key() -> None:
    spider, _ = _spider()
    base = "https://news.example/news/2024-10/01/green-steel"
    requests = list(spider._article_requests(_links(base + "/", base, base + "/index.html",
                                                    base + "/?b=2&a=1&utm_source=x", base + "/?a=1&b=2"),
                                             any_host=False))
    assert [r.url for r in requests] == [base + "/", base + "/?a=1&b=2"]  # the query names another page
    assert base in requests[0].cb_kwargs["variants"]  # the key form, to be stored with the article


def test_a_page_claims_where_it_ended_and_its_canonical_link() -> None:
    spider, _ = _spider()
    asked = "https://news.example/news/2024-10/02/old-name.html"
    final = "https://news.example/news/2024-10/02/new-name/"
    html = ('<html><head><link rel="canonical" href="/news/2024-10/02/the-story/"></head>'
            "<body><p>Text.</p></body></html>")
    response = HtmlResponse(final, body=html.encode(), encoding="utf-8", request=Request(asked))
    (page,) = list(spider.parse_article(response, variants=(asked,)))
    assert isinstance(page, FetchedPage) and article_key(final) in page.variants
    later = list(spider._article_requests(_links("https://news.example/news/2024-10/02/new-name",
                                                 "https://news.example/news/2024-10/02/the-story/index.html",
                                                 "https://news.example/news/2024-10/02/other.html"), any_host=False))
    assert [r.url for r in later] == ["https://news.example/news/2024-10/02/other.html"]


def test_another_sites_canonical_link_claims_nothing() -> None:
    spider, _ = _spider()
    html = '<html><head><link rel="canonical" href="https://elsewhere.example/news/2024-10/03/x/"></head><body></body></html>'
    response = HtmlResponse("https://news.example/news/2024-10/03/x.html", body=html.encode(), encoding="utf-8")
    list(spider.parse_article(response))
    # A feed may link other hosts (any_host): the page on elsewhere.example is still requested.
    later = list(spider._article_requests(_links("https://elsewhere.example/news/2024-10/03/x/"), any_host=True))
    assert [r.url for r in later] == ["https://elsewhere.example/news/2024-10/03/x/"]


def test_the_known_check_asks_for_the_key_form() -> None:
    base = "https://news.example/news/2024-10/04/stored"
    spider, _ = _spider(known={base})  # stored earlier, under its key form only
    assert list(spider._article_requests(_links(base + "/index.php", base + "/?utm_source=x"), any_host=False)) == []


def test_links_past_the_article_limit_are_skipped_once_each_with_the_reason() -> None:
    spider, skipped = _spider(max_articles=1)
    urls = [f"https://news.example/news/2024-10/05/story-{n}.html" for n in range(3)]
    assert len(list(spider._article_requests(_links(*urls), any_host=False))) == 1
    assert list(spider._article_requests(_links(*urls[1:], urls[2] + "?utm_source=x"), any_host=False)) == []
    reason = "article limit reached: waits for the next crawl (max_articles_per_crawl = 1)"
    assert skipped == [(urls[1], reason), (urls[2], reason)]
