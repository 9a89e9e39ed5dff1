"""A dry run of one source (`newsmon sources check`): the real spider, pipelines and run bookkeeping,
storing into a scratch database, the user's database only read.

OWNS: dry_run() and what it reports per page. The crawl is a real one (crawler.spiders.news, the
analysis and storing pipelines, crawler.crawl_run), with two differences: the spider's known-URL
check asks the user's database (read-only), so the articles it already holds are not fetched, as
in a real crawl, and are reported as already stored; and everything is stored in a scratch SQLite
database that is thrown away. The source's learned boilerplate is read from the user's database
and stripped as a real crawl would. Feeds and sitemaps are read in full (no conditional requests
and no date cut-off: the scratch database has no validators), and nothing is revisited.

An article whose story the user's database already holds under another URL is reported as a
copy of it (Articles.find_story, the lookup a real crawl's store makes), not as new.

Each page's fate comes from the crawl's own signals (Scrapy's request_scheduled and
response_received, newsmon's page_skipped, the FetchFailure items), and each article's rule
matches and terms from the scratch database, where the storing pipeline put them.
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.boilerplate import LEARNED_MIN_PAGES
from crawler.conditional import asked_url
from crawler.config import Config, Source
from crawler.context import CONTEXT_SETTING, CrawlContext
from crawler.fingerprints import bands, simhash
from crawler.items import FetchFailure
from crawler.robots_log import quiet_robots_errors
from crawler.run import with_stored_examples
from crawler.settings import scrapy_settings
from crawler.signals import boilerplate_learned, page_skipped
from crawler.urls import article_key
from store.records import ArticleFilter

if TYPE_CHECKING:
    from store.repository import Repository

# The spider's reason for a link past the article limit; in a dry run, the limit is --limit.
_LIMIT_REASON = "article limit reached"
_ARTICLE_REF = re.compile(r"article #(\d+)")
# How often progress is reported, in seconds.
PROGRESS_INTERVAL = 0.5
OUTCOMES = ("new", "copy", "known", "skipped", "not fetched", "failed", "read")


@dataclass(frozen=True)
class PageReport:
    """What a real crawl would do with one page, and why."""

    url: str
    kind: str  # feed, sitemap, listing, article
    outcome: str  # one of OUTCOMES
    reason: str | None = None
    found_on: str | None = None
    title: str | None = None
    # Each matching rule and the query terms that hit (a `like` rule's score is in scores).
    rules: dict[str, list[str]] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    links: int = 0  # for a discovery page: the article pages requested from it


@dataclass(frozen=True)
class DryRun:
    """A dry run's pages: articles first (new, copies, known, skipped, failed), then discovery pages."""

    source: str
    pages: tuple[PageReport, ...]
    looked_up: bool  # whether there was a database to look known articles up in

    def count(self, outcome: str) -> int:
        """How many pages had this outcome."""
        return sum(1 for p in self.pages if p.outcome == outcome)


ProgressCallback = Callable[[Counter[str]], None]


class _Observer:
    """What the crawl's signals said about each page."""

    def __init__(self) -> None:
        self.kinds: dict[str, str] = {}  # URL asked for -> its kind
        self.found_on: dict[str, str] = {}
        self.first_asked: dict[str, str] = {}  # URL answered (after redirects) -> URL asked for
        self.skips: dict[str, str] = {}
        self.failures: dict[str, str] = {}
        self.known: dict[str, str] = {}  # article key -> the URL form the database knows
        self.counts: Counter[str] = Counter()

    def request_scheduled(self, request: Any) -> None:
        asked = asked_url(request)
        if asked not in self.kinds:
            self.kinds[asked] = request.meta.get("newsmon_kind") or "page"
            referer = request.headers.get("Referer")
            if referer:
                self.found_on[asked] = referer.decode("latin-1")

    def response_received(self, response: Any, request: Any) -> None:
        self.counts["fetched"] += 1
        self.first_asked.setdefault(response.url, asked_url(request))

    def page_skipped(self, url: str, reason: str) -> None:
        self.counts["skipped"] += 1
        self.skips.setdefault(url, reason)

    def item_scraped(self, item: Any) -> None:
        if isinstance(item, FetchFailure):
            self.counts["failed"] += 1
            self.failures.setdefault(item.url, item.reason)

    def known_in(self, lookup: Callable[[Iterable[str]], set[str]]) -> Callable[[Iterable[str]], set[str]]:
        """Wrap the database's known-URL check to note what it knew."""
        def known(urls: Iterable[str]) -> set[str]:
            found = lookup(urls)
            for url in found:
                self.known.setdefault(article_key(url), url)
            self.counts["known"] = len(self.known)
            return found

        return known


def dry_run(config: Config, source: Source, real: Repository | None, max_articles: int,
            log_level: str = "WARNING", on_progress: ProgressCallback | None = None) -> DryRun:
    """Crawl `source` as a real crawl would, storing nothing in `real` (None: no database yet)."""
    from store.repository import Repository

    with tempfile.TemporaryDirectory(prefix="newsmon-check-") as scratch_dir:
        scratch = Repository.open(f"sqlite:///{Path(scratch_dir) / 'dry-run.db'}")
        try:
            config = with_stored_examples(config, real or scratch)
            observer = _Observer()
            _crawl(config, source, real, scratch, observer, max_articles, log_level, on_progress)
            return DryRun(source.name, _pages(observer, scratch, source.name, max_articles, real), real is not None)
        finally:
            scratch.close()


