"""`newsmon search`: a rule query over every stored article, best first.

The query is parsed by crawler.rules and translated into store.search's plain expression (the
store imports nothing of crawler); the word index finds candidates, and crawler.rules.match, the
very matcher a crawl runs, decides which of them match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crawler.rules import MatchText, Query, QueryError, QueryPart, match, parse_query, walk
from store.records import ArticleFilter
from store.repository import Repository
from store.search import All, AnyOf, Expr, Not, SearchResult, Substring, Words, positive

_WORD = re.compile(r"\w+")  # crawler.rules' words


class SearchQueryError(ValueError):
    """A query that cannot be searched: it does not parse, or no term must be present."""


def to_expression(part: QueryPart) -> Expr:
    """Translate a parsed rule query's tree into the store's search expression."""
    if part.kind == "TERM":
        if part.cjk:
            return Substring(part.tokens[0])
        # The indexes lower-case; the rules casefold ("Straße": "straße" against "strasse"): both are looked up.
        lowered = tuple(w.lower() for w in _WORD.findall(part.text.removesuffix("*")))
        spellings = (part.tokens, lowered) if lowered and lowered != part.tokens else (part.tokens,)
        return Words(spellings, prefix=part.wildcard)
    parts = tuple(to_expression(p) for p in part.parts)
    if part.kind == "NOT":
        return Not(parts[0])
    return All(parts) if part.kind == "AND" else AnyOf(parts)


@dataclass(frozen=True)
class SearchQuery:
    """A rule query ready to search: parsed for the matcher, translated for the index."""

    query: Query
    expr: Expr


def prepare(text: str) -> SearchQuery:
    """Parse and translate a rule query; SearchQueryError (one line, with the position) if it cannot be searched."""
    try:
        query = parse_query(text)
    except QueryError as exc:
        raise SearchQueryError(f"query {text!r}: {exc}") from None
    expr = to_expression(walk(query))
    if not positive(expr):
        raise SearchQueryError(f"query {text!r} names no word an article must contain: NOT only narrows "
                               "a search (write 'steel NOT coal', not 'NOT coal' or 'steel OR NOT coal')")
    return SearchQuery(query, expr)


def search_articles(repository: Repository, search: SearchQuery, flt: ArticleFilter) -> SearchResult:
    """Return the stored articles matching the query, best first (see store.search.Search.find)."""
    return repository.search.find(search.expr, flt,
                                  lambda title, body: match(search.query, MatchText.of(title, body)) is not None)
