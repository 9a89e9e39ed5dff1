"""A source's crawler answers its discovery requests from the quiet check's answers, when it has them.

The quiet check (crawler.quiet_check) asked the source's feeds, sitemaps and listings, with the same
conditional headers this crawler's spider sends, and found something changed: this crawler, built to
deal with it, must not ask the site again. Each answer is replayed once, to the first request for its
URL; a second request for it (a retry, a link back to the feed) goes to the site. Replayed
answers pass through every middleware's process_response, as downloaded ones do (they were
decompressed once already, which removed their Content-Encoding).
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from crawler.context import CONTEXT_SETTING, CrawlContext

# The requests answered from the quiet check: its spider's discovery requests (crawler.spiders.news).
REPLAYED_KINDS = frozenset({"feed", "sitemap", "listing"})


class ReplayMiddleware:
    """Downloader middleware: return the quiet check's answer for a discovery URL, once."""

    def __init__(self, responses: dict[str, Response]) -> None:
        # The crawl's own (CrawlContext.replay): each answer is taken out as it is replayed.
        self.responses = responses

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReplayMiddleware:
        context = crawler.settings.get(CONTEXT_SETTING)
        if not isinstance(context, CrawlContext) or not context.replay:
            raise NotConfigured  # no message: Scrapy would log one line a crawler
        return cls(context.replay)

    def process_request(self, request: Request) -> Response | None:
        if request.meta.get("newsmon_kind") not in REPLAYED_KINDS:
            return None
        response = self.responses.pop(request.url, None)
        if response is None:
            return None
        # Flagged, as Scrapy flags a cached response "cached": a log line shows it was not downloaded.
        return response.replace(request=request, flags=[*response.flags, "replayed"])
