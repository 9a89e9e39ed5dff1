"""Lease-guarded crawls: hold each source's lease for the length of its crawl, so one source is never
crawled by two processes at once, whoever started them (a shell, a daemon's child, another machine)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crawler.config import Config, Source
from crawler.run import crawl
from scheduler.leases import LeaseKeeper, process_holder
from store.records import RunRecord
from store.repository import Repository

if TYPE_CHECKING:
    from crawler.run import ProgressCallback


@dataclass(frozen=True)
class CrawlReport:
    """The runs of the sources crawled (in the order asked), and the busy ones skipped with their holder."""

    runs: list[RunRecord]
    skipped: dict[str, str]


def crawl_sources(config: Config, sources: Sequence[Source], repository: Repository, *, wait: bool = True,
                  on_busy: Callable[[str, str], None] | None = None, on_progress: ProgressCallback | None = None,
                  log_level: str = "WARNING", time_limit: float | None = None) -> CrawlReport:
    """Crawl `sources` once in this process, each under its lease; wait for busy ones, or skip them.

    `on_busy(source, holder)` is told about each source another process is crawling; `time_limit`
    (seconds) is each source's own (crawler.deadline). A database failure raises store.errors.StoreError.
    """
    busy: dict[str, str] = {}

    def note_busy(source: str, holder: str) -> None:
        busy[source] = holder
        if on_busy is not None:
            on_busy(source, holder)

    holder = process_holder()
    with LeaseKeeper(repository, [s.name for s in sources], holder, config.settings.lease_ttl, wait=wait,
                     on_busy=note_busy) as leases:
        held = [s for s in sources if s.name in leases.held]
        skipped = {s.name: busy.get(s.name, "?") for s in sources if s.name not in leases.held}
        if not held:
            return CrawlReport([], skipped)
        runs = crawl(config, held, repository, holder=holder, on_progress=on_progress, log_level=log_level,
                     time_limit=time_limit)
    return CrawlReport(runs, skipped)
