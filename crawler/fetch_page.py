"""Fetch one page through Scrapy, with the crawl's own settings (user agent, robots.txt, timeouts,
size cap, retries), for commands that look at a single URL (`newsmon rules test URL`).

Twisted's reactor runs once per process: call this from a process that runs no other crawl.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from crawler.config import Settings
from crawler.robots_log import quiet_robots_errors
from crawler.settings import scrapy_settings


@dataclass(frozen=True)
class FetchedOne:
    """The page at a URL: its final URL and HTML, or why there is none."""

    url: str
    html: str | None = None
    error: str | None = None


def fetch_page(url: str, settings: Settings, log_level: str = "ERROR") -> FetchedOne:
    """Fetch `url` (following redirects) and return its HTML, or the reason it could not be had."""
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.http import Response, TextResponse
    from twisted.python.failure import Failure

    result: dict[str, Any] = {}

    class OnePage(scrapy.Spider):
        name = "newsmon-one-page"
        # crawler.guard lets a crawl reach a private address only on its own seed URLs' hosts:
        # the URL the user gave is this fetch's seed.
        source = SimpleNamespace(seed_urls=(url,))

        async def start(self) -> Any:
            yield scrapy.Request(url, callback=self.parse, errback=self.failed, dont_filter=True)

        def parse(self, response: Response) -> None:
            if not isinstance(response, TextResponse):
                kind = (response.headers.get("Content-Type") or b"?").decode(errors="replace")
                result["error"] = f"not a text page ({kind})"
                return
            result["url"], result["html"] = response.url, response.text

        def failed(self, failure: Failure) -> None:
            response = getattr(failure.value, "response", None)
            status = f"HTTP {response.status}" if response is not None else ""
            result["error"] = status or f"{type(failure.value).__name__}: {failure.getErrorMessage()}"

    # The crawl's download settings and middlewares; not its pipelines and run bookkeeping, which
    # store what they see.
    quiet_robots_errors()
    process = CrawlerProcess({**scrapy_settings(settings, log_level.upper()), "ITEM_PIPELINES": {},
                              "EXTENSIONS": {}})
    crawler = process.create_crawler(OnePage)
    process.crawl(crawler)
    process.start()
    if "html" in result:
        return FetchedOne(result["url"], html=result["html"])
    if "error" not in result and crawler.stats.get_value("downloader/exception_count"):
        result["error"] = "the download failed"
    return FetchedOne(url, error=result.get("error") or "robots.txt forbids it, or the page gave no response")
