"""Run one crawl of one or more sources in this process (Twisted allows one per process)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from crawler.config import Config, Source
from crawler.settings import scrapy_settings
from store.db import open_db
from store.errors import StoreError
from store.repository import Repository, RunRecord, utcnow

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


ProgressCallback = Callable[[list[Progress]], None]


def crawl(config: Config, sources: Sequence[Source], db_url: str, *, holder: str | None = None,
          on_progress: ProgressCallback | None = None, log_level: str = "WARNING") -> list[RunRecord]:
    """Crawl `sources` once into the database at `db_url` and return their run records."""
    from scrapy.crawler import CrawlerProcess

    from crawler.spiders.news import NewsSpider

    engine = open_db(db_url)
    repository = Repository(engine)
    process = CrawlerProcess(scrapy_settings(config.settings, db_url, log_level, holder))
    crawlers = []
    for source in sources:
        crawler = process.create_crawler(NewsSpider)
        revisit = (repository.revisit_candidates(source.name, utcnow() - timedelta(seconds=source.revisit))
                   if source.revisit else {})
        process.crawl(crawler, source=source, rules=config.rules_for(source),
                      known_urls=repository.known_urls, max_articles=config.settings.max_articles_per_crawl,
                      max_links=config.settings.max_links_per_page, revisit=revisit,
                      validators=repository.validators(source.name, revisit),
                      verify_every=config.settings.validator_check_every)
        crawlers.append(crawler)
    if on_progress is not None:
        _report_progress(crawlers, sources, on_progress)
    process.start()
    if on_progress is not None:
        on_progress(_progress(crawlers, sources))
    fatal = [c.stats.get_value("newsmon/fatal") for c in crawlers if c.stats.get_value("newsmon/fatal")]
    if fatal:
        engine.dispose()
        raise StoreError(fatal[0])
    run_ids = [c.stats.get_value("newsmon/run_id") for c in crawlers]
    records = {r.id: r for r in repository.runs(limit=max(50, len(sources) * 2), with_errors=True)}
    engine.dispose()
    return [records[i] for i in run_ids if i in records]


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
        ))
    return out
