"""Refuse requests from a public source to loopback, private or link-local addresses.

A hostile page or redirect can point a crawler at a machine's internal services (an admin panel
on 127.0.0.1, a cloud metadata endpoint on 169.254.169.254). A source whose own seed URLs are on
such an address (a test fixture, an intranet site) keeps access to that address and no other.
Host names are resolved here too (once per host, cached), so a name pointing at a private address
is refused like the address itself. A name could still be re-pointed between this check and
Scrapy's own lookup (DNS rebinding); that window is left open.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

REFUSED = "refused: private or loopback address"
# The request meta key naming the source a request is for, where its spider asks for many sources
# (crawler.quiet_check); otherwise the spider's own source.
SOURCE_META = "newsmon_source"


def internal_host(host: str, resolve: bool = False) -> bool:
    """Return True for a loopback, private, link-local or otherwise non-public host (or, with
    `resolve`, a host name that resolves to one)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        pass
    return resolve and any(not ipaddress.ip_address(a).is_global for a in _addresses(host))


@functools.lru_cache(maxsize=4096)
def _addresses(host: str) -> tuple[str, ...]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return ()  # unresolvable: Scrapy will fail it and record why
    return tuple({str(info[4][0]).split("%")[0] for info in infos})


class AddressGuardMiddleware:
    """Downloader middleware: internal addresses only for sources that start there."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).hostname or ""
        if not internal_host(host, resolve=True):
            return
        source = request.meta.get(SOURCE_META) or getattr(self.crawler.spider, "source", None)
        # A request for no one source (a robots.txt asked by the quiet check, for the host of a
        # request that passed here): any of the spider's sources' seed hosts.
        seeds: Iterable[str] = (getattr(source, "seed_urls", None) or getattr(self.crawler.spider, "seed_urls", None)
                                or ())
        allowed = {(urlsplit(u).hostname or "").lower() for u in seeds}
        if host.lower() not in allowed:
            raise IgnoreRequest(f"{REFUSED} {host}")
