"""Rules that look back: stored articles' matches replaced by what the current rules say.

`newsmon rules apply` (and the daemon, when it reloads changed rules) reads stored articles a page
at a time (`texts`) and hands back each one's matches under the current rules (`apply`). An article
that gains a rule it did not match before is listed again (Article.listed), so `query --new`
consumers are shown it once more; one that no longer matches any rule stops being listed as matched.
Runs' `matched` counters move with their stories, as when boilerplate is cleaned out later.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text, update
from sqlalchemy.orm import aliased

from store.articles import LISTED_LOCK, ArticleText
from store.database import Database
from store.models import Article, Match, Run


@dataclass(frozen=True)
class MatchUpdate:
    """One article's matches under the current rules: rule -> (terms, score)."""

    article: ArticleText
    matches: dict[str, tuple[tuple[str, ...], float | None]]


@dataclass(frozen=True)
class Applied:
    """What one `apply` call changed."""

    matched: tuple[int, ...] = ()  # stories listed again: they match a rule they did not
    unmatched: tuple[int, ...] = ()  # stories that matched some rule and now match none
    changed: int = 0  # articles whose match rows changed at all (terms and scores included)


class Matches:
    """The matches table, rewritten by the current rules."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def texts(self, after_id: int, limit: int, since: datetime | None = None) -> list[ArticleText]:
        """The next `limit` articles after `after_id`, by id, each with the text its rules read
        (an exact copy stores none and reads its story's); with `since`, first seen since then."""
        original = aliased(Article)
        stmt = (select(Article.id, Article.run_id, Article.duplicate_of, Article.title, Article.language,
                       Article.content_hash, Article.text, original.text.label("original_text"))
                .outerjoin(original, original.id == Article.duplicate_of)
                .where(Article.id > after_id).order_by(Article.id).limit(limit))
        if since is not None:
            stmt = stmt.where(Article.first_seen >= since)
        with self.db.read() as conn:
            rows = conn.execute(stmt).all()
        return [ArticleText(r.id, r.run_id, r.duplicate_of, r.title, r.language,
                            r.text if r.text is not None else (r.original_text or ""), r.content_hash,
                            exact_copy=r.text is None) for r in rows]

    def apply(self, updates: Sequence[MatchUpdate], scope: Collection[str] | None = None) -> Applied:
        """Replace the matches of rules in `scope` (None: every rule, and drop matches of rules that
        no longer exist) with `updates`, in one transaction."""
        if not updates:
            return Applied()
        ids = [u.article.id for u in updates]
        with self.db.write() as conn:
            stored: dict[int, dict[str, tuple[tuple[str, ...], float | None]]] = {}
            columns = (Match.article_id, Match.rule, Match.terms, Match.score)
            for r in self.db.chunked_in(conn, lambda chunk: select(*columns).where(Match.article_id.in_(chunk)), ids):
                stored.setdefault(r.article_id, {})[r.rule] = (tuple(r.terms), r.score)
            matched, unmatched, changed, rows, gone = [], [], 0, [], []
            for u in updates:
                before = stored.get(u.article.id, {})
                kept = {rule: m for rule, m in before.items() if scope is not None and rule not in scope}
                after = {**kept, **u.matches}
                if after == before:
                    continue
                changed += 1
                gone.append(u.article.id)
                rows += [{"article_id": u.article.id, "rule": rule, "terms": list(terms), "score": score}
                         for rule, (terms, score) in after.items()]
                if u.article.duplicate_of is not None:
                    continue  # a copy is never listed on its own: its story is
                if set(after) - set(before):
                    matched.append(u.article.id)
                elif before and not after:
                    unmatched.append(u.article.id)
                if bool(before) != bool(after) and u.article.run_id is not None:
                    conn.execute(update(Run).where(Run.id == u.article.run_id)
                                 .values(matched=Run.matched + (1 if after else -1)))
            for chunk in _chunks(gone, 500):
                conn.execute(delete(Match).where(Match.article_id.in_(chunk)))
            if rows:
                conn.execute(insert(Match), rows)
            self._relist(conn, matched)
        return Applied(tuple(matched), tuple(unmatched), changed)

    def _relist(self, conn: Connection, ids: list[int]) -> None:
        if not ids:
            return
        if self.db.dialect == "postgresql":  # storing and relisting number in turn: store.articles
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LISTED_LOCK})
        floor = int(conn.execute(select(func.max(Article.listed))).scalar() or 0)
        for position, article_id in enumerate(ids, start=floor + 1):
            conn.execute(update(Article).where(Article.id == article_id).values(listed=position))


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]
