"""Shared fixtures, so that a new test is a few lines: databases (SQLite always, PostgreSQL when
configured), a running fixture site, seeds folders, the real CLI, a crawl, and a deadline poll.

What the fixture sites serve (stories, feeds, the sample site's expected results) is in tests/sites.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bench.pg_schema import fresh_pg_schema as _fresh_schema
from crawler.config import copy_default_rules
from tests.sites import TimedSiteServer

ROOT = Path(__file__).resolve().parent.parent
PG_ENV = "NEWSMON_TEST_POSTGRES_URL"
# Near-zero politeness against 127.0.0.1: the fixture server is ours.
FAST_CRAWL_ENV = {
    "NEWSMON_DOWNLOAD_DELAY": "0",
    "NEWSMON_AUTOTHROTTLE": "false",
    "NEWSMON_RETRY_BACKOFF": "0",
    "NEWSMON_DOWNLOAD_TIMEOUT": "10",
}
T = TypeVar("T")


def pg_url_or_skip() -> str:
    """Return the test PostgreSQL URL, or skip the test saying how to enable it."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    return url


@contextmanager
def fresh_pg_schema(server_url: str | None = None, prefix: str = "newsmon_test") -> Iterator[str]:
    """Yield a PostgreSQL URL whose search_path is a fresh schema, dropped afterwards (the server
    is NEWSMON_TEST_POSTGRES_URL's unless given)."""
    with _fresh_schema(server_url or pg_url_or_skip(), prefix) as url:
        yield url


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


def cli_json(db: str, *args: str, seeds: Path | None = None, env: dict[str, str] | None = None) -> Any:
    """Run `newsmon --db DB [--seeds SEEDS] ARGS --format json`, check that it exits 0, and return its JSON."""
    proc = run_cli("--db", db, *(("--seeds", str(seeds)) if seeds else ()), *args, "--format", "json", env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def crawl(db: str, seeds: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `newsmon crawl now` over `seeds` into `db` and return the one run's summary."""
    (run,) = cli_json(db, "crawl", "now", *args, seeds=seeds, env=env)
    return dict(run)


def write_seeds(folder: Path, *sources: Mapping[str, object], text: str = "") -> Path:
    """Write a seeds folder: sources.toml with `text` and a [[source]] table per mapping, and the default rules."""
    # A JSON string, number, boolean or array of them is also a valid TOML value.
    tables = "".join("[[source]]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in source.items())
                     + "\n" for source in sources)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sources.toml").write_text(text + tables, encoding="utf-8")
    copy_default_rules(folder)
    return folder


def poll(check: Callable[[], T], timeout: float = 60, what: str = "condition", interval: float = 0.05) -> T:
    """Return check()'s first truthy value, checking every `interval` seconds until `timeout`; fail after."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@pytest.fixture
def server() -> Iterator[TimedSiteServer]:
    """A fixture site on 127.0.0.1 with no pages yet: add them with set_page (see tests/sites.py)."""
    with TimedSiteServer() as srv:
        yield srv
