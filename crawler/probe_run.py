"""Fetch what crawler.site_probe asks for through Scrapy, with the crawl's own settings (user agent,
robots.txt obeyed, politeness, timeouts, size cap, retries, the address guard), for `newsmon
sources add`.

OWNS: probe_site(): one small spider whose callbacks hand each answer to the SiteProbe and yield
the requests it asks for next; the crawl ends when none are left. Twisted's reactor runs once per
process: call this from a process that runs no other crawl.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

from crawler.config import Settings
from crawler.robots_log import quiet_robots_errors
from crawler.settings import scrapy_settings
from crawler.site_probe import Proposal, SiteProbe, Want


def probe_site(url: str, settings: Settings, name: str | None = None, log_level: str = "ERROR",
               on_progress: Callable[[int, str], None] | None = None) -> Proposal:
    """Fetch `url` and what it leads to, and propose a source; `on_progress(fetched, url)` after each answer."""
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.exceptions import IgnoreRequest
    from scrapy.http import Response
    from twisted.python.failure import Failure

    from crawler.spiders.news import describe_failure

    probe = SiteProbe(url)
    fetched = [0]

    def answered(want: Want) -> None:
        fetched[0] += 1
        if on_progress is not None:
            on_progress(fetched[0], want.url)

    class ProbeSpider(scrapy.Spider):
        name = "newsmon-probe"
        # crawler.guard lets a request reach a private address only on a seed URL's host: the URL
        # the user gave is this probe's seed.
        source = SimpleNamespace(seed_urls=(url,))

        async def start(self) -> Any:
            for want in probe.start():
                yield self.request(want)

        def request(self, want: Want) -> scrapy.Request:
            return scrapy.Request(want.url, callback=self.got, errback=self.lost, cb_kwargs={"want": want},
                                  dont_filter=True)

        def got(self, response: Response, want: Want) -> Iterator[scrapy.Request]:
            answered(want)
            ctype = (response.headers.get("Content-Type") or b"").decode("latin-1")
            for more in probe.received(want, response.url, response.body, ctype):
                yield self.request(more)

        def lost(self, failure: Failure) -> Iterator[scrapy.Request]:
            request = getattr(failure, "request", None)
            want = request.cb_kwargs["want"] if request is not None else None
            if want is None:
                return
            answered(want)
            if isinstance(failure.value, IgnoreRequest) and str(failure.value) == "Forbidden by robots.txt":
                reason = "robots.txt forbids it"
            else:
                reason = describe_failure(failure)
            for more in probe.failed(want, reason):
                yield self.request(more)

    # The crawl's download settings and middlewares; not its pipelines and run bookkeeping, which
    # store what they see. An unreachable robots.txt is one line, not Scrapy's traceback.
    quiet_robots_errors()
    process = CrawlerProcess({**scrapy_settings(settings, log_level.upper()), "ITEM_PIPELINES": {}, "EXTENSIONS": {}})
    process.crawl(process.create_crawler(ProbeSpider))
    process.start()
    if not probe.tried and probe.error is None:
        probe.error = "the page gave no response"
    return probe.proposal(name)
