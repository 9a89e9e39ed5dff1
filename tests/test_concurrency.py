"""Several crawl processes and a query loop on one database at once: no "database is locked", nothing
lost. SQLite always, PostgreSQL when configured."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store.repository import Repository
from tests.conftest import FAST_CRAWL_ENV, ROOT, cli_json, run_cli, write_seeds
from tests.sites import TimedSiteServer, serve_stories

pytestmark = pytest.mark.e2e
WRITERS = 3
PER_SOURCE = 12


def test_parallel_crawls_and_readers_on_one_database(db_url: str, tmp_path: Path) -> None:
    with TimedSiteServer() as server:
        for w in range(WRITERS):
            serve_stories(server, PER_SOURCE, path=f"/s{w}/2024-10/01/story-{{n}}.html", feed=f"/s{w}.xml",
                          title=f"S{w} {{n}}", lead=f"<p>Writer {w}, story {{n}}.</p>", paragraphs=3, stride=5,
                          offset=w * 31)
        seeds = write_seeds(tmp_path / "seeds", *({"name": f"s{w}", "feeds": [f"{server.url}/s{w}.xml"],
                                                   "allow": [f"/s{w}/"]} for w in range(WRITERS)))
        Repository.open(db_url).close()  # create the schema once, up front (readers never create it)
        env = {**os.environ, **FAST_CRAWL_ENV}
        crawls = [subprocess.Popen([sys.executable, "-m", "scheduler", "--db", db_url, "--seeds", str(seeds),
                                    "crawl", "now", "--source", f"s{w}", "--format", "json"], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                  for w in range(WRITERS)]
        reads = 0
        deadline = time.monotonic() + 120
        while any(c.poll() is None for c in crawls) and time.monotonic() < deadline:
            query = run_cli("--db", db_url, "query", "--all", "--format", "json")
            assert query.returncode == 0 and "locked" not in query.stderr, query.stderr
            reads += 1
        outputs = [c.communicate(timeout=60) for c in crawls]
    for crawl, (out, err) in zip(crawls, outputs, strict=True):
        assert crawl.returncode == 0, err
        assert "locked" not in err.lower()
        (run,) = json.loads(out)
        assert run["new"] == PER_SOURCE and run["errors"] == 0
    stored = cli_json(db_url, "query", "--all")
    assert len(stored) == WRITERS * PER_SOURCE == len({a["url"] for a in stored})
    assert reads >= 1


def test_a_read_only_database_is_a_clear_error(tmp_path: Path) -> None:
    db_file = tmp_path / "n.db"
    Repository.open(f"sqlite:///{db_file}").close()
    before = db_file.read_bytes()
    seeds = write_seeds(tmp_path / "seeds", {"name": "s", "feeds": ["http://127.0.0.1:9/rss.xml"]})
    proc = run_cli("--db", f"sqlite:///file:{db_file}?mode=ro&uri=true", "--seeds", str(seeds), "crawl", "now")
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "readonly" in line.replace("-", "").replace(" ", "").lower()
    assert db_file.read_bytes() == before


def test_a_full_disk_is_a_clear_error_and_corrupts_nothing(tmp_path: Path) -> None:
    import sqlite3

    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("needs permission to mount a small tmpfs (root) to fill a disk")
    try:
        db_file = mount / "n.db"
        with TimedSiteServer() as server:
            paths = serve_stories(server, 40, path="/news/2024-10/01/full-{n}.html", title="F{n}",
                                  lead="<p>Story {n}.</p>", paragraphs=6)
            seeds = write_seeds(tmp_path / "seeds", {"name": "s", "feeds": [f"{server.url}/rss.xml"]})
            Repository.open(f"sqlite:///{db_file}").close()
            filler = mount / "filler"
            free = shutil.disk_usage(mount).free
            filler.write_bytes(b"\0" * max(0, free - 120_000))  # leave room for a few articles only
            proc = run_cli("--db", f"sqlite:///{db_file}", "--seeds", str(seeds), "crawl", "now")
        assert proc.returncode == 1, proc.stderr
        errors = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1 and "full" in errors[0], proc.stderr
        filler.unlink()
        with sqlite3.connect(db_file) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
            complete = conn.execute("SELECT count(*) FROM articles a JOIN article_urls u ON u.url = a.url "
                                    "WHERE a.text IS NOT NULL").fetchone()[0]
        assert stored == complete < len(paths)
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
