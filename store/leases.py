"""Leases: one crawler per source, across processes and machines, each lease expiring unless renewed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

from sqlalchemy import delete, insert, select, update

from store.database import Database
from store.models import Lease, Run
from store.records import LeaseRecord, Outcome, utcnow


class Leases:
    """The leases table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def acquire(self, source: str, holder: str, ttl: float) -> bool:
        """Take the source's lease if it is free, expired or already ours; return whether we hold it."""
        return source in self.acquire_many([source], holder, ttl)

    def acquire_many(self, sources: Sequence[str], holder: str, ttl: float) -> set[str]:
        """Take each lease of `sources` that is free, expired or already ours, in one transaction
        (a batch of 200 sources: one commit, not 200); return the sources we hold."""
        now = utcnow()
        expires = now + timedelta(seconds=ttl)
        wanted = list(dict.fromkeys(sources))
        held: set[str] = set()
        with self.db.write() as conn:
            # The write transaction is exclusive (BEGIN IMMEDIATE / advisory lock), so the
            # read-then-write below cannot interleave with another process doing the same.
            current = {r.source: r for r in self.db.chunked_in(
                conn, lambda chunk: select(Lease.source, Lease.holder, Lease.expires).where(Lease.source.in_(chunk)),
                wanted)}
            fresh = [s for s in wanted if s not in current]
            if fresh:
                conn.execute(insert(Lease), [{"source": s, "holder": holder, "acquired": now, "heartbeat": now,
                                              "expires": expires} for s in fresh])
            held.update(fresh)
            for source, row in current.items():
                if row.holder != holder and row.expires > now:
                    continue
                values = {"holder": holder, "heartbeat": now, "expires": expires}
                if row.holder != holder:
                    values["acquired"] = now
                    # Its holder died: close the run it left open, so `runs` does not show it running.
                    conn.execute(update(Run).where(Run.source == source, Run.holder == row.holder,
                                                   Run.outcome == Outcome.RUNNING.value)
                                 .values(outcome=Outcome.KILLED.value, finished=now))
                conn.execute(update(Lease).where(Lease.source == source).values(**values))
                held.add(source)
        return held

    def renew(self, sources: Iterable[str], holder: str, ttl: float) -> set[str]:
        """Extend our leases on `sources`; return the ones we still hold."""
        now = utcnow()
        wanted = list(sources)
        with self.db.write() as conn:
            conn.execute(update(Lease).where(Lease.source.in_(wanted), Lease.holder == holder)
                         .values(heartbeat=now, expires=now + timedelta(seconds=ttl)))
            held = conn.execute(select(Lease.source).where(Lease.source.in_(wanted), Lease.holder == holder))
            return set(held.scalars())

    def release(self, source: str, holder: str) -> None:
        """Give up our lease on `source` (someone else's is left alone)."""
        with self.db.write() as conn:
            conn.execute(delete(Lease).where(Lease.source == source, Lease.holder == holder))

    def release_all(self, sources: Sequence[str], holder: str) -> None:
        """Give up our leases on `sources` (others' are left alone)."""
        with self.db.write() as conn:
            for chunk in (list(sources[i:i + 500]) for i in range(0, len(sources), 500)):
                conn.execute(delete(Lease).where(Lease.source.in_(chunk), Lease.holder == holder))

    def all(self) -> dict[str, LeaseRecord]:
        """Return every current lease by source (expired ones included, marked by `expires`)."""
        with self.db.read() as conn:
            rows = conn.execute(select(*Lease.__table__.c)).all()
        return {r.source: LeaseRecord(r.source, r.holder, r.acquired, r.heartbeat, r.expires) for r in rows}
