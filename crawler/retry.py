"""Retries with exponential backoff, so a struggling server gets room instead of a burst; a
Retry-After header (429, 503) is honoured up to the backoff ceiling."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response

_RETRY_AT = "newsmon_retry_at"
_RETRY_AFTER = "newsmon_retry_after"


def backoff_delay(attempt: int, base: float, ceiling: float) -> float:
    """Seconds to wait before retry number `attempt` (1-based): base, 2*base, 4*base... capped."""
    if base <= 0:
        return 0.0
    return float(min(ceiling, base * 2 ** max(0, attempt - 1)))


def retry_after(value: bytes | None, now: datetime | None = None) -> float | None:
    """Parse a Retry-After header (seconds, or an HTTP date) into seconds from now."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


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

    def process_response(  # type: ignore[override]  # the spider argument is deprecated since 2.13
        self, request: Request, response: Response
    ) -> Request | Response:
        # 429 and 503 may say when to come back; honour it (capped) on the retry.
        wait = retry_after(response.headers.get("Retry-After"))
        if wait is not None:
            request.meta[_RETRY_AFTER] = min(wait, self.ceiling)
        return super().process_response(request, response)

    def _retry(self, request: Request, reason: str | Exception | type[Exception]) -> Request | None:
        retry = super()._retry(request, reason)
        if retry is not None:
            delay = backoff_delay(retry.meta.get("retry_times", 1), self.base, self.ceiling)
            delay = max(delay, retry.meta.pop(_RETRY_AFTER, 0.0))
            retry.meta[_RETRY_AT] = time.monotonic() + delay
        return retry

    async def process_request(self, request: Request) -> None:
        # Waiting here holds no download slot, so other requests go on meanwhile.
        wait = request.meta.get(_RETRY_AT, 0.0) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
