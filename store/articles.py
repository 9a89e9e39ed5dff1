"""Articles: storing them once each (URL variants, exact and near copies, new versions), cleaning
a stored text again when its source's boilerplate is learned later, and reading them back for
`newsmon query`, the crawler's known-URL check and its revisits."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import count
from typing import Any, cast

from sqlalchemy import Connection, Select, Table, delete, exists, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from store.article_filters import conditions
from store.database import Database
from store.errors import StoreError
from store.models import Article, ArticleBand, ArticleUrl, ArticleVersion, Match, Run
from store.records import AddOutcome, AddStatus, ArticleFilter, NewArticle, StoredArticle, utcnow
from store.search_vector import articles_table, vector_values
from store.stories import NEAR_DUPLICATE_BITS, StoryIndex, first_copy_key

# Any constant: the advisory lock PostgreSQL writers take to number articles in commit order.
LISTED_LOCK = 0x6E65_7773  # "news"


@dataclass(frozen=True)
class ArticleText:
    """A stored article's text and what its rules read, for cleaning it again (Articles.containing)."""

    id: int
    run_id: int | None
    duplicate_of: int | None
    title: str | None
    language: str | None
    # Its own text, or its original's for an exact copy (which stores none: see _add).
    text: str
    content_hash: str
    exact_copy: bool = False


