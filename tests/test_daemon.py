"""The daemon against a fixture site that publishes while it runs: real children, real leases."""

from __future__ import annotations

import html
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from crawler.config import default_seeds_dir
from scheduler.sample_site import Page, SiteServer, load_articles
from store.db import open_db
from store.repository import ArticleFilter, Repository
from tests.conftest import FAST_CRAWL_ENV, ROOT, run_cli

pytestmark = pytest.mark.e2e
PARAGRAPHS = [p for a in load_articles() for p in a["paragraphs"] if len(p) > 150]


def poll(check: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    """Return check()'s first truthy value, polling until the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class LiveSite:
    """A site whose feed grows as the test publishes articles."""

    server: SiteServer
    published: list[str] = field(default_factory=list)

    def publish(self, n: int, delay: float = 0.0) -> str:
        path = f"/news/2024-10/{1 + n % 28:02d}/live-story-number-{n}.html"
        body = "".join(f"<p>{html.escape(PARAGRAPHS[(n * 3 + k) % len(PARAGRAPHS)])}</p>" for k in range(4))
        page = (f"<html><head><title>Live story {n}</title></head><body><nav><a href='/'>Home</a></nav>"
                f"<article><h1>Live story {n}: steel mills go green</h1>{body}</article>"
                f"<footer>Copyright</footer></body></html>")
        self.server.set_page(path, Page(page.encode(), delay=delay))
        self.published.append(path)
        self._feed()
        return self.server.url + path

    def _feed(self) -> None:
        items = "".join(f"<item><title>{p}</title><link>{self.server.url}{p}</link></item>" for p in self.published)
        feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Live</title>{items}</channel></rss>'
        self.server.set_page("/rss.xml", Page(feed.encode(), headers={"Content-Type": "application/rss+xml"}))

    def article_requests(self) -> Counter[str]:
        return Counter(p for p in self.server.requests() if p.startswith("/news/"))


@pytest.fixture
def live() -> Iterator[LiveSite]:
    with SiteServer() as server:
        site = LiveSite(server)
        site._feed()
        yield site


def write_seeds(folder: Path, sources: dict[str, str], every: str = "1s") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    blocks = "".join(f'[[source]]\nname = "{name}"\nfeeds = ["{feed}"]\nevery = "{every}"\n\n'
                     for name, feed in sources.items())
    (folder / "sources.toml").write_text(blocks, encoding="utf-8")
    shutil.copyfile(default_seeds_dir() / "rules.toml", folder / "rules.toml")
    return folder


class Daemon:
    """A `newsmon daemon` child process with its log file."""

    def __init__(self, db: str, seeds: Path, log: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.log = log
        cmd = [sys.executable, "-m", "scheduler", "--db", db, "--seeds", str(seeds), "--log-level", "info",
               "--log-file", str(log), "daemon", "--jitter", "0", "--check-every", "0.2", *args]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **FAST_CRAWL_ENV, **(env or {})},
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'newsmon.db'}"


def stored_urls(db: str) -> set[str]:
    repo = Repository(open_db(db))
    try:
        return {a.url for a in repo.articles(ArticleFilter(include_all=True))}
    finally:
        repo.close()


def runs_of(db: str, source: str) -> list[Any]:
    repo = Repository(open_db(db))
    try:
        return repo.runs(source=source, limit=500)
    finally:
        repo.close()


def assert_no_overlap(runs: list[Any]) -> None:
    spans = sorted((r.started, r.finished) for r in runs if r.finished is not None)
    for (_, end), (start, _) in pairwise(spans):
        assert start >= end, f"two crawls of one source overlapped: one ended {end}, the next started {start}"


def test_new_articles_appear_without_restart_and_nothing_is_fetched_twice(live: LiveSite, db: str,
                                                                          tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds", {"live": live.server.url + "/rss.xml"})
    first = live.publish(1)
    daemon = Daemon(db, seeds, tmp_path / "daemon.log")
    try:
        poll(lambda: first in stored_urls(db), what="the first article")
        second = live.publish(2)
        poll(lambda: second in stored_urls(db), what="an article published while the daemon runs")
        new = run_cli("--db", db, "query", "--new", "--format", "json")
        assert new.returncode == 0 and second in new.stdout and first in new.stdout
        poll(lambda: len(runs_of(db, "live")) >= 4, what="more scheduled runs")
    finally:
        assert daemon.stop() == 0
    assert all(n == 1 for n in live.article_requests().values()), live.article_requests()
    assert "crawl start: live" in daemon.text() and "crawl end: live outcome=ok" in daemon.text()
    assert all(r.outcome in ("ok", "stopped", "timed_out") for r in runs_of(db, "live"))


def test_daemon_and_crawl_now_never_crawl_one_source_at_once(live: LiveSite, db: str, tmp_path: Path) -> None:
    for n in range(4):
        live.publish(n, delay=0.3)  # each crawl takes a while, so overlaps would show
    seeds = write_seeds(tmp_path / "seeds", {"live": live.server.url + "/rss.xml"})
    daemons = [Daemon(db, seeds, tmp_path / f"d{i}.log") for i in range(2)]
    try:
        poll(lambda: len(stored_urls(db)) == 4, what="the four articles")
        now = run_cli("--db", db, "--seeds", str(seeds), "crawl", "now", "--format", "json")
        assert now.returncode == 0, now.stderr
        skipped = run_cli("--db", db, "--seeds", str(seeds), "crawl", "now", "--no-wait", "--format", "json")
        assert skipped.returncode == 0
        poll(lambda: len(runs_of(db, "live")) >= 5, what="several runs")
    finally:
        assert all(d.stop() == 0 for d in daemons)
    assert_no_overlap(runs_of(db, "live"))
    assert all(n == 1 for n in live.article_requests().values()), live.article_requests()
    holders = {r.holder for r in runs_of(db, "live")}
    assert len(holders) >= 2  # crawled by more than one process, never at the same time


def test_sigterm_mid_crawl_keeps_the_db_consistent_and_the_next_crawl_carries_on(
        live: LiveSite, db: str, tmp_path: Path) -> None:
    urls = [live.publish(n, delay=0.3) for n in range(16)]
    seeds = write_seeds(tmp_path / "seeds", {"live": live.server.url + "/rss.xml"}, every="1h")
    daemon = Daemon(db, seeds, tmp_path / "daemon.log", "--grace", "0",
                    env={"NEWSMON_CONCURRENCY_PER_DOMAIN": "1"})
    try:
        poll(lambda: stored_urls(db), what="the first stored article")
    finally:
        assert daemon.stop() == 0
    partial = stored_urls(db)
    assert 0 < len(partial) < len(urls)
    (run,) = runs_of(db, "live")
    assert run.outcome != "running" and run.finished is not None
    repo = Repository(open_db(db))
    try:
        for article in repo.articles(ArticleFilter(include_all=True)):
            assert article.text and article.title and article.url in repo.known_urls([article.url])
    finally:
        repo.close()
    again = run_cli("--db", db, "--seeds", str(seeds), "crawl", "now", "--format", "json")
    assert again.returncode == 0, again.stderr
    assert stored_urls(db) == set(urls)


def test_a_hanging_source_is_cut_off_while_the_others_go_on(live: LiveSite, db: str, tmp_path: Path) -> None:
    healthy = live.publish(1)
    live.server.set_page("/hang.xml", Page(b"<rss/>", delay=60))
    seeds = write_seeds(tmp_path / "seeds", {"live": live.server.url + "/rss.xml",
                                             "hang": live.server.url + "/hang.xml"}, every="1h")
    # The time limit leaves a loaded machine room for a healthy crawl (child start-up included).
    daemon = Daemon(db, seeds, tmp_path / "daemon.log", "--time-limit", "8s",
                    env={"NEWSMON_DOWNLOAD_TIMEOUT": "40"})
    try:
        poll(lambda: healthy in stored_urls(db), what="the healthy source's article")
        # The child closes its run as "stopped"; the daemon then settles it as timed out.
        hang_runs = poll(lambda: [r for r in runs_of(db, "hang") if r.outcome in ("timed_out", "killed")],
                         timeout=60, what="the hanging source's run to be cut off")
    finally:
        assert daemon.stop() == 0
    # time limit 8 s + graceful stop 5 s + forced stop: well before the 40 s download timeout
    assert (hang_runs[0].finished - hang_runs[0].started).total_seconds() < 25
    assert "ok" in [r.outcome for r in runs_of(db, "live")]


def test_a_bad_seeds_edit_keeps_the_last_good_config(live: LiveSite, db: str, tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds", {"live": live.server.url + "/rss.xml"})
    first = live.publish(1)
    daemon = Daemon(db, seeds, tmp_path / "daemon.log")
    try:
        poll(lambda: first in stored_urls(db), what="the first article")
        (seeds / "sources.toml").write_text('[[source]]\nname = "live"\nfeeds = ["not a url"]\n')
        poll(lambda: "seeds edit rejected" in daemon.text(), what="the rejected edit in the log")
        second = live.publish(2)
        poll(lambda: second in stored_urls(db), what="crawling to go on with the old config")
        assert daemon.proc.poll() is None
    finally:
        assert daemon.stop() == 0
    errors = [line for line in daemon.text().splitlines() if "seeds edit rejected" in line]
    assert len(errors) == 1 and "feeds[1] 'not a url' is not an http(s) URL" in errors[0]


def test_a_failing_source_backs_off_and_status_shows_it(live: LiveSite, db: str, tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds", {"dead": "http://127.0.0.1:9/rss.xml"})
    daemon = Daemon(db, seeds, tmp_path / "daemon.log", env={"NEWSMON_RETRY_TIMES": "0"})
    try:
        poll(lambda: len([r for r in runs_of(db, "dead") if r.outcome == "failed"]) >= 2, what="two failed runs")
        status = poll(lambda: _status_row(db, seeds, "backing off"), what="the backoff in status")
    finally:
        assert daemon.stop() == 0
    assert status["failures"] >= 2 and status["outcome"] == "failed"
    assert "backing off after" in status["schedule"]


def _status_row(db: str, seeds: Path, wanted: str) -> dict[str, Any] | None:
    import json

    proc = run_cli("--db", db, "--seeds", str(seeds), "status", "--format", "json")
    rows = json.loads(proc.stdout) if proc.returncode == 0 else []
    return next((r for r in rows if wanted in (r.get("schedule") or "")), None)


def test_sighup_reloads_seeds_at_once(live: LiveSite, db: str, tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds", {"live": live.server.url + "/rss.xml"}, every="1h")
    live.publish(1)
    daemon = Daemon(db, seeds, tmp_path / "daemon.log", "--check-every", "3600")  # only SIGHUP reloads
    try:
        poll(lambda: runs_of(db, "live"), what="the first run")
        live.server.set_page("/other.xml", Page(
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>o</title></channel></rss>',
            headers={"Content-Type": "application/rss+xml"}))
        write_seeds(seeds, {"live": live.server.url + "/rss.xml", "other": live.server.url + "/other.xml"},
                    every="1h")
        daemon.proc.send_signal(signal.SIGHUP)
        poll(lambda: runs_of(db, "other"), what="the source added by the edit to be crawled")
        assert "seeds reloaded: 2 sources" in daemon.text()
    finally:
        assert daemon.stop() == 0


def test_polling_adapts_to_what_crawls_find_and_status_says_why(live: LiveSite, db: str, tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds", {"live": live.server.url + "/rss.xml"}, every="2s")
    live.publish(1)
    daemon = Daemon(db, seeds, tmp_path / "daemon.log")
    try:
        quiet = poll(lambda: _status_row(db, seeds, "found nothing new"), what="a quiet crawl to slow polling")
        slower = poll(lambda: _status_row(db, seeds, "every 4s"), timeout=30, what="the interval to grow")
        assert quiet["schedule"].endswith("(ceiling 16s)")
        live.publish(2)
        busy = poll(lambda: _status_row(db, seeds, "found 1 new"), timeout=30, what="a busy crawl to speed it up")
    finally:
        assert daemon.stop() == 0
    assert slower and busy["next_run"] is not None
