"""Run a crawl of one or more sources in this process.

OWNS: crawl() (one crawl, then the reactor stops: Twisted's cannot be restarted) and start() with
runs_of() (a crawl on a reactor that runs on: scheduler.child_serve): building each source's crawler (its
CrawlContext, its spider's arguments), running them, reporting progress, and handing back each
source's run record, looked up by id, or the StoreError that stopped the crawl.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from crawler.config import RULES_FILE, Config, ConfigError, Source
from crawler.context import CONTEXT_SETTING, CrawlContext
from crawler.examples import UnresolvedExample, resolve, stored_lookup
from crawler.settings import scrapy_settings
from store.records import RunRecord, utcnow

if TYPE_CHECKING:
    from scrapy.crawler import Crawler, CrawlerRunner
    from twisted.internet.defer import Deferred

    from crawler.crawl_run import CrawlRun
    from store.repository import Repository

log = logging.getLogger(__name__)

# How often progress is reported while the crawl runs, in seconds.
PROGRESS_INTERVAL = 0.5


@dataclass(frozen=True)
class Progress:
    """Live counters of one source's crawl."""

    source: str
    pages: int
    new: int
    matched: int
    duplicates: int
    errors: int
    skipped: int = 0


ProgressCallback = Callable[[list[Progress]], None]


def with_stored_examples(config: Config, repository: Repository) -> Config:
    """Read the stored articles that `like` rules name as examples; ConfigError if one is not stored."""
    try:
        return replace(config, rules=resolve(config.rules, stored_lookup(repository)))
    except UnresolvedExample as exc:
        where = config.seeds_dir / RULES_FILE if config.seeds_dir is not None else RULES_FILE
        raise ConfigError(f"{where}: {exc}") from None


def crawl(config: Config, sources: Sequence[Source], repository: Repository, *, holder: str | None = None,
          on_progress: ProgressCallback | None = None, log_level: str = "WARNING",
          time_limit: float | None = None) -> list[RunRecord]:
    """Crawl `sources` once into `repository` and return their run records, in the order of `sources`.

    Every Scrapy component of the crawl uses `repository` (one engine per crawl process). A database
    that stops taking writes stops the crawl, and its StoreError is raised here, the same instance.
    `time_limit` (seconds) applies to each source on its own (crawler.deadline): one that runs over
    it ends `timed_out` while the others go on.
    """
    from scrapy.crawler import CrawlerProcess

    from crawler.robots_log import quiet_robots_errors
    from crawler.settings_copy import CrawlSettings

    quiet_robots_errors()
    process = CrawlerProcess(CrawlSettings(scrapy_settings(config.settings, log_level)))
    crawlers, _ = start(process, config, sources, repository, holder=holder, time_limit=time_limit)
    if on_progress is not None:
        _report_progress(crawlers, sources, on_progress)
    process.start()
    if on_progress is not None:
        on_progress(_progress(crawlers, sources))
    return runs_of(crawlers, sources, repository)


def start(runner: CrawlerRunner, config: Config, sources: Sequence[Source], repository: Repository, *,
          holder: str | None = None, time_limit: float | None = None,
          log_level: str | None = None) -> tuple[list[Crawler], Deferred[Any]]:
    """Start a crawler for each of `sources` on `runner`; return them and a Deferred that fires when
    all have finished (then runs_of() reads their runs).

    With `log_level`, each crawler takes `config`'s Scrapy settings itself (a crawl process that
    lives for many crawls was started with an earlier config's): scheduler.child_serve.
    """
    from twisted.internet.defer import DeferredList

    from crawler.boilerplate import LEARNED_MIN_PAGES
    from crawler.robots_cache import MAX_AGE as ROBOTS_MAX_AGE
    from crawler.robots_cache import origin_of
    from crawler.spiders.news import NewsSpider

    config = with_stored_examples(config, repository)
    own = scrapy_settings(config.settings, log_level) if log_level is not None else {}
    revisits = {source.name: (repository.articles.revisit_candidates(
        source.name, utcnow() - timedelta(seconds=source.revisit)) if source.revisit else {}) for source in sources}
    validators = repository.validators.load_many(revisits)
    learned = repository.boilerplate.learned_many([source.name for source in sources], LEARNED_MIN_PAGES)
    origins = {origin_of(url) for source in sources for url in source.seed_urls}
    kept = repository.robots.fetched_since(list(origins), utcnow() - ROBOTS_MAX_AGE)
    crawlers, finished = [], []
    for source in sources:
        crawler = runner.create_crawler(NewsSpider)
        # Into this crawler's own settings (a copy of the process's), before crawl() freezes them.
        crawler.settings.setdict(own, priority="cmdline")
        context = CrawlContext(repository, source, tuple(config.rules_for(source)), holder,
                               learned=frozenset(learned[source.name]),
                               robots={o: kept.get(o) for o in map(origin_of, source.seed_urls)})
        crawler.settings.set(CONTEXT_SETTING, context, priority="cmdline")
        if time_limit:
            crawler.settings.set("CLOSESPIDER_TIMEOUT", time_limit, priority="cmdline")
        finished.append(runner.crawl(crawler, source=source, known_urls=repository.articles.known_urls,
                                     max_articles=config.settings.max_articles_per_crawl,
                                     max_links=config.settings.max_links_per_page, revisit=revisits[source.name],
                                     validators=validators[source.name],
                                     verify_every=config.settings.validator_check_every))
        crawlers.append(crawler)
    # consumeErrors: a crawler that failed to start has logged why; runs_of() says it has no run.
    return crawlers, DeferredList(finished, consumeErrors=True)


def runs_of(crawlers: Sequence[Crawler], sources: Sequence[Source], repository: Repository) -> list[RunRecord]:
    """Return the run records of finished `crawlers`, in order; raise the StoreError that stopped one."""
    runs = [_run_of(crawler) for crawler in crawlers]
    for run in runs:
        if run is not None and run.error is not None:
            raise run.error
    run_ids = []
    for source, run in zip(sources, runs, strict=True):
        if run is None or run.run_id is None:
            # Scrapy has logged why (an exception while the crawler started); there is no run to show.
            log.error("%s: the crawl did not start, no run was recorded (see the errors above)", source.name)
        else:
            run_ids.append(run.run_id)
    return repository.runs.get(run_ids)


def _run_of(crawler: Crawler) -> CrawlRun | None:
    from crawler.crawl_run import CrawlRun

    try:
        return crawler.get_extension(CrawlRun)
    except RuntimeError:  # the crawl failed before its extensions were built
        return None


def _report_progress(crawlers: list[Any], sources: Sequence[Source], callback: ProgressCallback) -> None:
    from twisted.internet import reactor, task

    loop = task.LoopingCall(lambda: callback(_progress(crawlers, sources)))
    loop.start(PROGRESS_INTERVAL, now=False)
    def stop() -> None:
        if loop.running:
            loop.stop()

    reactor.addSystemEventTrigger("before", "shutdown", stop)  # type: ignore[arg-type]


def _progress(crawlers: list[Any], sources: Sequence[Source]) -> list[Progress]:
    out = []
    for crawler, source in zip(crawlers, sources, strict=True):
        stats = crawler.stats.get_stats() if crawler.stats else {}
        out.append(Progress(
            source=source.name, pages=stats.get("response_received_count", 0),
            new=stats.get("newsmon/new", 0), matched=stats.get("newsmon/matched", 0),
            duplicates=stats.get("newsmon/duplicate", 0), errors=stats.get("newsmon/errors", 0),
            skipped=stats.get("newsmon/skipped", 0),
        ))
    return out
