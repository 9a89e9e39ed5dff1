"""One engine's transactions: short reads and exclusive writes, errors as StoreError, and the
chunked `IN (...)` query every table group uses."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Executable, Row, text
from sqlalchemy.exc import SQLAlchemyError

from store.db import redact
from store.errors import StoreError

# Arbitrary constant key: PostgreSQL serializes article inserts on it (see Database.write()).
_PG_INSERT_LOCK = 0x6E6577736D6F6E
# Bound parameters per IN (...) query; SQLite's historical limit is 999.
IN_CHUNK = 500

T = TypeVar("T")


class Database:
    """Reads and writes through one engine; every write is its own short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Yield a connection for reads; a database failure becomes a StoreError."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"read from {redact(self.engine.url)} failed: {_first_line(exc)}", exc) from exc

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """Yield a connection in a transaction no other writer runs beside (committed on exit)."""
        try:
            # newsmon_write makes store.db's SQLite hook BEGIN IMMEDIATE: see _configure_sqlite.
            with self.engine.connect().execution_options(newsmon_write=True) as conn, conn.begin():
                if self.dialect == "postgresql":
                    # Article ids must become visible in id order, or a `query --new` cursor
                    # could step past an id whose transaction had not committed yet.
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_INSERT_LOCK})
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"write to {redact(self.engine.url)} failed: {exc.__class__.__name__}: "
                             f"{_first_line(exc)}", exc) from exc

    @staticmethod
    def chunked_in(conn: Connection, make_stmt: Callable[[list[T]], Executable], values: Sequence[T],
                   size: int = IN_CHUNK) -> Iterator[Row[*tuple[Any, ...]]]:
        """Run `make_stmt(chunk)` for each chunk of `values` (an IN (...) list each); yield the rows."""
        for i in range(0, len(values), size):
            result = conn.execute(make_stmt(list(values[i:i + size])))
            if result.returns_rows:
                yield from result


def _first_line(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).splitlines() or [type(orig).__name__])[0]
