"""The quiet check (crawler/quiet_check.py): one crawler settles a batch's sources that have nothing
new, as their own crawlers would have; a source with anything else gets its own crawler, which
replays what the check was answered instead of asking the site again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sample_site import Page, SiteServer
from scheduler.jobs import Launcher
from store.db import open_db
from store.repository import Repository
from tests.conftest import FAST_CRAWL_ENV, ROOT, cli_json, poll, run_cli, write_seeds
from tests.sites import serve_feed, story

pytestmark = pytest.mark.e2e
NAMES = ("a", "b")


def _publish(server: SiteServer, name: str, count: int) -> None:
    """Serve source `name`'s feed, with an ETag, listing its first `count` stories."""
    paths = [f"/{name}/2024-09/{1 + n:02d}/story-{name}-{n}.html" for n in range(count)]
    for n, path in enumerate(paths):
        server.set_page(path, story(n, title=f"Story {name} {{n}}", offset=17 * NAMES.index(name)))
    serve_feed(server, f"/{name}.xml", paths, headers={"ETag": f'"{name}-{count}"'})


def _seeds(server: SiteServer, folder: Path) -> Path:
    return write_seeds(folder, *({"name": n, "feeds": [f"{server.url}/{n}.xml"]} for n in NAMES))


def _crawled_once(server: SiteServer, tmp_path: Path, stories: int) -> tuple[Path, str]:
    """Publish `stories` for each source, crawl them once (a first crawl: each its own crawler), and
    return the seeds and the database."""
    for name in NAMES:
        _publish(server, name, stories)
    seeds = _seeds(server, tmp_path / "seeds")
    db = f"sqlite:///{tmp_path / 'n.db'}"
    cli_json(db, "crawl", "now", seeds=seeds)
    return seeds, db


