"""The crawl's bookkeeping, kept from signals as Scrapy's corestats and closespider keep theirs.

OWNS: the source's run row from start to outcome: open it when the spider opens, record each
FetchFailure on it and each skipped page (the page_skipped signal) with its reason, settle its
outcome from the close reason, and save the validator answers the spider sent only after a clean,
uncapped crawl (a crawl cut short must re-read its feeds next time, or the rest of their links are
lost). Also the fatal stop: a database that stops taking writes ends
the crawl, and the StoreError itself (not its message) is kept for crawler.run.crawl() to raise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.statscollectors import StatsCollector

from crawler.context import crawl_context
from crawler.items import FetchFailure
from crawler.signals import article_limit_reached, page_skipped, run_opened, store_failed, validator_answered
from store.errors import StoreError
from store.records import Outcome, ValidatorAnswer

if TYPE_CHECKING:
    from store.repository import Repository

log = logging.getLogger(__name__)

# How a spider's close reason becomes a run outcome; any other reason (store_failed, a crash) failed.
_OUTCOMES = {"finished": Outcome.OK, "shutdown": Outcome.STOPPED, "closespider_timeout": Outcome.TIMED_OUT}
# The close reason of a crawl stopped because the database failed.
STORE_FAILED = "store_failed"
# Skipped pages written per transaction. A first crawl past the article limit skips thousands of
# links at once (one transaction each would cost seconds); a routine crawl skips a handful, written
# as the spider closes.
SKIP_BATCH = 100


def _ignore(*args: Any) -> None:
    pass


class CrawlRun:
    """One source's run: opened, failures recorded, outcome settled, the database failure kept."""

    def __init__(self, repository: Repository, source: str, stats: StatsCollector, holder: str | None = None,
                 announce: Callable[[int], object] = _ignore, stop: Callable[[str], object] = _ignore) -> None:
        """Keep `source`'s run in `repository`; `announce(run_id)` tells the pipelines which run they
        store into, and `stop(reason)` ends the crawl early."""
        self.repository = repository
        self.source = source
        self.stats = stats
        self.holder = holder
        self.announce = announce
        self.stop = stop
        self.run_id: int | None = None
        # The first database failure of the crawl: crawl() raises this very exception.
        self.error: StoreError | None = None
        self.errors = 0
        self._skips: list[tuple[str, str]] = []
        self.capped = False
        self.answers: dict[str, ValidatorAnswer] = {}
        # What stop() returned (the closing task): asyncio keeps only a weak reference to a task.
        self._stopping: object = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlRun:
        context = crawl_context(crawler.settings)
        run = cls(context.repository, context.source.name, crawler.stats, context.holder,
                  announce=lambda run_id: crawler.signals.send_catch_log(run_opened, run_id=run_id),
                  stop=lambda reason: _close_spider(crawler, reason))
        crawler.signals.connect(run.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(run.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(run.page_skipped, signal=page_skipped)
        crawler.signals.connect(run.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(run.validator_answered, signal=validator_answered)
        crawler.signals.connect(run.article_limit_reached, signal=article_limit_reached)
        crawler.signals.connect(run.store_failed, signal=store_failed)
        return run

    def spider_opened(self) -> None:
        """Open the run; a database that cannot record it closes the spider before any request."""
        if self.error is not None:  # a pipeline could not start on the database (see store_failed)
            raise CloseSpider(STORE_FAILED)
        try:
            self.run_id = self.repository.runs.start(self.source, holder=self.holder)
        except StoreError as exc:
            self._keep(exc)
            raise CloseSpider(STORE_FAILED) from exc
        self.stats.set_value("newsmon/run_id", self.run_id)
        self.announce(self.run_id)

    def item_scraped(self, item: Any) -> None:
        """Record a FetchFailure on the run (every other item is the pipelines' business)."""
        if not isinstance(item, FetchFailure):
            return
        self.errors += 1
        self.stats.inc_value("newsmon/errors")
        log.warning("%s: %s: %s", item.source, item.url, item.reason)
        if self.run_id is None:
            return
        try:
            self.repository.runs.add_error(self.run_id, item.url, item.reason)
        except StoreError as exc:
            self.store_failed(exc)

    def page_skipped(self, url: str, reason: str) -> None:
        """Record that `url` was not stored, and why (not an error: the crawl stays ok)."""
        self.stats.inc_value("newsmon/skipped")
        log.info("%s: skipped %s: %s", self.source, url, reason)
        self._skips.append((url, reason))
        if len(self._skips) >= SKIP_BATCH:
            self._write_skips()

    def _write_skips(self) -> None:
        skips, self._skips = self._skips, []
        if self.run_id is None or not skips or self.error is not None:
            return
        try:
            self.repository.runs.add_skips(self.run_id, skips)
        except StoreError as exc:
            self.store_failed(exc)

    def validator_answered(self, url: str, answer: ValidatorAnswer) -> None:
        """Remember what `url` answered, to save if the crawl ends cleanly."""
        self.answers[url] = answer

    def article_limit_reached(self) -> None:
        """Note that the crawl left articles for the next one: its answers must not be saved."""
        self.capped = True

    def store_failed(self, exc: StoreError) -> None:
        """Keep the first database failure and stop the crawl: every further write would fail too."""
        if not self._keep(exc):
            return
        log.error("stopping the crawl: %s", exc)
        # Before the run is open (a pipeline failing as it opens), spider_opened closes the spider
        # before its first request; the engine is still opening and must not be closed under it.
        if self.run_id is not None:
            self._stopping = self.stop(STORE_FAILED)

    def _keep(self, exc: StoreError) -> bool:
        if self.error is not None:
            log.warning("the database failed again: %s", exc)
            return False
        self.error = exc
        return True

    def outcome(self, reason: str) -> Outcome:
        """Say how the crawl ended, from its close reason and what happened in it."""
        outcome = _OUTCOMES.get(reason, Outcome.FAILED)
        if self.error is not None:
            return Outcome.FAILED  # whatever the reason: something found was not stored
        if outcome == Outcome.OK and not self.stats.get_value("newsmon/discovery_pages", 0):
            return Outcome.FAILED  # a dead source: not one feed, sitemap or listing could be read
        return outcome

    def spider_closed(self, reason: str) -> None:
        """Close the run with its outcome (after the storing pipeline wrote its last batch)."""
        if self.run_id is None:
            return  # never opened: the StoreError that prevented it is what crawl() raises
        outcome = self.outcome(reason)
        pages = int(self.stats.get_value("response_received_count", 0))
        skips, self._skips = self._skips, []
        try:
            if skips and self.error is None:
                self.repository.runs.add_skips(self.run_id, skips)
            answers = self.answers if outcome == Outcome.OK and not self.errors and not self.capped else {}
            self.repository.runs.finish(self.run_id, outcome, pages, also=lambda conn: self.repository.validators
                                        .save_in(conn, self.source, answers))
        except StoreError as exc:
            log.error("could not close run %s: %s", self.run_id, exc)
            self._keep(exc)


def _close_spider(crawler: Crawler, reason: str) -> asyncio.Future[None]:
    async def close() -> None:
        # Looked at when this runs, not when asked: a failure in the last batch, written while the
        # spider closes, finds the engine closing (close_spider_async then waits for it) or closed.
        if crawler.engine.spider is not None:
            await crawler.engine.close_spider_async(reason=reason)

    # Scheduled, not awaited: closing waits for the items in flight, the failing one included.
    return asyncio.ensure_future(close())
