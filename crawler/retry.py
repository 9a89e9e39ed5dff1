"""Retries with exponential backoff, so a struggling server gets room instead of a burst."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware

_RETRY_AT = "newsmon_retry_at"


def backoff_delay(attempt: int, base: float, ceiling: float) -> float:
    """Seconds to wait before retry number `attempt` (1-based): base, 2*base, 4*base... capped."""
    if base <= 0:
        return 0.0
    return float(min(ceiling, base * 2 ** max(0, attempt - 1)))


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware, but each retry waits longer before it is sent."""

    def __init__(self, settings: Any, base: float = 0.0, ceiling: float = 0.0) -> None:
        super().__init__(settings)
        self.base = base
        self.ceiling = ceiling

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        s = crawler.settings
        mw = cls(s, s.getfloat("NM_RETRY_BACKOFF"), s.getfloat("NM_RETRY_BACKOFF_MAX"))
        mw.crawler = crawler
        return mw

    def _retry(self, request: Request, reason: str | Exception | type[Exception]) -> Request | None:
        retry = super()._retry(request, reason)
        if retry is not None:
            delay = backoff_delay(retry.meta.get("retry_times", 1), self.base, self.ceiling)
            retry.meta[_RETRY_AT] = time.monotonic() + delay
        return retry

    async def process_request(self, request: Request) -> None:
        # Waiting here holds no download slot, so other requests go on meanwhile.
        wait = request.meta.get(_RETRY_AT, 0.0) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
