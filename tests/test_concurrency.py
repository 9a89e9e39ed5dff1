"""Several crawl processes and a query loop on one database at once: no "database is locked", nothing
lost. SQLite always, PostgreSQL when configured."""

from __future__ import annotations

import html
import json
import os
import shutil
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
WRITERS = 3
PER_SOURCE = 12


def test_parallel_crawls_and_readers_on_one_database(db_url: str, tmp_path: Path) -> None:
    with SiteServer() as server:
        for w in range(WRITERS):
            paths = []
            for n in range(PER_SOURCE):
                body = "".join(f"<p>{html.escape(PARAGRAPHS[(w * 31 + n * 5 + k) % len(PARAGRAPHS)])}</p>"
                               for k in range(3))
                path = f"/s{w}/2024-10/01/story-{n}.html"
                server.set_page(path, Page(f"<html><head><title>S{w} {n}</title></head><body><article><h1>S{w} "
                                           f"{n}</h1><p>Writer {w}, story {n}.</p>{body}</article></body>"
                                           f"</html>".encode()))
                paths.append(path)
            items = "".join(f"<item><title>t</title><link>{server.url}{p}</link></item>" for p in paths)
            server.set_page(f"/s{w}.xml", Page(f'<?xml version="1.0"?><rss version="2.0"><channel><title>f'
                                               f"</title>{items}</channel></rss>".encode(),
                                               headers={"Content-Type": "application/rss+xml"}))
        seeds = tmp_path / "seeds"
        seeds.mkdir()
        (seeds / "sources.toml").write_text("".join(
            f'[[source]]\nname = "s{w}"\nfeeds = ["{server.url}/s{w}.xml"]\nallow = ["/s{w}/"]\n\n'
            for w in range(WRITERS)))
        shutil.copyfile(default_seeds_dir() / "rules.toml", seeds / "rules.toml")
        assert run_cli("--db", db_url, "query").returncode == 0  # create the schema once, up front
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
    stored = json.loads(run_cli("--db", db_url, "query", "--all", "--format", "json").stdout)
    assert len(stored) == WRITERS * PER_SOURCE == len({a["url"] for a in stored})
    assert reads >= 1


def test_a_read_only_database_is_a_clear_error(tmp_path: Path) -> None:
    db_file = tmp_path / "n.db"
    assert run_cli("--db", f"sqlite:///{db_file}", "query").returncode == 0
    before = db_file.read_bytes()
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "sources.toml").write_text('[[source]]\nname = "s"\nfeeds = ["http://127.0.0.1:9/rss.xml"]\n')
    shutil.copyfile(default_seeds_dir() / "rules.toml", seeds / "rules.toml")
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
        with SiteServer() as server:
            paths = []
            for n in range(40):
                body = "".join(f"<p>{html.escape(PARAGRAPHS[(n * 3 + k) % len(PARAGRAPHS)])}</p>" for k in range(6))
                path = f"/news/2024-10/01/full-{n}.html"
                server.set_page(path, Page(f"<html><head><title>F{n}</title></head><body><article><h1>F{n}</h1>"
                                           f"<p>Story {n}.</p>{body}</article></body></html>".encode()))
                paths.append(path)
            items = "".join(f"<item><title>t</title><link>{server.url}{p}</link></item>" for p in paths)
            server.set_page("/rss.xml", Page(f'<?xml version="1.0"?><rss version="2.0"><channel><title>f'
                                             f"</title>{items}</channel></rss>".encode(),
                                             headers={"Content-Type": "application/rss+xml"}))
            seeds = tmp_path / "seeds"
            seeds.mkdir()
            (seeds / "sources.toml").write_text(f'[[source]]\nname = "s"\nfeeds = ["{server.url}/rss.xml"]\n')
            shutil.copyfile(default_seeds_dir() / "rules.toml", seeds / "rules.toml")
            assert run_cli("--db", f"sqlite:///{db_file}", "query").returncode == 0
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
