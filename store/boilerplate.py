"""Learned boilerplate: per source, how many articles each paragraph (by hash) was seen on, so
one repeated across pages can be dropped (crawler/boilerplate.py sets the threshold)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Update, func, insert, select, update

from store.database import Database
from store.models import BoilerplateBlock
from store.records import utcnow


class Boilerplate:
    """The boilerplate_blocks table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def learned(self, source: str, min_pages: int) -> dict[str, int]:
        """Return block hash -> pages for the source's paragraphs seen on at least min_pages articles."""
        with self.db.read() as conn:
            rows = conn.execute(select(BoilerplateBlock.block_hash, BoilerplateBlock.pages).where(
                BoilerplateBlock.source == source, BoilerplateBlock.pages >= min_pages))
            return {r.block_hash: r.pages for r in rows}

    def learned_many(self, sources: Sequence[str], min_pages: int) -> dict[str, dict[str, int]]:
        """learned() for each of `sources`, in one query a chunk of sources: a batch's quiet sources
        each paid a query of their own when their crawl opened."""
        out: dict[str, dict[str, int]] = {name: {} for name in sources}
        with self.db.read() as conn:
            for r in self.db.chunked_in(conn, lambda chunk: select(
                    BoilerplateBlock.source, BoilerplateBlock.block_hash, BoilerplateBlock.pages).where(
                    BoilerplateBlock.source.in_(chunk), BoilerplateBlock.pages >= min_pages), list(sources)):
                out[r.source][r.block_hash] = r.pages
        return out

    def first_seen(self, source: str, hashes: Sequence[str]) -> datetime | None:
        """Return when the earliest of these blocks was first seen on the source (None if none is known)."""
        with self.db.read() as conn:
            return min((r[0] for r in self.db.chunked_in(conn, lambda chunk: select(
                func.min(BoilerplateBlock.first_seen)).where(BoilerplateBlock.source == source,
                                                              BoilerplateBlock.block_hash.in_(chunk)), list(hashes))
                        if r[0] is not None), default=None)

    def count(self, source: str, pages: Sequence[dict[str, str]]) -> dict[str, int]:
        """Count each page (hash -> sample text per page) once for each of its blocks; return the new
        counts of every block named."""
        added: dict[str, int] = {}
        samples: dict[str, str] = {}
        for blocks in pages:
            for h, sample in blocks.items():
                added[h] = added.get(h, 0) + 1
                samples.setdefault(h, sample)
        if not added:
            return {}
        now = utcnow()
        with self.db.write() as conn:
            existing: dict[str, int] = {r.block_hash: r.pages for r in self.db.chunked_in(
                conn, lambda chunk: select(BoilerplateBlock.block_hash, BoilerplateBlock.pages).where(
                    BoilerplateBlock.source == source, BoilerplateBlock.block_hash.in_(chunk)), list(added))}
            fresh = [{"source": source, "block_hash": h, "pages": n, "sample": samples[h][:300], "first_seen": now,
                      "last_seen": now} for h, n in added.items() if h not in existing]
            if fresh:
                conn.execute(insert(BoilerplateBlock), fresh)
            for n in sorted({added[h] for h in existing}):
                # One UPDATE per distinct increment: a batch mostly adds 1 to every block.
                same = [h for h in existing if added[h] == n]
                add_n = update(BoilerplateBlock).values(pages=BoilerplateBlock.pages + n, last_seen=now)
                # list() runs every chunk's UPDATE (they return no rows).
                list(self.db.chunked_in(conn, partial(_of_blocks, add_n, source), same))
        return {h: existing.get(h, 0) + n for h, n in added.items()}

    def blocks(self, source: str | None = None, min_pages: int = 1) -> list[dict[str, Any]]:
        """List learned blocks (most widespread first) for `newsmon boilerplate`."""
        stmt = select(*BoilerplateBlock.__table__.c).where(BoilerplateBlock.pages >= min_pages)
        if source is not None:
            stmt = stmt.where(BoilerplateBlock.source == source)
        with self.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt.order_by(BoilerplateBlock.pages.desc()))]


def _of_blocks(stmt: Update, source: str, hashes: list[str]) -> Update:
    return stmt.where(BoilerplateBlock.source == source, BoilerplateBlock.block_hash.in_(hashes))
