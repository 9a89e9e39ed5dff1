"""Schedules: what each daemon last planned for a source, for `newsmon status`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

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
        values = {"daemon": daemon, "next_run": next_run, "interval": interval, "reason": reason,
                  "failures": failures, "updated": utcnow()}
        with self.db.write() as conn:
            done = conn.execute(update(Schedule).where(Schedule.source == source).values(**values))
            if not done.rowcount:
                conn.execute(insert(Schedule).values(source=source, **values))

    def all(self) -> dict[str, ScheduleRecord]:
        """Return each source's schedule as a daemon last recorded it."""
        with self.db.read() as conn:
            rows = conn.execute(select(*Schedule.__table__.c)).all()
        return {r.source: ScheduleRecord(r.source, r.daemon, r.next_run, r.interval, r.reason, r.failures,
                                         r.updated) for r in rows}
