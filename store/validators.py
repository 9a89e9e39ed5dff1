"""Validators: what each discovery URL (and each revisited article) answered last, so the next
crawl can ask "changed since?" (crawler/conditional.py decides how far to believe the answer)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, exists, insert, or_, select, update

from store.database import IN_CHUNK, Database
from store.models import ArticleUrl, Validator
from store.records import ValidatorAnswer, ValidatorRecord, utcnow


class Validators:
    """The validators table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def load(self, source: str, articles: Iterable[str] = ()) -> dict[str, ValidatorRecord]:
        """Return what the source's discovery URLs, and the given article URLs, answered last."""
        return self.load_many({source: articles})[source]

    def load_many(self, sources: Mapping[str, Iterable[str]]) -> dict[str, dict[str, ValidatorRecord]]:
        """load() for each source (its name -> the article URLs wanted), in one query a chunk of
        sources: a batch of 200 quiet sources, one query instead of 200."""
        # Article validators pile up with every stored article; only those about to be revisited
        # are wanted, so the rest stay in the database.
        wanted = [url for urls in sources.values() for url in urls]
        if len(sources) > 1 and len(wanted) > IN_CHUNK:  # many revisits: one query a source keeps each IN short
            return {name: self.load_many({name: urls})[name] for name, urls in sources.items()}
        is_discovery = ~exists().where(ArticleUrl.url == Validator.url)
        condition = or_(is_discovery, Validator.url.in_(wanted)) if wanted else is_discovery
        out: dict[str, dict[str, ValidatorRecord]] = {name: {} for name in sources}
        with self.db.read() as conn:
            for r in self.db.chunked_in(conn, lambda chunk: select(*Validator.__table__.c)
                                        .where(Validator.source.in_(chunk), condition), list(sources)):
                out[r.source][r.url] = ValidatorRecord(r.url, r.etag, r.last_modified, r.content_hash, r.trusted,
                                                       r.not_modified, r.checked, r.changed)
        return out

    def save(self, source: str, answers: Mapping[str, ValidatorAnswer]) -> None:
        """Record what URLs answered (url -> answer), in one transaction."""
        if not answers:
            return
        with self.db.write() as conn:
            self.save_in(conn, source, answers)

    def save_in(self, conn: Connection, source: str, answers: Mapping[str, ValidatorAnswer]) -> None:
        """Record what URLs answered (url -> answer) in the write transaction `conn`."""
        if not answers:
            return
        now = utcnow()
        current = {r.url: r for r in self.db.chunked_in(
            conn, lambda chunk: select(Validator.url, Validator.content_hash, Validator.not_modified,
                                       Validator.trusted).where(Validator.url.in_(chunk)), list(answers))}
        fresh = [{"url": url, "source": source, "etag": a.etag, "last_modified": a.last_modified,
                  "content_hash": a.content_hash, "trusted": not a.distrust,
                  "not_modified": 0, "checked": now, "changed": now}
                 for url, a in answers.items() if url not in current]
        if fresh:
            conn.execute(insert(cast(Table, Validator.__table__)), fresh)
        # One statement a shape of update, executed for all its rows at once: a quiet source's three
        # 304s are one executemany, not three statements.
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for url, old in current.items():
            values = _update(old, answers[url], now)
            row = {"b_url": url, **{f"b_{k}": v for k, v in values.items()}}
            shapes.setdefault(tuple(sorted(values)), []).append(row)
        for columns, rows in shapes.items():
            conn.execute(update(Validator).where(Validator.url == bindparam("b_url"))
                         .values({c: bindparam(f"b_{c}") for c in columns}), rows)


def _update(old: Any, answer: ValidatorAnswer, now: datetime) -> dict[str, Any]:
    if answer.not_modified:
        return {"not_modified": old.not_modified + 1, "checked": now}
    values: dict[str, Any] = {
        "etag": answer.etag, "last_modified": answer.last_modified,
        "content_hash": answer.content_hash, "not_modified": 0, "checked": now,
        "trusted": old.trusted and not answer.distrust}
    if answer.content_hash != old.content_hash:
        values["changed"] = now
    return values
