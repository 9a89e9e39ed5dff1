"""A throwaway PostgreSQL schema: a URL whose search_path is a fresh schema, dropped afterwards.

bench/store.py measures in one, and every PostgreSQL test runs in one (tests/conftest.py). It lives
in bench/ because bench/ never imports tests/ (tests/test_layout.py checks) while tests may use
bench's tools; it is not in store/, because nothing newsmon itself runs creates or drops schemas.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from sqlalchemy import create_engine, text


def with_driver(url: str) -> str:
    """Return a postgresql:// URL with the psycopg (3) driver named, as SQLAlchemy needs it."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


@contextmanager
def fresh_pg_schema(server_url: str, prefix: str = "newsmon_test") -> Iterator[str]:
    """Yield a URL of the PostgreSQL server at `server_url` whose search_path is a new schema; drop it afterwards."""
    base = with_driver(server_url)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
