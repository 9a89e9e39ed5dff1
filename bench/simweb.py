"""A simulated web of thousands of news sources on loopback, for bench/capacity.py.

Source i lives on its own host in 127.0.0.0/8 (the whole range is loopback on Linux), all on one
port, served by one asyncio server (one listening socket, which tells sources apart by the
address a connection was made to): robots.txt, an RSS feed, a sitemap and a listing page, each
with an ETag and a Last-Modified date and answering 304 to a conditional request while unchanged,
as a CDN in front of a news site does. `publish(i)` adds an article to source i's three indexes and
remembers when, so the benchmark can time publication to storage. Keep-alive, Content-Length, no
chunking: just enough HTTP/1.1 for Scrapy's client.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from sample_site import long_paragraphs

# Articles listed by each index: a news feed carries its newest few dozen.
LISTED = 20
ARTICLE_PREFIX = "/news/2024/12/01/story-"
_REASONS = {200: "OK", 304: "Not Modified", 404: "Not Found"}
_WORDS = sorted({w.strip(".,;:()\"'").lower() for p in long_paragraphs() for w in p.split()} - {""})


def host(i: int) -> str:
    """Return source i's address: 127.10.0.1 upwards, 250 a /24 (up to 62,500 sources)."""
    return f"127.{10 + i // 62_500}.{i // 250 % 250}.{i % 250 + 1}"


def article_path(k: int) -> str:
    """Return the path of a source's article k (dated, so the spider takes it for an article)."""
    return f"{ARTICLE_PREFIX}{k}.html"


def article_text(i: int, k: int) -> str:
    """Return article k of source i: ~250 words drawn at random, so no two articles are near-duplicates."""
    rng = random.Random(i * 1_000_003 + k)
    sentences = [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."
                 for _ in range(22)]
    return "".join(f"<p>{' '.join(sentences[n:n + 4])}</p>" for n in range(0, len(sentences), 4))


@dataclass
class SourceState:
    """What source i serves: its articles (newest last), the version of its indexes, and when each changed."""

    articles: list[int] = field(default_factory=list)
    version: int = 0
    modified: datetime = field(default_factory=lambda: datetime(2024, 1, 1, tzinfo=UTC))


class SimWeb:
    """Serve `count` sources from one event loop in a background thread."""

    def __init__(self, count: int, initial_articles: int = 3) -> None:
        self.count = count
        self.port = 0
        self.sources = [SourceState(articles=list(range(initial_articles))) for _ in range(count)]
        # URL -> time.time() it was published, for every article published while running.
        self.published: dict[str, float] = {}
        self.answers: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="simweb", daemon=True)
        self._by_address = {host(i): i for i in range(count)}

    def base(self, i: int) -> str:
        return f"http://{host(i)}:{self.port}"

    def __enter__(self) -> SimWeb:
        self._thread.start()
        if not self._ready.wait(120) or not self.port:
            raise RuntimeError("the simulated web did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def publish(self, i: int) -> str:
        """Add a new article to source i's feed, sitemap and listing; return its URL."""
        with self._lock:
            state = self.sources[i]
            k = state.articles[-1] + 1 if state.articles else 0
            state.articles.append(k)
            state.version += 1
            state.modified = datetime.now(UTC).replace(microsecond=0)
            url = f"{self.base(i)}{article_path(k)}"
            self.published[url] = time.time()
            return url

    # -- the server ----------------------------------------------------------------------------

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            # One listener for every source (a socket each ran out of open files at 20,000, and
            # the hard limit cannot be raised in a container): it accepts on every local address,
            # and a connection to an address that is no source's is closed unanswered.
            server = self._loop.run_until_complete(asyncio.start_server(self._client, "0.0.0.0", 0, backlog=4096))
            self.port = server.sockets[0].getsockname()[1]
        finally:
            self._ready.set()
        self._loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        i = self._by_address.get(writer.get_extra_info("sockname")[0], -1)
        if i < 0:
            writer.close()
            return
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
                status, extra, body = self._answer(i, path, headers)
                self.answers[f"{path.rsplit('/', 1)[-1] if '.html' not in path else 'article'} {status}"] += 1
                head_out = [f"HTTP/1.1 {status} {_REASONS[status]}", f"Content-Length: {len(body)}",
                            *(f"{k}: {v}" for k, v in extra.items())]
                writer.write(("\r\n".join(head_out) + "\r\n\r\n").encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, IndexError):
            pass
        finally:
            writer.close()

    def _answer(self, i: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        base = self.base(i)
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"
        with self._lock:
            state = self.sources[i]
            listed, version, modified = state.articles[-LISTED:][::-1], state.version, state.modified
        if path.startswith(ARTICLE_PREFIX) and path.endswith(".html"):
            k = int(path[len(ARTICLE_PREFIX):-5])
            if not listed or not 0 <= k <= listed[0]:
                return 404, {}, b""
            title = f"Source {i} story {k}: mills and makers"
            return 200, {"Content-Type": "text/html; charset=utf-8"}, (
                f"<html><head><title>{title}</title><meta property='og:type' content='article'></head>"
                f"<body><article><h1>{title}</h1>{article_text(i, k)}</article></body></html>").encode()
        kinds = {"/feed.xml": "application/rss+xml", "/sitemap.xml": "application/xml", "/news/": "text/html"}
        if path not in kinds:
            return 404, {}, b""
        etag, last_modified = f'"{i}-{version}"', format_datetime(modified, usegmt=True)
        validators = {"ETag": etag, "Last-Modified": last_modified, "Content-Type": kinds[path]}
        # If-None-Match wins when both are sent (RFC 9110 13.2.2): dates have a one-second grain.
        match = headers.get("if-none-match")
        if match == etag or (match is None and _not_modified_since(headers.get("if-modified-since"), modified)):
            return 304, validators, b""
        links = [(k, f"{base}{article_path(k)}") for k in listed]
        if path == "/feed.xml":
            items = "".join(f"<item><title>Story {k}</title><link>{u}</link></item>" for k, u in links)
            body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>s{i}</title>{items}</channel></rss>'
        elif path == "/sitemap.xml":
            items = "".join(f"<url><loc>{u}</loc></url>" for _, u in links)
            body = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</urlset>'
        else:
            items = "".join(f'<li><a href="{u}">Story {k} of source {i}</a></li>' for k, u in links)
            body = f"<html><head><title>News</title></head><body><ul>{items}</ul></body></html>"
        return 200, validators, body.encode()


def _not_modified_since(value: str | None, modified: datetime) -> bool:
    if not value:
        return False
    try:
        return parsedate_to_datetime(value) >= modified
    except (TypeError, ValueError):
        return False
