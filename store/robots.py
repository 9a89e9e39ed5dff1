"""Robots files: each host's robots.txt as last fetched (crawler/robots_cache.py decides what is
kept and for how long)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from store.database import Database
from store.errors import StoreError
from store.models import RobotsFile
from store.records import utcnow


class RobotsFiles:
    """The robots_files table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def fetched_since(self, origins: Sequence[str], since: datetime) -> dict[str, bytes]:
        """Return origin -> robots.txt body for those of `origins` fetched after `since`, in one
        query a chunk of origins (a batch's hosts at once)."""
        with self.db.read() as conn:
            rows = self.db.chunked_in(conn, lambda chunk: select(RobotsFile.origin, RobotsFile.body).where(
                RobotsFile.origin.in_(chunk), RobotsFile.fetched > since), sorted(set(origins)))
            return {r.origin: bytes(r.body) for r in rows}

    def save(self, origin: str, body: bytes, fetched: datetime | None = None) -> None:
        """Keep `body` as `origin`'s robots.txt, fetched now (or at `fetched`), replacing the last."""
        row = {"origin": origin, "body": body, "fetched": fetched or utcnow()}
        stmt: Any
        if self.db.dialect == "postgresql":
            stmt = postgresql.insert(RobotsFile)
        elif self.db.dialect == "sqlite":
            stmt = sqlite.insert(RobotsFile)
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            raise StoreError(f"unsupported database dialect {self.db.dialect}")
        # Two crawls of one host may save at once: the later write wins, never a conflict.
        stmt = stmt.values(row).on_conflict_do_update(index_elements=["origin"],
                                                      set_={"body": row["body"], "fetched": row["fetched"]})
        with self.db.write() as conn:
            conn.execute(stmt)
