"""The crawl's item pipelines, one job each, in Scrapy's order (crawler.settings.ITEM_PIPELINES):

1. AnalysisPipeline: each FetchedPage through the worker pool (crawler.workers) into an AnalyzedPage;
   a page that is no article is dropped with its reason (the page_skipped signal: recorded on the
   run), one whose analysis fails becomes a FetchFailure (recorded on the run like any other). It
   owns when the pool starts and the boilerplate pages are stripped of.
2. StorePipeline: AnalyzedPages into the database in batches, revisits as versions, and the
   paragraph counts boilerplate learning needs (crawler.boilerplate); when a paragraph is learned,
   the source's stored articles that hold it are cleaned, fingerprinted and matched again.

One module, as a Scrapy project keeps its pipelines: each is a thin adapter around the pure core
or the store. The run's bookkeeping (its row, failures, outcome, the fatal stop) is no pipeline's
job: see crawler.crawl_run. The pipelines talk to it and to each other by signals (crawler.signals).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector
from twisted.internet import task

from crawler.boilerplate import LEARNED_MIN_PAGES, block_hash, clean
from crawler.context import crawl_context
from crawler.fingerprints import NEAR_DUPLICATE_BITS
from crawler.items import AnalyzedPage, FetchedPage, FetchFailure
from crawler.signals import articles_scheduled, boilerplate_learned, page_skipped, run_opened, store_failed
from crawler.workers import AnalysisPool
from store.errors import StoreError
from store.records import AddStatus

if TYPE_CHECKING:
    from crawler.analysis import Analysis
    from crawler.rules import Rule
    from store.articles import ArticleText
    from store.records import NewArticle
    from store.repository import Repository

log = logging.getLogger(__name__)

# Articles written per transaction, and the longest an analyzed article waits for its batch. One
# commit per article costs about three times the inserts (measured: ~5,800 vs ~16,000 rows/s on
# SQLite in WAL mode); a batch is still all or nothing, so a killed crawl leaves no half-written
# article, only up to a batch for the next crawl to fetch again. Batches start at one article and
# double up to BATCH_SIZE: the handful a routine crawl finds is written (and learned from, see
# crawler.boilerplate) at once, and only a burst pays a batch's delay.
BATCH_SIZE = 50
BATCH_SECONDS = 1.0
# How far before a newly learned block's first sighting its articles are looked for (see _reach_back).
REACH_BACK_MARGIN = timedelta(hours=1)


def _ignore(*args: Any) -> None:
    pass


class AnalysisPipeline:
    """Turn each FetchedPage into an AnalyzedPage; drop pages that are no article, saying why."""

    def __init__(self, pool: AnalysisPool, min_chars: int, stats: StatsCollector,
                 on_skip: Callable[[str, str], object] = _ignore) -> None:
        """Analyze with `pool`; tell `on_skip(url, reason)` of each page that is no article."""
        self.pool = pool
        self.min_chars = min_chars
        self.stats = stats
        self.on_skip = on_skip
        # Hashes of paragraphs learned as the source's boilerplate (crawler.boilerplate), as the
        # storing pipeline loads and learns them.
        self.learned: set[str] = set()
        self.scheduled = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AnalysisPipeline:
        context = crawl_context(crawler.settings)
        workers = crawler.settings.getint("NM_ANALYSIS_WORKERS")
        # The rules go to the pool once, and from it once to each worker (crawler.workers).
        pool = AnalysisPool(workers or None, rules=context.rules)
        pipeline = cls(pool, crawler.settings.getint("NM_MIN_ARTICLE_CHARS"), crawler.stats,
                       on_skip=lambda url, reason: crawler.signals.send_catch_log(page_skipped, url=url, reason=reason))
        crawler.signals.connect(pipeline.articles_scheduled, signal=articles_scheduled)
        crawler.signals.connect(pipeline.boilerplate_learned, signal=boilerplate_learned)
        return pipeline

    def articles_scheduled(self, count: int) -> None:
        """Start the pool in the background once the crawl has more pages than it pays to analyze here."""
        self.scheduled += count
        self.pool.expect(self.scheduled)

    def boilerplate_learned(self, hashes: set[str]) -> None:
        """Strip these paragraphs from the pages analyzed from now on."""
        self.learned.update(hashes)

    async def process_item(self, item: Any) -> Any:
        """Analyze a FetchedPage; pass anything else on."""
        if not isinstance(item, FetchedPage):
            return item
        try:
            result = await self.pool.analyze(item, self.min_chars, self.learned)
        except Exception as exc:  # one bad page must not end the crawl: record it and go on
            log.exception("analysis failed on %s", item.url)
            return FetchFailure(item.source, item.url, f"analysis failed: {exc!r}")
        # Here, not at the top: a crawl that finds nothing new must not import trafilatura (which
        # crawler.extraction does); once a page is analyzed, it is imported (the first pages are
        # always analyzed in this process, crawler.workers).
        from crawler.extraction import Rejection

        if isinstance(result, Rejection):
            self.stats.inc_value("newsmon/not_article")
            self.on_skip(item.url, result.reason)
            # DEBUG: the skip is logged once, on one line, where it is recorded (crawler.crawl_run);
            # Scrapy's own line for a dropped item adds the item's repr on a second.
            raise DropItem(f"{item.url}: {result.reason}", log_level="DEBUG")
        for paragraph in result.removed:
            log.info("%s: removed learned boilerplate: %.100r", item.url, paragraph)
        return AnalyzedPage(item.url, result, item.revisit_of)

    def close_spider(self) -> None:
        """Stop the workers (every page has been analyzed by now: Scrapy waits for items in flight)."""
        self.pool.close()


class StorePipeline:
    """Store AnalyzedPages in batches (one transaction each); count their paragraphs for learning, and
    clean what a newly learned paragraph is already stored in (the reach-back)."""

    def __init__(self, repository: Repository, source: str, stats: StatsCollector, batch_size: int = BATCH_SIZE,
                 batch_seconds: float = BATCH_SECONDS, on_learned: Callable[[set[str]], object] = _ignore,
                 on_failure: Callable[[StoreError], object] = _ignore, rules: Sequence[Rule] = (),
                 on_skip: Callable[[str, str], object] = _ignore, learned: frozenset[str] | None = None) -> None:
        """Store into `repository` for `source`; tell `on_learned` what boilerplate is learned and
        `on_failure` which write failed; match a text cleaned here against `rules` again."""
        self.repository = repository
        self.source = source
        self.rules = rules
        # The source's learned boilerplate hashes, loaded and learned, to clean what was analyzed
        # before a paragraph was learned (the analysis pipeline strips the pages analyzed after).
        self.learned: set[str] = set()
        self._known = learned  # read already for the batch (crawler.run.start), else at open_spider
        self.stats = stats
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.on_learned = on_learned
        self.on_failure = on_failure
        # Told (url, reason) of each analyzed page not stored because its article already is.
        self.on_skip = on_skip
        self.run_id: int | None = None
        self.failed = False
        self._batch: list[Analysis] = []
        self._next_batch = 1
        self._flushed = time.monotonic()
        self._timer: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        context = crawl_context(crawler.settings)
        pipeline = cls(context.repository, context.source.name, crawler.stats,
                       on_learned=lambda hashes: crawler.signals.send_catch_log(boilerplate_learned, hashes=hashes),
                       on_failure=lambda exc: crawler.signals.send_catch_log(store_failed, exc=exc),
                       rules=context.rules,
                       on_skip=lambda url, reason: crawler.signals.send_catch_log(page_skipped, url=url, reason=reason),
                       learned=context.learned)
        crawler.signals.connect(pipeline.run_opened, signal=run_opened)
        return pipeline

    def open_spider(self) -> None:
        """Load what the source's boilerplate is so far; start the batch timer."""
        try:
            self.learned = set(self._known if self._known is not None else
                               self.repository.boilerplate.learned(self.source, LEARNED_MIN_PAGES))
            if self.learned:
                self.on_learned(set(self.learned))
        except StoreError as exc:
            self._failed(exc)
        # A slow tail of downloads must not keep analyzed articles unwritten (and unseen by
        # `newsmon query`) for long.
        self._timer = task.LoopingCall(self._flush_if_due)
        self._timer.start(self.batch_seconds, now=False)

    def run_opened(self, run_id: int) -> None:
        """Store what follows under run `run_id`."""
        self.run_id = run_id

    def _flush_if_due(self) -> None:
        if self._batch and time.monotonic() - self._flushed >= self.batch_seconds:
            self.flush()

    def process_item(self, item: Any) -> Any:
        """Buffer an AnalyzedPage (or store it as a version); pass anything else on."""
        if not isinstance(item, AnalyzedPage):
            return item
        if item.revisit_of is not None:
            self._store_version(item.revisit_of, self._strip_late(item.analysis))
            return item
        self._batch.append(self._strip_late(item.analysis))
        if len(self._batch) >= self._next_batch or time.monotonic() - self._flushed >= self.batch_seconds:
            self.flush()
        return item

    def _strip_late(self, result: Analysis) -> Analysis:
        # Pages are analyzed ahead of their batch, so one analyzed before its boilerplate was learned
        # (in a batch just written) reaches this pipeline still holding it: strip it before storing.
        # `blocks` lists the removed paragraphs too, so only those still in the text are pending.
        pending = self.learned.intersection(result.blocks).difference(block_hash(p) for p in result.removed)
        article = result.article
        cleaned = clean(article.title, article.text, article.language, pending, self.rules) if pending else None
        if cleaned is None:
            return result
        for paragraph in cleaned.removed:
            log.info("%s: removed learned boilerplate: %.100r", article.url, paragraph)
        article = dataclasses.replace(article, text=cleaned.text, content_hash=cleaned.content_hash,
                                      simhash=cleaned.simhash, bands=cleaned.bands, matches=cleaned.matches,
                                      scores=cleaned.scores)
        return dataclasses.replace(result, article=article, removed=[*result.removed, *cleaned.removed])

    def _store_version(self, article_id: int, result: Analysis) -> None:
        if not self._writable(1):
            return
        try:
            changed = self.repository.articles.add_version(article_id, self._in_run(result))
        except StoreError as exc:
            self._failed(exc)
            return
        if changed:
            self.stats.inc_value("newsmon/updated")
            log.info("%s: changed since last visit, stored as a new version", result.article.url)

    def flush(self) -> None:
        """Write the buffered articles in one transaction; count what they were."""
        self._flushed = time.monotonic()
        self._next_batch = min(self.batch_size, 2 * self._next_batch)
        batch, self._batch = self._batch, []
        if not batch or not self._writable(len(batch)):
            return
        try:
            outcomes = self.repository.articles.add_batch([self._in_run(r) for r in batch],
                                                          near_duplicate_bits=NEAR_DUPLICATE_BITS)
        except StoreError as exc:
            self._failed(exc)
            return
        for result, outcome in zip(batch, outcomes, strict=True):
            self.stats.inc_value(f"newsmon/{outcome.status}")
            if outcome.status == AddStatus.KNOWN:
                self.on_skip(result.article.url, f"known article: another URL of article #{outcome.article_id}")
            if outcome.status == AddStatus.NEW and result.article.matches:
                self.stats.inc_value("newsmon/matched")
        self._learn([r for r, o in zip(batch, outcomes, strict=True) if o.status == AddStatus.NEW])

    def _in_run(self, result: Analysis) -> NewArticle:
        # Analysis does not know the run (it runs in workers, before the run matters); the run's
        # counters are kept by the store from each article's run_id.
        return dataclasses.replace(result.article, run_id=self.run_id)

    def _writable(self, articles: int) -> bool:
        if not self.failed and self.run_id is not None:
            return True
        # The crawl is stopping on a database failure (crawl() raises it): the next crawl fetches
        # these pages again, as after a kill.
        log.warning("%s: %d analyzed article(s) not stored: %s", self.source, articles,
                    "the database stopped taking writes" if self.failed else "the crawl has no run")
        return False

    def _learn(self, new: list[Analysis]) -> None:
        try:
            counts = self.repository.boilerplate.count(self.source, [r.blocks for r in new])
        except StoreError as exc:
            self._failed(exc)
            return
        learned = {h for h, pages in counts.items() if pages >= LEARNED_MIN_PAGES} - self.learned
        if learned:
            self.learned |= learned
            self.on_learned(learned)
            self._reach_back(learned, {h: p for r in new for h, p in r.blocks.items() if h in learned})

    def _reach_back(self, learned: set[str], paragraphs: dict[str, str]) -> None:
        """Clean the source's stored articles of paragraphs just learned: the ones that taught them."""
        try:
            first_seen = self.repository.boilerplate.first_seen(self.source, sorted(learned))
            if first_seen is None:
                return
            # A block's row is written in the same flush as its first article, a few milliseconds
            # after that article's first_seen, by the same process's clock; the margin also covers
            # a slow write or a clock step, and costs only the source's articles of that hour.
            found = self.repository.articles.containing(self.source, first_seen - REACH_BACK_MARGIN,
                                                        list(paragraphs.values()))
            for article in found:
                self._clean_stored(article, learned)
        except StoreError as exc:
            self._failed(exc)

    def _clean_stored(self, article: ArticleText, learned: set[str]) -> None:
        cleaned = clean(article.title, article.text, article.language, learned, self.rules)
        if cleaned is None:  # a substring of a line, or the same words in another paragraph
            return
        moved = self.repository.articles.rewrite(article, cleaned.text, cleaned.content_hash, cleaned.simhash,
                                                 cleaned.bands, cleaned.matches, cleaned.scores)
        if moved is None:
            log.info("article #%d changed while its boilerplate was being removed; left as it is", article.id)
            return
        self.stats.inc_value("newsmon/boilerplate_cleaned")
        if moved and article.run_id is not None and article.run_id == self.run_id:
            self.stats.inc_value("newsmon/matched", moved)
        for paragraph in cleaned.removed:
            log.info("removed learned boilerplate from article #%d: %.100r", article.id, paragraph)
        if moved < 0:
            log.info("article #%d matches no rule without its boilerplate: no longer listed", article.id)

    def _failed(self, exc: StoreError) -> None:
        # The database cannot take writes (disk full, read-only, gone): every further write would
        # fail the same way.
        self.failed = True
        self.on_failure(exc)

    def close_spider(self) -> None:
        """Write the last batch (Scrapy has waited for the items in flight)."""
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self.flush()
