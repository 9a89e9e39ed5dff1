"""Runs: one row per crawl of a source, its outcome and counters, and the URLs that failed in it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from store.database import Database
from store.errors import StoreError
from store.models import Run, RunError
from store.records import FAILED_OUTCOMES, Outcome, RunRecord, utcnow

# In a fixed order: a set's order would vary between processes, and with it the SQL's cache key.
_FAILED = sorted(FAILED_OUTCOMES)


class Runs:
    """The runs and run_errors tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, source: str, holder: str | None = None) -> int:
        """Record the start of a crawl of `source` and return the run id."""
        with self.db.write() as conn:
            return int(conn.execute(
                insert(Run).values(source=source, started=utcnow(), outcome=Outcome.RUNNING.value, pages=0, new=0,
                                   matched=0, duplicates=0, errors=0, holder=holder).returning(Run.id)
            ).scalar_one())

    def finish(self, run_id: int, outcome: Outcome, pages: int) -> None:
        """Close a run with its outcome and the number of pages it fetched."""
        with self.db.write() as conn:
            conn.execute(update(Run).where(Run.id == run_id)
                         .values(finished=utcnow(), outcome=Outcome(outcome).value, pages=pages))

    def settle(self, holder: str, outcome: Outcome, only_open: bool = True) -> int:
        """Set the outcome of the runs a process ran (only those it left open, by default)."""
        stmt = update(Run).where(Run.holder == holder)
        if only_open:
            stmt = stmt.where(Run.outcome == Outcome.RUNNING.value)
        with self.db.write() as conn:
            result = conn.execute(stmt.values(outcome=Outcome(outcome).value,
                                              finished=func.coalesce(Run.finished, utcnow())))
            return int(result.rowcount or 0)

    def add_error(self, run_id: int, url: str, reason: str) -> None:
        """Record that `url` failed during a run, and why."""
        with self.db.write() as conn:
            conn.execute(insert(RunError).values(run_id=run_id, url=url, reason=reason[:2000], at=utcnow()))
            conn.execute(update(Run).where(Run.id == run_id).values(errors=Run.errors + 1))

    def recent(self, source: str | None = None, limit: int = 20, with_errors: bool = False) -> list[RunRecord]:
        """List runs, newest first."""
        stmt = select(*Run.__table__.c).order_by(Run.id.desc()).limit(limit)
        if source is not None:
            stmt = stmt.where(Run.source == source)
        with self.db.read() as conn:
            rows = conn.execute(stmt).all()
            errors = self._errors(conn, [r.id for r in rows]) if with_errors else {}
        return [_record(r, errors.get(r.id, ())) for r in rows]

    def get(self, ids: Sequence[int], with_errors: bool = True) -> list[RunRecord]:
        """Return exactly the runs `ids`, in that order; a missing one is a StoreError."""
        wanted = list(dict.fromkeys(ids))
        with self.db.read() as conn:
            rows = {r.id: r for r in self.db.chunked_in(
                conn, lambda chunk: select(*Run.__table__.c).where(Run.id.in_(chunk)), wanted)}
            errors = self._errors(conn, wanted) if with_errors else {}
        missing = [i for i in wanted if i not in rows]
        if missing:
            raise StoreError(f"no run with id {missing[0]} in the database")
        return [_record(rows[i], errors.get(i, ())) for i in ids]

    def latest(self, sources: Iterable[str]) -> dict[str, RunRecord]:
        """Return each source's newest run (sources never crawled are left out)."""

        def newest(chunk: list[str]) -> Any:
            ids = select(func.max(Run.id).label("id")).where(Run.source.in_(chunk)).group_by(Run.source).subquery()
            return select(*Run.__table__.c).join(ids, ids.c.id == Run.id)

        with self.db.read() as conn:
            return {r.source: _record(r, ()) for r in self.db.chunked_in(conn, newest, list(dict.fromkeys(sources)))}

    def failures(self, sources: Iterable[str]) -> dict[str, int]:
        """Count, per source, its latest runs that failed, timed out or were killed, back to an ok one."""
        wanted = list(dict.fromkeys(sources))

        def failed_since_ok(chunk: list[str]) -> Any:
            # Stopped and running runs neither count nor break the streak: only an ok run does.
            last_ok = (select(Run.source, func.max(Run.id).label("ok_id"))
                       .where(Run.source.in_(chunk), Run.outcome == Outcome.OK.value)
                       .group_by(Run.source).subquery())
            return (select(Run.source, func.count()).select_from(Run)
                    .outerjoin(last_ok, last_ok.c.source == Run.source)
                    .where(Run.source.in_(chunk), Run.outcome.in_(_FAILED),
                           Run.id > func.coalesce(last_ok.c.ok_id, 0))
                    .group_by(Run.source))

        counts = dict.fromkeys(wanted, 0)
        with self.db.read() as conn:
            counts.update((r[0], int(r[1])) for r in self.db.chunked_in(conn, failed_since_ok, wanted))
        return counts

    def consecutive_failures(self, source: str) -> int:
        """Count the source's latest runs that failed, timed out or were killed, back to an ok one."""
        return self.failures([source])[source]

    def _errors(self, conn: Connection, ids: list[int]) -> dict[int, tuple[tuple[str, str], ...]]:
        out: dict[int, list[tuple[str, str]]] = {}
        for e in self.db.chunked_in(conn, lambda chunk: select(*RunError.__table__.c)
                                    .where(RunError.run_id.in_(chunk)).order_by(RunError.id), ids):
            out.setdefault(e.run_id, []).append((e.url, e.reason))
        return {k: tuple(v) for k, v in out.items()}


def _record(r: Any, errors: tuple[tuple[str, str], ...]) -> RunRecord:
    return RunRecord(r.id, r.source, r.started, r.finished, Outcome(r.outcome), r.pages, r.new, r.matched,
                     r.duplicates, r.errors, errors, r.holder)
