"""The tests' fixture sites: a SiteServer that also times its answers, made-up stories and feeds
served on it, and what a crawl of the sample site should find (the sample site itself only says
what it serves)."""

from __future__ import annotations

import html
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sample_site import Page, SampleSite, SiteServer, feed_page, load_articles, long_paragraphs

PARAGRAPHS = long_paragraphs()
# The sample articles that seeds/rules.toml matches; the other five are news it must leave alone.
RELEVANT = ("000", "001", "002", "003", "004")


class TimedSiteServer(SiteServer):
    """A SiteServer that also records when each answer went out."""

    def __init__(self, pages: dict[str, Page] | None = None) -> None:
        super().__init__(pages)
        self._times: list[tuple[str, int, float]] = []

    def on_answer(self, path: str, status: int) -> None:
        super().on_answer(path, status)
        self._times.append((path, status, time.monotonic()))

    def answer_times(self) -> list[tuple[str, int, float]]:
        """Return (path, status, time.monotonic()) for every response, in order."""
        with self._lock:
            return list(self._times)

    def clear_log(self) -> None:
        with self._lock:
            self._times.clear()
        super().clear_log()


def story(n: int, title: str = "Story {n}", paragraphs: int = 4, stride: int = 3, offset: int = 0, lead: str = "",
          delay: float = 0.0) -> Page:
    """Return story `n`: `paragraphs` long sample paragraphs from index n * stride + offset on, after `lead`.

    `title` and `lead` are formatted with n. Stories whose paragraph windows overlap little are
    distinct stories to near-duplicate detection; keep a test's stride and offset when changing it.
    """
    heading = title.format(n=n)
    body = "".join(f"<p>{html.escape(PARAGRAPHS[(n * stride + offset + k) % len(PARAGRAPHS)])}</p>"
                   for k in range(paragraphs))
    return Page(f"<html><head><title>{heading}</title></head><body><article><h1>{heading}</h1>{lead.format(n=n)}"
                f"{body}</article></body></html>".encode(), delay=delay)


def serve_feed(server: SiteServer, path: str, links: Iterable[str], headers: dict[str, str] | None = None) -> str:
    """Serve an RSS feed at `path` listing `links` (paths on `server`, or full URLs); return its URL."""
    urls = [link if "://" in link else server.url + link for link in links]
    server.set_page(path, feed_page(urls, headers))
    return server.url + path


def serve_stories(server: SiteServer, count: int, path: str = "/news/2024-09/{day:02d}/story-{n}.html",
                  feed: str = "/rss.xml", **story_args: Any) -> list[str]:
    """Serve stories 0..count-1 at `path` (formatted with n and day = 1 + n % 28) and a feed of them at `feed`;
    return their paths."""
    paths = []
    for n in range(count):
        paths.append(path.format(n=n, day=1 + n % 28))
        server.set_page(paths[-1], story(n, **story_args))
    serve_feed(server, feed, paths)
    return paths


@dataclass(frozen=True)
class Expected:
    """What a crawl of the sample site should do: which URLs it stores, matches, skips and fails."""

    relevant: tuple[str, ...]
    irrelevant: tuple[str, ...]
    syndicated: tuple[tuple[str, str], ...]  # (original, copy): one story
    robots_disallowed: tuple[str, ...]
    failing: tuple[str, ...]
    redirects: tuple[tuple[str, str], ...]  # (old URL, where it leads): stored under the target
    teaser_sentences: tuple[str, ...]  # the "recommended" teaser on article 000: never in any stored text


def expect(site: SampleSite) -> Expected:
    """Return what a crawl of `site` with the default rules should do."""
    teaser = next(a for a in load_articles() if a["key"] == "000")["noise"]["teaser_paragraphs"]
    return Expected(
        relevant=tuple(site.articles[k] for k in RELEVANT),
        irrelevant=tuple(url for k, url in site.articles.items() if k not in RELEVANT),
        syndicated=(site.syndicated,), robots_disallowed=(site.disallowed,), failing=(site.failing,),
        redirects=(site.moved,),
        teaser_sentences=tuple(s.strip() + "." for p in teaser for s in p.split(". ") if len(s) > 40),
    )
