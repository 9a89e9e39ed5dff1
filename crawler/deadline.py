"""A source's time limit inside a crawl process that crawls several: no request outlives it.

Scrapy's CLOSESPIDER_TIMEOUT (set per crawler by crawler.run) closes the spider when the source's
time is up, and crawler.crawl_run records that close as the run's `timed_out`. But closing waits
for the downloads in flight, each up to DOWNLOAD_TIMEOUT (30 s), and a server that accepts and
never answers would hold its source, and so the whole crawl process and every other source's
result in it, that long past the limit. So every request of a source with a time limit is sent
with a download timeout cut to the time left, and one sent after the limit is refused: at the
limit, the source's downloads end and its spider closes within a second or so. A retry waiting out
its backoff (crawler.retry) when the limit comes is the exception: it is dropped once the wait ends.
"""

from __future__ import annotations

import time

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured

# Why a request was not sent (the spider records it as the page's failure).
PAST_LIMIT = "the source's time limit was reached"


class DeadlineMiddleware:
    """Downloader middleware: each request's download_timeout ends at the source's time limit."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.deadline: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DeadlineMiddleware:
        limit = crawler.settings.getfloat("CLOSESPIDER_TIMEOUT")
        if limit <= 0:
            # No message: Scrapy logs a WARNING line for a NotConfigured that gives one, on every crawl.
            raise NotConfigured
        mw = cls(limit)
        # The same moment CloseSpider starts its timer: when the spider opens.
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    def spider_opened(self) -> None:
        self.deadline = time.monotonic() + self.limit

    def process_request(self, request: Request) -> None:
        if self.deadline is None:
            return
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise IgnoreRequest(PAST_LIMIT)
        timeout = request.meta.get("download_timeout")
        if timeout is None or timeout > left:
            request.meta["download_timeout"] = left