def _crawl_logged(db: str, seeds: Path) -> tuple[dict[str, dict[str, object]], str]:
    """Crawl now with INFO logs; return each source's run summary and the log."""
    proc = run_cli("--db", db, "--seeds", str(seeds), "--log-level", "info", "crawl", "now", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return {run["source"]: run for run in json.loads(proc.stdout)}, proc.stderr


def _own_crawlers(log: str) -> int:
    """How many sources had a crawler of their own: Scrapy lists each crawler's extensions, and only
    a source's own has its run's (the quiet check's has none)."""
    return log.count("crawler.crawl_run.CrawlRun")


def _not_modified(db_file: Path) -> dict[str, int]:
    with sqlite3.connect(db_file) as conn:
        return dict(conn.execute("SELECT source, not_modified FROM validators"))


def test_quiet_sources_are_settled_by_one_crawler_and_keep_their_validators(server: SiteServer,
                                                                             tmp_path: Path) -> None:
    for name in NAMES:
        _publish(server, name, 2)
    seeds, db_file = _seeds(server, tmp_path / "seeds"), tmp_path / "n.db"
    db = f"sqlite:///{db_file}"
    first, log = _crawl_logged(db, seeds)
    assert [first[n]["new"] for n in NAMES] == [2, 2]
    assert _own_crawlers(log) == 2  # a first crawl has work for each source's own crawler
    server.clear_log()
    second, log = _crawl_logged(db, seeds)
    assert [(second[n]["outcome"], second[n]["pages"], second[n]["new"]) for n in NAMES] == [("ok", 1, 0)] * 2
    assert sorted(server.answers()) == [("/a.xml", 304), ("/b.xml", 304)]
    assert log.count("Spider opened") == 1 and _own_crawlers(log) == 0  # the quiet check's only
    # Their answers were saved as their crawlers would have saved them: the next check is
    # conditional again, and counted.
    assert _not_modified(db_file) == {"a": 1, "b": 1}
    _crawl_logged(db, seeds)
    assert _not_modified(db_file) == {"a": 2, "b": 2}


def test_a_changed_source_gets_its_own_crawler_which_does_not_ask_the_site_again(server: SiteServer,
                                                                                tmp_path: Path) -> None:
    seeds, db = _crawled_once(server, tmp_path, 2)
    _publish(server, "a", 3)
    server.clear_log()
    runs, log = _crawl_logged(db, seeds)
    assert (runs["a"]["outcome"], runs["a"]["new"]) == ("ok", 1)
    assert (runs["b"]["outcome"], runs["b"]["new"]) == ("ok", 0)
    assert log.count("Spider opened") == 2 and _own_crawlers(log) == 1  # the quiet check's, and a's own
    # a's feed was asked once, by the check; its crawler read the answer from it, then its new story.
    assert [p for p in server.requests() if p.startswith("/a")] == ["/a.xml", "/a/2024-09/03/story-a-2.html"]
    assert ("/b.xml", 304) in server.answers()


def test_a_failure_in_the_quiet_check_is_retried_and_recorded_by_the_source_own_crawler(server: SiteServer,
                                                                                       tmp_path: Path) -> None:
    seeds, db = _crawled_once(server, tmp_path, 1)
    server.set_page("/a.xml", Page(b"down for maintenance", status=503))
    server.clear_log()
    runs = {r["source"]: r for r in cli_json(db, "crawl", "now", seeds=seeds, env={"NEWSMON_RETRY_TIMES": "1"})}
    # Asked once by the check (no retry there), then by a's crawler with its retry.
    assert server.requests().count("/a.xml") == 3
    assert runs["a"]["outcome"] == "failed" and runs["a"]["errors"] == 1  # not one feed could be read
    assert runs["b"]["outcome"] == "ok"


def test_a_source_that_hangs_in_the_quiet_check_times_out_alone(tmp_path: Path) -> None:
    with SiteServer() as site:
        for name in NAMES:
            _publish(site, name, 1)
        seeds = write_seeds(tmp_path / "seeds", *({"name": n, "feeds": [f"{site.url}/{n}.xml"]} for n in NAMES),
                            text="[settings]\ndownload_delay = 0\nretry_times = 0\n")
        db = f"sqlite:///{tmp_path / 'n.db'}"
        repo = Repository(open_db(db))
        launcher = Launcher(repo, db, time_limit=3)
        try:
            assert [r.summary["outcome"] for r in launcher.run_batch(seeds, list(NAMES)) if r.summary] == ["ok"] * 2
            site.set_page("/a.xml", Page(b"<rss/>", delay=60))
            started = time.monotonic()
            results = {r.source: r.summary["outcome"] for r in launcher.run_batch(seeds, list(NAMES)) if r.summary}
            assert results == {"a": "timed_out", "b": "ok"}
            assert time.monotonic() - started < 20  # the limit, not the 60-s answer
        finally:
            launcher.stop_all()
            repo.close()


def test_a_crawl_stopped_during_the_quiet_check_records_the_unanswered_source_as_stopped(server: SiteServer,
                                                                                        tmp_path: Path) -> None:
    seeds, db = _crawled_once(server, tmp_path, 1)
    server.set_page("/a.xml", Page(b"<rss/>", delay=60))
    server.clear_log()
    proc = subprocess.Popen([sys.executable, "-m", "scheduler", "--db", db, "--seeds", str(seeds), "crawl", "now"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **FAST_CRAWL_ENV}, cwd=ROOT)
    try:
        # b has answered: the check is under way, a's request waiting for its answer.
        poll(lambda: ("/b.xml", 304) in server.answers(), timeout=60, what="b's answer to the quiet check")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    repo = Repository(open_db(db))
    try:
        latest = repo.runs.latest(NAMES)
    finally:
        repo.close()
    assert {name: run.outcome.value for name, run in latest.items()} == {"a": "stopped", "b": "ok"}


def test_a_source_whose_feed_redirects_is_settled_by_the_check_too(server: SiteServer, tmp_path: Path) -> None:
    _publish(server, "a", 1)
    server.set_page("/old-a.xml", Page(b"", status=301, headers={"Location": f"{server.url}/a.xml"}))
    seeds = write_seeds(tmp_path / "seeds", {"name": "a", "feeds": [f"{server.url}/old-a.xml"]})
    db = f"sqlite:///{tmp_path / 'n.db'}"
    first, _ = _crawl_logged(db, seeds)
    assert first["a"]["new"] == 1
    server.clear_log()
    second, log = _crawl_logged(db, seeds)
    assert (second["a"]["outcome"], second["a"]["new"]) == ("ok", 0)
    assert _own_crawlers(log) == 0  # settled by the check
    # Asked conditionally: the redirect carried the validators to where it leads, which answered 304.
    assert server.answers() == [("/old-a.xml", 301), ("/a.xml", 304)]
    # Published to: the check finds the change, and the source's crawler follows the redirect itself.
    _publish(server, "a", 2)
    third, log = _crawl_logged(db, seeds)
    assert (third["a"]["outcome"], third["a"]["new"]) == ("ok", 1)
    assert _own_crawlers(log) == 1
    # The same feed, now without an ETag (a 200): judged by its body, against what the URL asked answered.
    serve_feed(server, "/a.xml", [f"/a/2024-09/{1 + n:02d}/story-a-{n}.html" for n in range(2)])
    fourth, log = _crawl_logged(db, seeds)
    assert (fourth["a"]["outcome"], fourth["a"]["new"], _own_crawlers(log)) == ("ok", 0, 0)
