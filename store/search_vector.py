"""PostgreSQL's search vector of an article, built in Python: the words crawler.rules reads, as a
tsvector literal (migration 0013).

Built here rather than by PostgreSQL (migration 0008's generated column): the database is the one
process every worker shares, and cutting a text into words was two thirds of an article's insert
there (2.2 ms a row generated, 0.7-0.9 as a literal, measured on a 2-core VM); a worker does it
beside its other work, outside the store's write lock. It also makes the index cut and fold words
exactly as the rules do (\\w+ of the casefolded text), whatever the database's locale.

The vector keeps to_tsvector's limits: a word longer than 2,047 bytes is left out, a word keeps its
first 255 positions, and words and positions end before tsvector's 1 MB (PostgreSQL itself reads a
position past 16,383 as 16,383).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from typing import Any, cast

from sqlalchemy import Column, MetaData, Table
from sqlalchemy.dialects.postgresql import TSVECTOR

from store.models import Article

_WORD = re.compile(r"\w+")  # crawler.rules' words
# PostgreSQL's tsvector limits (tsearch/ts_type.h: MAXSTRLEN, MAXNUMPOS - 1 as to_tsvector keeps, MAXSTRPOS).
_MAX_WORD_BYTES = 2047
_MAX_POSITIONS = 255
_MAX_BYTES = (1 << 20) - 1

# The articles table as PostgreSQL has it: with the vector, which store.models leaves out so that
# no read of an article fetches it (and SQLite has no such column: its index is FTS5).
_PG_ARTICLES = cast(Table, Article.__table__).to_metadata(MetaData())
_PG_ARTICLES.append_column(Column("search_vector", TSVECTOR))


def articles_table(dialect: str) -> Table:
    """The articles table to insert or update an article's text through, on `dialect`."""
    return _PG_ARTICLES if dialect == "postgresql" else cast(Table, Article.__table__)


def vector_values(dialect: str, title: str | None, text: str | None) -> dict[str, Any]:
    """The values an insert or update of an article's title and text sets beside them: its vector
    on PostgreSQL (articles_table), nothing on SQLite (FTS5's triggers read the text)."""
    return {"search_vector": search_vector(title, text)} if dialect == "postgresql" else {}


def words(text: str) -> list[str]:
    """The words of `text` as the vector holds them: runs of \\w in the casefolded text."""
    return _WORD.findall(text.casefold())


def quote(word: str) -> str:
    """`word` (one of `words`: a run of \\w, so no quote or backslash to escape) as a tsquery operand."""
    return f"'{word}'"


def search_vector(title: str | None, text: str | None) -> str | None:
    """The tsvector literal of an article: title words weighted A, then text words B (positions
    running on from the title's, as PostgreSQL's `||` does); None without text (an exact copy)."""
    if text is None:
        return None
    # A word's positions, in order; a title's are the first `titled`.
    titled = words(title or "")
    positions: defaultdict[str, list[int]] = defaultdict(list)
    for position, word in enumerate(titled + words(text), 1):
        positions[word].append(position)
    entries = []
    size = 0
    last_titled = len(titled)
    for word, places in positions.items():
        del places[_MAX_POSITIONS:]
        # What PostgreSQL counts against 1 MB (tsvectorin): a word's bytes aligned to 2, its
        # count of positions and each position, 2 bytes each.
        length = len(word) if word.isascii() else len(word.encode())
        cost = length + length % 2 + 2 + 2 * len(places)
        if length > _MAX_WORD_BYTES or size + cost > _MAX_BYTES:
            continue
        size += cost
        # A word (a run of \w) holds no quote or backslash to escape. Most words are once in the
        # text: their short path, and the text-only one, took a 4 KB article from 0.92 ms to 0.46
        # against formatting position by position (on a 2-core VM).
        if len(places) == 1:
            first = places[0]
            entries.append(f"'{word}':{first}{'A' if first <= last_titled else 'B'}")
        elif places[0] > last_titled:
            entries.append(f"'{word}':{'B,'.join(map(str, places))}B")
        else:
            cut = bisect_right(places, last_titled)
            marked = ("A,".join(map(str, places[:cut])) + "A", "B,".join(map(str, places[cut:])) + "B")
            entries.append(f"'{word}':{','.join(m for m in marked if len(m) > 1)}")
    return " ".join(entries)
