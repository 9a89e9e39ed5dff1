"""The daemon against a fixture site that publishes while it runs: real children, real leases; and the
child's contract (scheduler/child.py) on its own, without a crawl."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from crawler.config import ConfigError
from sample_site import Page, SiteServer
from scheduler.daemon import Daemon as DaemonLoop
from scheduler.daemon import DaemonOptions
from scheduler.jobs import SKIPPED, Launcher
from scheduler.leases import LeaseKeeper
from store.db import open_db
from store.errors import StoreError
from store.records import ArticleFilter, Outcome
from store.repository import Repository
from store.status import source_status
from tests.conftest import FAST_CRAWL_ENV, ROOT, poll, run_cli
from tests.conftest import write_seeds as write_seeds_folder
from tests.sites import serve_feed, story


@dataclass
class LiveSite:
    """A site whose feed grows as the test publishes articles."""

    server: SiteServer
    published: list[str] = field(default_factory=list)

    def publish(self, n: int, delay: float = 0.0) -> str:
        path = f"/news/2024-10/{1 + n % 28:02d}/live-story-number-{n}.html"
        self.server.set_page(path, story(n, title="Live story {n}: steel mills go green", delay=delay))
        self.published.append(path)
        serve_feed(self.server, "/rss.xml", self.published)
        return self.server.url + path

    def article_requests(self) -> Counter[str]:
        return Counter(p for p in self.server.requests() if p.startswith("/news/"))


@pytest.fixture
def live() -> Iterator[LiveSite]:
    with SiteServer() as server:
        site = LiveSite(server)
        serve_feed(server, "/rss.xml", [])
        yield site


def write_seeds(folder: Path, sources: dict[str, str], every: str = "1s") -> Path:
    return write_seeds_folder(folder, *({"name": name, "feeds": [feed], "every": every}
                                        for name, feed in sources.items()))


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
        return {a.url for a in repo.articles.query(ArticleFilter(include_all=True))}
    finally:
        repo.close()


def runs_of(db: str, source: str) -> list[Any]:
    repo = Repository(open_db(db))
    try:
        return repo.runs.recent(source=source, limit=500)
    finally:
        repo.close()


def assert_no_overlap(runs: list[Any]) -> None:
    spans = sorted((r.started, r.finished) for r in runs if r.finished is not None)
    for (_, end), (start, _) in pairwise(spans):
        assert start >= end, f"two crawls of one source overlapped: one ended {end}, the next started {start}"


@contextmanager
def lease_held(db: str, source: str, holder: str) -> Iterator[None]:
    """Hold `source`'s lease as `holder` (taking it as soon as it is free) for the block's length."""
    repo = Repository(open_db(db))
    try:
        poll(lambda: repo.leases.acquire(source, holder, 120), what=f"{source}'s lease to be free")
        yield
    finally:
        repo.leases.release(source, holder)
        repo.close()


@pytest.mark.e2e
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
    # Each crawl's figures reach the daemon's log through the child's result file, skipped pages too.
    assert re.search(r"crawl end: live outcome=ok .* new=1 .* skipped=0 errors=0", daemon.text()), daemon.text()
    assert all(r.outcome in ("ok", "stopped", "timed_out") for r in runs_of(db, "live"))


@pytest.mark.e2e
def test_daemon_and_crawl_now_never_crawl_one_source_at_once(live: LiveSite, db: str, tmp_path: Path) -> None:
    for n in range(4):
        live.publish(n, delay=0.3)  # each crawl takes a while, so overlaps would show
    seeds = write_seeds(tmp_path / "seeds", {"live": live.server.url + "/rss.xml"})
    daemons = [Daemon(db, seeds, tmp_path / f"d{i}.log") for i in range(2)]
    try:
        poll(lambda: len(stored_urls(db)) == 4, what="the four articles")
        now = run_cli("--db", db, "--seeds", str(seeds), "crawl", "now", "--format", "json")
        assert now.returncode == 0, now.stderr
        (shell_run,) = json.loads(now.stdout)
        # While someone else crawls the source, --no-wait skips it, and so do the daemons' children.
        with lease_held(db, "live", "elsewhere:1"):
            skipped = run_cli("--db", db, "--seeds", str(seeds), "crawl", "now", "--no-wait", "--format", "json",
                              timeout=60)
            assert skipped.returncode == 0, skipped.stderr
            assert json.loads(skipped.stdout) == [], "the --no-wait crawl ran although the source was busy"
            assert "live: being crawled by elsewhere:1; skipping it (--no-wait)" in skipped.stderr
            poll(lambda: any("crawl end: live outcome=skipped" in d.text() for d in daemons),
                 what="a daemon's child to skip the busy source")
        poll(lambda: len([r for r in runs_of(db, "live") if r.finished]) >= 5, what="several finished runs")
    finally:
        assert all(d.stop() == 0 for d in daemons)
    runs = runs_of(db, "live")
    assert "elsewhere:1" not in {r.holder for r in runs}
    # The shell's crawl ran between two of the daemons' crawls, never during one; nor did theirs overlap.
    (mine,) = [r for r in runs if r.id == shell_run["id"]]
    during = [r.id for r in runs if r.id != mine.id and r.finished is not None
              and r.started < mine.finished and mine.started < r.finished]
    assert not during, f"run {mine.id} by `crawl now` overlapped the daemons' runs {during}"
    assert_no_overlap(runs)
    assert all(n == 1 for n in live.article_requests().values()), live.article_requests()


@pytest.mark.e2e
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
        for article in repo.articles.query(ArticleFilter(include_all=True)):
            assert article.text and article.title and article.url in repo.articles.known_urls([article.url])
    finally:
        repo.close()
    again = run_cli("--db", db, "--seeds", str(seeds), "crawl", "now", "--format", "json")
    assert again.returncode == 0, again.stderr
    assert stored_urls(db) == set(urls)


@pytest.mark.e2e
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


@pytest.mark.e2e
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


@pytest.mark.e2e
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


def _status_row(db: str, seeds: Path, wanted: str, after: str = "") -> dict[str, Any] | None:
    """Return the status row whose schedule says `wanted`, planned later than `after` (a next_run)."""
    proc = run_cli("--db", db, "--seeds", str(seeds), "status", "--format", "json")
    rows = json.loads(proc.stdout) if proc.returncode == 0 else []
    # next_run, not last_run: a crawl that started after a plan was saved shows beside that plan.
    return next((r for r in rows if wanted in (r.get("schedule") or "") and (r.get("next_run") or "") > after), None)


def _interval(row: dict[str, Any]) -> int:
    """Return the interval in seconds a status row's schedule gives ("every 3s: ...")."""
    found = re.match(r"every (\d+)s", row["schedule"])
    assert found, row["schedule"]
    return int(found.group(1))


