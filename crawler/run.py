"""Run a crawl of one or more sources in this process.

OWNS: crawl() (one crawl, then the reactor stops: Twisted's cannot be restarted) and start() (a crawl
on a reactor that runs on: scheduler.child_serve), each a CrawlBatch: the quiet check of the sources
that can have one (crawler.quiet_check), then a crawler of its own for each source it did not settle
(its CrawlContext, its spider's arguments, the answers it replays), progress, and each source's run
record, looked up by id, or the StoreError that stopped the crawl.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from crawler.config import RULES_FILE, Config, ConfigError, Source
from crawler.context import CONTEXT_SETTING, CrawlContext
from crawler.examples import UnresolvedExample, resolve, stored_lookup
from crawler.settings import scrapy_settings
from store.errors import StoreError
from store.records import Outcome, RunRecord, SettledRun, utcnow

if TYPE_CHECKING:
    from scrapy.crawler import Crawler, CrawlerRunner
    from sqlalchemy import Connection
    from twisted.internet.defer import Deferred

    from crawler.crawl_run import CrawlRun
    from crawler.quiet_check import SourceCheck
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
    batch = start(process, config, sources, repository, holder=holder, time_limit=time_limit)
    if on_progress is not None:
        _report_progress(batch, on_progress)
    process.start()
    if on_progress is not None:
        on_progress(batch.progress())
    return batch.runs()


def start(runner: CrawlerRunner, config: Config, sources: Sequence[Source], repository: Repository, *,
          holder: str | None = None, time_limit: float | None = None, log_level: str | None = None) -> CrawlBatch:
    """Start crawling `sources` on `runner`; the batch's `finished` fires when all is over (then its
    runs() reads their runs).

    With `log_level`, each crawler takes `config`'s Scrapy settings itself (a crawl process that
    lives for many crawls was started with an earlier config's): scheduler.child_serve.
    """
    batch = CrawlBatch(runner, with_stored_examples(config, repository), sources, repository, holder=holder,
                       time_limit=time_limit, log_level=log_level)
    batch.start()
    return batch


class CrawlBatch:
    """A batch's crawl as it goes: the quiet check, a crawler for each source it does not settle,
    and when all are over, each source's run."""

    def __init__(self, runner: CrawlerRunner, config: Config, sources: Sequence[Source], repository: Repository, *,
                 holder: str | None, time_limit: float | None, log_level: str | None) -> None:
        from twisted.internet.defer import Deferred

        self.runner = runner
        self.config = config
        self.sources = list(sources)
        self.repository = repository
        self.holder = holder
        self.time_limit = time_limit
        self.own = scrapy_settings(config.settings, log_level) if log_level is not None else {}
        self.crawlers: dict[str, Crawler] = {}
        self.checks: dict[str, SourceCheck] = {}
        self.check_crawler: Crawler | None = None
        # The runs of the sources the quiet check settled (source -> run id), once it is over.
        self.settled: dict[str, int] = {}
        self.error: StoreError | None = None
        self.finished: Deferred[None] = Deferred()
        self._open = 0  # crawls not over, plus one while start() is still starting them
        self._began = time.monotonic()

    def start(self) -> None:
        from crawler.boilerplate import LEARNED_MIN_PAGES
        from crawler.quiet_check import SourceCheck, checkable
        from crawler.robots_cache import MAX_AGE as ROBOTS_MAX_AGE
        from crawler.robots_cache import origin_of

        repository, sources = self.repository, self.sources
        self.revisits = {source.name: (repository.articles.revisit_candidates(
            source.name, utcnow() - timedelta(seconds=source.revisit)) if source.revisit else {}) for source in sources}
        self.validators = repository.validators.load_many(self.revisits)
        self.learned = repository.boilerplate.learned_many([source.name for source in sources], LEARNED_MIN_PAGES)
        origins = {origin_of(url) for source in sources for url in source.seed_urls}
        self.robots = repository.robots.fetched_since(list(origins), utcnow() - ROBOTS_MAX_AGE)
        self._open = 1
        checks = [SourceCheck(s, self.validators[s.name]) for s in sources
                  if checkable(s, self.validators[s.name], self.revisits[s.name])]
        if checks:
            self._check(checks)
        for source in sources:
            if source.name not in self.checks:
                self._crawl(source)
        self._over(None)

    def _check(self, checks: list[SourceCheck]) -> None:
        from crawler.context import CheckContext
        from crawler.quiet_check import QuietCheckSpider

        crawler = self.runner.create_crawler(QuietCheckSpider)
        settings = crawler.settings
        settings.setdict(self.own, priority="cmdline")
        settings.set(CONTEXT_SETTING, CheckContext(self.repository, self.robots), priority="cmdline")
        # Asks only: no pipelines, no run of its own (each source's run is recorded when it is over).
        settings.set("ITEM_PIPELINES", {}, priority="cmdline")
        settings.set("EXTENSIONS", {**settings.getdict("EXTENSIONS"), "crawler.crawl_run.CrawlRun": None},
                     priority="cmdline")
        # Each source's crawler had its own share of requests in flight; this crawler has them all.
        settings.set("CONCURRENT_REQUESTS", settings.getint("CONCURRENT_REQUESTS") * len(checks), priority="cmdline")
        if self.time_limit:
            settings.set("CLOSESPIDER_TIMEOUT", self.time_limit, priority="cmdline")
        self.checks = {check.source.name: check for check in checks}
        self.check_crawler = crawler
        self._open += 1
        self.runner.crawl(crawler, checks=checks, on_settled=self._check_settled,
                          verify_every=self.config.settings.validator_check_every).addBoth(self._checked)

    def _check_settled(self, check: SourceCheck) -> None:
        """A source's check is over: one that is not quiet gets its crawler now (a quiet one's run is
        written with the others' when the check ends)."""
        stopping = self.check_crawler is not None and not self.check_crawler.crawling
        if not check.quiet and not stopping and self._time_left() != 0:
            # Handed over: the crawler's replay empties it as it goes (crawler.replay).
            replay, check.responses = check.responses, {}
            self._crawl(check.source, replay=replay)

    def _checked(self, result: object) -> None:
        """The quiet check is over: record the runs of the sources it settled, and of those it left
        without a crawler (stopped, out of time); crawl the rest if it could not run at all."""
        from twisted.python.failure import Failure

        if isinstance(result, Failure):  # the check crawler failed to start: Scrapy logged why
            for name, check in self.checks.items():
                if not check.settled and name not in self.crawlers:
                    self._crawl(check.source)
        stats = self.check_crawler.stats if self.check_crawler is not None else None
        reason = stats.get_value("finish_reason") if stats is not None else None
        left = Outcome.TIMED_OUT if reason == "closespider_timeout" or self._time_left() == 0 else Outcome.STOPPED
        runs, answers = [], {}
        for name, check in self.checks.items():
            if name in self.crawlers:
                continue
            if check.quiet:
                answers[name] = check.answers
            runs.append(SettledRun(name, check.started, check.finished or utcnow(),
                                   Outcome.OK if check.quiet else left, check.pages))

        def save_answers(conn: Connection) -> None:
            for name, source_answers in answers.items():
                self.repository.validators.save_in(conn, name, source_answers)

        try:
            ids = self.repository.runs.add_settled(runs, self.holder, also=save_answers)
            self.settled = {run.source: run_id for run, run_id in zip(runs, ids, strict=True)}
        except StoreError as exc:
            log.error("could not record the runs of %d checked source(s): %s", len(runs), exc)
            self.error = exc
        self._over(None)

    def _time_left(self) -> float | None:
        """Seconds left of each source's time limit for a crawler started now (None: no limit)."""
        if not self.time_limit:
            return None
        return max(0.0, self.time_limit - (time.monotonic() - self._began))

    def _crawl(self, source: Source, replay: dict[str, Any] | None = None) -> None:
        from crawler.robots_cache import origin_of
        from crawler.spiders.news import NewsSpider

        crawler = self.runner.create_crawler(NewsSpider)
        # Into this crawler's own settings (a copy of the process's), before crawl() freezes them.
        crawler.settings.setdict(self.own, priority="cmdline")
        robots = {o: self.robots.get(o) for o in map(origin_of, source.seed_urls)}
        if replay is not None:
            # After the quiet check, which saved any robots.txt it fetched: those not fresh before
            # are read from the store again (else the site is asked twice).
            robots = {o: body for o, body in robots.items() if body is not None}
        context = CrawlContext(self.repository, source, tuple(self.config.rules_for(source)), self.holder,
                               learned=frozenset(self.learned[source.name]), robots=robots, replay=replay)
        crawler.settings.set(CONTEXT_SETTING, context, priority="cmdline")
        left = self._time_left()
        if left is not None:
            # Started after the quiet check: what is left of the limit, never 0 (which is no limit).
            crawler.settings.set("CLOSESPIDER_TIMEOUT", max(left, 1.0), priority="cmdline")
        settings = self.config.settings
        self.crawlers[source.name] = crawler
        self._open += 1
        self.runner.crawl(crawler, source=source, known_urls=self.repository.articles.known_urls,
                          max_articles=settings.max_articles_per_crawl, max_links=settings.max_links_per_page,
                          revisit=self.revisits[source.name], validators=self.validators[source.name],
                          verify_every=settings.validator_check_every).addBoth(self._over)

    def _over(self, _: object) -> None:
        # Returns None: a crawler that failed to start has logged why; runs() says it has no run.
        self._open -= 1
        if self._open == 0:
            self.finished.callback(None)

    def runs(self) -> list[RunRecord]:
        """Return each source's run record, in order; raise the StoreError that stopped the crawl."""
        runs = {name: _run_of(crawler) for name, crawler in self.crawlers.items()}
        for run in runs.values():
            if run is not None and run.error is not None:
                raise run.error
        if self.error is not None:
            raise self.error
        run_ids = []
        for source in self.sources:
            run = runs.get(source.name)
            run_id = self.settled.get(source.name) if run is None else run.run_id
            if run_id is None:
                # Scrapy has logged why (an exception while the crawler started); there is no run to show.
                log.error("%s: the crawl did not start, no run was recorded (see the errors above)", source.name)
            else:
                run_ids.append(run_id)
        return self.repository.runs.get(run_ids)

    def progress(self) -> list[Progress]:
        """Live counters of each source: its crawler's, or its quiet check's."""
        out = []
        for source in self.sources:
            crawler = self.crawlers.get(source.name)
            if crawler is None:
                check = self.checks.get(source.name)
                out.append(Progress(source.name, pages=check.pages if check else 0, new=0, matched=0, duplicates=0,
                                    errors=0))
                continue
            stats = crawler.stats.get_stats() if crawler.stats else {}
            out.append(Progress(
                source=source.name, pages=stats.get("response_received_count", 0),
                new=stats.get("newsmon/new", 0), matched=stats.get("newsmon/matched", 0),
                duplicates=stats.get("newsmon/duplicate", 0), errors=stats.get("newsmon/errors", 0),
                skipped=stats.get("newsmon/skipped", 0),
            ))
        return out


def _run_of(crawler: Crawler) -> CrawlRun | None:
    from crawler.crawl_run import CrawlRun

    try:
        return crawler.get_extension(CrawlRun)
    except RuntimeError:  # the crawl failed before its extensions were built
        return None


def _report_progress(batch: CrawlBatch, callback: ProgressCallback) -> None:
    from twisted.internet import reactor, task

    loop = task.LoopingCall(lambda: callback(batch.progress()))
    loop.start(PROGRESS_INTERVAL, now=False)
    def stop() -> None:
        if loop.running:
            loop.stop()

    reactor.addSystemEventTrigger("before", "shutdown", stop)  # type: ignore[arg-type]