def _crawl(config: Config, source: Source, real: Repository | None, scratch: Repository, observer: _Observer,
           max_articles: int, log_level: str, on_progress: ProgressCallback | None) -> None:
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from crawler.spiders.news import NewsSpider

    quiet_robots_errors()  # as crawler.run.crawl() does
    process = CrawlerProcess(scrapy_settings(config.settings, log_level))
    crawler = process.create_crawler(NewsSpider)
    crawler.settings.set(CONTEXT_SETTING, CrawlContext(scratch, source, tuple(config.rules_for(source)), "dry-run"),
                         priority="cmdline")
    learned = set(real.boilerplate.learned(source.name, LEARNED_MIN_PAGES)) if real is not None else set()

    def opened() -> None:
        # The analysis pipeline strips what it is told is learned: what the user's database learned.
        if learned:
            crawler.signals.send_catch_log(boilerplate_learned, hashes=set(learned))

    for handler, signal in ((observer.request_scheduled, signals.request_scheduled),
                            (observer.response_received, signals.response_received),
                            (observer.page_skipped, page_skipped), (observer.item_scraped, signals.item_scraped),
                            (opened, signals.spider_opened)):
        crawler.signals.connect(handler, signal=signal, weak=False)
    known = observer.known_in(real.articles.known_urls if real is not None else lambda urls: set())
    process.crawl(crawler, source=source, known_urls=known, max_articles=max_articles,
                  max_links=config.settings.max_links_per_page, revisit={}, validators={},
                  verify_every=config.settings.validator_check_every)
    if on_progress is not None:
        from twisted.internet import reactor, task

        loop = task.LoopingCall(lambda: on_progress(observer.counts))
        loop.start(PROGRESS_INTERVAL, now=False)

        def stop() -> None:
            if loop.running:
                loop.stop()

        reactor.addSystemEventTrigger("before", "shutdown", stop)  # type: ignore[arg-type]
    process.start()


def _pages(observer: _Observer, scratch: Repository, source: str, max_articles: int,
           real: Repository | None = None) -> tuple[PageReport, ...]:
    stored = scratch.articles.query(ArticleFilter(sources=(source,), include_all=True))
    by_id = {a.id: a for a in stored}

    def stored_story(text: str | None) -> str | None:
        # A story the user's database holds already, under another URL (another outlet's copy, a
        # rewrite): a real crawl stores this page as a copy of it, not as new.
        if real is None or not text:
            return None
        story = real.articles.find_story(simhash(text), bands(text))
        original = real.articles.get(story) if story is not None else None
        return original.url if original is not None else None

    def found_on(url: str) -> str | None:
        return observer.found_on.get(observer.first_asked.get(url, url))

    def readable(reason: str) -> str:
        # The scratch database's ids mean nothing to the user: name the article by its URL.
        return _ARTICLE_REF.sub(lambda m: by_id[int(m.group(1))].url if int(m.group(1)) in by_id else m.group(0),
                                reason)

    # The stored article each article request ended in (a redirect, a variant: the store knows).
    owner = {u: scratch.articles.id_of_url(u) for u, kind in observer.kinds.items() if kind == "article"}
    pages: list[PageReport] = []
    claimed: set[str] = set()
    for a in sorted(stored, key=lambda a: a.id):
        asked = [u for u, article_id in owner.items() if article_id == a.id]
        original = by_id.get(a.duplicate_of) if a.duplicate_of is not None else None
        earlier = stored_story(a.text) if a.duplicate_of is None else None
        reason = (f"the same story as {original.url}" if original is not None
                  else f"the same story as {earlier}, already stored" if earlier is not None else None)
        pages.append(PageReport(
            url=a.url, kind="article", outcome="copy" if a.duplicate_of is not None or earlier else "new",
            reason=reason,
            found_on=found_on(asked[0] if asked else a.url), title=a.title,
            rules={rule: list(a.terms.get(rule, [])) for rule in a.rules}, scores=dict(a.scores)))
        claimed.update([a.url, *asked])
    for url in observer.known.values():
        pages.append(PageReport(url, "article", "known", "already stored in the database: not fetched"))
    for url, reason in observer.skips.items():
        if url in claimed:
            continue
        if reason.startswith(_LIMIT_REASON):
            page = PageReport(url, "article", "not fetched", f"past --limit {max_articles}", found_on(url))
        else:
            page = PageReport(url, observer.kinds.get(observer.first_asked.get(url, url), "article"), "skipped",
                              readable(reason), found_on(url))
        pages.append(page)
    for url, reason in observer.failures.items():
        kind = observer.kinds.get(observer.first_asked.get(url, url), "article")
        pages.append(PageReport(url, kind, "failed", reason, found_on(url)))
    requested = Counter(observer.found_on[u] for u, k in observer.kinds.items() if k == "article"
                        and u in observer.found_on)
    for url, kind in observer.kinds.items():
        if kind in ("feed", "sitemap", "listing") and url not in observer.failures and url not in observer.skips:
            pages.append(PageReport(url, kind, "read", None, found_on(url), links=_requested_from(requested, url)))
    order = {outcome: i for i, outcome in enumerate(OUTCOMES)}
    return tuple(sorted(pages, key=lambda p: order[p.outcome]))


def _requested_from(requested: Counter[str], url: str) -> int:
    # The Referer is the URL the page was answered at, which a redirect may have changed.
    return requested.get(url, 0) or sum(n for ref, n in requested.items() if article_key(ref) == article_key(url))

