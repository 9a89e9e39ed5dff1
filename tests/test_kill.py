"""SIGKILL at random moments of a crawl: the database stays whole, nothing is stored twice or half,
and the next crawl finishes the work."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FAST_CRAWL_ENV, ROOT, poll, run_cli, write_seeds
from tests.sites import TimedSiteServer, serve_stories

pytestmark = pytest.mark.e2e
ARTICLES = 30
KILLS = 6


def _rows(db_file: Path) -> set[tuple[int, str, str]]:
    if not db_file.exists():
        return set()
    with sqlite3.connect(db_file, timeout=30) as conn:
        try:
            return set(conn.execute("SELECT id, url, content_hash FROM articles").fetchall())
        except sqlite3.OperationalError:  # schema not created yet
            return set()


def _stored(db_file: Path) -> int:
    return len(_rows(db_file))


def _check_whole(db_file: Path) -> None:
    with sqlite3.connect(db_file, timeout=30) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # Every article is complete: text (or the original it duplicates) and its own URL row.
        orphans = "SELECT count(*) FROM articles WHERE text IS NULL AND duplicate_of IS NULL"
        assert conn.execute(orphans).fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM articles a WHERE NOT EXISTS "
                            "(SELECT 1 FROM article_urls u WHERE u.url = a.url)").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) - count(DISTINCT content_hash) FROM articles").fetchone()[0] == 0


def test_random_sigkills_leave_a_whole_database(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    with TimedSiteServer() as server:
        serve_stories(server, ARTICLES, path="/news/2024-10/{day:02d}/story-{n}.html", stride=7,
                      lead="<p>Number {n}.</p>", delay=0.05)
        seeds = write_seeds(tmp_path / "seeds", {"name": "s", "feeds": [f"{server.url}/rss.xml"]})
        db_file = tmp_path / "n.db"
        db = f"sqlite:///{db_file}"
        env = {**os.environ, **FAST_CRAWL_ENV, "NEWSMON_LEASE_TTL": "1", "NEWSMON_CONCURRENCY_PER_DOMAIN": "1"}
        kills = 0
        for _ in range(KILLS):
            before = _rows(db_file)
            target = len(before) + rng.randint(1, 3)
            proc = subprocess.Popen([sys.executable, "-m", "scheduler", "--db", db, "--seeds", str(seeds),
                                     "crawl", "now"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            poll(lambda proc=proc, target=target: _stored(db_file) >= target or proc.poll() is not None,
                 interval=0.02, what=f"{target} stored articles or the crawl's end")
            killed = proc.poll() is None
            if killed:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
            _check_whole(db_file)
            after = _rows(db_file)
            # Every article stored before is still there, unchanged; the killed crawl kept what it had
            # stored when it was killed, and a crawl that ended on its own finished the work.
            assert before <= after
            if killed:
                assert len(after) >= target
            else:
                assert proc.returncode == 0 and len(after) == ARTICLES
        # A kill needs a crawl still running: only the last round can find the work already done.
        assert kills >= KILLS - 1
        finish = run_cli("--db", db, "--seeds", str(seeds), "crawl", "now", env={"NEWSMON_LEASE_TTL": "1"})
        assert finish.returncode == 0, finish.stderr
    _check_whole(db_file)
    assert _stored(db_file) == ARTICLES
    with sqlite3.connect(db_file) as conn:
        outcomes = dict(conn.execute("SELECT outcome, count(*) FROM runs GROUP BY outcome").fetchall())
    # The run of each killed crawl was closed as killed by the crawl that took over its lease; every
    # other run, the finishing crawl's included, ended ok.
    assert outcomes == {"killed": kills, "ok": KILLS + 1 - kills}
