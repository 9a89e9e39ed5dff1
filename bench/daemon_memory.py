"""Resident memory of `newsmon daemon` over 200+ scheduled crawls of a local fixture site.

Usage: python bench/daemon_memory.py [--crawls 200] [--sources 10]
Serves a site on 127.0.0.1 whose feeds grow while the daemon runs, runs the daemon (every source
every second, two crawls at once) until the database holds the requested number of finished runs,
and samples the RSS of the daemon and of its crawl children from /proc. Prints the daemon's RSS at
start and end and the children's peak; last, the daemon's growth (goal: under 10 MB).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.config import copy_default_rules
from sample_site import Page, SiteServer, feed_page, long_paragraphs
from store.records import Outcome
from store.repository import Repository

PARAGRAPHS = long_paragraphs()


def rss_kib(pid: int) -> int:
    """Return a process's resident set size in KiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    """Return the pids whose parent is `pid`."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return out


class GrowingSite:
    """Feeds /feed/N.xml, one new article on one of them every half second."""

    def __init__(self, server: SiteServer, sources: int) -> None:
        self.server, self.sources, self.count = server, sources, 0
        self.items: dict[int, list[str]] = {n: [] for n in range(sources)}
        for n in range(sources):
            self.publish(n)

    def publish(self, feed: int) -> None:
        self.count += 1
        path = f"/news/2024-11/{1 + self.count % 28:02d}/bench-story-{self.count}.html"
        body = "".join(f"<p>{PARAGRAPHS[(self.count * 5 + k) % len(PARAGRAPHS)]}</p>" for k in range(5))
        self.server.set_page(path, Page(f"<html><head><title>Story {self.count}</title></head><body>"
                                        f"<nav>Home</nav><article><h1>Story {self.count}</h1>{body}</article>"
                                        f"<footer>(c)</footer></body></html>".encode()))
        self.items[feed].append(path)
        self.server.set_page(f"/feed/{feed}.xml", feed_page(self.server.url + p for p in self.items[feed]))


def finished_runs(db: str) -> int:
    repo = Repository.open(db)
    try:
        return sum(1 for r in repo.runs.recent(limit=100_000) if r.outcome != Outcome.RUNNING)
    finally:
        repo.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crawls", type=int, default=200)
    parser.add_argument("--sources", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    db = f"sqlite:///{work / 'newsmon.db'}"
    with SiteServer() as server:
        site = GrowingSite(server, args.sources)
        seeds = work / "seeds"
        seeds.mkdir()
        (seeds / "sources.toml").write_text("".join(
            f'[[source]]\nname = "s{n}"\nfeeds = ["{server.url}/feed/{n}.xml"]\nevery = "1s"\n\n'
            for n in range(args.sources)))
        copy_default_rules(seeds)
        env = {**os.environ, "NEWSMON_DOWNLOAD_DELAY": "0", "NEWSMON_AUTOTHROTTLE": "false"}
        daemon = subprocess.Popen([sys.executable, "-m", "scheduler", "--db", db, "--seeds", str(seeds),
                                   "--log-file", str(work / "daemon.log"), "daemon", "--jitter", "0",
                                   "--max-parallel", "2"], env=env)
        stop = threading.Event()
        child_peak = [0]

        def sample() -> None:
            while not stop.wait(0.1):
                for pid in children(daemon.pid):
                    child_peak[0] = max(child_peak[0], rss_kib(pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        time.sleep(1.0)  # let the daemon import and schedule before the first reading
        start_rss, started = rss_kib(daemon.pid), time.monotonic()
        warm_rss, last_publish, done = 0, 0.0, 0
        while done < args.crawls:
            time.sleep(0.5)
            if time.monotonic() - last_publish > 0.5:
                site.publish(site.count % args.sources)
                last_publish = time.monotonic()
            done = finished_runs(db)
            if not warm_rss and done >= 20:
                warm_rss = rss_kib(daemon.pid)
        end_rss, elapsed = rss_kib(daemon.pid), time.monotonic() - started
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=120)
        stop.set()
    print(f"machine: {os.cpu_count()} cores; {args.sources} sources every 1 s, 2 crawls at once")
    print(f"crawls finished: {done} in {elapsed:.0f} s; articles published: {site.count}; daemon exit code {code}")
    print(f"daemon RSS: start {start_rss / 1024:.1f} MB, after 20 crawls {warm_rss / 1024:.1f} MB, "
          f"end {end_rss / 1024:.1f} MB")
    print(f"crawl children: peak RSS {child_peak[0] / 1024:.1f} MB")
    print(f"daemon growth start -> end: {(end_rss - start_rss) / 1024:.1f} MB "
          f"(after warm-up: {(end_rss - warm_rss) / 1024:.1f} MB; goal < 10 MB)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
