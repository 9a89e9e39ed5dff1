"""The one generic spider: a source's feeds, sitemaps and listings in, article pages out.

OWNS: discovery (which URLs to fetch, once each, up to max_articles) and the conditional requests
to discovery URLs. It yields requests and items; what others need from it is sent as a signal when
it happens (crawler.signals): how many article pages it scheduled, that it hit the article limit,
which pages it skipped and why, what each discovery URL answered. It keeps no state for other
components to read back.

One download per article: URL variants of one article (crawler.urls.article_key: trailing slash,
index page, tracking parameters, parameter order) are one request, and once a page is fetched, the
URL it ended at after redirects and its canonical link are claimed too, so that links to them
found later in the crawl are not requested. The key form goes with the page into the store, whose
known-URL check then covers the variant never requested in the next crawl as well.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any

import scrapy
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.conditional import asked_url, body_hash, conditional_headers, read_answer
from crawler.config import Source
from crawler.discovery import DiscoveryError, Link, parse_feed, parse_listing, parse_sitemap
from crawler.items import FetchedPage, FetchFailure
from crawler.signals import article_limit_reached, articles_scheduled, page_skipped, validator_answered
from crawler.urls import (
    article_key,
    canonical_link,
    canonicalize,
    is_http_url,
    is_listing_link,
    is_wanted,
    same_site,
)
from store.records import ValidatorAnswer, ValidatorRecord

KnownUrls = Callable[[Iterable[str]], set[str]]
HTML_TYPES = {"text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml"}
BINARY_MAGIC = (b"%PDF-", b"\x89PNG\r\n", b"GIF89a", b"GIF87a", b"PK\x03\x04", b"\xff\xd8\xff")
# Sitemap and feed dates are often rounded, late or in another time zone: only entries dated a
# day before the last full read are taken as seen.
DATE_MARGIN = timedelta(days=1)


class NewsSpider(scrapy.Spider):
    """Discover a source's new article URLs and fetch each one once."""

    name = "news"

    def __init__(self, source: Source, known_urls: KnownUrls, max_articles: int = 1000, max_links: int = 5000,
                 revisit: dict[str, int] | None = None, validators: dict[str, ValidatorRecord] | None = None,
                 verify_every: int = 10, **kwargs: Any) -> None:
        super().__init__(name=f"news:{source.name}", **kwargs)
        self.source = source
        self.revisit = revisit or {}
        self.validators = validators or {}
        self.verify_every = verify_every
        self.known_urls = known_urls
        self.max_articles = max_articles
        self.max_links = max_links
        # Article keys (crawler.urls.article_key) of the pages asked for, and of the URLs fetched pages
        # turned out to be (after redirects; their canonical link): none is requested again.
        self._scheduled: set[str] = set()
        # Article pages asked for: max_articles counts them.
        self._requested = 0
        # Keys of the links left for the next crawl by the article limit, each reported once.
        self._deferred: set[str] = set()
        # Keys of the listing pages asked for: a listing is not fetched a second time as an article.
        self.listings_seen: set[str] = set()
        self.sitemaps_seen: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        for url in self.source.feeds:
            yield self._request(url, self.parse_feed, kind="feed")
        for url in self.source.sitemaps:
            self.sitemaps_seen.add(canonicalize(url))
            yield self._request(url, self.parse_sitemap, kind="sitemap")
        for url in self.source.start_urls:
            self.listings_seen.add(article_key(url))
            yield self._request(url, self.parse_listing, kind="listing", depth=0)
        for url, article_id in self.revisit.items():
            yield self._request(url, self.parse_article, kind="revisit", revisit_of=article_id)

    # -- discovery ---------------------------------------------------------------------------

    def parse_feed(self, response: Response) -> Iterator[Any]:
        if not self._changed(response):
            return
        try:
            links = parse_feed(response.body, response.url)
        except DiscoveryError as exc:
            yield self._failure(response.url, f"feed: {exc}")
            return
        self._discovered()
        yield from self._article_requests(self._recent(response, links[: self.max_links]), any_host=True)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        if not self._changed(response):
            return
        try:
            page = parse_sitemap(response.body, response.url, max_links=self.max_links)
        except DiscoveryError as exc:
            yield self._failure(response.url, f"sitemap: {exc}")
            return
        self._discovered()
        urls = self._recent(response, page.urls)
        for child in page.sitemaps:
            key = canonicalize(child.url)
            # A sitemap index that lists itself (or a cycle) is fetched once.
            if key not in self.sitemaps_seen and same_site(child.url, self.source.seed_urls):
                self.sitemaps_seen.add(key)
                yield self._request(child.url, self.parse_sitemap, kind="sitemap")
        yield from self._article_requests(urls, any_host=False)

    def parse_listing(self, response: Response, depth: int = 0) -> Iterator[Any]:
        if not self._changed(response):
            return
        if not isinstance(response, TextResponse):
            yield self._failure(response.url, "listing: not a text page")
            return
        page = parse_listing(response.body, response.url, encoding=response.encoding)
        self._discovered()
        links = page.links[: self.max_links]
        follow = depth < self.source.follow
        more = page.next_pages + [u for u in links if is_listing_link(u, self.source.start_urls)] if follow else []
        # A link this crawl follows as a listing is not also fetched as an article (an allow
        # pattern that matches section pages would otherwise download each of them twice).
        listings = {article_key(u) for u in more}
        articles = [Link(u) for u in links
                    if is_wanted(u, self.source.allow, self.source.deny) and article_key(u) not in listings]
        requests = list(self._article_requests(articles, any_host=False))
        yield from requests
        if not follow:
            return
        if articles and not requests and depth > 0:
            # A page further down that holds only known articles: older pages hold nothing new.
            self.crawler.stats.inc_value("newsmon/pagination_stopped")
            return
        for url in more:
            key = article_key(url)
            if key not in self.listings_seen and same_site(url, self.source.seed_urls):
                self.listings_seen.add(key)
                yield self._request(url, self.parse_listing, kind="listing", depth=depth + 1)

    def _article_requests(self, links: list[Link], any_host: bool) -> Iterator[Any]:
        # Article key -> (the first variant's canonical form, raw form, link): one request per article.
        fresh: dict[str, tuple[str, str, Link]] = {}
        for link in links:
            if not is_http_url(link.url):
                continue
            if not any_host and not same_site(link.url, self.source.seed_urls):
                continue
            if not is_wanted(link.url, self.source.allow, self.source.deny):
                continue
            key = article_key(link.url)
            if key not in self._scheduled and key not in self.listings_seen and key not in fresh:
                fresh[key] = (canonicalize(link.url), link.url, link)
        if not fresh:
            return
        # One query per discovery page, with every form: new articles are stored under their key
        # too, older ones under the forms they were reached by.
        known = self.known_urls([u for key, (canon, raw, _) in fresh.items() for u in (key, canon, raw)])
        new = [(key, canon, raw, link) for key, (canon, raw, link) in fresh.items()
               if key not in known and canon not in known and raw not in known]
        room = max(0, self.max_articles - self._requested)
        if len(new) > room:
            self._defer(new[room:])
            new = new[:room]
        if not new:
            return
        self._scheduled.update(key for key, _, _, _ in new)
        self._requested += len(new)
        self._send(articles_scheduled, count=len(new))
        for key, canon, raw, link in new:
            yield self._request(canon, self.parse_article, kind="article",
                                variants=tuple(dict.fromkeys((canon, raw, key))), listed=link.published)

    def _defer(self, links: list[tuple[str, str, str, Link]]) -> None:
        if not self._deferred:
            self._send(article_limit_reached)
            self.logger.warning("%s: article limit %d reached; the rest waits for the next crawl",
                                self.source.name, self.max_articles)
        for key, canon, _, _ in links:
            if key not in self._deferred:
                self._deferred.add(key)
                self._skip(canon, f"article limit reached: waits for the next crawl "
                                  f"(max_articles_per_crawl = {self.max_articles})")

    # -- articles ----------------------------------------------------------------------------

    def parse_article(self, response: Response, variants: tuple[str, ...] = (),
                      listed: Any = None, revisit_of: int | None = None) -> Iterator[Any]:
        if response.status == 304:  # a revisit, unchanged since the last visit
            self.crawler.stats.inc_value("newsmon/not_modified")
            url = response.request.url if response.request else response.url
            self._answered(url, ValidatorAnswer(not_modified=True))
            return
        ctype = (response.headers.get("Content-Type") or b"").decode("latin-1")
        # Scrapy picks the response class from the URL too (".html" wins over the header), so a
        # PDF served under an article URL arrives as HTML: trust the declared type and the bytes.
        declared = ctype.split(";")[0].strip().lower()
        if (not isinstance(response, TextResponse) or (declared and declared not in HTML_TYPES)
                or response.body.startswith(BINARY_MAGIC)):
            self._skip(response.url, f"not an HTML page (Content-Type: {ctype or 'none'})")
            return
        final = canonicalize(response.url)
        self._claim(final, response.text)
        self._remember_validators(final, response)
        yield FetchedPage(source=self.source.name, url=final, html=response.text,
                          variants=tuple(dict.fromkeys((final, *variants, article_key(final)))),
                          listed_published=listed, revisit_of=revisit_of)

    def _claim(self, final: str, html: str) -> None:
        """Note the forms a fetched page turned out to have: links to them found later are this page."""
        self._scheduled.add(article_key(final))
        canonical = canonical_link(html, final)
        # Only on the page's own site, as extraction trusts it (crawler.analysis).
        if canonical is not None and same_site(canonical, [final]):
            self._scheduled.add(article_key(canonical))

    # -- plumbing ----------------------------------------------------------------------------

    def _request(self, url: str, callback: Callable[..., Any], kind: str, **cb_kwargs: Any) -> scrapy.Request:
        meta: dict[str, Any] = {"newsmon_kind": kind}
        headers: dict[str, str] = {}
        if kind in ("feed", "sitemap", "listing", "revisit"):
            headers = conditional_headers(self.validators.get(url), self.verify_every)
            meta["handle_httpstatus_list"] = [304]
        return scrapy.Request(url, callback=callback, errback=self.on_error, cb_kwargs=cb_kwargs, meta=meta,
                              headers=headers)

    def _remember_validators(self, url: str, response: Response) -> None:
        # So that a later revisit of the article can be a conditional request; a source that is
        # never revisited has no use for them (and would hash every page for nothing).
        if not self.source.revisit:
            return
        etag, last_modified = header_text(response, "ETag"), header_text(response, "Last-Modified")
        if etag or last_modified:
            self._answered(url, ValidatorAnswer(etag=etag, last_modified=last_modified,
                                                content_hash=body_hash(response.body)))

    def _recent(self, response: Response, links: list[Link]) -> list[Link]:
        """Drop entries dated well before this URL was last read in full: they were seen then."""
        record = self.validators.get(asked_url(response.request) if response.request is not None else response.url)
        if record is None:
            return links
        cutoff = record.checked - DATE_MARGIN
        kept = [link for link in links if link.published is None or link.published >= cutoff]
        self.crawler.stats.inc_value("newsmon/skipped_by_date", len(links) - len(kept))
        return kept

    def _changed(self, response: Response) -> bool:
        """Note what a discovery URL answered; return False when it has nothing new to parse."""
        url = asked_url(response.request) if response.request is not None else response.url
        reading = read_answer(self.validators.get(url), response.status, header_text(response, "ETag"),
                              header_text(response, "Last-Modified"), response.body)
        self._answered(url, reading.answer)
        if reading.answer.distrust:
            self.logger.warning("%s: same validator for changed content; not trusting it again", url)
        if not reading.changed:
            self._discovered()
            self.crawler.stats.inc_value("newsmon/not_modified" if response.status == 304 else "newsmon/unchanged")
        return reading.changed

    def on_error(self, failure: Failure) -> Iterator[Any]:
        request = getattr(failure, "request", None)
        # After redirects, name the URL the spider asked for, not where it was sent.
        url = asked_url(request) if request is not None else "?"
        if isinstance(failure.value, IgnoreRequest) and str(failure.value) == "Forbidden by robots.txt":
            # The site asked us not to: deliberate, not a failure.
            self.crawler.stats.inc_value("newsmon/robots_forbidden")
            self._skip(url, "robots.txt forbids it")
            return
        kind = request.meta.get("newsmon_kind") if request is not None else None
        if isinstance(failure.value, DownloadCancelledError) and kind in ("article", "revisit"):
            # Scrapy cancels a response past DOWNLOAD_MAXSIZE with this error (and only then). A
            # page too large is no article to store; a feed or listing too large is a failure.
            message = str(failure.value).split(" in request ")[0]
            self._skip(url, f"too large: {message} (the max_response_bytes setting)")
            return
        yield self._failure(url, describe_failure(failure))

    def _answered(self, url: str, answer: ValidatorAnswer) -> None:
        # Saved by crawler.crawl_run only if the crawl ends cleanly: a crawl cut short must re-read
        # its feeds next time, or the rest of their links are lost.
        self._send(validator_answered, url=url, answer=answer)

    def _send(self, signal: object, **kwargs: Any) -> None:
        self.crawler.signals.send_catch_log(signal, **kwargs)

    def _discovered(self) -> None:
        # A crawl in which no feed, sitemap or listing could be read has failed, whatever else.
        self.crawler.stats.inc_value("newsmon/discovery_pages")

    def _failure(self, url: str, reason: str) -> FetchFailure:
        return FetchFailure(source=self.source.name, url=url, reason=reason)

    def _skip(self, url: str, reason: str) -> None:
        self._send(page_skipped, url=url, reason=reason)


def header_text(response: Response, name: str) -> str | None:
    """Return a response header as text, or None when it is absent."""
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def describe_failure(failure: Failure) -> str:
    """Say in one line why a request failed."""
    value = failure.value
    if isinstance(value, HttpError):
        return f"HTTP {value.response.status}"
    text = str(value).strip().splitlines()[0] if str(value).strip() else ""
    return f"{type(value).__name__}: {text}" if text else type(value).__name__
