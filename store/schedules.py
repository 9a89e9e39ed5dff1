"""Schedules: what each daemon last planned for a source, for `newsmon status`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update

from store.database import Database
from store.models import Schedule
from store.records import ScheduleRecord, utcnow


class Schedules:
    """The schedules table: one row per source, overwritten by the daemon that plans it."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, source: str, daemon: str, next_run: datetime | None, interval: int | None,
             reason: str, failures: int) -> None:
        """Record what a daemon plans for a source, for `newsmon status`."""
        self.save_many(daemon, [(source, next_run, interval, reason, failures)])

    def save_many(self, daemon: str, plans: Sequence[tuple[str, datetime | None, int | None, str, int]]) -> None:
        """Record what a daemon plans for sources, (source, next_run, interval, reason, failures) each,
        in one transaction (a batch of 200 sources: one commit, not 200)."""
        if not plans:
            return
        now = utcnow()
        rows = {source: {"daemon": daemon, "next_run": next_run, "interval": interval, "reason": reason,
                         "failures": failures, "updated": now}
                for source, next_run, interval, reason, failures in plans}
        with self.db.write() as conn:
            known = {r[0] for r in self.db.chunked_in(
                conn, lambda chunk: select(Schedule.source).where(Schedule.source.in_(chunk)), list(rows))}
            if known:
                conn.execute(update(Schedule).where(Schedule.source == bindparam("key")),
                             [{"key": source, **values} for source, values in rows.items() if source in known])
            fresh = [{"source": source, **values} for source, values in rows.items() if source not in known]
            if fresh:
                conn.execute(insert(Schedule), fresh)

    def all(self) -> dict[str, ScheduleRecord]:
        """Return each source's schedule as a daemon last recorded it."""
        with self.db.read() as conn:
            rows = conn.execute(select(*Schedule.__table__.c)).all()
        return {r.source: ScheduleRecord(r.source, r.daemon, r.next_run, r.interval, r.reason, r.failures,
                                         r.updated) for r in rows}
