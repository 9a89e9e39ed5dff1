"""Names: which source and rule names the database has seen, for refusing a name that is nowhere.

A `--source` or `--rule` given to a reader (query, search, runs) that is neither in the seeds nor
here is a typo: it would list nothing, which looks like "nothing happened". A name gone from the
seeds but still here (a source removed, a rule renamed) still finds what it stored.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from store.database import Database
from store.models import Article, Match, Run


class Names:
    """Source and rule names as stored (each found through its index: runs.source, articles.source, matches.rule)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def sources(self, names: Iterable[str]) -> set[str]:
        """Return those of `names` that some run or article of the database has as its source."""
        found = set()
        with self.db.read() as conn:
            for name in set(names):
                if (conn.execute(select(Run.id).where(Run.source == name).limit(1)).first() is not None
                        or conn.execute(select(Article.id).where(Article.source == name).limit(1)).first()
                        is not None):
                    found.add(name)
        return found

    def rules(self, names: Iterable[str]) -> set[str]:
        """Return those of `names` that some stored match has as its rule."""
        found = set()
        with self.db.read() as conn:
            for name in set(names):
                if conn.execute(select(Match.rule).where(Match.rule == name).limit(1)).first() is not None:
                    found.add(name)
        return found