class Articles:
    """The articles table and its children: URLs, bands, matches, versions."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Built once: on the table, not the ORM class, whose per-statement bookkeeping cost more than
        # the insert itself in a burst (measured with py-spy on a 600-article crawl).
        self._table = articles_table(db.dialect)
        self._insert = insert(self._table).returning(self._table.c.id)

    # -- writes ----------------------------------------------------------------------------------

    def add(self, new: NewArticle, near_duplicate_bits: int = NEAR_DUPLICATE_BITS) -> AddOutcome:
        """Store one article (see add_batch)."""
        return self.add_batch([new], near_duplicate_bits)[0]

    def add_batch(self, news: Sequence[NewArticle], near_duplicate_bits: int = NEAR_DUPLICATE_BITS
                  ) -> list[AddOutcome]:
        """Store articles once each, in order, in one transaction: a known URL adds variants, a known
        or near-identical text (stored earlier or earlier in the batch) joins its story."""
        if not news:
            return []
        # Before the write lock: cutting texts into words is the worker's work, not the lock holder's.
        vectors = [vector_values(self.db.dialect, new.title, new.text) for new in news]
        with self.db.write() as conn:
            # Set-based: what the batch needs to know about stored articles comes in a few queries
            # per batch, not three per article (measured: the per-article queries were a third of
            # the crawl process's time in a burst).
            index = StoryIndex(
                urls=self._url_owners(conn, [u for new in news for u in (new.url, *new.variants)]),
                originals=self._originals(conn, [new.content_hash for new in news]),
                bands=self._band_owners(conn, [(i, v) for new in news for i, v in enumerate(new.bands)]),
            )
            index.simhashes = self._simhashes(conn, {a for owners in index.bands.values() for a in owners})
            listed = count(self._listed_floor(conn) + 1)
            outcomes = [self._add(conn, new, vector, near_duplicate_bits, index, listed)
                        for new, vector in zip(news, vectors, strict=True)]
            self._insert_children(conn, news, outcomes)
            _count_on_runs(conn, news, outcomes)
        return outcomes

    def add_version(self, article_id: int, new: NewArticle) -> bool:
        """Store a revisited article's changed text as its current version; False if unchanged."""
        with self.db.write() as conn:
            old = conn.execute(select(Article.title, Article.text, Article.content_hash)
                               .where(Article.id == article_id)).first()
            if old is None or old.content_hash == new.content_hash:
                return False
            now = utcnow()
            conn.execute(insert(ArticleVersion).values(article_id=article_id, fetched=now, title=old.title,
                                                       text=old.text, content_hash=old.content_hash))
            conn.execute(update(self._table).where(self._table.c.id == article_id).values(
                title=new.title, text=new.text, content_hash=new.content_hash, simhash=new.simhash,
                modified=new.modified, updated=now, **vector_values(self.db.dialect, new.title, new.text)))
            conn.execute(delete(Match).where(Match.article_id == article_id))
            if new.matches:
                conn.execute(insert(Match), _match_rows(article_id, new.matches, new.scores))
            return True

    def rewrite(self, article: ArticleText, text: str, content_hash: str, simhash: int, bands: Sequence[int],
                matches: dict[str, tuple[str, ...]], scores: dict[str, float] | None = None) -> int | None:
        """Replace a stored article's text with a cleaned one, and its hash, SimHash, bands and matches with
        it, in one transaction; return how its run's matched count moved (-1, 0, 1), None if it changed meanwhile.

        In place, not a version (add_version): the page did not change, our reading of it did, and
        `query --updated` must not announce it as news again. An exact copy keeps storing no text.
        """
        values: dict[str, Any] = {"content_hash": content_hash, "simhash": simhash}
        if not article.exact_copy:
            values.update(text=text, **vector_values(self.db.dialect, article.title, text))
        with self.db.write() as conn:
            had_match = bool(conn.execute(select(exists().where(Match.article_id == article.id))).scalar())
            # Compare-and-set on the hash it was read with: a revisit that stored a new version
            # since then wins, and this cleaning is dropped rather than overwrite it.
            done = conn.execute(update(self._table).where(self._table.c.id == article.id,
                                                          self._table.c.content_hash == article.content_hash)
                                .values(**values))
            if done.rowcount == 0:
                return None
            conn.execute(delete(ArticleBand).where(ArticleBand.article_id == article.id))
            conn.execute(delete(Match).where(Match.article_id == article.id))
            if bands:
                conn.execute(insert(ArticleBand), [{"article_id": article.id, "band": i, "value": v}
                                                   for i, v in enumerate(bands)])
            if matches:
                conn.execute(insert(Match), _match_rows(article.id, matches, scores or {}))
            # A run counts its new stories that matched (_count_on_runs); keep it agreeing.
            moved = int(bool(matches)) - int(had_match) if article.duplicate_of is None else 0
            if moved and article.run_id is not None:
                conn.execute(update(Run).where(Run.id == article.run_id).values(matched=Run.matched + moved))
            return moved

    def _listed_floor(self, conn: Connection) -> int:
        """The highest `listed` position so far; on PostgreSQL, also wait for this transaction's turn."""
        if self.db.dialect == "postgresql":
            # Writers number their articles one transaction at a time (until commit), so positions
            # grow in commit order and a `--new` cursor never passes an article that a slower
            # transaction was still writing. SQLite's writers take turns already (BEGIN IMMEDIATE).
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LISTED_LOCK})
        return int(conn.execute(select(func.max(Article.listed))).scalar() or 0)

    def _add(self, conn: Connection, new: NewArticle, vector: dict[str, Any], max_bits: int, index: StoryIndex,
             listed: Iterator[int]) -> AddOutcome:
        urls = tuple(dict.fromkeys((new.url, *new.variants)))
        known = next((index.urls[u] for u in urls if u in index.urls), None)
        if known is not None:
            index.note_urls(urls, known)
            return AddOutcome(AddStatus.KNOWN, known)
        exact = index.originals.get(new.content_hash)
        story = exact if exact is not None else index.story(new, max_bits)
        leads = self._leads(conn, new, story)
        # An exact copy's text is stored once, on the original; a near copy keeps its own.
        stored = None if exact is not None and leads is None else new.text
        if stored is None:
            vector = dict.fromkeys(vector)
        article_id = int(conn.execute(self._insert, {
            "url": new.url, "source": new.source, "title": new.title, "author": new.author,
            "published": new.published, "modified": new.modified, "language": new.language,
            "description": new.description,
            "text": stored, "content_hash": new.content_hash, **vector,
            "simhash": new.simhash, "first_seen": utcnow(), "run_id": new.run_id,
            "duplicate_of": story if leads is None else None, "listed": leads if leads is not None else next(listed),
        }).scalar_one())
        if leads is not None and story is not None:  # the former lead and its copies follow this one
            conn.execute(update(Article).where(or_(Article.id == story, Article.duplicate_of == story)).values(
                duplicate_of=article_id))
            index.lead(story, article_id)
        index.note_article(new, urls, article_id, story if leads is None else None)
        if story is not None:  # a new lead too is counted as the copy it is: its story was new before
            return AddOutcome(AddStatus.DUPLICATE, article_id, duplicate_of=story)
        return AddOutcome(AddStatus.NEW, article_id)

    def _leads(self, conn: Connection, new: NewArticle, story: int | None) -> int | None:
        """`story`'s listed position (nobody is shown it twice) if `new` is to lead it (stories.first_copy_key):
        only within one run, where which copy came first is a race; an earlier run's lead stays (feeds, alerts)."""
        if story is None or new.run_id is None:
            return None
        lead = conn.execute(select(Article.published, Article.url, Article.run_id, Article.listed).where(
            Article.id == story)).one()
        first = first_copy_key(new.published, new.url) < first_copy_key(lead.published, lead.url)
        return int(lead.listed or 0) if lead.run_id == new.run_id and first else None

    def _insert_children(self, conn: Connection, news: Sequence[NewArticle], outcomes: Sequence[AddOutcome]) -> None:
        urls, bands, matches = [], [], []
        for new, outcome in zip(news, outcomes, strict=True):
            urls += [{"url": u, "article_id": outcome.article_id} for u in dict.fromkeys((new.url, *new.variants))]
            if outcome.status == AddStatus.KNOWN:
                continue
            bands += [{"article_id": outcome.article_id, "band": i, "value": v} for i, v in enumerate(new.bands)]
            matches += _match_rows(outcome.article_id, new.matches, new.scores)
        self._add_url_rows(conn, urls)
        for table, rows in ((ArticleBand, bands), (Match, matches)):
            if rows:
                conn.execute(insert(cast(Table, table.__table__)), rows)

    def _add_url_rows(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        stmt: Any
        if self.db.dialect == "postgresql":
            stmt = postgresql.insert(ArticleUrl).on_conflict_do_nothing()
        elif self.db.dialect == "sqlite":
            stmt = sqlite.insert(ArticleUrl).on_conflict_do_nothing()
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            raise StoreError(f"unsupported database dialect {self.db.dialect}")
        conn.execute(stmt, rows)

    # -- what a batch needs to know of stored articles -------------------------------------------

    def _url_owners(self, conn: Connection, urls: list[str]) -> dict[str, int]:
        rows = self.db.chunked_in(conn, lambda chunk: select(ArticleUrl.url, ArticleUrl.article_id)
                                  .where(ArticleUrl.url.in_(chunk)), list(dict.fromkeys(urls)))
        return {r.url: r.article_id for r in rows}

    def _originals(self, conn: Connection, hashes: list[str]) -> dict[str, int]:
        rows = self.db.chunked_in(conn, lambda chunk: select(Article.content_hash, func.min(Article.id)).where(
            Article.content_hash.in_(chunk), Article.duplicate_of.is_(None)).group_by(Article.content_hash),
            list(dict.fromkeys(hashes)))
        return {r[0]: int(r[1]) for r in rows}

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
            rows = self.db.chunked_in(conn, partial(_band_query, band), values)
            for r in rows:
                owners.setdefault((band, r.value), []).append(r.article_id)
        return owners

    def _simhashes(self, conn: Connection, ids: set[int]) -> dict[int, tuple[int | None, int | None]]:
        rows = self.db.chunked_in(conn, lambda chunk: select(Article.id, Article.simhash, Article.duplicate_of)
                                  .where(Article.id.in_(chunk)), sorted(ids))
        return {r.id: (r.simhash, r.duplicate_of) for r in rows}

    # -- reads -----------------------------------------------------------------------------------

    def find_story(self, simhash: int, bands: tuple[int, ...], max_bits: int = NEAR_DUPLICATE_BITS) -> int | None:
        """Return the story a text with this SimHash would join, or None (a read-only lookup)."""
        probe = NewArticle(url="", source="", content_hash="", text="", simhash=simhash, bands=bands)
        with self.db.read() as conn:
            index = StoryIndex(urls={}, originals={}, bands=self._band_owners(conn, list(enumerate(bands))))
            index.simhashes = self._simhashes(conn, {a for owners in index.bands.values() for a in owners})
        return index.story(probe, max_bits)

    def containing(self, source: str, since: datetime, paragraphs: Sequence[str]) -> list[ArticleText]:
        """Return the source's articles first seen since `since` whose text holds one of `paragraphs`, and
        the exact copies of those (which show their text), in id order."""
        if not paragraphs:
            return []
        columns = (Article.id, Article.run_id, Article.duplicate_of, Article.title, Article.language,
                   Article.content_hash)
        # An index range on (source, first_seen) (migration 0005), then a substring test on the
        # rows of that window only: the source's articles since the block first appeared.
        holds = or_(*(Article.text.contains(p, autoescape=True) for p in paragraphs))
        with self.db.read() as conn:
            rows = conn.execute(select(*columns, Article.text).where(
                Article.source == source, Article.first_seen >= since, Article.text.is_not(None), holds)).all()
            found = [ArticleText(r.id, r.run_id, r.duplicate_of, r.title, r.language, r.text, r.content_hash)
                     for r in rows]
            texts = {a.id: a.text for a in found}
            copies = [ArticleText(r.id, r.run_id, r.duplicate_of, r.title, r.language, texts[r.duplicate_of],
                                  r.content_hash, exact_copy=True)
                      for r in self.db.chunked_in(conn, lambda chunk: select(*columns).where(
                          Article.duplicate_of.in_(chunk), Article.text.is_(None)), sorted(texts))]
        return sorted(found + copies, key=lambda a: a.id)

    def get(self, article_id: int) -> StoredArticle | None:
        """One stored article by id, matched or not (a copy reads its story's text)."""
        found = self.query(ArticleFilter(ids=(article_id,), include_all=True))
        return found[0] if found else None

    def id_of_url(self, url: str) -> int | None:
        """The id of the article stored under this URL or one of its variants."""
        with self.db.read() as conn:
            return conn.execute(select(ArticleUrl.article_id).where(ArticleUrl.url == url)).scalar()

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        """Return those of `urls` that some stored article was already reached by."""
        with self.db.read() as conn:
            return set(r.url for r in self.db.chunked_in(
                conn, lambda chunk: select(ArticleUrl.url).where(ArticleUrl.url.in_(chunk)), list(dict.fromkeys(urls))))

    def revisit_candidates(self, source: str, since: datetime) -> dict[str, int]:
        """Return url -> article id for the source's articles first seen since `since`."""
        with self.db.read() as conn:
            rows = conn.execute(select(Article.url, Article.id).where(
                Article.source == source, Article.first_seen >= since, Article.duplicate_of.is_(None)))
            return {r.url: r.id for r in rows}

    def max_listed(self) -> int:
        """The newest position in the `query --new` stream (0 when empty)."""
        with self.db.read() as conn:
            return int(conn.execute(select(func.max(Article.listed))).scalar() or 0)

    def max_id(self) -> int:
        """Return the newest article id (0 for an empty store)."""
        with self.db.read() as conn:
            return int(conn.execute(select(func.max(Article.id))).scalar() or 0)

    def count(self) -> int:
        """Return how many articles are stored, duplicates included."""
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(Article)).scalar_one())

    def query(self, flt: ArticleFilter) -> list[StoredArticle]:
        """List stored articles, newest first (oldest first past a cursor, so paging is exact)."""
        original = aliased(Article)
        stmt = (select(*Article.__table__.c, original.text.label("original_text"))
                .outerjoin(original, original.id == Article.duplicate_of))
        stmt = stmt.where(*conditions(flt))
        if flt.after_listed is not None:
            stmt = stmt.order_by(Article.listed.asc())
        elif flt.order == "score":
            best = select(func.max(Match.score)).where(Match.article_id == Article.id).scalar_subquery()
            stmt = stmt.order_by(best.desc().nulls_last(), Article.first_seen.desc(), Article.id.desc())
        elif flt.updated_only:
            stmt = stmt.order_by(Article.updated.desc(), Article.id.desc())
        else:
            stmt = stmt.order_by(Article.first_seen.desc(), Article.id.desc())
        if flt.limit is not None:
            stmt = stmt.limit(flt.limit)
        if flt.offset:
            stmt = stmt.offset(flt.offset)
        with self.db.read() as conn:
            rows = conn.execute(stmt).all()
            ids = [r.id for r in rows]
            matches = self._matches(conn, ids)
            also = self._also_at(conn, ids)
            versions = self._version_counts(conn, ids) if flt.updated_only else {}
        return [_stored(row, matches.get(row.id, {}), also.get(row.id, ()), versions.get(row.id, 0)) for row in rows]

    def _matches(self, conn: Connection, ids: list[int]) -> dict[int, dict[str, tuple[list[str], float | None]]]:
        out: dict[int, dict[str, tuple[list[str], float | None]]] = {}
        for m in self.db.chunked_in(conn, lambda chunk: select(*Match.__table__.c).where(Match.article_id.in_(chunk))
                                    .order_by(Match.article_id, Match.rule), ids):
            out.setdefault(m.article_id, {})[m.rule] = (list(m.terms), m.score)
        return out

    def _also_at(self, conn: Connection, ids: list[int]) -> dict[int, tuple[str, ...]]:
        out: dict[int, list[str]] = {}
        for r in self.db.chunked_in(conn, lambda chunk: select(Article.duplicate_of, Article.url)
                                    .where(Article.duplicate_of.in_(chunk)).order_by(Article.id), ids):
            out.setdefault(r.duplicate_of, []).append(r.url)
        return {k: tuple(v) for k, v in out.items()}

    def _version_counts(self, conn: Connection, ids: list[int]) -> dict[int, int]:
        rows = self.db.chunked_in(conn, lambda chunk: select(ArticleVersion.article_id, func.count()).where(
            ArticleVersion.article_id.in_(chunk)).group_by(ArticleVersion.article_id), ids)
        return {r[0]: int(r[1]) for r in rows}


