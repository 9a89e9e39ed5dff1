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
from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.http import Response
from scrapy.utils.response import response_status_message

_RETRY_AT = "newsmon_retry_at"


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
    """Scrapy's RetryMiddleware, but each retry waits longer before it is sent.

    The retry itself is Scrapy's public `get_retry_request()` (retry counting, stats, the give-up
    log line); only the wait is ours.
    """

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
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        # 429 and 503 may say when to come back; honour it (capped) on the retry.
        wait = retry_after(response.headers.get("Retry-After"))
        return self._retry_later(request, response_status_message(response.status), wait) or response

    def process_exception(  # type: ignore[override]  # the spider argument is deprecated since 2.13
        self, request: Request, exception: Exception
    ) -> Request | None:
        if isinstance(exception, self.exceptions_to_retry) and not request.meta.get("dont_retry", False):
            return self._retry_later(request, exception)
        return None

    def _retry_later(self, request: Request, reason: str | Exception, wait: float | None = None) -> Request | None:
        assert self.crawler.spider is not None
        retry = get_retry_request(
            request, spider=self.crawler.spider, reason=reason,
            max_retry_times=request.meta.get("max_retry_times", self.max_retry_times),
            priority_adjust=request.meta.get("priority_adjust", self.priority_adjust),
            give_up_log_level=request.meta.get("give_up_log_level", self.give_up_log_level))
        if retry is not None:
            delay = backoff_delay(retry.meta.get("retry_times", 1), self.base, self.ceiling)
            retry.meta[_RETRY_AT] = time.monotonic() + max(delay, min(wait or 0.0, self.ceiling))
        return retry

    async def process_request(self, request: Request) -> None:
        # Waiting here holds no download slot, so other requests go on meanwhile.
        wait = request.meta.get(_RETRY_AT, 0.0) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
