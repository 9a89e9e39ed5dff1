"""The only code that runs queries: articles, their URLs, matches, runs, consumers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import Connection, Engine, Table, and_, delete, exists, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased

from store.db import redact
from store.errors import StoreError
from store.models import (
    Article,
    ArticleBand,
    ArticleUrl,
    ArticleVersion,
    BoilerplateBlock,
    Consumer,
    Lease,
    Match,
    Run,
    RunError,
    Schedule,
    Validator,
)

# Arbitrary constant key: PostgreSQL serializes article inserts on it (see _write()).
_PG_INSERT_LOCK = 0x6E6577736D6F6E
# Bound parameters per IN (...) query; SQLite's historical limit is 999.
_IN_CHUNK = 500
_MASK64 = (1 << 64) - 1
# Near-duplicate candidates examined per lookup: bands are 64-bit hashes, so unrelated texts
# practically never collide; only copies of one story come back.
_MAX_CANDIDATES = 200

# Built once: on the table, not the ORM class, whose per-statement bookkeeping cost more than
# the insert itself in a burst (measured with py-spy on a 600-article crawl).
_INSERT_ARTICLE = insert(cast(Table, Article.__table__)).returning(Article.id)

AddStatus = Literal["new", "duplicate", "known"]
# Run outcomes that count against a source (a run stopped by a shutdown does not).
FAILED_OUTCOMES = ("failed", "timed_out", "killed")


@dataclass(frozen=True)
class NewArticle:
    """An extracted article ready to be stored; `variants` includes `url`."""

    url: str
    source: str
    content_hash: str
    text: str
    variants: tuple[str, ...] = ()
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    language: str | None = None
    description: str | None = None
    matches: dict[str, tuple[str, ...]] = field(default_factory=dict)
    run_id: int | None = None
    modified: datetime | None = None
    simhash: int | None = None
    # MinHash LSH bands of the text (crawler.fingerprints.bands): an equal band makes a candidate.
    bands: tuple[int, ...] = ()


@dataclass(frozen=True)
class AddOutcome:
    status: AddStatus
    article_id: int
    duplicate_of: int | None = None


@dataclass(frozen=True)
class ArticleFilter:
    """What `newsmon query` asks for."""

    sources: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    since: datetime | None = None
    include_all: bool = False
    after_id: int | None = None
    limit: int | None = None
    updated_only: bool = False


@dataclass(frozen=True)
class StoredArticle:
    id: int
    url: str
    title: str | None
    author: str | None
    published: datetime | None
    language: str | None
    source: str
    text: str | None
    rules: tuple[str, ...]
    terms: dict[str, list[str]]
    first_seen: datetime
    duplicate_of: int | None
    also_at: tuple[str, ...] = ()
    modified: datetime | None = None
    updated: datetime | None = None
    versions: int = 0


@dataclass(frozen=True)
class RunRecord:
    id: int
    source: str
    started: datetime
    finished: datetime | None
    outcome: str
    pages: int
    new: int
    matched: int
    duplicates: int
    errors: int
    error_list: tuple[tuple[str, str], ...] = ()
    holder: str | None = None


@dataclass(frozen=True)
class LeaseRecord:
    source: str
    holder: str
    acquired: datetime
    heartbeat: datetime
    expires: datetime

    def active(self, now: datetime | None = None) -> bool:
        """Return True while the lease has not expired."""
        return self.expires > (now or utcnow())


@dataclass(frozen=True)
class ValidatorRecord:
    url: str
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    trusted: bool
    not_modified: int
    checked: datetime
    changed: datetime | None


@dataclass(frozen=True)
class ScheduleRecord:
    source: str
    daemon: str
    next_run: datetime | None
    interval: int | None
    reason: str
    failures: int
    updated: datetime


@dataclass
class _Seen:
    """What one batch knows of stored articles, kept up to date as the batch adds its own."""

    urls: dict[str, int]  # URL -> article reached by it
    originals: dict[str, int]  # content hash -> first article with that text
    bands: dict[tuple[int, int], list[int]]  # (band, value) -> articles with it
    simhashes: dict[int, tuple[int | None, int | None]] = field(default_factory=dict)  # id -> (simhash, story)

    def note_urls(self, urls: Iterable[str], article_id: int) -> None:
        for url in urls:
            self.urls.setdefault(url, article_id)

    def note_article(self, new: NewArticle, urls: Iterable[str], article_id: int, story: int | None) -> None:
        self.note_urls(urls, article_id)
        if story is None:
            self.originals.setdefault(new.content_hash, article_id)
        for pair in enumerate(new.bands):
            self.bands.setdefault(pair, []).append(article_id)
        self.simhashes[article_id] = (new.simhash, story)

    def story(self, new: NewArticle, max_bits: int) -> int | None:
        """Return the story (its first article's id) whose text is within max_bits of the new one."""
        if new.simhash is None or not new.bands:
            return None
        candidates = list(dict.fromkeys(a for pair in enumerate(new.bands) for a in self.bands.get(pair, ())))
        stories = []
        for article_id in candidates[:_MAX_CANDIDATES]:
            simhash, story = self.simhashes.get(article_id, (None, None))
            if simhash is not None and ((simhash ^ new.simhash) & _MASK64).bit_count() <= max_bits:
                stories.append(story or article_id)
        return min(stories) if stories else None


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Repository:
    """Reads and writes through one engine; every write is its own short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._dialect = engine.dialect.name

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # -- writes --------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self.engine.connect().execution_options(newsmon_write=True) as conn, conn.begin():
                if self._dialect == "postgresql":
                    # Article ids must become visible in id order, or a `query --new` cursor
                    # could step past an id whose transaction had not committed yet.
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_INSERT_LOCK})
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"write to {redact(self.engine.url)} failed: {exc.__class__.__name__}: "
                             f"{str(getattr(exc, 'orig', exc)).splitlines()[0]}") from exc

    def start_run(self, source: str, holder: str | None = None) -> int:
        """Record the start of a crawl of `source` and return the run id."""
        with self._write() as conn:
            return int(conn.execute(
                insert(Run).values(source=source, started=utcnow(), outcome="running", pages=0, new=0,
                                   matched=0, duplicates=0, errors=0, holder=holder).returning(Run.id)
            ).scalar_one())

    def settle_runs(self, holder: str, outcome: str, only_open: bool = True) -> int:
        """Set the outcome of the runs a process ran (only those it left open, by default)."""
        stmt = update(Run).where(Run.holder == holder)
        if only_open:
            stmt = stmt.where(Run.outcome == "running")
        with self._write() as conn:
            result = conn.execute(stmt.values(outcome=outcome, finished=func.coalesce(Run.finished, utcnow())))
            return int(result.rowcount or 0)

    def save_schedule(self, source: str, daemon: str, next_run: datetime | None, interval: int | None,
                      reason: str, failures: int) -> None:
        """Record what a daemon plans for a source, for `newsmon status`."""
        values = {"daemon": daemon, "next_run": next_run, "interval": interval, "reason": reason,
                  "failures": failures, "updated": utcnow()}
        with self._write() as conn:
            done = conn.execute(update(Schedule).where(Schedule.source == source).values(**values))
            if not done.rowcount:
                conn.execute(insert(Schedule).values(source=source, **values))

    # -- leases: one crawler per source, across processes and machines ---------------------------

    def acquire_lease(self, source: str, holder: str, ttl: float) -> bool:
        """Take the source's lease if it is free, expired or already ours; return whether we hold it."""
        now = utcnow()
        expires = now + timedelta(seconds=ttl)
        with self._write() as conn:
            # The write transaction is exclusive (BEGIN IMMEDIATE / advisory lock), so the
            # read-then-write below cannot interleave with another process doing the same.
            row = conn.execute(select(Lease.holder, Lease.expires).where(Lease.source == source)).first()
            if row is None:
                conn.execute(insert(Lease).values(source=source, holder=holder, acquired=now, heartbeat=now,
                                                  expires=expires))
                return True
            if row.holder != holder and row.expires > now:
                return False
            values = {"holder": holder, "heartbeat": now, "expires": expires}
            if row.holder != holder:
                values["acquired"] = now
                # Its holder died: close the run it left open, so `runs` does not show it running.
                conn.execute(update(Run).where(Run.source == source, Run.holder == row.holder,
                                               Run.outcome == "running").values(outcome="killed", finished=now))
            conn.execute(update(Lease).where(Lease.source == source).values(**values))
            return True

    def renew_leases(self, sources: Iterable[str], holder: str, ttl: float) -> set[str]:
        """Extend our leases on `sources`; return the ones we still hold."""
        now = utcnow()
        wanted = list(sources)
        with self._write() as conn:
            conn.execute(update(Lease).where(Lease.source.in_(wanted), Lease.holder == holder)
                         .values(heartbeat=now, expires=now + timedelta(seconds=ttl)))
            held = conn.execute(select(Lease.source).where(Lease.source.in_(wanted), Lease.holder == holder))
            return set(held.scalars())

    def release_lease(self, source: str, holder: str) -> None:
        """Give up our lease on `source` (someone else's is left alone)."""
        with self._write() as conn:
            conn.execute(delete(Lease).where(Lease.source == source, Lease.holder == holder))

    def leases(self) -> dict[str, LeaseRecord]:
        """Return every current lease by source (expired ones included, marked by `expires`)."""
        with self._read() as conn:
            rows = conn.execute(select(*Lease.__table__.c)).all()
        return {r.source: LeaseRecord(r.source, r.holder, r.acquired, r.heartbeat, r.expires) for r in rows}

    def finish_run(self, run_id: int, outcome: str, pages: int) -> None:
        """Close a run with its outcome and the number of pages it fetched."""
        with self._write() as conn:
            conn.execute(update(Run).where(Run.id == run_id)
                         .values(finished=utcnow(), outcome=outcome, pages=pages))

    def add_run_error(self, run_id: int, url: str, reason: str) -> None:
        """Record that `url` failed during a run, and why."""
        with self._write() as conn:
            conn.execute(insert(RunError).values(run_id=run_id, url=url, reason=reason[:2000], at=utcnow()))
            conn.execute(update(Run).where(Run.id == run_id).values(errors=Run.errors + 1))

    def add_article(self, new: NewArticle, near_duplicate_bits: int = 3) -> AddOutcome:
        """Store one article (see add_articles)."""
        return self.add_articles([new], near_duplicate_bits)[0]

    def add_articles(self, news: Sequence[NewArticle], near_duplicate_bits: int = 3) -> list[AddOutcome]:
        """Store articles once each, in order, in one transaction: a known URL adds variants, a known
        or near-identical text (stored earlier or earlier in the batch) joins its story."""
        if not news:
            return []
        with self._write() as conn:
            # Set-based: what the batch needs to know about stored articles comes in a few queries
            # per batch, not three per article (measured: the per-article queries were a third of
            # the crawl process's time in a burst).
            seen = _Seen(
                urls=self._url_owners(conn, [u for new in news for u in (new.url, *new.variants)]),
                originals=self._originals(conn, [new.content_hash for new in news]),
                bands=self._band_owners(conn, [(i, v) for new in news for i, v in enumerate(new.bands)]),
            )
            seen.simhashes = self._simhashes(conn, {a for owners in seen.bands.values() for a in owners})
            outcomes = [self._add(conn, new, near_duplicate_bits, seen) for new in news]
            self._insert_children(conn, news, outcomes)
            self._count_on_runs(conn, news, outcomes)
        return outcomes

    def _add(self, conn: Connection, new: NewArticle, max_bits: int, seen: _Seen) -> AddOutcome:
        urls = tuple(dict.fromkeys((new.url, *new.variants)))
        known = next((seen.urls[u] for u in urls if u in seen.urls), None)
        if known is not None:
            seen.note_urls(urls, known)
            return AddOutcome("known", known)
        exact = seen.originals.get(new.content_hash)
        story = exact if exact is not None else seen.story(new, max_bits)
        article_id = int(conn.execute(_INSERT_ARTICLE, {
            "url": new.url, "source": new.source, "title": new.title, "author": new.author,
            "published": new.published, "modified": new.modified, "language": new.language,
            "description": new.description,
            # An exact copy's text is stored once, on the original; a near copy keeps its own.
            "text": None if exact is not None else new.text, "content_hash": new.content_hash,
            "simhash": new.simhash, "first_seen": utcnow(), "run_id": new.run_id, "duplicate_of": story,
        }).scalar_one())
        seen.note_article(new, urls, article_id, story)
        if story is not None:
            return AddOutcome("duplicate", article_id, duplicate_of=story)
        return AddOutcome("new", article_id)

    def _insert_children(self, conn: Connection, news: Sequence[NewArticle], outcomes: Sequence[AddOutcome]) -> None:
        urls, bands, matches = [], [], []
        for new, outcome in zip(news, outcomes, strict=True):
            urls += [{"url": u, "article_id": outcome.article_id} for u in dict.fromkeys((new.url, *new.variants))]
            if outcome.status == "known":
                continue
            bands += [{"article_id": outcome.article_id, "band": i, "value": v} for i, v in enumerate(new.bands)]
            matches += [{"article_id": outcome.article_id, "rule": rule, "terms": list(terms)}
                        for rule, terms in new.matches.items()]
        self._add_url_rows(conn, urls)
        for table, rows in ((ArticleBand, bands), (Match, matches)):
            if rows:
                conn.execute(insert(cast(Table, table.__table__)), rows)

    def _url_owners(self, conn: Connection, urls: list[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(urls))
        owners: dict[str, int] = {}
        for i in range(0, len(wanted), _IN_CHUNK):
            rows = conn.execute(select(ArticleUrl.url, ArticleUrl.article_id)
                                .where(ArticleUrl.url.in_(wanted[i:i + _IN_CHUNK])))
            owners.update((r.url, r.article_id) for r in rows)
        return owners

    def _originals(self, conn: Connection, hashes: list[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(hashes))
        found: dict[str, int] = {}
        for i in range(0, len(wanted), _IN_CHUNK):
            rows = conn.execute(select(Article.content_hash, func.min(Article.id)).where(
                Article.content_hash.in_(wanted[i:i + _IN_CHUNK]), Article.duplicate_of.is_(None))
                .group_by(Article.content_hash))
            found.update((r[0], int(r[1])) for r in rows)
        return found

    def _band_owners(self, conn: Connection, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], list[int]]:
        by_band: dict[int, list[int]] = {}
        for band, value in dict.fromkeys(pairs):
            by_band.setdefault(band, []).append(value)
        owners: dict[tuple[int, int], list[int]] = {}
        # One `band = ? AND value IN (...)` query per band: an index range on (band, value) in
        # SQLite and PostgreSQL alike, compiled once and cached. SQLite plans the row-value form
        # `(band, value) IN (...)` as a full scan, and an OR of 600 (band, value) pairs cost more
        # to build in SQLAlchemy than the whole batch's inserts (measured on a 2,000-article crawl).
        for band, values in by_band.items():
            for i in range(0, len(values), _IN_CHUNK):
                rows = conn.execute(select(ArticleBand.value, ArticleBand.article_id).where(
                    ArticleBand.band == band, ArticleBand.value.in_(values[i:i + _IN_CHUNK])))
                for r in rows:
                    owners.setdefault((band, r.value), []).append(r.article_id)
        return owners

    def _simhashes(self, conn: Connection, ids: set[int]) -> dict[int, tuple[int | None, int | None]]:
        wanted = sorted(ids)
        out: dict[int, tuple[int | None, int | None]] = {}
        for i in range(0, len(wanted), _IN_CHUNK):
            rows = conn.execute(select(Article.id, Article.simhash, Article.duplicate_of)
                                .where(Article.id.in_(wanted[i:i + _IN_CHUNK])))
            out.update((r.id, (r.simhash, r.duplicate_of)) for r in rows)
        return out

    @staticmethod
    def _count_on_runs(conn: Connection, news: Sequence[NewArticle], outcomes: Sequence[AddOutcome]) -> None:
        totals: dict[int, dict[str, int]] = {}
        for new, outcome in zip(news, outcomes, strict=True):
            if new.run_id is None or outcome.status == "known":
                continue
            counts = totals.setdefault(new.run_id, {"new": 0, "matched": 0, "duplicates": 0})
            if outcome.status == "new":
                counts["new"] += 1
                counts["matched"] += 1 if new.matches else 0
            else:
                counts["duplicates"] += 1
        for run_id, counts in totals.items():
            conn.execute(update(Run).where(Run.id == run_id).values(
                new=Run.new + counts["new"], matched=Run.matched + counts["matched"],
                duplicates=Run.duplicates + counts["duplicates"]))

    def find_story(self, simhash: int, bands: tuple[int, ...], max_bits: int) -> int | None:
        """Return the story a text with this SimHash would join, or None (a read-only lookup)."""
        probe = NewArticle(url="", source="", content_hash="", text="", simhash=simhash, bands=bands)
        with self._read() as conn:
            seen = _Seen(urls={}, originals={}, bands=self._band_owners(conn, list(enumerate(bands))))
            seen.simhashes = self._simhashes(conn, {a for owners in seen.bands.values() for a in owners})
        return seen.story(probe, max_bits)

    def add_version(self, article_id: int, new: NewArticle) -> bool:
        """Store a revisited article's changed text as its current version; False if unchanged."""
        with self._write() as conn:
            old = conn.execute(select(Article.title, Article.text, Article.content_hash)
                               .where(Article.id == article_id)).first()
            if old is None or old.content_hash == new.content_hash:
                return False
            now = utcnow()
            conn.execute(insert(ArticleVersion).values(article_id=article_id, fetched=now, title=old.title,
                                                       text=old.text, content_hash=old.content_hash))
            conn.execute(update(Article).where(Article.id == article_id).values(
                title=new.title, text=new.text, content_hash=new.content_hash, simhash=new.simhash,
                modified=new.modified, updated=now))
            conn.execute(delete(Match).where(Match.article_id == article_id))
            if new.matches:
                conn.execute(insert(Match), [{"article_id": article_id, "rule": r, "terms": list(t)}
                                             for r, t in new.matches.items()])
            return True

    def revisit_candidates(self, source: str, since: datetime) -> dict[str, int]:
        """Return url -> article id for the source's articles first seen since `since`."""
        with self._read() as conn:
            rows = conn.execute(select(Article.url, Article.id).where(
                Article.source == source, Article.first_seen >= since, Article.duplicate_of.is_(None)))
            return {r.url: r.id for r in rows}

    # -- validators of discovery URLs --------------------------------------------------------------

    def validators(self, source: str, articles: Iterable[str] = ()) -> dict[str, ValidatorRecord]:
        """Return what the source's discovery URLs, and the given article URLs, answered last."""
        # Article validators pile up with every stored article; only those about to be revisited
        # are wanted, so the rest stay in the database.
        wanted = list(articles)
        is_discovery = ~exists().where(ArticleUrl.url == Validator.url)
        condition = or_(is_discovery, Validator.url.in_(wanted)) if wanted else is_discovery
        with self._read() as conn:
            rows = conn.execute(select(*Validator.__table__.c).where(Validator.source == source, condition)).all()
        return {r.url: ValidatorRecord(r.url, r.etag, r.last_modified, r.content_hash, r.trusted, r.not_modified,
                                       r.checked, r.changed) for r in rows}

    def save_validators(self, source: str, answers: Mapping[str, Mapping[str, Any]]) -> None:
        """Record what URLs answered, in one transaction: per URL, a 304 (`not_modified=True`), or
        a body with its `etag`, `last_modified`, `content_hash` and whether to `distrust` them."""
        if not answers:
            return
        now = utcnow()
        urls = list(answers)
        with self._write() as conn:
            current: dict[str, Any] = {}
            for i in range(0, len(urls), _IN_CHUNK):
                rows = conn.execute(select(Validator.url, Validator.content_hash, Validator.not_modified,
                                           Validator.trusted).where(Validator.url.in_(urls[i:i + _IN_CHUNK])))
                current.update((r.url, r) for r in rows)
            fresh = [{"url": url, "source": source, "etag": a.get("etag"), "last_modified": a.get("last_modified"),
                      "content_hash": a.get("content_hash"), "trusted": not a.get("distrust", False),
                      "not_modified": 0, "checked": now, "changed": now}
                     for url, a in answers.items() if url not in current]
            if fresh:
                conn.execute(insert(cast(Table, Validator.__table__)), fresh)
            for url, old in current.items():
                conn.execute(update(Validator).where(Validator.url == url)
                             .values(**self._validator_update(old, answers[url], now)))

    @staticmethod
    def _validator_update(old: Any, answer: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        if answer.get("not_modified"):
            return {"not_modified": old.not_modified + 1, "checked": now}
        values: dict[str, Any] = {
            "etag": answer.get("etag"), "last_modified": answer.get("last_modified"),
            "content_hash": answer.get("content_hash"), "not_modified": 0, "checked": now,
            "trusted": old.trusted and not answer.get("distrust", False)}
        if answer.get("content_hash") != old.content_hash:
            values["changed"] = now
        return values

    # -- learned boilerplate ---------------------------------------------------------------------

    def learned_blocks(self, source: str, min_pages: int) -> dict[str, int]:
        """Return block hash -> pages for the source's paragraphs seen on at least min_pages articles."""
        with self._read() as conn:
            rows = conn.execute(select(BoilerplateBlock.block_hash, BoilerplateBlock.pages).where(
                BoilerplateBlock.source == source, BoilerplateBlock.pages >= min_pages))
            return {r.block_hash: r.pages for r in rows}

    def count_blocks(self, source: str, pages: Sequence[dict[str, str]]) -> dict[str, int]:
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
        with self._write() as conn:
            existing: dict[str, int] = {}
            hashes = list(added)
            for i in range(0, len(hashes), _IN_CHUNK):
                existing.update(conn.execute(select(BoilerplateBlock.block_hash, BoilerplateBlock.pages).where(
                    BoilerplateBlock.source == source,
                    BoilerplateBlock.block_hash.in_(hashes[i:i + _IN_CHUNK]))).all())
            fresh = [{"source": source, "block_hash": h, "pages": n, "sample": samples[h][:300], "first_seen": now,
                      "last_seen": now} for h, n in added.items() if h not in existing]
            if fresh:
                conn.execute(insert(BoilerplateBlock), fresh)
            for n in sorted({added[h] for h in existing}):
                # One UPDATE per distinct increment: a batch mostly adds 1 to every block.
                same = [h for h in existing if added[h] == n]
                for i in range(0, len(same), _IN_CHUNK):
                    conn.execute(update(BoilerplateBlock).where(
                        BoilerplateBlock.source == source, BoilerplateBlock.block_hash.in_(same[i:i + _IN_CHUNK]))
                        .values(pages=BoilerplateBlock.pages + n, last_seen=now))
        return {h: existing.get(h, 0) + n for h, n in added.items()}

    def boilerplate(self, source: str | None = None, min_pages: int = 1) -> list[dict[str, Any]]:
        """List learned blocks (most widespread first) for `newsmon boilerplate`."""
        stmt = select(*BoilerplateBlock.__table__.c).where(BoilerplateBlock.pages >= min_pages)
        if source is not None:
            stmt = stmt.where(BoilerplateBlock.source == source)
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt.order_by(BoilerplateBlock.pages.desc()))]

    def _add_url_rows(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        stmt: Any
        if self._dialect == "postgresql":
            stmt = postgresql.insert(ArticleUrl).on_conflict_do_nothing()
        elif self._dialect == "sqlite":
            stmt = sqlite.insert(ArticleUrl).on_conflict_do_nothing()
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            raise StoreError(f"unsupported database dialect {self._dialect}")
        conn.execute(stmt, rows)

    def advance_consumer(self, name: str, last_article_id: int) -> None:
        """Move a consumer's `--new` cursor forward (never back)."""
        with self._write() as conn:
            current = conn.execute(select(Consumer.last_article_id).where(Consumer.name == name)).scalar()
            if current is None:
                conn.execute(insert(Consumer).values(name=name, last_article_id=last_article_id,
                                                     updated=utcnow()))
            elif last_article_id > current:
                conn.execute(update(Consumer).where(Consumer.name == name)
                             .values(last_article_id=last_article_id, updated=utcnow()))

    # -- reads ---------------------------------------------------------------------------------

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        """Return those of `urls` that some stored article was already reached by."""
        wanted = list(dict.fromkeys(urls))
        found: set[str] = set()
        with self._read() as conn:
            for i in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[i:i + _IN_CHUNK]
                found.update(conn.execute(select(ArticleUrl.url).where(ArticleUrl.url.in_(chunk))).scalars())
        return found

    def consumer_cursor(self, name: str) -> int:
        """Return the id of the last article this consumer was shown (0 if never)."""
        with self._read() as conn:
            value = conn.execute(select(Consumer.last_article_id).where(Consumer.name == name)).scalar()
        return int(value or 0)

    def max_article_id(self) -> int:
        """Return the newest article id (0 for an empty store)."""
        with self._read() as conn:
            return int(conn.execute(select(func.max(Article.id))).scalar() or 0)

    def articles(self, flt: ArticleFilter) -> list[StoredArticle]:
        """List stored articles, newest first (oldest first past a cursor, so paging is exact)."""
        original = aliased(Article)
        stmt = (select(*Article.__table__.c, original.text.label("original_text"))
                .outerjoin(original, original.id == Article.duplicate_of))
        stmt = stmt.where(*self._conditions(flt))
        if flt.after_id is not None:
            stmt = stmt.order_by(Article.id.asc())
        elif flt.updated_only:
            stmt = stmt.order_by(Article.updated.desc(), Article.id.desc())
        else:
            stmt = stmt.order_by(Article.first_seen.desc(), Article.id.desc())
        if flt.limit is not None:
            stmt = stmt.limit(flt.limit)
        with self._read() as conn:
            rows = conn.execute(stmt).all()
            ids = [r.id for r in rows]
            matches = self._matches(conn, ids)
            also = self._also_at(conn, ids)
            versions = self._version_counts(conn, ids) if flt.updated_only else {}
        return [self._stored(row, matches.get(row.id, {}), also.get(row.id, ()), versions.get(row.id, 0))
                for row in rows]

    def _also_at(self, conn: Connection, ids: list[int]) -> dict[int, tuple[str, ...]]:
        out: dict[int, list[str]] = {}
        for i in range(0, len(ids), _IN_CHUNK):
            for r in conn.execute(select(Article.duplicate_of, Article.url)
                                  .where(Article.duplicate_of.in_(ids[i:i + _IN_CHUNK])).order_by(Article.id)):
                out.setdefault(r.duplicate_of, []).append(r.url)
        return {k: tuple(v) for k, v in out.items()}

    def _version_counts(self, conn: Connection, ids: list[int]) -> dict[int, int]:
        rows = conn.execute(select(ArticleVersion.article_id, func.count()).where(
            ArticleVersion.article_id.in_(ids)).group_by(ArticleVersion.article_id))
        return {r[0]: int(r[1]) for r in rows}

    def _conditions(self, flt: ArticleFilter) -> list[Any]:
        cond: list[Any] = []
        if flt.sources:
            cond.append(Article.source.in_(flt.sources))
        if flt.updated_only:
            cond.append(Article.updated.is_not(None))
            if flt.since is not None:
                cond.append(Article.updated >= flt.since)
        elif flt.since is not None:
            cond.append(Article.first_seen >= flt.since)
        if flt.after_id is not None:
            cond.append(Article.id > flt.after_id)
        if flt.rules:
            cond.append(exists().where(and_(Match.article_id == Article.id, Match.rule.in_(flt.rules))))
        if not flt.include_all:
            cond.append(Article.duplicate_of.is_(None))
            if not flt.rules:
                cond.append(exists().where(Match.article_id == Article.id))
        return cond

    def _matches(self, conn: Connection, ids: list[int]) -> dict[int, dict[str, list[str]]]:
        out: dict[int, dict[str, list[str]]] = {}
        for i in range(0, len(ids), _IN_CHUNK):
            rows = conn.execute(select(*Match.__table__.c).where(Match.article_id.in_(ids[i:i + _IN_CHUNK]))
                                .order_by(Match.article_id, Match.rule))
            for m in rows:
                out.setdefault(m.article_id, {})[m.rule] = list(m.terms)
        return out

    @staticmethod
    def _stored(a: Any, matches: dict[str, list[str]], also_at: tuple[str, ...], versions: int) -> StoredArticle:
        return StoredArticle(
            id=a.id, url=a.url, title=a.title, author=a.author, published=a.published,
            language=a.language, source=a.source, text=a.text if a.text is not None else a.original_text,
            rules=tuple(matches), terms=matches, first_seen=a.first_seen, duplicate_of=a.duplicate_of,
            also_at=also_at, modified=a.modified, updated=a.updated, versions=versions,
        )

    def runs(self, source: str | None = None, limit: int = 20, with_errors: bool = False) -> list[RunRecord]:
        """List runs, newest first."""
        stmt = select(*Run.__table__.c).order_by(Run.id.desc()).limit(limit)
        if source is not None:
            stmt = stmt.where(Run.source == source)
        with self._read() as conn:
            runs = conn.execute(stmt).all()
            errors: dict[int, list[tuple[str, str]]] = {}
            if with_errors and runs:
                for e in conn.execute(select(*RunError.__table__.c)
                                      .where(RunError.run_id.in_([r.id for r in runs])).order_by(RunError.id)):
                    errors.setdefault(e.run_id, []).append((e.url, e.reason))
        return [RunRecord(r.id, r.source, r.started, r.finished, r.outcome, r.pages, r.new, r.matched,
                          r.duplicates, r.errors, tuple(errors.get(r.id, ())), r.holder) for r in runs]

    def schedules(self) -> dict[str, ScheduleRecord]:
        """Return each source's schedule as a daemon last recorded it."""
        with self._read() as conn:
            rows = conn.execute(select(*Schedule.__table__.c)).all()
        return {r.source: ScheduleRecord(r.source, r.daemon, r.next_run, r.interval, r.reason, r.failures,
                                         r.updated) for r in rows}

    def consecutive_failures(self, source: str, scan: int = 50) -> int:
        """Count the source's latest runs that failed, timed out or were killed, back to an ok one."""
        with self._read() as conn:
            outcomes = conn.execute(select(Run.outcome).where(Run.source == source,
                                                              Run.outcome.in_(("ok", *FAILED_OUTCOMES)))
                                    .order_by(Run.id.desc()).limit(scan)).scalars().all()
        count = 0
        for outcome in outcomes:
            if outcome == "ok":
                break
            count += 1
        return count

    def article_count(self) -> int:
        """Return how many articles are stored, duplicates included."""
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(Article)).scalar_one())

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"read from {redact(self.engine.url)} failed: "
                             f"{str(getattr(exc, 'orig', exc)).splitlines()[0]}") from exc
