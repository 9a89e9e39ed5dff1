"""Consumers: each reader of `query --new` and the id of the last article it was shown."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

from store.database import Database
from store.models import Consumer
from store.records import utcnow


class Consumers:
    """The consumers table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def cursor(self, name: str) -> int:
        """Return the id of the last article this consumer was shown (0 if never)."""
        with self.db.read() as conn:
            value = conn.execute(select(Consumer.last_article_id).where(Consumer.name == name)).scalar()
        return int(value or 0)

    def moved(self, name: str) -> datetime | None:
        """Return when this consumer's cursor last moved (None if it never did): `--new` found nothing since."""
        with self.db.read() as conn:
            return conn.execute(select(Consumer.updated).where(Consumer.name == name)).scalar()

    def advance(self, name: str, last_article_id: int) -> None:
        """Move a consumer's `--new` cursor forward (never back)."""
        with self.db.write() as conn:
            current = conn.execute(select(Consumer.last_article_id).where(Consumer.name == name)).scalar()
            if current is None:
                conn.execute(insert(Consumer).values(name=name, last_article_id=last_article_id,
                                                     updated=utcnow()))
            elif last_article_id > current:
                conn.execute(update(Consumer).where(Consumer.name == name)
                             .values(last_article_id=last_article_id, updated=utcnow()))
