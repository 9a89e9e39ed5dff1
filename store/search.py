r"""Full-text search over stored articles (`newsmon search`): the word index of migration 0008
(SQLite FTS5, PostgreSQL tsvector) finds and ranks candidates, a caller's matcher decides.

Queries come as a small expression of plain values (Words, Substring, All, AnyOf, Not), which
scheduler.search builds from a rule query: the store knows nothing of crawler.rules. The index
prunes; `accept` (the rule matcher) has the last word, so where the two cut words differently the
index must find more, not less. PostgreSQL's vector holds the rules' own words (store.search_vector:
\w+ of the casefolded text); SQLite's FTS5 agrees on letters, digits, '_' and case, and differs on
  - case folding beyond lower case: a term is looked up lower-cased and casefolded, so "Straße"
    finds "STRASSE" and "straße", but "strasse" does not find "Straße" there (a rule would match it);
  - PostgreSQL keeps 255 positions a word and none past 16,383 words, so a phrase deep in a very
    long text can be missed there;
  - Chinese and Japanese are not cut into words by either index: such terms are substrings
    (LIKE), read from every row unless a word term narrows the search.
Ranking: SQLite's bm25 and PostgreSQL's ts_rank, a title word counting TITLE_WEIGHT body words,
of the WINDOW newest candidates only, so that a query matching a tenth of the store does not rank
100,000 articles (PostgreSQL still reads each match's row to find the newest: see WINDOW).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeAlias

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    and_,
    cast,
    column,
    exists,
    func,
    literal_column,
    not_,
    or_,
    select,
)
from sqlalchemy import table as sql_table
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import aliased

from store.articles import Articles, _stored
from store.database import Database
from store.models import Article, Match
from store.records import ArticleFilter, StoredArticle
from store.search_vector import quote, words

# At most this many candidates, the newest, are ranked. On bench/store.py's 1M articles a broad query
# (a word in 1.5% of them) has 15,000: ranking all of a prefix's 100,000 took 190 ms on SQLite and
# 580 ms on PostgreSQL; a NOT query took 120 ms on PostgreSQL with 1,000 ranked, 72 ms with 500
# (it reads the newest rows until the window fills). PostgreSQL still reads every match's row when
# its planner takes the GIN bitmap instead: 96 ms for a wildcard at 1M.
WINDOW = 500
# A word in the title weighs as much as this many in the text (bm25 column weights; ts_rank's A and B).
TITLE_WEIGHT = 5.0

# FTS5's table, its hidden column named after it (the left side of MATCH), and PostgreSQL's vector.
_FTS = sql_table("articles_fts", column("rowid", Integer), column("articles_fts"))
_VECTOR: ColumnElement[Any] = literal_column("articles.search_vector")
_WEIGHTS: ColumnElement[Any] = literal_column(f"'{{0.1, 0.2, {1 / TITLE_WEIGHT}, 1.0}}'::float4[]")
# An exact copy reads its story's text; aliased once (a tenth of a search's time when built per call).
_ORIGINAL = aliased(Article)
# ts_rank's normalization 1: divided by 1 + log(length), as bm25 weighs a long text's words less.
_LOG_LENGTH = 1


# -- the query, as plain values -----------------------------------------------------------------

@dataclass(frozen=True)
class Words:
    """A word or phrase: any of `spellings` (each a run of consecutive words), the last word a prefix if `prefix`."""

    spellings: tuple[tuple[str, ...], ...]
    prefix: bool = False


@dataclass(frozen=True)
class Substring:
    """Text found anywhere in the title or text, case-insensitively (Chinese, Japanese: no spaces between words)."""

    text: str


@dataclass(frozen=True)
class All:
    parts: tuple[Expr, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    part: Expr


Expr: TypeAlias = "Words | Substring | All | AnyOf | Not"


def positive(expr: Expr) -> bool:
    """True if every article matching `expr` must contain one of its terms (what an index can look up)."""
    if isinstance(expr, Words | Substring):
        return True
    if isinstance(expr, All):
        return any(positive(p) for p in expr.parts)
    if isinstance(expr, AnyOf):
        return all(positive(p) for p in expr.parts)
    return False


@dataclass(frozen=True)
class Found:
    """A matching article and its relevance (higher is better)."""

    article: StoredArticle
    rank: float


@dataclass(frozen=True)
class SearchResult:
    """The best matches, and whether more articles were candidates than the WINDOW ranked."""

    found: list[Found]
    ranked: int
    more: bool


# -- translation ---------------------------------------------------------------------------------

def _fts5(expr: Expr) -> str | None:
    """An FTS5 MATCH expression for a positive `expr`; None where FTS5 cannot say it (substrings, a
    NOT beside no term: its NOT is binary)."""
    if isinstance(expr, Words):
        # FTS5 folds the case of a quoted string itself, and cuts it into a phrase as it cut the text.
        star = " *" if expr.prefix else ""
        return "(" + " OR ".join(f'"{" ".join(s)}"{star}' for s in expr.spellings) + ")"
    if isinstance(expr, AnyOf):
        parts = [_fts5(p) for p in expr.parts]
        return None if any(p is None for p in parts) else "(" + " OR ".join(str(p) for p in parts) + ")"
    if isinstance(expr, All):
        pos = [_fts5(p) for p in expr.parts if not isinstance(p, Not)]
        neg = [_fts5(p.part) for p in expr.parts if isinstance(p, Not)]
        if not pos or any(p is None for p in pos + neg):
            return None
        both = "(" + " AND ".join(str(p) for p in pos) + ")"
        return both + (" NOT (" + " OR ".join(str(n) for n in neg) + ")" if neg else "")
    return None


def _tsquery(expr: Expr) -> str | None:
    """A tsquery literal for `expr`; None if it holds a substring."""
    if isinstance(expr, Words):
        # Cut and folded as the vector was (a literal is not parsed again, as to_tsquery would).
        star = ":*" if expr.prefix else ""
        spellings = dict.fromkeys(tuple(w for word in s for w in words(word)) for s in expr.spellings)
        return "(" + " | ".join(" <-> ".join(map(quote, s)) + star for s in spellings if s) + ")"
    if isinstance(expr, Not):
        inner = _tsquery(expr.part)
        return None if inner is None else f"!{inner}"
    if isinstance(expr, All | AnyOf):
        parts = [_tsquery(p) for p in expr.parts]
        joint = " & " if isinstance(expr, All) else " | "
        return None if any(p is None for p in parts) else "(" + joint.join(str(p) for p in parts) + ")"
    return None


def _wanted(expr: Expr) -> list[Words | Substring]:
    """The terms of `expr` outside its NOT parts: what ranks an article. (ts_rank scores `a & !b` 1e-20
    whatever the text, and `a & (b | !c)` near 0 without b: ranked on `a | b` instead.)"""
    if isinstance(expr, All | AnyOf):
        return [t for p in expr.parts for t in _wanted(p)]
    return [] if isinstance(expr, Not) else [expr]


def _needles(expr: Expr) -> list[str]:
    """The texts of the terms that rank an article when no index ranks."""
    needles: list[str] = []
    for term in _wanted(expr):
        if isinstance(term, Substring):
            needles.append(term.text)
        else:
            needles += [" ".join(s).casefold() for s in term.spellings]
    return needles


def _count_rank(needles: Sequence[str], title: str | None, text: str | None) -> float:
    """Occurrences of the terms (in the title counting TITLE_WEIGHT) per 1,000 characters of text."""
    head, body = (title or "").casefold(), (text or "").casefold()
    hits = sum(TITLE_WEIGHT * head.count(n) + body.count(n) for n in needles)
    return hits / (1 + len(body) / 1000)


# -- the search ----------------------------------------------------------------------------------

class Search:
    """Stored articles by full-text query: originals, or every copy."""

    def __init__(self, db: Database, articles: Articles) -> None:
        self.db = db
        self.articles = articles
        self.index_query = _fts5 if db.dialect == "sqlite" else _tsquery

    def find(self, expr: Expr, flt: ArticleFilter, accept: Callable[[str | None, str | None], bool],
             window: int = WINDOW) -> SearchResult:
        """Return the articles `accept(title, text)` takes among those the index finds for `expr`, best first.

        Every stored story is searched, matched by a rule or not; `flt` narrows it by sources, rules
        and since, its `limit` bounds the answer (else the window does), and `include_all` adds the stories'
        other copies (an exact copy, which stores no text, through its story)."""
        if not positive(expr):
            raise ValueError("a search needs a term that matching articles contain")
        limit = flt.limit or window
        conjuncts = expr.parts if isinstance(expr, All) else (expr,)
        indexed = [c for c in conjuncts if self.index_query(c.part if isinstance(c, Not) else c) is not None]
        if not any(positive(c) for c in indexed):
            indexed = []
        rest = [self._condition(c) for c in conjuncts if c not in indexed]
        with self.db.read() as conn:
            if indexed:
                lookup = indexed[0] if len(indexed) == 1 else All(tuple(indexed))
                ranked = [(r[0], r[1]) for r in conn.execute(self._ranked(lookup, flt, rest, window))]
                found = self._verified(conn, ranked, flt, accept, limit)
                return SearchResult(found[:limit], len(ranked), len(ranked) == window)
            candidates = conn.execute(select(Article.id, Article.title, Article.text)
                                      .where(Article.text.is_not(None), *_filters(flt), *rest)
                                      .order_by(Article.id.desc()).limit(window)).all()
            needles = _needles(expr)
            kept = [(r.id, _count_rank(needles, r.title, r.text)) for r in candidates if accept(r.title, r.text)]
            kept.sort(key=lambda c: (c[1], c[0]), reverse=True)
            found = self._verified(conn, kept[:limit], flt, accept, limit)
        return SearchResult(found[:limit], len(candidates), len(candidates) == window)

    def _ranked(self, lookup: Expr, flt: ArticleFilter, rest: list[ColumnElement[bool]], window: int) -> Any:
        """The newest `window` candidates the word index finds for `lookup`, as (id, rank), best first."""
        if self.db.dialect == "sqlite":
            # The FTS5 table leads: it yields its rows newest first (no sort) and bm25 is computed for
            # the window's rows only. It holds no exact copy; a near copy is left out when its page is
            # read (_verified), which spares reading every candidate's row when nothing else needs it.
            rank = (-func.bm25(literal_column("articles_fts"), TITLE_WEIGHT, 1.0)).label("rank")
            stmt = select(_FTS.c.rowid.label("id"), rank).where(_FTS.c.articles_fts.op("MATCH")(_fts5(lookup)))
            row_filters = [*_filters(replace(flt, include_all=True)), *rest]
            if row_filters:
                stmt = stmt.join(Article, Article.id == _FTS.c.rowid).where(*row_filters)
            newest = stmt.order_by(_FTS.c.rowid.desc()).limit(window).subquery()
            return select(newest.c.id, newest.c.rank).order_by(newest.c.rank.desc(), newest.c.id.desc())
        query = cast(_tsquery(lookup), TSQUERY)
        newest = (select(Article.id, _VECTOR.label("vector"))
                  .where(_VECTOR.op("@@")(query), Article.text.is_not(None), *_filters(flt), *rest)
                  .order_by(Article.id.desc()).limit(window).subquery())
        # Ranked outside the LIMIT, so that ts_rank reads only the window's vectors.
        wanted = cast(" | ".join(str(_tsquery(t)) for t in _wanted(lookup)), TSQUERY)
        score = func.ts_rank(_WEIGHTS, newest.c.vector, wanted, _LOG_LENGTH)
        return select(newest.c.id, score.label("rank")).order_by(score.desc(), newest.c.id.desc())

    def _condition(self, expr: Expr) -> ColumnElement[bool]:
        """`expr` as a condition on an article row (a substring, or a part the index lookup cannot hold)."""
        if isinstance(expr, Substring):
            return or_(Article.title.icontains(expr.text, autoescape=True),
                       Article.text.icontains(expr.text, autoescape=True))
        lookup = None if isinstance(expr, Not) else self.index_query(expr)
        if lookup is not None:
            if self.db.dialect == "sqlite":
                return Article.id.in_(select(_FTS.c.rowid).where(_FTS.c.articles_fts.op("MATCH")(lookup)))
            return _VECTOR.op("@@")(cast(lookup, TSQUERY))
        if isinstance(expr, Not):
            return not_(self._condition(expr.part))
        if isinstance(expr, All):
            return and_(*(self._condition(p) for p in expr.parts))
        assert isinstance(expr, AnyOf)  # Words always have a lookup
        return or_(*(self._condition(p) for p in expr.parts))

    def _verified(self, conn: Connection, ranked: list[tuple[int, float]], flt: ArticleFilter,
                  accept: Callable[[str | None, str | None], bool], limit: int) -> list[Found]:
        """Read the ranked candidates a page at a time until `limit` pass `accept` (with their copies)."""
        found: list[Found] = []
        for start in range(0, len(ranked), limit):
            page = ranked[start:start + limit]
            read = {a.id: a for a in self._read(conn, [Article.id.in_([i for i, _ in page]), *_filters(flt)])}
            copies: dict[int, list[StoredArticle]] = {}
            if flt.include_all:
                for copy in self._read(conn, [Article.duplicate_of.in_(list(read)), Article.text.is_(None),
                                              *_filters(flt)]):
                    copies.setdefault(copy.duplicate_of or 0, []).append(copy)
            for article_id, rank in page:
                if article_id not in read:
                    continue
                for article in (read[article_id], *copies.get(article_id, ())):
                    if accept(article.title, article.text):
                        found.append(Found(article, rank))
            if len(found) >= limit:
                break
        return found

    def _read(self, conn: Connection, where: list[ColumnElement[bool]]) -> list[StoredArticle]:
        # Read as Articles.query reads, so that a result is the StoredArticle `query` shows (an exact
        # copy with its story's text).
        rows = conn.execute(select(*Article.__table__.c, _ORIGINAL.text.label("original_text"))
                            .outerjoin(_ORIGINAL, _ORIGINAL.id == Article.duplicate_of).where(*where)
                            .order_by(Article.id)).all()
        ids = [r.id for r in rows]
        matches, also = self.articles._matches(conn, ids), self.articles._also_at(conn, ids)
        return [_stored(r, matches.get(r.id, {}), also.get(r.id, ()), 0) for r in rows]


def _filters(flt: ArticleFilter) -> list[ColumnElement[bool]]:
    cond: list[ColumnElement[bool]] = []
    if flt.sources:
        cond.append(Article.source.in_(flt.sources))
    if flt.since is not None:
        cond.append(Article.first_seen >= flt.since)
    if flt.rules:
        cond.append(exists().where(and_(Match.article_id == Article.id, Match.rule.in_(flt.rules))))
    if not flt.include_all:
        cond.append(Article.duplicate_of.is_(None))
    return cond


# Schema objects of the index that store/models.py cannot describe (an FTS5 table and its shadow
# tables, a column only PostgreSQL has): Alembic's model comparison leaves them out
# through include_name (tests/test_store.py, store/migrations/env.py).
INDEX_OBJECTS = frozenset({"articles_fts", "articles_fts_data", "articles_fts_idx", "articles_fts_docsize",
                           "articles_fts_config", "search_vector", "ix_articles_search"})


def not_index_object(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic include_name hook: False for the search index's own tables, column and index."""
    return name not in INDEX_OBJECTS
