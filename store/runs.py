"""Runs: one row per crawl of a source, its outcome and counters, the URLs that failed in it, and
the pages it skipped (fetched, or found past the article limit, and not stored) with why.

Skips are routine, errors are not: a source whose feed links its section pages skips them on every
crawl, forever. So the run keeps the count of its skips (`skipped`) for good, and the skips
themselves (run_skips) only up to SKIPS_PER_RUN per run and for each source's SKIP_RUNS newest
runs (pruned on one start in PRUNE_EVERY, so up to PRUNE_EVERY more between): the rows stay under
sources x (SKIP_RUNS + PRUNE_EVERY) x SKIPS_PER_RUN (100 sources: 720,000 at worst, a few thousand
in practice), however long newsmon runs. Past SKIPS_PER_RUN a run's skips are nearly
always one reason in bulk (the article limit on a first crawl of a big sitemap, a source whose
allow pattern matches its listings), which the first rows show.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, String, delete, func, insert, literal, literal_column, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased

from store.database import Database
from store.errors import StoreError
from store.models import Run, RunError, RunSkip
from store.records import FAILED_OUTCOMES, Outcome, RunRecord, SettledRun, utcnow

# In a fixed order: a set's order would vary between processes, and with it the SQL's cache key.
_FAILED = sorted(FAILED_OUTCOMES)
# Skip rows kept per run, and the runs per source whose skip rows are kept (`newsmon runs` lists 20).
SKIPS_PER_RUN = 200
SKIP_RUNS = 20
# Runs kept: a source's newest RUNS_KEPT, and any younger than RUNS_KEPT_DAYS; older quiet ones go
# (docs/scale.md: a row per check is 158 MB a day at 20,000 sources, and `status` reads them all).
# Runs that found something (articles name them) and a source's newest ok run are always kept: the
# failure streak and the last new article are read from them. Pruned on one run start in
# PRUNE_EVERY, for the source starting, so the cost is spread thin.
RUNS_KEPT = 100
RUNS_KEPT_DAYS = 14
PRUNE_EVERY = 16
# A run's failed or skipped pages: (url, reason), in the order they were recorded.
Details = tuple[tuple[str, str], ...]


class Runs:
    """The runs and run_errors tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, source: str, holder: str | None = None) -> int:
        """Record the start of a crawl of `source` and return the run id; on one start in
        PRUNE_EVERY, drop the skip rows of the source's runs older than its SKIP_RUNS newest, and its
        old runs (_prune_runs)."""
        with self.db.write() as conn:
            run_id = int(conn.execute(
                insert(Run).values(source=source, started=utcnow(), outcome=Outcome.RUNNING.value, pages=0, new=0,
                                   matched=0, duplicates=0, errors=0, skipped=0, holder=holder).returning(Run.id)
            ).scalar_one())
            if run_id % PRUNE_EVERY == 0:  # each a query or two: a quiet check's start is one insert
                self._prune_skips(conn, source)
                self._prune_runs(conn, source)
            return run_id

    def _prune_runs(self, conn: Connection, source: str) -> int:
        """Delete the source's runs past RUNS_KEPT and RUNS_KEPT_DAYS that stored nothing, except its
        newest ok run; return how many."""
        oldest_kept = conn.execute(select(Run.id).where(Run.source == source).order_by(Run.id.desc())
                                   .offset(RUNS_KEPT - 1).limit(1)).scalar()
        if oldest_kept is None:
            return 0
        newest_ok = conn.execute(select(func.max(Run.id)).where(
            Run.source == source, Run.outcome == Outcome.OK.value)).scalar() or 0
        old = [r[0] for r in conn.execute(select(Run.id).where(
            Run.source == source, Run.id < oldest_kept, Run.id != newest_ok,
            Run.started < utcnow() - timedelta(days=RUNS_KEPT_DAYS), Run.new == 0, Run.duplicates == 0))]
        for chunk in (old[i:i + 500] for i in range(0, len(old), 500)):
            # Their run_errors and run_skips go with them (ON DELETE CASCADE, enforced on SQLite too).
            conn.execute(delete(Run).where(Run.id.in_(chunk)))
        return len(old)

    def _prune_skips(self, conn: Connection, source: str) -> None:
        oldest_kept = conn.execute(select(Run.id).where(Run.source == source).order_by(Run.id.desc())
                                   .offset(SKIP_RUNS - 1).limit(1)).scalar()
        if oldest_kept is None:
            return
        older = select(Run.id).where(Run.source == source, Run.id < oldest_kept)
        conn.execute(delete(RunSkip).where(RunSkip.run_id < oldest_kept, RunSkip.run_id.in_(older)))

    def finish(self, run_id: int, outcome: Outcome, pages: int,
               also: Callable[[Connection], object] | None = None) -> None:
        """Close a run with its outcome and the number of pages it fetched; `also(conn)` writes what
        goes with it in the same transaction (a quiet check's validators: one commit, not two)."""
        with self.db.write() as conn:
            if also is not None:
                also(conn)
            conn.execute(update(Run).where(Run.id == run_id)
                         .values(finished=utcnow(), outcome=Outcome(outcome).value, pages=pages))

    def add_settled(self, runs: Sequence[SettledRun], holder: str | None = None,
                    also: Callable[[Connection], object] | None = None) -> list[int]:
        """Record runs already over (a batch's quiet checks: crawler.quiet_check), in one transaction
        with what `also(conn)` writes (their validators); return their ids, in order."""
        if not runs:
            return []
        with self.db.write() as conn:
            if also is not None:
                also(conn)
            ids = []
            for run in runs:
                # One insert each, not one for all: ids come back in order on every dialect.
                run_id = int(conn.execute(insert(Run).values(
                    source=run.source, started=run.started, finished=run.finished, outcome=Outcome(run.outcome).value,
                    pages=run.pages, new=0, matched=0, duplicates=0, errors=0, skipped=0, holder=holder,
                ).returning(Run.id)).scalar_one())
                if run_id % PRUNE_EVERY == 0:  # as start() does
                    self._prune_skips(conn, run.source)
                    self._prune_runs(conn, run.source)
                ids.append(run_id)
            return ids

    def settle(self, holder: str, outcome: Outcome, only_open: bool = True, after: int = 0) -> int:
        """Set the outcome of the runs a process ran (only those it left open, by default), those with
        an id above `after` (a process that crawls batch after batch: its current batch's)."""
        stmt = update(Run).where(Run.holder == holder, Run.id > after)
        if only_open:
            stmt = stmt.where(Run.outcome == Outcome.RUNNING.value)
        with self.db.write() as conn:
            result = conn.execute(stmt.values(outcome=Outcome(outcome).value,
                                              finished=func.coalesce(Run.finished, utcnow())))
            return int(result.rowcount or 0)

    def of_holder(self, holder: str, after: int = 0) -> list[RunRecord]:
        """The runs a process ran (host:pid) with an id above `after`, oldest first."""
        with self.db.read() as conn:
            return [_record(r) for r in conn.execute(select(*Run.__table__.c)
                                                     .where(Run.holder == holder, Run.id > after).order_by(Run.id))]

    def last_id(self) -> int:
        """The newest run's id (0 when there is none): runs started later have higher ids."""
        with self.db.read() as conn:
            return int(conn.execute(select(func.max(Run.id))).scalar() or 0)

    def add_error(self, run_id: int, url: str, reason: str) -> None:
        """Record that `url` failed during a run, and why."""
        with self.db.write() as conn:
            conn.execute(insert(RunError).values(run_id=run_id, url=url, reason=reason[:2000], at=utcnow()))
            conn.execute(update(Run).where(Run.id == run_id).values(errors=Run.errors + 1))

    def add_skips(self, run_id: int, skips: Sequence[tuple[str, str]]) -> None:
        """Record pages (url, reason) a run did not store; all are counted, SKIPS_PER_RUN are kept."""
        if not skips:
            return
        with self.db.write() as conn:
            kept = conn.execute(select(func.count()).select_from(RunSkip).where(RunSkip.run_id == run_id)).scalar_one()
            room = max(0, SKIPS_PER_RUN - int(kept))
            if room:
                now = utcnow()
                conn.execute(insert(RunSkip), [{"run_id": run_id, "url": url, "reason": reason[:2000], "at": now}
                                               for url, reason in skips[:room]])
            conn.execute(update(Run).where(Run.id == run_id).values(skipped=Run.skipped + len(skips)))

    def recent(self, source: str | None = None, limit: int = 20, with_errors: bool = False,
               with_skips: bool = False) -> list[RunRecord]:
        """List runs, newest first."""
        stmt = select(*Run.__table__.c).order_by(Run.id.desc()).limit(limit)
        if source is not None:
            stmt = stmt.where(Run.source == source)
        with self.db.read() as conn:
            rows = conn.execute(stmt).all()
            ids = [r.id for r in rows]
            errors = self._details(conn, RunError, ids) if with_errors else {}
            skips = self._details(conn, RunSkip, ids) if with_skips else {}
        return [_record(r, errors.get(r.id, ()), skips.get(r.id, ())) for r in rows]

    def get(self, ids: Sequence[int], with_errors: bool = True, with_skips: bool = True) -> list[RunRecord]:
        """Return exactly the runs `ids`, in that order; a missing one is a StoreError."""
        wanted = list(dict.fromkeys(ids))
        with self.db.read() as conn:
            rows = {r.id: r for r in self.db.chunked_in(
                conn, lambda chunk: select(*Run.__table__.c).where(Run.id.in_(chunk)), wanted)}
            errors = self._details(conn, RunError, wanted) if with_errors else {}
            skips = self._details(conn, RunSkip, wanted) if with_skips else {}
        missing = [i for i in wanted if i not in rows]
        if missing:
            raise StoreError(f"no run with id {missing[0]} in the database")
        return [_record(rows[i], errors.get(i, ()), skips.get(i, ())) for i in ids]

    def latest(self, sources: Iterable[str]) -> dict[str, RunRecord]:
        """Return each source's newest run (sources never crawled are left out)."""
        wanted = self._wanted(sources)
        newest = aliased(Run)
        ids = select(select(func.max(newest.id)).where(newest.source == wanted.c.value).scalar_subquery()
                     ).select_from(wanted)
        with self._read_each() as conn:
            return {r.source: _record(r) for r in conn.execute(select(*Run.__table__.c).where(Run.id.in_(ids)))}

    def failures(self, sources: Iterable[str]) -> dict[str, int]:
        """Count, per source, its latest runs that failed, timed out or were killed, back to an ok one."""
        names = list(dict.fromkeys(sources))
        wanted = self._wanted(names)
        ok, failed = aliased(Run), aliased(Run)
        # Stopped and running runs neither count nor break the streak: only an ok run does.
        last_ok = select(func.max(ok.id)).where(ok.source == wanted.c.value, ok.outcome == Outcome.OK.value
                                                ).correlate(wanted)
        streak = select(func.count()).select_from(failed).where(
            failed.source == wanted.c.value, failed.outcome.in_(_FAILED),
            failed.id > func.coalesce(last_ok.scalar_subquery(), 0))
        counts = dict.fromkeys(names, 0)
        with self._read_each() as conn:
            counts.update((r[0], int(r[1])) for r in conn.execute(
                select(wanted.c.value, streak.scalar_subquery()).select_from(wanted)))
        return counts

    def last_yield(self, sources: Iterable[str]) -> dict[str, tuple[datetime, int]]:
        """Each source's newest run that stored a new article: when it started, and how many runs
        started after it (sources that never yielded are left out)."""
        wanted = self._wanted(sources)
        yielded, later = aliased(Run), aliased(Run)
        # `new > 0` as written in ix_runs_source_yielded's WHERE (a bound 0 would not match it).
        last = select(wanted.c.value.label("source"), select(func.max(yielded.id)).where(
            yielded.source == wanted.c.value, yielded.new > literal_column("0")).correlate(wanted)
            .scalar_subquery().label("id")).select_from(wanted).subquery()
        # A source's runs run one at a time (its lease), so its later runs are those with higher ids.
        since = select(func.count()).select_from(later).where(later.source == last.c.source, later.id > last.c.id)
        with self._read_each() as conn:
            rows = conn.execute(select(last.c.source, Run.started, since.scalar_subquery())
                                .join(Run, Run.id == last.c.id))
            return {r[0]: (r[1], int(r[2])) for r in rows}

    @contextmanager
    def _read_each(self) -> Iterator[Connection]:
        with self.db.read() as conn:
            if self.db.dialect == "postgresql":
                # Thousands of index probes cost enough in the planner's units to be compiled (JIT),
                # which costs more than it saves: 185 ms to compile last_yield for 20,000 sources;
                # their status took 2.1 s with it, 1.8 s without.
                conn.execute(text("SET LOCAL jit = off"))
            yield conn

    def _wanted(self, sources: Iterable[str]) -> Any:
        """The sources as a column of their own, bound as one value, for the queries above to look
        each up by itself: a source's runs are found from the end of its range in ix_runs_source_id
        or ix_runs_source_yielded, a few rows each, where grouping `source IN (...)` read all its runs."""
        names = list(dict.fromkeys(sources))
        if self.db.dialect == "postgresql":
            return func.unnest(literal(names, postgresql.ARRAY(String))).table_valued("value").render_derived("wanted")
        return func.json_each(json.dumps(names)).table_valued("value").alias("wanted")

    def consecutive_failures(self, source: str) -> int:
        """Count the source's latest runs that failed, timed out or were killed, back to an ok one."""
        return self.failures([source])[source]

    def _details(self, conn: Connection, table: type[RunError] | type[RunSkip],
                 ids: list[int]) -> dict[int, Details]:
        out: dict[int, list[tuple[str, str]]] = {}
        for e in self.db.chunked_in(conn, lambda chunk: select(table.run_id, table.url, table.reason)
                                    .where(table.run_id.in_(chunk)).order_by(table.id), ids):
            out.setdefault(e.run_id, []).append((e.url, e.reason))
        return {k: tuple(v) for k, v in out.items()}


def _record(r: Any, errors: Details = (), skips: Details = ()) -> RunRecord:
    return RunRecord(r.id, r.source, r.started, r.finished, Outcome(r.outcome), r.pages, r.new, r.matched,
                     r.duplicates, r.errors, errors, r.holder, r.skipped, skips)
