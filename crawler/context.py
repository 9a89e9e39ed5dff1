"""What one crawl's Scrapy components need from the code that started it, and how it reaches them.

OWNS: CrawlContext (the open repository, the source, its rules, the holder), CheckContext (the
quiet check's: crawler.quiet_check) and the setting they travel in. crawler.run puts one in each
crawler's own settings before the crawl starts; the extension and the pipelines read it in
from_crawler, where Scrapy components read everything else, and never off the spider.

Why settings, and why a context that copies as itself: Scrapy deep-copies settings (each Crawler
copies the process's in its constructor; Settings.copy() and frozencopy() are copy.deepcopy). The
repository holds the crawl process's one SQLAlchemy engine, which must be shared, not copied: a
copy would be a second connection pool on the same database (or fail on the engine's locks). So
CrawlContext returns itself from __copy__ and __deepcopy__, as a class or a module object in the
settings does; it is frozen, so sharing it is what is meant. The alternatives were worse: spider
arguments read back off the spider (the bag of state this replaces), a module-level registry keyed
by crawler (global state that outlives the crawl), or a URL in the settings from which every
component opened its own engine (three engines per crawl process, which is what this replaced).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

    from crawler.config import Source
    from crawler.rules import Rule
    from store.repository import Repository

# The crawler setting that carries the crawl's CrawlContext.
CONTEXT_SETTING = "NM_CRAWL_CONTEXT"


@dataclass(frozen=True)
class CrawlContext:
    """The caller's share of one source's crawl: where to store, what to crawl and match, who runs it."""

    repository: Repository
    source: Source
    rules: tuple[Rule, ...] = ()
    # The process that runs the crawl (scheduler.leases.process_holder()), recorded on its run.
    holder: str | None = None
    # The source's learned boilerplate hashes, read for the whole batch at once (crawler.run.start);
    # None: the store pipeline reads them when the crawl opens.
    learned: frozenset[str] | None = None
    # robots.txt bodies kept in the store for the batch's seed hosts (origin -> body, None: none
    # fresh), read for the whole batch at once (crawler.run.start); None: read host by host.
    robots: Mapping[str, bytes | None] | None = None
    # The quiet check's answers to the source's discovery URLs (URL -> Scrapy Response), replayed
    # instead of asked again: crawler.replay takes each out as it replays it (a body is not kept
    # for the whole crawl).
    replay: dict[str, Any] | None = None

    def __copy__(self) -> CrawlContext:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> CrawlContext:
        return self


def crawl_context(settings: BaseSettings) -> CrawlContext:
    """Return the CrawlContext in a crawler's settings; a crawl started without one is a bug."""
    context = settings.get(CONTEXT_SETTING)
    if not isinstance(context, CrawlContext):
        raise RuntimeError(f"no {CONTEXT_SETTING} in the crawler's settings: start crawls with crawler.run.crawl()")
    return context


@dataclass(frozen=True)
class CheckContext:
    """The quiet check's share of the store (crawler.quiet_check): a crawl of many sources, none its own."""

    repository: Repository
    # As CrawlContext.robots, for every seed host of the batch.
    robots: Mapping[str, bytes | None] | None = None

    def __copy__(self) -> CheckContext:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> CheckContext:
        return self
