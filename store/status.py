"""Each source's state at a glance: its last run, its next planned one, who crawls it now, its failures.

A fixed number of queries however many sources there are: the newest run and the failure streak of
every source come from one grouped query each (store.runs), the leases and plans from one each.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def source_status(repository: Repository, sources: Sequence[str], now: datetime | None = None) -> list[SourceStatus]:
    """Return the status of each of `sources`, in that order."""
    now = now or utcnow()
    latest, failures = repository.runs.latest(sources), repository.runs.failures(sources)
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
        ))
    return rows
