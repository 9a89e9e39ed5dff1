"""Shared fixtures, so that a new test is a few lines: databases (SQLite always, PostgreSQL when
configured), a running fixture site, seeds folders, the real CLI, a crawl, and a deadline poll.

What the fixture sites serve (stories, feeds, the sample site's expected results) is in tests/sites.py.
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

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


# -- newsmon serve and feeds: a populated store, a served app, plain HTTP ---------------------------

# Payloads from hostile pages: any of them live in a page would set window.pwned.
HOSTILE_TITLE = '<script>window.pwned=1</script>Green steel <img src=x onerror="window.pwned=2"> plant opens'
HOSTILE_TEXT = ("A low-carbon steel plant opened. <script>window.pwned=3</script>\n"
                '<img src=x onerror="window.pwned=4"> Its <a href="javascript:window.pwned=5">owner</a> '
                "said green steel is the future.\nThe factory runs on hydrogen.")
HOSTILE_URL = "https://hostile.example/news/green-steel-plant"
JAVASCRIPT_URLS = ("javascript:window.pwned=6", "javascript:alert(document.cookie)")
CONTROL_TITLE = "Control\x00 chars\x1b[31m and a bell\x07 in a green steel title\ufffe"
SERVE_URL = re.compile(r"Serving (http://\S+) \(Ctrl-C to stop\)")


@dataclass(frozen=True)
class WebStore:
    """The sample site crawled by `newsmon demo`, then hostile articles written through the store."""

    db: str
    seeds: Path
    mark: datetime  # after the demo's articles were stored, before the hostile ones
    hostile_id: int
    javascript_id: int
    control_id: int


@pytest.fixture(scope="session")
def web_store(tmp_path_factory: pytest.TempPathFactory) -> WebStore:
    """One store for the web, feed and browser tests: a real crawl, hostile articles, a failing source."""
    from store.records import NewArticle, Outcome
    from store.repository import Repository

    folder = tmp_path_factory.mktemp("web")
    proc = run_cli("demo", "--dir", str(folder), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    seeds, db = folder / "seeds", f"sqlite:///{folder / 'newsmon.db'}"
    with (seeds / "sources.toml").open("a", encoding="utf-8") as out:
        out.write('\n[[source]]\nname = "hostile-news"\nfeeds = ["https://hostile.example/feed.xml"]\n')
    mark = datetime.now(UTC)
    poll(lambda: datetime.now(UTC) > mark, what="the clock to pass the mark")
    repo = Repository.open(db)
    try:
        run = repo.runs.start("hostile-news")
        repo.runs.add_error(run, JAVASCRIPT_URLS[0], "<script>window.pwned=7</script> HTTP 500")
        repo.runs.finish(run, Outcome.FAILED, 1)
        rule = {"green-manufacturing": ("low-carbon", "green steel", "factor*")}

        def article(url: str, title: str, content_hash: str) -> NewArticle:
            return NewArticle(url=url, source="hostile-news", content_hash=content_hash, text=HOSTILE_TEXT,
                              title=title, language="de", matches=rule, author="<b>Mallory</b>")

        hostile, javascript, control = repo.articles.add_batch([
            article(HOSTILE_URL, HOSTILE_TITLE, "hostile-1"),
            article(JAVASCRIPT_URLS[1], "A story whose URL is javascript:", "hostile-2"),
            article("https://hostile.example/news/control", CONTROL_TITLE, "hostile-3")])
        # A copy of the first story at a javascript: URL: it shows in that story's also_at.
        repo.articles.add_batch([article(JAVASCRIPT_URLS[0], HOSTILE_TITLE, "hostile-1")])
    finally:
        repo.close()
    return WebStore(db, seeds, mark, hostile.article_id, javascript.article_id, control.article_id)


@functools.lru_cache(maxsize=64)
def query_json(db: str, *args: str) -> Any:
    """`newsmon query ARGS --format json` on a store no test writes to (web_store), run once per arguments."""
    return cli_json(db, "query", *args)


class Served:
    """`newsmon serve` running in a child process; stop() sends Ctrl-C and returns the exit code."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Path, url: str) -> None:
        self.proc, self.log, self.url = proc, log, url

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=30)


def start_serve(store: WebStore, log: Path, *args: str, env: dict[str, str] | None = None) -> Served | int:
    """Start `newsmon serve --port 0 ARGS` on `store`; return it once it listens, or its exit code if it ended."""
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "scheduler", "--db", store.db, "--seeds", str(store.seeds),
                                 "serve", "--port", "0", *args], stdout=subprocess.DEVNULL, stderr=err,
                                env={**os.environ, **(env or {})}, cwd=ROOT)
    # The socket listens before the line is printed, so the URL answers as soon as it is shown.
    found = poll(lambda: SERVE_URL.search(log.read_text(encoding="utf-8", errors="replace"))
                 or proc.poll() is not None, timeout=60, what="newsmon serve to print its URL")
    if found is True:
        return proc.wait()
    return Served(proc, log, found.group(1))


@contextmanager
def serving(store: WebStore, log: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`newsmon serve` on `store` for the length of the block."""
    served = start_serve(store, log, *args, env=env)
    assert isinstance(served, Served), f"newsmon serve exited {served}: {log.read_text()}"
    try:
        yield served
    finally:
        served.stop()


def http_get(url: str, headers: Mapping[str, str] | None = None, method: str = "GET"
             ) -> tuple[int, Mapping[str, str], bytes]:
    """One request, redirects not followed: (status, headers, body)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), headers=dict(headers or {}))
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


# Screenshots the browser tests saved: listed at the end of the run, so CI's log shows where they are.
SCREENSHOTS: list[Path] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SCREENSHOTS:
        terminalreporter.section("screenshots")
        for path in SCREENSHOTS:
            terminalreporter.write_line(str(path))
