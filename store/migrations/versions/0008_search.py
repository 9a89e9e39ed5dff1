"""Full-text search over articles' title and text (`newsmon search`), built for existing rows too.

SQLite: an FTS5 table over a view of the articles that store text (an exact copy stores none and
is found through its story), kept current by triggers. PostgreSQL: a generated tsvector column
(title weighted A, text B; the 'simple' configuration: no stemming, no stop words) with a GIN index.
Both cut words where crawler.rules does (letters and digits; see store.search for how the index
and the rules still differ), so the index prunes and the rule matcher decides.

A later migration that rebuilds `articles` on SQLite (batch mode with recreate) drops these
triggers with the old table and must create them again.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import re

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Case folding only: crawler.rules tells "café" from "cafe", so an index that folded accents would
# only add candidates the rules reject, and make `steel NOT cafe` drop an article saying "café".
# '_' is part of a word for the rules' \w+ as well.
_FTS5_TOKENIZER = "unicode61 remove_diacritics 0 tokenchars '_'"
_SQLITE_TRIGGERS = {
    "articles_fts_insert": """AFTER INSERT ON articles WHEN new.text IS NOT NULL BEGIN
        INSERT INTO articles_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
    END""",
    "articles_fts_delete": """AFTER DELETE ON articles WHEN old.text IS NOT NULL BEGIN
        INSERT INTO articles_fts (articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
    END""",
    # FTS5 removes a row by being told its old values; they must be exactly what was indexed.
    "articles_fts_update": """AFTER UPDATE OF title, text ON articles BEGIN
        INSERT INTO articles_fts (articles_fts, rowid, title, text)
            SELECT 'delete', old.id, old.title, old.text WHERE old.text IS NOT NULL;
        INSERT INTO articles_fts (rowid, title, text) SELECT new.id, new.title, new.text WHERE new.text IS NOT NULL;
    END""",
}


# An exact copy (no text) gets no vector. A function keeps the 10 KB expression out of the
# column's definition; IMMUTABLE, as a generated column requires (so are the calls inside).
# (Migration 0013 replaces both with a vector newsmon writes; its downgrade makes them again.)
VECTOR_FUNCTION = """CREATE FUNCTION newsmon_search_vector(title text, body text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN body IS NULL THEN NULL ELSE
        setweight(to_tsvector('simple', regexp_replace(coalesce(title, ''), '{separators}', ' ', 'g')), 'A')
        || setweight(to_tsvector('simple', regexp_replace(body, '{separators}', ' ', 'g')), 'B') END
    $$"""
VECTOR_COLUMN = ("ALTER TABLE articles ADD COLUMN search_vector tsvector "
                 "GENERATED ALWAYS AS (newsmon_search_vector(title, text)) STORED")


def separator_class() -> str:
    r"""A regex bracket expression of every character that is not \w to Python (what ends a word in
    crawler.rules), as \u escapes: PostgreSQL's parser reads "U.S." as one host name, "low-carbon"
    as three words and "3.5" as one number; with these turned into spaces first it sees the rules' words.
    Fixed when migrated: a later Python's Unicode tables move a few rare characters."""
    word = re.compile(r"\w")

    def escape(cp: int) -> str:
        return f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"

    ranges, start = [], None
    for cp in range(1, 0x110001):
        separator = cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF and not word.match(chr(cp))
        if separator and start is None:
            start = cp
        elif not separator and start is not None:
            ranges.append(escape(start) if start == cp - 1 else f"{escape(start)}-{escape(cp - 1)}")
            start = None
    return "[" + "".join(ranges) + "]+"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # The view holds the rows the triggers index, so FTS5's 'rebuild' and 'integrity-check' agree with them.
        op.execute("CREATE VIEW articles_fts_content AS SELECT id, title, text FROM articles WHERE text IS NOT NULL")
        op.execute(f"""CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, content='articles_fts_content',
                       content_rowid='id', tokenize="{_FTS5_TOKENIZER}")""")
        for name, body in _SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
        op.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")
        return
    separators = separator_class()
    op.execute(VECTOR_FUNCTION.format(separators=separators))
    # Fills the column for every existing row (a rewrite of the table).
    op.execute(VECTOR_COLUMN)
    # GIN's pending list (fastupdate) kept, at its 4 MB: add_batch stored 200-250 articles/s of 3-6 KB
    # with it, 80-125 without it, 140-170 with a 256 kB list (no index: 420-540; bench/store.py at
    # 20k). Its price: a search reads the whole list, 9 ms when a fresh 10k articles were all in it.
    op.execute("CREATE INDEX ix_articles_search ON articles USING gin (search_vector) WHERE text IS NOT NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE articles_fts")
        op.execute("DROP VIEW articles_fts_content")
        return
    op.execute("DROP INDEX ix_articles_search")
    op.execute("ALTER TABLE articles DROP COLUMN search_vector")
    op.execute("DROP FUNCTION newsmon_search_vector(text, text)")
