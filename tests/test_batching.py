"""The daemon crawls due sources in batches, one child each, and inside a batch each source keeps its
own time limit: a hanging source ends timed_out at its limit while the others finish and are stored."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from sqlalchemy import text

from crawler.deadline import DeadlineMiddleware
from sample_site import Page, SiteServer
from scheduler.batches import DueQueue, taken_ahead
from scheduler.jobs import Launcher, child_limit
from store.db import open_db
from store.records import ArticleFilter, Outcome, RunRecord, utcnow
from store.repository import Repository
from tests.conftest import FAST_CRAWL_ENV, ROOT, poll, write_seeds
from tests.sites import serve_stories


def _stored(repo: Repository) -> set[str]:
    return {a.url for a in repo.articles.query(ArticleFilter(include_all=True))}


@pytest.mark.e2e
def test_a_hanging_source_ends_timed_out_at_its_own_limit_and_the_rest_of_its_batch_is_stored(
        tmp_path: Path) -> None:
    with SiteServer() as site:
        a = serve_stories(site, 2, path="/a/2024-09/{day:02d}/story-{n}.html", feed="/a.xml")
        b = serve_stories(site, 2, path="/b/2024-09/{day:02d}/other-{n}.html", feed="/b.xml", offset=40)
        site.set_page("/hang.xml", Page(b"<rss/>", delay=60))
        # The download timeout is far beyond the source's limit: only the limit can end the hang.
        seeds = write_seeds(tmp_path / "seeds", *({"name": n, "feeds": [f"{site.url}/{n}.xml"]}
                                                  for n in ("a", "hang", "b")),
                            text="[settings]\ndownload_delay = 0\nretry_times = 0\ndownload_timeout = 50\n")
        db = f"sqlite:///{tmp_path / 'n.db'}"
        repo = Repository(open_db(db))
        try:
            limit = 4.0
            started = time.monotonic()
            results = {r.source: r for r in Launcher(repo, db, time_limit=limit).run_batch(seeds, ["a", "hang", "b"])}
            took = time.monotonic() - started
            # The child ended by itself, long before its own backstop (and the download timeout).
            assert took < child_limit(limit, 3) - 10, f"the batch took {took:.1f}s"
            assert {r.returncode for r in results.values()} == {0}
            assert [results[s].summary["outcome"] for s in ("a", "hang", "b")] == ["ok", "timed_out", "ok"]
            assert _stored(repo) == {site.url + p for p in a + b}
            runs = {r.source: r for r in repo.runs.recent(limit=10)}
            assert runs["hang"].outcome == Outcome.TIMED_OUT
            assert (runs["hang"].finished - runs["hang"].started).total_seconds() < limit + 5
            assert runs["a"].finished < runs["hang"].finished  # nobody waited for the hanging source
            assert repo.leases.all() == {}
        finally:
            repo.close()


def _daemon(db: str, seeds: Path, log: Path, *args: str, log_format: str = "text") -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "scheduler", "--db", db, "--seeds", str(seeds), "--log-level", "info",
           "--log-file", str(log), "--log-format", log_format, "daemon", "--jitter", "0", "--check-every", "0.2", *args]
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **FAST_CRAWL_ENV}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.e2e
@pytest.mark.parametrize(("child_batches", "per_holder"), [("1", [3, 3]), ("100", [6])])
def test_the_daemon_crawls_due_sources_in_batches_of_batch_size_and_logs_when_each_was_planned(
        tmp_path: Path, child_batches: str, per_holder: list[int]) -> None:
    names = [f"s{i}" for i in range(6)]
    with SiteServer() as site:
        paths = {n: serve_stories(site, 1, path=f"/{n}/2024-09/{{day:02d}}/story-{{n}}.html", feed=f"/{n}.xml",
                                  offset=7 * i) for i, n in enumerate(names)}
        seeds = write_seeds(tmp_path / "seeds", *({"name": n, "feeds": [f"{site.url}/{n}.xml"], "every": "1h"}
                                                  for n in names))
        db = f"sqlite:///{tmp_path / 'n.db'}"
        log = tmp_path / "daemon.log"
        # Six sources due at once, one child at a time, three a batch: two batches.
        proc = _daemon(db, seeds, log, "--max-parallel", "1", "--batch-size", "3", "--child-batches", child_batches)
        repo = Repository(open_db(db))
        try:
            def finished() -> list[RunRecord] | None:
                done = [r for r in repo.runs.recent(limit=50) if r.finished]
                return done if len(done) == len(names) else None

            runs = poll(finished, timeout=90, what="a finished run of each of the six sources")
            assert _stored(repo) == {site.url + p for n in names for p in paths[n]}
        finally:
            repo.close()
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
    # A child (holder) per batch of three, or one child serving both batches.
    assert sorted(Counter(r.holder for r in runs).values()) == per_holder
    assert {r.outcome for r in runs} == {"ok"}
    text = log.read_text(encoding="utf-8")
    planned = {m[1]: datetime.fromisoformat(m[2])
               for m in re.finditer(r"crawl start: (\S+) planned=(\S+) batch=3\b", text)}
    assert set(planned) == set(names), text
    for r in runs:
        # Runs start after their planned time, and soon (a loose bound: a loaded machine).
        assert 0 <= (r.started - planned[r.source]).total_seconds() < 30



@pytest.mark.e2e
def test_the_daemon_takes_a_source_due_seconds_later_along_with_a_batch_leaving_now(tmp_path: Path) -> None:
    with SiteServer() as site:
        for i, n in enumerate(("now", "soon")):
            serve_stories(site, 1, path=f"/{n}/2024-09/{{day:02d}}/story-{{n}}.html", feed=f"/{n}.xml", offset=7 * i)
        # Every 200 s: a source may be taken up to 10 s (a twentieth) before it falls due.
        seeds = write_seeds(tmp_path / "seeds", *({"name": n, "feeds": [f"{site.url}/{n}.xml"], "every": "200s",
                                                   "max_every": "200s"} for n in ("now", "soon")))
        db = f"sqlite:///{tmp_path / 'n.db'}"
        repo = Repository(open_db(db))
        # "soon" was last crawled 194 s ago: due in 6 s; "now", never crawled, is due at once.
        run = repo.runs.start("soon")
        repo.runs.finish(run, Outcome.OK, pages=0)
        with repo.db.write() as conn:
            conn.execute(text("UPDATE runs SET started = :t"), {"t": utcnow() - timedelta(seconds=194)})
        log = tmp_path / "daemon.log"
        proc = _daemon(db, seeds, log, log_format="json")
        try:
            def crawled() -> list[RunRecord] | None:
                done = [r for r in repo.runs.recent(limit=10) if r.finished and r.id != run]
                return done if len(done) == 2 else None

            runs = poll(crawled, timeout=60, what="a run of each source")
            # What was not done can only be seen once its moment has passed: "soon"'s timer fires
            # 6 s after start, and a crawl for it would follow within a second or two.
            poll(lambda: utcnow() > runs[0].started + timedelta(seconds=10), timeout=15, what="10 s", interval=0.5)
            runs = [r for r in repo.runs.recent(limit=10) if r.id != run]
        finally:
            repo.close()
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
    starts = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        found = re.match(r"crawl start: (\S+) planned=(\S+) batch=(\d+)", entry["message"])
        if found:
            starts[found[1]] = (datetime.fromisoformat(entry["time"]), datetime.fromisoformat(found[2]), int(found[3]))
    # One batch took both, "soon" up to 10 s before it fell due; its timer's run was skipped, not
    # crawled again.
    assert starts["now"][2] == starts["soon"][2] == 2, starts
    left, planned = starts["soon"][0], starts["soon"][1]
    assert 0 < (planned - left).total_seconds() <= 10, starts
    assert sorted(r.source for r in runs) == ["now", "soon"]


# -- the due queue on its own -----------------------------------------------------------------------

def test_a_source_is_queued_once_and_batches_are_taken_full_or_when_the_first_is_ready() -> None:
    queue = DueQueue(size=3, dispatchers=1)
    # The first source starts the one dispatcher; others join its queue.
    assert [queue.put(n, wait=60) for n in ("a", "b", "a", "c", "d")] == [True, False, False, False, False]
    batch = queue.take()
    assert [d.name for d in batch] == ["a", "b", "c"]  # full: taken without waiting
    assert queue.put("a", wait=60) is False and queue.queued() == 1  # being crawled: its timer adds nothing
    queue.done(batch)
    assert queue.put("a", wait=60) is False and queue.queued() == 2  # crawled: queued again
    queue.close()
    assert queue.take() == []  # closed: the dispatcher ends, whatever waits


def test_a_lone_source_is_taken_when_its_wait_is_over_and_how_far_ahead_is_a_share_of_its_interval() -> None:
    queue = DueQueue(size=200, dispatchers=2)
    assert queue.put("a", wait=0.0)
    assert [d.name for d in queue.take()] == ["a"]
    assert queue.take() == []  # nothing left: this dispatcher ends, and the next source starts one
    assert queue.put("b", wait=0.0)
    # Every 1 s: taken up to 50 ms early; every 30 min: 10 s; cron (no interval): never.
    assert (taken_ahead(1), taken_ahead(1800), taken_ahead(None)) == (0.05, 10.0, 0.0)


def test_a_leaving_batch_takes_the_sources_due_within_their_ahead_and_their_timers_runs_are_skipped() -> None:
    queue = DueQueue(size=4, dispatchers=1, wait=60)
    now = datetime.now(UTC)
    plans = {"soon": (3, 10.0), "sooner": (1, 10.0), "just-due": (-2, 10.0), "later": (30, 10.0),
             "cron": (1, 0.0), "gone": (2, 10.0), "a": (0, 10.0)}
    for name, (seconds, ahead) in plans.items():
        queue.plan(name, now + timedelta(seconds=seconds), ahead)
    queue.forget("gone")  # removed from seeds: no timer any more
    assert queue.put("a", upcoming=now + timedelta(hours=1))  # due; on an interval, so it waits for none
    batch = queue.take()
    # Soonest first, up to the batch's size; not the cron source, not one 30 s ahead.
    assert [d.name for d in batch] == ["a", "just-due", "sooner", "soon"]
    assert batch[3].planned == now + timedelta(seconds=3)  # what its lateness is measured against
    queue.done(batch)
    # A batch leaving before their timers fire does not take those runs again.
    queue.put("later", upcoming=now + timedelta(hours=1), wait=0.0)
    assert [d.name for d in queue.take()] == ["later"]
    # Their timers fire for the runs the batch took: nothing is queued twice.
    for name in ("just-due", "sooner", "soon"):
        assert queue.put(name, upcoming=now + timedelta(hours=1)) is False
    assert queue.queued() == 0
    # The next runs are queued as usual; the cron source waits for company (60 s here).
    queue.put("soon", upcoming=now + timedelta(hours=2))
    queue.put("cron", upcoming=now + timedelta(days=1))
    assert queue.queued() == 2
    started = time.monotonic()
    # At once, not after the cron source's 60 s: it rides along, due already.
    assert [d.name for d in queue.take()] == ["soon", "cron"]
    assert time.monotonic() - started < 5


def test_a_requests_download_timeout_never_reaches_past_its_sources_limit() -> None:
    mw = DeadlineMiddleware(limit=5.0)
    mw.spider_opened()
    slow = Request("http://127.0.0.1/feed.xml", meta={"download_timeout": 30.0})
    mw.process_request(slow)
    assert 0 < slow.meta["download_timeout"] <= 5.0
    quick = Request("http://127.0.0.1/a.html", meta={"download_timeout": 1.0})
    mw.process_request(quick)
    assert quick.meta["download_timeout"] == 1.0  # already within the limit: left alone
    assert mw.deadline is not None
    mw.deadline -= 10  # the limit has passed
    with pytest.raises(IgnoreRequest, match="time limit"):
        mw.process_request(Request("http://127.0.0.1/b.html"))
