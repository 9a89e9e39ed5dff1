"""The one generic spider: a source's feeds, sitemaps and listings in, article pages out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.config import Source
from crawler.discovery import DiscoveryError, Link, parse_feed, parse_listing, parse_sitemap
from crawler.items import FetchedPage, FetchFailure
from crawler.rules import Rule
from crawler.urls import canonicalize, is_http_url, is_listing_link, is_wanted, same_site

KnownUrls = Callable[[Iterable[str]], set[str]]


class NewsSpider(scrapy.Spider):
    """Discover a source's new article URLs and fetch each one once."""

    name = "news"

    def __init__(self, source: Source, known_urls: KnownUrls, rules: Sequence[Rule] = (),
                 max_articles: int = 1000, max_links: int = 5000, revisit: dict[str, int] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name=f"news:{source.name}", **kwargs)
        self.source = source
        self.rules = tuple(rules)
        self.revisit = revisit or {}
        self.known_urls = known_urls
        self.max_articles = max_articles
        self.max_links = max_links
        self.scheduled: set[str] = set()
        self.listings_seen: set[str] = set()
        self.sitemaps_seen: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        for url in self.source.feeds:
            yield self._request(url, self.parse_feed, kind="feed")
        for url in self.source.sitemaps:
            self.sitemaps_seen.add(canonicalize(url))
            yield self._request(url, self.parse_sitemap, kind="sitemap")
        for url in self.source.start_urls:
            self.listings_seen.add(canonicalize(url))
            yield self._request(url, self.parse_listing, kind="listing", depth=0)
        for url, article_id in self.revisit.items():
            yield self._request(url, self.parse_article, kind="revisit", revisit_of=article_id)

    # -- discovery ---------------------------------------------------------------------------

    def parse_feed(self, response: Response) -> Iterator[Any]:
        try:
            links = parse_feed(response.body, response.url)
        except DiscoveryError as exc:
            yield self._failure(response.url, f"feed: {exc}")
            return
        self._discovered()
        yield from self._article_requests(links[: self.max_links], any_host=True)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        try:
            page = parse_sitemap(response.body, response.url, max_links=self.max_links)
        except DiscoveryError as exc:
            yield self._failure(response.url, f"sitemap: {exc}")
            return
        self._discovered()
        for child in page.sitemaps:
            key = canonicalize(child.url)
            # A sitemap index that lists itself (or a cycle) is fetched once.
            if key not in self.sitemaps_seen and same_site(child.url, self.source.seed_urls):
                self.sitemaps_seen.add(key)
                yield self._request(child.url, self.parse_sitemap, kind="sitemap")
        yield from self._article_requests(page.urls, any_host=False)

    def parse_listing(self, response: Response, depth: int = 0) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            yield self._failure(response.url, "listing: not a text page")
            return
        page = parse_listing(response.body, response.url, encoding=response.encoding)
        self._discovered()
        links = page.links[: self.max_links]
        articles = [Link(u) for u in links if is_wanted(u, self.source.allow, self.source.deny)]
        yield from self._article_requests(articles, any_host=False)
        if depth >= self.source.follow:
            return
        more = page.next_pages + [u for u in links if is_listing_link(u, self.source.start_urls)]
        for url in more:
            key = canonicalize(url)
            if key not in self.listings_seen and same_site(url, self.source.seed_urls):
                self.listings_seen.add(key)
                yield self._request(url, self.parse_listing, kind="listing", depth=depth + 1)

    def _article_requests(self, links: list[Link], any_host: bool) -> Iterator[Any]:
        fresh: dict[str, tuple[str, Link]] = {}
        for link in links:
            if not is_http_url(link.url):
                continue
            if not any_host and not same_site(link.url, self.source.seed_urls):
                continue
            if not is_wanted(link.url, self.source.allow, self.source.deny):
                continue
            canon = canonicalize(link.url)
            if canon not in self.scheduled and canon not in fresh:
                fresh[canon] = (link.url, link)
        if not fresh:
            return
        # One query per discovery page: every variant, so a URL stored under any form is skipped.
        known = self.known_urls([*fresh, *(raw for raw, _ in fresh.values())])
        for canon, (raw, link) in fresh.items():
            if canon in known or raw in known:
                continue
            if len(self.scheduled) >= self.max_articles:
                self.logger.warning("%s: article limit %d reached; the rest waits for the next crawl",
                                    self.source.name, self.max_articles)
                return
            self.scheduled.add(canon)
            yield self._request(canon, self.parse_article, kind="article",
                                variants=tuple(dict.fromkeys((canon, raw))), listed=link.published)

    # -- articles ----------------------------------------------------------------------------

    def parse_article(self, response: Response, variants: tuple[str, ...] = (),
                      listed: Any = None, revisit_of: int | None = None) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            ctype = (response.headers.get("Content-Type") or b"").decode("latin-1") or "none"
            yield self._failure(response.url, f"not an HTML page (Content-Type: {ctype})")
            return
        final = canonicalize(response.url)
        yield FetchedPage(source=self.source.name, url=final, html=response.text,
                          variants=tuple(dict.fromkeys((final, *variants))), listed_published=listed,
                          revisit_of=revisit_of)

    # -- plumbing ----------------------------------------------------------------------------

    def _request(self, url: str, callback: Callable[..., Any], kind: str, **cb_kwargs: Any) -> scrapy.Request:
        return scrapy.Request(url, callback=callback, errback=self.on_error, cb_kwargs=cb_kwargs,
                              meta={"newsmon_kind": kind})

    def on_error(self, failure: Failure) -> Iterator[Any]:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        if failure.check(IgnoreRequest) and not failure.check(HttpError):  # type: ignore[no-untyped-call]
            # Refused by robots.txt or an offsite filter: deliberate, not a failure.
            self.crawler.stats.inc_value("newsmon/ignored")
            return
        yield self._failure(url, describe_failure(failure))

    def _discovered(self) -> None:
        # A crawl in which no feed, sitemap or listing could be read has failed, whatever else.
        self.crawler.stats.inc_value("newsmon/discovery_pages")

    def _failure(self, url: str, reason: str) -> FetchFailure:
        return FetchFailure(source=self.source.name, url=url, reason=reason)


def describe_failure(failure: Failure) -> str:
    """Say in one line why a request failed."""
    value = failure.value
    if isinstance(value, HttpError):
        return f"HTTP {value.response.status}"
    text = str(value).strip().splitlines()[0] if str(value).strip() else ""
    return f"{type(value).__name__}: {text}" if text else type(value).__name__