def _match_rows(article_id: int, matches: dict[str, tuple[str, ...]], scores: dict[str, float]
                ) -> list[dict[str, Any]]:
    return [{"article_id": article_id, "rule": rule, "terms": list(terms), "score": scores.get(rule)}
            for rule, terms in matches.items()]


def _band_query(band: int, values: list[int]) -> Select[int, int]:
    return select(ArticleBand.value, ArticleBand.article_id).where(ArticleBand.band == band,
                                                                   ArticleBand.value.in_(values))


def _count_on_runs(conn: Connection, news: Sequence[NewArticle], outcomes: Sequence[AddOutcome]) -> None:
    # In the batch's own transaction, so a run's counters never disagree with its stored articles.
    totals: dict[int, dict[str, int]] = {}
    for new, outcome in zip(news, outcomes, strict=True):
        if new.run_id is None or outcome.status == AddStatus.KNOWN:
            continue
        counts = totals.setdefault(new.run_id, {"new": 0, "matched": 0, "duplicates": 0})
        if outcome.status == AddStatus.NEW:
            counts["new"] += 1
            counts["matched"] += 1 if new.matches else 0
        else:
            counts["duplicates"] += 1
    for run_id, counts in totals.items():
        conn.execute(update(Run).where(Run.id == run_id).values(
            new=Run.new + counts["new"], matched=Run.matched + counts["matched"],
            duplicates=Run.duplicates + counts["duplicates"]))


def _stored(a: Any, matches: dict[str, tuple[list[str], float | None]], also_at: tuple[str, ...],
            versions: int) -> StoredArticle:
    return StoredArticle(
        id=a.id, url=a.url, title=a.title, author=a.author, published=a.published,
        language=a.language, source=a.source, text=a.text if a.text is not None else a.original_text,
        rules=tuple(matches), terms={rule: terms for rule, (terms, _) in matches.items()},
        first_seen=a.first_seen, duplicate_of=a.duplicate_of, also_at=also_at, modified=a.modified,
        updated=a.updated, versions=versions, listed=a.listed or 0,
        scores={rule: score for rule, (_, score) in matches.items() if score is not None},
    )
