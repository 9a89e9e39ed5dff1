"""Each source's state at a glance: its last run, its next planned one, who crawls it now, its failures,
and whether it has gone silent (crawled, but no new article for a while).

A fixed number of queries however many sources there are: the newest run, the failure streak and the
newest run that yielded come from one grouped query each (store.runs), the leases and plans from one each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from store.records import Outcome, utcnow
from store.repository import Repository


@dataclass(frozen=True)
class SourceStatus:
    """One source's row of `newsmon status` (the field order is the JSON's key order)."""

    source: str
    last_run: datetime | None
    outcome: Outcome | None
    new: int | None
    matched: int | None
    errors: int | None
    next_run: datetime | None
    running: bool
    holder: str | None
    failures: int
    schedule: str | None
    # When a crawl last stored a new article, and whether it has stopped yielding since: runs go
    # on but nothing new for longer than the source's `silent_after` (a feed gone empty or moved).
    last_new: datetime | None = None
    silent: bool = False


# Three days: a news section publishes daily, and a weekend of quiet is not yet a broken source.
SILENT_AFTER = 3 * 86400


def _silent(last_yield: tuple[datetime, int] | None, now: datetime, after: int) -> bool:
    # Only a source that used to yield, and was crawled since, can have gone silent: one never
    # crawled, or not crawled lately, is another problem (`last_run` says so).
    if last_yield is None:
        return False
    at, runs_since = last_yield
    return runs_since > 0 and (now - at).total_seconds() > after


def source_status(repository: Repository, sources: Sequence[str], now: datetime | None = None,
                  silent_after: Mapping[str, int] | None = None) -> list[SourceStatus]:
    """Return the status of each of `sources`, in that order; `silent_after` gives a source's
    seconds without a new article before it counts as silent (default SILENT_AFTER)."""
    now = now or utcnow()
    latest, failures = repository.runs.latest(sources), repository.runs.failures(sources)
    yields = repository.runs.last_yield(sources)
    leases, plans = repository.leases.all(), repository.schedules.all()
    rows = []
    for name in sources:
        last, lease, plan = latest.get(name), leases.get(name), plans.get(name)
        active = lease is not None and lease.active(now)
        rows.append(SourceStatus(
            source=name, last_run=last.started if last else None, outcome=last.outcome if last else None,
            new=last.new if last else None, matched=last.matched if last else None,
            errors=last.errors if last else None, next_run=plan.next_run if plan else None,
            running=active, holder=lease.holder if lease and active else None,
            failures=failures.get(name, 0), schedule=plan.reason if plan else None,
            last_new=yields[name][0] if name in yields else None,
            silent=_silent(yields.get(name), now, (silent_after or {}).get(name, SILENT_AFTER)),
        ))
    return rows
