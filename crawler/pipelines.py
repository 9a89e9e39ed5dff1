"""Thin Scrapy adapters: pages go through analysis into the store, failures onto the run."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.crawler import Crawler
from twisted.internet import task

from crawler.boilerplate import LEARNED_MIN_PAGES
from crawler.fingerprints import NEAR_DUPLICATE_BITS
from crawler.items import FetchedPage, FetchFailure
from crawler.workers import AnalysisPool
from store.db import open_db
from store.errors import StoreError
from store.repository import Repository

if TYPE_CHECKING:
    from crawler.analysis import Analysis

log = logging.getLogger(__name__)

# How a spider's close reason becomes a run outcome.
_OUTCOMES = {"finished": "ok", "shutdown": "stopped", "closespider_timeout": "timed_out"}


# Articles written per transaction, and the longest an analyzed article waits for its batch. One
# commit per article costs about three times the inserts (measured: ~5,800 vs ~16,000 rows/s on
# SQLite in WAL mode); a batch is still all or nothing, so a killed crawl leaves no half-written
# article, only up to a batch for the next crawl to fetch again. Batches start at one article and
# double up to BATCH_SIZE: the handful a routine crawl finds is written (and learned from, see
# crawler.boilerplate) at once, and only a burst pays a batch's delay.
BATCH_SIZE = 50
BATCH_SECONDS = 1.0


class StorePipeline:
    """Open a run, store articles in batches (one transaction each), record failures, close the run."""

    def __init__(self, repository: Repository, min_chars: int, holder: str | None = None,
                 pool: AnalysisPool | None = None, batch_size: int = BATCH_SIZE,
                 batch_seconds: float = BATCH_SECONDS) -> None:
        self.repository = repository
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self._batch: list[Analysis] = []
        self._next_batch = 1
        self._flushed = time.monotonic()
        self.min_chars = min_chars
        self.holder = holder
        self.pool = pool or AnalysisPool(workers=0)
        self.run_id: int | None = None
        self.crawler: Crawler | None = None
        self.learned: set[str] = set()
        self._closing: asyncio.Future[None] | None = None
        self._spider_closed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        engine = open_db(crawler.settings["NM_DB_URL"], migrate=False)
        workers = crawler.settings.getint("NM_ANALYSIS_WORKERS")
        pipeline = cls(Repository(engine), crawler.settings.getint("NM_MIN_ARTICLE_CHARS"),
                       crawler.settings.get("NM_HOLDER"), AnalysisPool(workers or None))
        pipeline.crawler = crawler
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        source = self._spider().source.name
        self.pool.rules = tuple(self._spider().rules)
        self.run_id = self.repository.start_run(source, holder=self.holder)
        self.learned = set(self.repository.learned_blocks(source, LEARNED_MIN_PAGES))
        self._stats().set_value("newsmon/run_id", self.run_id)
        # A slow tail of downloads must not keep analyzed articles unwritten (and unseen by
        # `newsmon query`) for long.
        self._timer = task.LoopingCall(self._flush_if_due)
        self._timer.start(self.batch_seconds, now=False)

    def _flush_if_due(self) -> None:
        if self._batch and time.monotonic() - self._flushed >= self.batch_seconds:
            self.flush()

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, FetchFailure):
            self._record_failure(item)
        elif isinstance(item, FetchedPage):
            await self._store(item)
        return item

    async def _store(self, page: FetchedPage) -> None:
        stats = self._stats()
        self.pool.expect(len(self._spider().scheduled))
        try:
            result = await self.pool.analyze(page, self.min_chars, self.run_id, self.learned)
        except Exception as exc:  # one bad page must not end the crawl: record it and go on
            log.exception("analysis failed on %s", page.url)
            self._record_failure(FetchFailure(page.source, page.url, f"analysis failed: {exc!r}"))
            return
        if result is None:
            stats.inc_value("newsmon/not_article")
            log.debug("not an article: %s", page.url)
            return
        for paragraph in result.removed:
            log.info("%s: removed learned boilerplate: %.100r", page.url, paragraph)
        if page.revisit_of is not None:
            self._store_version(page.revisit_of, result)
            return
        self._batch.append(result)
        if len(self._batch) >= self._next_batch or time.monotonic() - self._flushed >= self.batch_seconds:
            self.flush()

    def _store_version(self, article_id: int, result: Analysis) -> None:
        try:
            changed = self.repository.add_version(article_id, result.article)
        except StoreError as exc:
            self._fatal(exc)
            return
        if changed:
            self._stats().inc_value("newsmon/updated")
            log.info("%s: changed since last visit, stored as a new version", result.article.url)

    def flush(self) -> None:
        """Write the buffered articles in one transaction; count what they were."""
        self._flushed = time.monotonic()
        self._next_batch = min(self.batch_size, 2 * self._next_batch)
        batch, self._batch = self._batch, []
        if not batch or self._stats().get_value("newsmon/fatal"):
            return
        try:
            outcomes = self.repository.add_articles([r.article for r in batch],
                                                    near_duplicate_bits=NEAR_DUPLICATE_BITS)
        except StoreError as exc:
            self._fatal(exc)
            return
        stats = self._stats()
        for result, outcome in zip(batch, outcomes, strict=True):
            stats.inc_value(f"newsmon/{outcome.status}")
            if outcome.status == "new" and result.article.matches:
                stats.inc_value("newsmon/matched")
        self._learn(self._spider().source.name,
                    [r for r, o in zip(batch, outcomes, strict=True) if o.status == "new"])

    def _fatal(self, exc: StoreError) -> None:
        # The database cannot take writes (disk full, read-only, gone): every further page would
        # fail the same way, so stop the crawl and let the caller report it (exit 1).
        log.error("stopping the crawl: %s", exc)
        stats = self._stats()
        if not stats.get_value("newsmon/fatal"):
            stats.set_value("newsmon/fatal", str(exc))
            if self._spider_closed:
                return  # the last batch, written as the spider closed: nothing left to stop
            assert self.crawler is not None and self.crawler.engine is not None
            # Scheduled, not awaited: closing waits for the items in flight, this one included.
            self._closing = asyncio.ensure_future(self.crawler.engine.close_spider_async(reason="store_failed"))

    def _learn(self, source: str, new: list[Analysis]) -> None:
        try:
            counts = self.repository.count_blocks(source, [r.blocks for r in new])
        except StoreError as exc:
            self._fatal(exc)
            return
        self.learned.update(h for h, pages in counts.items() if pages >= LEARNED_MIN_PAGES)

    def _record_failure(self, failure: FetchFailure) -> None:
        self._stats().inc_value("newsmon/errors")
        log.warning("%s: %s: %s", failure.source, failure.url, failure.reason)
        if self.run_id is not None:
            try:
                self.repository.add_run_error(self.run_id, failure.url, failure.reason)
            except StoreError as exc:
                self._fatal(exc)

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.run_id is None:
            return
        self._spider_closed = True
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self.flush()
        stats = self._stats()
        outcome = _OUTCOMES.get(reason, "failed")
        if outcome == "ok" and not stats.get_value("newsmon/discovery_pages", 0):
            outcome = "failed"  # a dead source: not one feed, sitemap or listing could be read
        pages = stats.get_value("response_received_count", 0)
        try:
            if outcome == "ok" and not stats.get_value("newsmon/errors", 0) and not spider.capped:
                self.repository.save_validators(spider.source.name, spider.answers)
            self.repository.finish_run(self.run_id, outcome, int(pages))
        except StoreError as exc:
            log.error("could not close run %s: %s", self.run_id, exc)
            stats.set_value("newsmon/fatal", stats.get_value("newsmon/fatal") or str(exc))
        self.pool.close()
        self.repository.engine.dispose()

    def _spider(self) -> Any:
        assert self.crawler is not None and self.crawler.spider is not None
        return self.crawler.spider

    def _stats(self) -> Any:
        assert self.crawler is not None and self.crawler.stats is not None
        return self.crawler.stats
