"""The quiet check: one crawler asks every source of a batch whether its feeds, sitemaps and listings
changed, before any source gets a crawler of its own.

Why: most checks find nothing (a few percent of sources publish in an interval), and a Scrapy
crawler costs more to build and close (engine, downloader, middlewares, extensions, signals) than
its three conditional requests cost to make: ~30% of a crawl child's CPU in a cProfile of 600 quiet
checks (docs/scale.md). A source whose every discovery URL answers 304, or a body that hashes as
before, is settled here, as its own crawler would have settled it (crawler.conditional.read_answer
decides for both): an ok run, its answers saved. Any other answer (a change, an error, a page
robots.txt forbids) hands the source to a crawler of its own (crawler.run), which replays the
answers got here (crawler.replay) instead of asking the site again and asks again only what failed,
with its retries. So a source is asked each URL once, and whatever happens to a source that is not
quiet is recorded as before, by its own crawler.

Only sources read before are checked here (they have validators) and none with articles due for a
revisit: a first crawl, or one with revisits, always has work for a crawler. A discovery URL that
redirects has its validators under the URL asked, as its spider keeps them (crawler.conditional.
asked_url): it is asked conditionally, and the redirect carries the headers to where it leads; a
redirected answer is not replayed (its crawler follows the redirect itself).

OWNS: which sources are checked (checkable), each source's answers as they arrive (SourceCheck), and
the spider that asks (QuietCheckSpider).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.conditional import asked_url, conditional_headers, read_answer
from crawler.config import Source
from crawler.guard import SOURCE_META
from crawler.spiders.news import header_text
from store.records import ValidatorAnswer, ValidatorRecord, utcnow

# The request meta key that carries a request's SourceCheck.
CHECK_META = "newsmon_check"


def discovery_urls(source: Source) -> list[str]:
    """The URLs a crawl of `source` asks first, in the order its spider asks them, each once."""
    return list(dict.fromkeys([*source.feeds, *source.sitemaps, *source.start_urls]))


def checkable(source: Source, validators: Mapping[str, ValidatorRecord], revisits: Mapping[str, int]) -> bool:
    """Whether `source` may be settled by the quiet check: read before (`validators`, its discovery
    URLs' answers, under the URLs they ended at), nothing to revisit. A URL with no answer yet (new
    in the seeds) reads as changed, and its source gets its crawler."""
    return bool(discovery_urls(source)) and bool(validators) and not revisits


@dataclass
class SourceCheck:
    """One source's discovery URLs in the quiet check: what each answered, and whether all is quiet."""

    source: Source
    validators: Mapping[str, ValidatorRecord]
    pending: set[str] = field(init=False)  # the discovery URLs not answered yet
    started: datetime = field(default_factory=utcnow)
    finished: datetime | None = None
    pages: int = 0
    changed: bool = False
    # What each URL asked answered (as its spider names it), saved if quiet.
    answers: dict[str, ValidatorAnswer] = field(default_factory=dict)
    # The answers a crawler of the source's own replays (URL asked -> response): none is asked twice.
    responses: dict[str, Response] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.pending = set(discovery_urls(self.source))

    @property
    def settled(self) -> bool:
        return not self.pending

    @property
    def quiet(self) -> bool:
        return self.settled and not self.changed

    def answered(self, asked: str, response: Response) -> None:
        """Note `response`, the answer to `asked` (after any redirects)."""
        self.pages += 1
        reading = read_answer(self.validators.get(asked), response.status, header_text(response, "ETag"),
                              header_text(response, "Last-Modified"), response.body)
        if reading.changed:
            self.changed = True
        else:
            self.answers[asked] = reading.answer
        # A redirected answer is not replayed: its crawler follows the redirect itself.
        if response.request is None or response.request.url == asked:
            self.responses[asked] = response
        self._done(asked)

    def failed(self, asked: str) -> None:
        """Note that `asked` got no answer to read (an error, a refusal): the source's crawler asks it."""
        self.changed = True
        self._done(asked)

    def _done(self, asked: str) -> None:
        self.pending.discard(asked)
        if not self.pending:
            self.finished = utcnow()
            if not self.changed:  # nothing to replay: a batch of sites that never answer 304 holds no bodies
                self.responses.clear()


class QuietCheckSpider(scrapy.Spider):
    """Ask each source's discovery URLs, conditionally, as its own spider would; tell `on_settled`
    of each source once all its URLs have answered or failed."""

    name = "quiet-check"

    def __init__(self, checks: Sequence[SourceCheck], on_settled: Callable[[SourceCheck], object],
                 verify_every: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checks = checks
        self.on_settled = on_settled
        self.verify_every = verify_every
        # Every request names its source for the address guard (crawler.guard), except the
        # robots.txt ones Scrapy makes: those may go to any of these.
        self.seed_urls = [url for check in checks for url in check.source.seed_urls]

    async def start(self) -> AsyncIterator[Any]:
        for check in self.checks:
            for url in discovery_urls(check.source):
                # The same request the source's spider sends (crawler.spiders.news), but no retry:
                # a failure hands the source to its own crawler, which retries.
                yield scrapy.Request(url, callback=self.parse, errback=self.failed, dont_filter=True,
                                     headers=conditional_headers(check.validators.get(url), self.verify_every),
                                     meta={"handle_httpstatus_list": [304], "dont_retry": True, CHECK_META: check,
                                           SOURCE_META: check.source})

    def parse(self, response: Response, **kwargs: Any) -> None:
        request = response.request
        assert request is not None
        check: SourceCheck = request.meta[CHECK_META]
        check.answered(asked_url(request), response)
        if check.settled:
            self.on_settled(check)

    def failed(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        if request is None:
            return
        check: SourceCheck = request.meta[CHECK_META]
        check.failed(asked_url(request))
        if check.settled:
            self.on_settled(check)
