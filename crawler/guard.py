"""Refuse requests from a public source to loopback, private or link-local addresses.

A hostile page or redirect can point a crawler at a machine's internal services (an admin panel
on 127.0.0.1, a cloud metadata endpoint on 169.254.169.254). A source whose own seed URLs are on
such an address (a test fixture, an intranet site) keeps access to that address and no other.
Host names that resolve to private addresses are not caught here: that needs the resolved IP,
which Scrapy does not expose to middlewares.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

REFUSED = "refused: private or loopback address"


def internal_host(host: str) -> bool:
    """Return True for a loopback, private, link-local or otherwise non-public host."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


class AddressGuardMiddleware:
    """Downloader middleware: internal addresses only for sources that start there."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).hostname or ""
        if not internal_host(host):
            return
        source = getattr(self.crawler.spider, "source", None)
        allowed = {(urlsplit(u).hostname or "").lower() for u in getattr(source, "seed_urls", ())}
        if host.lower() not in allowed:
            raise IgnoreRequest(f"{REFUSED} {host}")
