"""Shared fixtures: databases (SQLite always, PostgreSQL when configured) and the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
PG_ENV = "NEWSMON_TEST_POSTGRES_URL"
# Near-zero politeness against 127.0.0.1: the fixture server is ours.
FAST_CRAWL_ENV = {
    "NEWSMON_DOWNLOAD_DELAY": "0",
    "NEWSMON_AUTOTHROTTLE": "false",
    "NEWSMON_RETRY_BACKOFF": "0",
    "NEWSMON_DOWNLOAD_TIMEOUT": "10",
}


def pg_url_or_skip() -> str:
    """Return the test PostgreSQL URL, or skip the test saying how to enable it."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    return url


def _pg_driver(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


@contextmanager
def fresh_pg_schema(server_url: str | None = None, prefix: str = "newsmon_test") -> Iterator[str]:
    """Yield a PostgreSQL URL whose search_path is a fresh schema, dropped afterwards (the server
    is NEWSMON_TEST_POSTGRES_URL's unless given)."""
    base = _pg_driver(server_url or pg_url_or_skip())
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


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL with a fresh schema (skips without NEWSMON_TEST_POSTGRES_URL)."""
    with fresh_pg_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, then PostgreSQL when configured."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'newsmon.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


def fresh_db(kind: str, folder: Path, stack: ExitStack) -> str:
    """Return a fresh database URL of `kind` ("sqlite" or "postgres") that lives as long as `stack`."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'newsmon.db'}"
    return stack.enter_context(fresh_pg_schema())


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `newsmon` command in a child process (Twisted allows one crawl per process)."""
    full_env = {**os.environ, **FAST_CRAWL_ENV, **(env or {})}
    return subprocess.run([sys.executable, "-m", "scheduler", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=cwd or ROOT)