@pytest.mark.e2e
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


@pytest.mark.e2e
def test_polling_adapts_to_what_crawls_find_and_status_says_why(live: LiveSite, db: str, tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds", {"live": live.server.url + "/rss.xml"}, every="2s")
    live.publish(1)
    daemon = Daemon(db, seeds, tmp_path / "daemon.log")
    try:
        quiet = poll(lambda: _status_row(db, seeds, "found nothing new"), what="a quiet crawl to slow polling")
        quieter = poll(lambda: _status_row(db, seeds, "found nothing new", after=quiet["next_run"]), timeout=30,
                       what="the plan after a second quiet crawl")
        live.publish(2)
        # Read in-process, not through `status`: the sped-up plan lasts one short interval (a quiet
        # check follows a second later), shorter than a CLI run on a loaded machine.
        repo = Repository(open_db(db))
        try:
            busy = poll(lambda: next((p for p in [repo.schedules.all().get("live")]
                                      if p and "found 1 new" in p.reason
                                      and p.next_run.isoformat() > quieter["next_run"]), None),
                        timeout=30, what="a busy crawl to speed it up", interval=0.01)
        finally:
            repo.close()
    finally:
        assert daemon.stop() == 0
    assert quiet["schedule"].endswith("(ceiling 16s)")
    assert _interval(quiet) < _interval(quieter) <= 16, (quiet["schedule"], quieter["schedule"])
    assert busy.interval is not None and busy.interval < _interval(quieter), (busy.reason, quieter["schedule"])


@pytest.mark.e2e
def test_max_every_keeps_a_quiet_source_at_its_interval(live: LiveSite, db: str, tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds", {"live": live.server.url + "/rss.xml"}, every="2s")
    live.publish(1)
    # By environment, as the README's settings table gives it: the daemon's timers read it.
    daemon = Daemon(db, seeds, tmp_path / "daemon.log", env={"NEWSMON_MAX_EVERY": "2s"})
    try:
        quiet = poll(lambda: _status_row(db, seeds, "found nothing new"), what="a quiet crawl")
        again = poll(lambda: _status_row(db, seeds, "found nothing new", after=quiet["next_run"]), timeout=30,
                     what="the plan after a second quiet crawl")
    finally:
        assert daemon.stop() == 0
    # Without it, the same source stretches to 3 s and then 4 s (the test above).
    assert quiet["schedule"] == again["schedule"] == "every 2s: last crawl found nothing new (ceiling 2s)"


# -- the child's contract and the launcher, without a crawl ----------------------------------------

def run_child(env: dict[str, str], result: Path) -> tuple[int, dict[str, Any]]:
    """Run `python -m scheduler.child` with `env` and return its exit code and result object."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    proc = subprocess.run([sys.executable, "-m", "scheduler.child"], env={**full, **env, "NEWSMON_CHILD_RESULT":
                          str(result)}, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.stdout == "", "the child printed on stdout: its answer goes in the result file"
    return proc.returncode, json.loads(result.read_text(encoding="utf-8"))


def test_the_child_reports_bad_config_and_a_bad_database_with_the_reason(tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds", {"live": "http://127.0.0.1:9/rss.xml"})
    db = f"sqlite:///{tmp_path / 'n.db'}"
    env = {"NEWSMON_DB": db, "NEWSMON_SEEDS": str(seeds), "NEWSMON_CHILD_SOURCE": "nope"}
    code, result = run_child(env, tmp_path / "r1.json")
    assert code == 2 and result["outcome"] == "failed" and result["runs"] == []
    assert result["reason"].startswith("unknown source 'nope'")
    code, result = run_child({**env, "NEWSMON_CHILD_SOURCE": "live", "NEWSMON_SEEDS": ""}, tmp_path / "r2.json")
    assert (code, result["reason"]) == (2, "environment: NEWSMON_SEEDS is not set")
    code, result = run_child({**env, "NEWSMON_CHILD_SOURCE": "live", "NEWSMON_DB": "sqlite:////no/such/dir/n.db"},
                             tmp_path / "r3.json")
    assert code == 1 and result["outcome"] == "failed" and "/no/such/dir does not exist" in result["reason"]


def test_a_child_that_finds_the_source_busy_says_skipped_and_the_launcher_believes_it(tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds", {"live": "http://127.0.0.1:9/rss.xml"})
    db = f"sqlite:///{tmp_path / 'n.db'}"
    repo = Repository(open_db(db))
    try:
        assert repo.leases.acquire("live", "elsewhere:1", 120)
        result = Launcher(repo, db, time_limit=60).run(seeds, "live")
        assert (result.outcome, result.returncode, result.runs) == (SKIPPED, 0, ())
        assert result.reason == "being crawled by elsewhere:1"
        assert repo.runs.recent() == [] and repo.leases.all()["live"].holder == "elsewhere:1"
    finally:
        repo.close()


def test_the_launcher_never_takes_silence_for_a_skip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seeds = write_seeds(tmp_path / "seeds", {"live": "http://127.0.0.1:9/rss.xml"})
    db = f"sqlite:///{tmp_path / 'n.db'}"
    repo = Repository(open_db(db))
    try:
        launcher = Launcher(repo, db, time_limit=60)
        # A child that exits 0 without a word: before the contract, the daemon called that "skipped".
        monkeypatch.setattr(launcher, "command", lambda: [sys.executable, "-c", "pass"])
        result = launcher.run(seeds, "live")
        assert (result.outcome, result.returncode) == (Outcome.FAILED, 0)
    finally:
        repo.close()


def test_the_database_url_goes_to_the_child_by_environment_never_argv(tmp_path: Path) -> None:
    url = "postgresql://newsmon:Sup3rS3cret@127.0.0.1/newsmon"
    launcher = Launcher(None, url)  # type: ignore[arg-type]  # building a command needs no database
    env = launcher.environment(tmp_path, "live", tmp_path / "r.json")
    assert "Sup3rS3cret" not in " ".join(launcher.command())
    assert env["NEWSMON_DB"] == url and env["NEWSMON_CHILD_SOURCE"] == "live"


def test_the_daemon_removes_its_seeds_snapshot_when_the_config_fails_at_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    seeds = write_seeds(tmp_path / "seeds", {"x": "not a url"})
    repo = Repository(open_db(f"sqlite:///{tmp_path / 'n.db'}"))
    try:
        daemon = DaemonLoop(seeds, repo, Launcher(repo, "sqlite://"), DaemonOptions())
        with pytest.raises(ConfigError, match="not an http"):
            daemon.run()
    finally:
        repo.close()
    assert list(scratch.iterdir()) == []


def test_a_failed_heartbeat_is_logged_with_the_sources_and_holder_and_beating_goes_on(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    repo = Repository(open_db(f"sqlite:///{tmp_path / 'n.db'}"))
    renew, calls = repo.leases.renew, []

    def flaky(sources: list[str], holder: str, ttl: float) -> set[str]:
        calls.append(list(sources))
        if len(calls) == 1:
            raise StoreError("database is locked")
        return renew(sources, holder, ttl)

    repo.leases.renew = flaky  # type: ignore[method-assign]
    try:
        with caplog.at_level(logging.WARNING, logger="scheduler.leases"), \
                LeaseKeeper(repo, ["a", "b"], "me:1", ttl=1.5) as keeper:
            assert keeper.held == ["a", "b"]
            # The beat after the failed one renews the leases: the thread did not give up.
            poll(lambda: len(calls) >= 2 and all(x.heartbeat > x.acquired for x in repo.leases.all().values()),
                 timeout=10, what="a heartbeat after the failed one")
        assert "lease heartbeat for a, b by me:1 failed: database is locked" in caplog.text
        assert repo.leases.all() == {}
    finally:
        repo.close()


def test_status_asks_the_database_the_same_few_questions_for_any_number_of_sources(tmp_path: Path) -> None:
    from sqlalchemy import event

    repo = Repository(open_db(f"sqlite:///{tmp_path / 'n.db'}"))
    names = [f"s{i}" for i in range(12)]
    try:
        for i, name in enumerate(names):
            for outcome in [Outcome.OK, *[Outcome.FAILED] * (i % 3)]:
                repo.runs.finish(repo.runs.start(name, holder="h:1"), outcome, pages=i)
        assert repo.leases.acquire("s1", "me:1", 60)
        statements: list[str] = []
        event.listen(repo.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        rows = source_status(repo, [*names, "never-crawled"])
        selects = [x for x in statements if x.lstrip().upper().startswith("SELECT")]
        # The newest runs, the failure streaks, the newest yields, the leases, the plans: five, not
        # two per source.
        assert len(selects) == 5, selects
        by_name = {r.source: r for r in rows}
        assert [r.source for r in rows] == [*names, "never-crawled"]
        assert [by_name[n].failures for n in names] == [i % 3 for i in range(12)]
        assert by_name["s2"].outcome == Outcome.FAILED and by_name["s3"].outcome == Outcome.OK
        assert (by_name["s1"].running, by_name["s1"].holder, by_name["s0"].running) == (True, "me:1", False)
        assert by_name["never-crawled"].last_run is None and by_name["never-crawled"].failures == 0
    finally:
        repo.close()


@pytest.mark.e2e
def test_an_edited_rule_is_applied_to_stored_articles_when_the_daemon_reloads(live: LiveSite, db: str,
                                                                               tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds", {"live": live.server.url + "/rss.xml"}, every="1h")
    (seeds / "rules.toml").write_text('[[rule]]\nname = "mills"\nquery = "zinc"\n', encoding="utf-8")
    url = live.publish(1)
    daemon = Daemon(db, seeds, tmp_path / "daemon.log")
    try:
        poll(lambda: url in stored_urls(db), what="the article to be stored")
        assert json.loads(run_cli("--db", db, "query", "--format", "json").stdout) == []
        (seeds / "rules.toml").write_text('[[rule]]\nname = "mills"\nquery = \'"steel mills"\'\n', encoding="utf-8")
        poll(lambda: "rules applied to 1 stored articles: 1 newly matched" in daemon.text(),
             what="the edited rule to be applied")
        (shown,) = json.loads(run_cli("--db", db, "query", "--new", "--format", "json").stdout)
        assert shown["url"] == url and shown["terms"] == {"mills": ["steel mills"]}
        assert "rules changed (mills): applying them to stored articles" in daemon.text()
    finally:
        assert daemon.stop() == 0
    assert len(runs_of(db, "live")) == 1  # found by looking back, not by crawling again


def test_status_names_the_queue_schedulers_holder_and_says_when_none_is_alive(tmp_path: Path) -> None:
    from scheduler.standby import SCHEDULER_LEASE

    db = f"sqlite:///{tmp_path / 'n.db'}"
    seeds = write_seeds_folder(tmp_path / "seeds", {"name": "s", "feeds": ["http://127.0.0.1:9/rss.xml"]})
    repo = Repository(open_db(db))
    try:
        assert "Scheduler" not in run_cli("--db", db, "--seeds", str(seeds), "status").stdout  # no queue mode
        assert repo.leases.acquire(SCHEDULER_LEASE, "box:41", 60)
        shown = run_cli("--db", db, "--seeds", str(seeds), "status").stdout
        assert re.search(r"Scheduler \(queue mode\): box:41, heartbeat \d+s ago", shown), shown
        assert repo.leases.acquire(SCHEDULER_LEASE, "box:41", -5)  # its last heartbeat is long gone
        shown = run_cli("--db", db, "--seeds", str(seeds), "status").stdout
        assert re.search(r"box:41, lease expired \d+s ago: no scheduler is running", shown), shown
    finally:
        repo.close()
