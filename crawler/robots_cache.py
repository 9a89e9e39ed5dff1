"""robots.txt kept in the database for a day: a source checked every 30 minutes asked for it 48
times a day, one request in every quiet check's four.

OWNS: CachedRobotsTxtMiddleware, Scrapy's RobotsTxtMiddleware with the store in front. A host's
robots.txt fetched within MAX_AGE is parsed from the database (read for a whole batch at once by
crawler.run.start; a host outside the batch's seeds costs one query); one fetched is saved as its
answer passes through this middleware, for the crawls after. RFC 9309 (section 2.4) lets a
crawler keep robots.txt for up to 24 hours. What is kept is what Scrapy parses: the body of an
answer below 500 (a 404's page allows everything, from the store as when fetched). A server error
or a 429 is not kept, so the next check asks again; nor a body over MAX_BYTES, more than RFC 9309
asks a crawler to parse. A database error here only costs the saving: the crawl's own writes stop it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler

from crawler.conditional import asked_url
from crawler.context import CONTEXT_SETTING, CheckContext, CrawlContext
from store.errors import StoreError
from store.records import utcnow

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser

log = logging.getLogger(__name__)

# How long a fetched robots.txt is used instead of fetching it again (RFC 9309: at most 24 hours).
MAX_AGE = timedelta(hours=24)
# RFC 9309 (2.5): a crawler must parse at least 500 KiB; a larger file is fetched every time.
MAX_BYTES = 500 * 1024


def origin_of(url: str) -> str:
    """Return scheme://host[:port] of `url`: the key robots.txt is kept under."""
    parts = urlparse(url)
    return f"{parts.scheme}://{parts.netloc}"


class CachedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, its files read from and saved to the store."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        # A crawl with no store (`sources add`'s probe, `rules test`'s page) fetches as Scrapy does.
        context = crawler.settings.get(CONTEXT_SETTING)
        self._repository = context.repository if isinstance(context, CrawlContext | CheckContext) else None
        # origin -> body, or None when the store has none fresh: each origin is asked once a crawl.
        self._kept: dict[str, bytes | None] = dict(context.robots or {}) if self._repository is not None else {}

    async def robot_parser(self, request: Request) -> RobotParser | None:
        netloc = urlparse_cached(request).netloc
        if netloc not in self._parsers:
            body = self._kept_body(origin_of(request.url))
            if body is not None:
                self._parsers[netloc] = build_from_crawler(self._parserimpl, self.crawler, body)
                self._stats.inc_value("newsmon/robots_kept")
        return await super().robot_parser(request)

    def _kept_body(self, origin: str) -> bytes | None:
        if self._repository is None:
            return None
        if origin not in self._kept:
            try:
                self._kept[origin] = self._repository.robots.fetched_since([origin], utcnow() - MAX_AGE).get(origin)
            except StoreError as exc:
                log.warning("could not read the kept robots.txt of %s: %s", origin, exc)
                self._kept[origin] = None
        return self._kept[origin]

    def process_response(  # the spider argument is deprecated since Scrapy 2.13
        self, request: Request, response: Response
    ) -> Response:
        """Keep the answer to the request this middleware made for a robots.txt."""
        if self._repository is not None and request.callback is NO_CALLBACK and request.meta.get("dont_obey_robotstxt"):
            # Redirects keep the first URL asked: the host the file governs.
            asked = asked_url(request)
            if urlparse(asked).path == "/robots.txt" and _keepable(response):
                try:
                    self._repository.robots.save(origin_of(asked), response.body)
                except StoreError as exc:
                    log.warning("could not keep %s: %s", asked, exc)
        return response


def _keepable(response: Response) -> bool:
    # 429 is a 4xx that asks to come back later, not an answer about the site: asked again too.
    return response.status < 500 and response.status != 429 and len(response.body) <= MAX_BYTES
