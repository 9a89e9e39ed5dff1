"""The crawl's item pipelines, one job each, in Scrapy's order (crawler.settings.ITEM_PIPELINES):

1. AnalysisPipeline: each FetchedPage through the worker pool (crawler.workers) into an AnalyzedPage;
   a page that is no article is dropped, one whose analysis fails becomes a FetchFailure (recorded on
   the run like any other). It owns when the pool starts and the boilerplate pages are stripped of.
2. StorePipeline: AnalyzedPages into the database in batches, revisits as versions, and the
   paragraph counts boilerplate learning needs (crawler.boilerplate).

One module, as a Scrapy project keeps its pipelines: each is a thin adapter around the pure core
or the store. The run's bookkeeping (its row, failures, outcome, the fatal stop) is no pipeline's
job: see crawler.crawl_run. The pipelines talk to it and to each other by signals (crawler.signals).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector
from twisted.internet import task

from crawler.boilerplate import LEARNED_MIN_PAGES
from crawler.context import crawl_context
from crawler.fingerprints import NEAR_DUPLICATE_BITS
from crawler.items import AnalyzedPage, FetchedPage, FetchFailure
from crawler.signals import articles_scheduled, boilerplate_learned, run_opened, store_failed
from crawler.workers import AnalysisPool
from store.errors import StoreError
from store.records import AddStatus

if TYPE_CHECKING:
    from crawler.analysis import Analysis
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


def _ignore(*args: Any) -> None:
    pass


class AnalysisPipeline:
    """Turn each FetchedPage into an AnalyzedPage; drop pages that are no article."""

    def __init__(self, pool: AnalysisPool, min_chars: int, stats: StatsCollector) -> None:
        self.pool = pool
        self.min_chars = min_chars
        self.stats = stats
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
        pipeline = cls(pool, crawler.settings.getint("NM_MIN_ARTICLE_CHARS"), crawler.stats)
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
        if result is None:
            self.stats.inc_value("newsmon/not_article")
            # DEBUG: most pages a listing links to are articles, but a section page or an empty
            # one is routine, not news.
            raise DropItem(f"not an article: {item.url}", log_level="DEBUG")
        for paragraph in result.removed:
            log.info("%s: removed learned boilerplate: %.100r", item.url, paragraph)
        return AnalyzedPage(item.url, result, item.revisit_of)

    def close_spider(self) -> None:
        """Stop the workers (every page has been analyzed by now: Scrapy waits for items in flight)."""
        self.pool.close()


class StorePipeline:
    """Store AnalyzedPages in batches (one transaction each); count their paragraphs for learning."""

    def __init__(self, repository: Repository, source: str, stats: StatsCollector, batch_size: int = BATCH_SIZE,
                 batch_seconds: float = BATCH_SECONDS, on_learned: Callable[[set[str]], object] = _ignore,
                 on_failure: Callable[[StoreError], object] = _ignore) -> None:
        """Store into `repository` for `source`; tell `on_learned` what boilerplate is learned and
        `on_failure` which write failed."""
        self.repository = repository
        self.source = source
        self.stats = stats
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.on_learned = on_learned
        self.on_failure = on_failure
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
                       on_failure=lambda exc: crawler.signals.send_catch_log(store_failed, exc=exc))
        crawler.signals.connect(pipeline.run_opened, signal=run_opened)
        return pipeline

    def open_spider(self) -> None:
        """Load what the source's boilerplate is so far; start the batch timer."""
        try:
            self.on_learned(set(self.repository.boilerplate.learned(self.source, LEARNED_MIN_PAGES)))
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
            self._store_version(item.revisit_of, item.analysis)
            return item
        self._batch.append(item.analysis)
        if len(self._batch) >= self._next_batch or time.monotonic() - self._flushed >= self.batch_seconds:
            self.flush()
        return item

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
        learned = {h for h, pages in counts.items() if pages >= LEARNED_MIN_PAGES}
        if learned:
            self.on_learned(learned)

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
