"""SIGKILL at random moments of a crawl: the database stays whole, nothing is stored twice or half,
and the next crawl finishes the work."""

from __future__ import annotations

import html
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.config import default_seeds_dir
from scheduler.sample_site import Page, SiteServer, load_articles
from tests.conftest import FAST_CRAWL_ENV, ROOT, run_cli

pytestmark = pytest.mark.e2e
PARAGRAPHS = [p for a in load_articles() for p in a["paragraphs"] if len(p) > 150]
ARTICLES = 30
KILLS = 6


def _stored(db_file: Path) -> int:
    if not db_file.exists():
        return 0
    with sqlite3.connect(db_file, timeout=30) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
        except sqlite3.OperationalError:  # schema not created yet
            return 0


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
    with SiteServer() as server:
        paths = []
        for n in range(ARTICLES):
            body = "".join(f"<p>{html.escape(PARAGRAPHS[(n * 7 + k) % len(PARAGRAPHS)])}</p>" for k in range(4))
            path = f"/news/2024-10/{1 + n % 28:02d}/story-{n}.html"
            server.set_page(path, Page(f"<html><head><title>Story {n}</title></head><body><article><h1>Story {n}"
                                       f"</h1><p>Number {n}.</p>{body}</article></body></html>".encode(), delay=0.05))
            paths.append(path)
        items = "".join(f"<item><title>t</title><link>{server.url}{p}</link></item>" for p in paths)
        server.set_page("/rss.xml", Page(f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>'
                                         f"{items}</channel></rss>".encode(),
                                         headers={"Content-Type": "application/rss+xml"}))
        seeds = tmp_path / "seeds"
        seeds.mkdir()
        (seeds / "sources.toml").write_text(f'[[source]]\nname = "s"\nfeeds = ["{server.url}/rss.xml"]\n')
        shutil.copyfile(default_seeds_dir() / "rules.toml", seeds / "rules.toml")
        db_file = tmp_path / "n.db"
        db = f"sqlite:///{db_file}"
        env = {**os.environ, **FAST_CRAWL_ENV, "NEWSMON_LEASE_TTL": "1", "NEWSMON_CONCURRENCY_PER_DOMAIN": "1"}
        kills = 0
        for _ in range(KILLS):
            before = _stored(db_file)
            target = before + rng.randint(1, 3)
            proc = subprocess.Popen([sys.executable, "-m", "scheduler", "--db", db, "--seeds", str(seeds),
                                     "crawl", "now"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 60
            while _stored(db_file) < target and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
            _check_whole(db_file)
            assert _stored(db_file) >= before
        assert kills >= KILLS - 1
        finish = run_cli("--db", db, "--seeds", str(seeds), "crawl", "now", env={"NEWSMON_LEASE_TTL": "1"})
        assert finish.returncode == 0, finish.stderr
    _check_whole(db_file)
    assert _stored(db_file) == ARTICLES
    with sqlite3.connect(db_file) as conn:
        outcomes = dict(conn.execute("SELECT outcome, count(*) FROM runs GROUP BY outcome").fetchall())
    # The runs of killed crawls were closed by the crawl that took over their lease.
    assert outcomes.get("running", 0) == 0 and outcomes.get("killed", 0) >= KILLS - 1
