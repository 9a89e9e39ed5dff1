"""Crawl cost: a 2,000-article site's first crawl against the CPU limit and two alternatives, and
a second crawl with nothing new.

Usage: python bench/crawl.py [--count 2000] [--skip-alternatives]
1. bench/site.py serves a generated site (article pages of ~50 KB with the usual noise, an RSS
   feed, a sitemap index of monthly sitemaps, paginated listings) from its own process on 127.0.0.1.
   trafilatura's URL checks refuse IP hosts and `localhost`, so the site is named newsbench.test
   and the script adds `127.0.0.1 newsbench.test` to /etc/hosts when it may (root) and it is missing.
2. The CPU limit: plain `trafilatura.bare_extraction` over the same pages in this one process,
   times the cores.
3. newsmon's first crawl (`newsmon crawl now`, politeness off as for any site of one's own):
   articles per second from the run's own start and finish times, and as a share of the limit.
4. The alternatives (bench/alternatives.py) on the same site: trafilatura's own discovery,
   downloader and extract; a plain Scrapy SitemapSpider calling trafilatura.extract.
5. Extraction of all three against the generated truth: token F1 and teaser lines leaked.
6. newsmon's second crawl with nothing new: requests by kind and status, and its time against the
   first's. The goal ratios come last.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.alternatives import CrawlResult, run_plain_scrapy, run_trafilatura
from bench.pages import BenchPage, generate
from bench.scoring import leaked, prf, tokens
from crawler.config import copy_default_rules

ROOT = Path(__file__).resolve().parent.parent
HOST = "newsbench.test"


@dataclass(frozen=True)
class Crawl:
    seconds: float  # the run's own start to finish (what the runs table records)
    wall: float  # the whole `newsmon crawl now` process, interpreter start-up included
    stored: int
    requests: dict[str, int]
    # The largest resident set of the crawl process or a worker (getrusage of waited-for children).
    peak_mb: float


class Site:
    """bench/site.py in a child process, with its request log."""

    def __init__(self, count: int, host: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "bench.site", "--count", str(count), "--host", host],
                                        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        port = self.process.stdout.readline().strip()
        if not port:
            raise SystemExit("Error: the benchmark site did not start")
        self.url = f"http://{host}:{port}"

    def command(self, line: str) -> dict[str, int]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return dict(json.loads(self.process.stdout.readline()))

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def resolvable_host() -> str:
    """Return HOST if it resolves to 127.0.0.1 (adding the hosts entry when allowed), else 127.0.0.1."""
    try:
        if socket.gethostbyname(HOST) == "127.0.0.1":
            return HOST
    except OSError:
        pass
    if os.geteuid() == 0:
        with open("/etc/hosts", "a", encoding="utf-8") as hosts:
            hosts.write(f"127.0.0.1 {HOST}  # added by newsmon bench/crawl.py\n")
        print(f"added '127.0.0.1 {HOST}' to /etc/hosts", file=sys.stderr)
        return HOST
    print(f"{HOST} does not resolve and /etc/hosts is not writable: using 127.0.0.1; "
          "trafilatura's crawler refuses IP hosts, so it is skipped", file=sys.stderr)
    return "127.0.0.1"


def cpu_limit(pages: list[BenchPage], base: str) -> float:
    """Return articles per second of plain bare_extraction in one process, times the cores."""
    import trafilatura

    for page in pages[:20]:  # warm-up
        trafilatura.bare_extraction(page.html, url=base + page.path, with_metadata=True)
    start = time.perf_counter()
    for page in pages:
        trafilatura.bare_extraction(page.html, url=base + page.path, with_metadata=True)
    rate = len(pages) / (time.perf_counter() - start)
    return rate * (os.cpu_count() or 1)


def write_seeds(folder: Path, base: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    copy_default_rules(folder)
    (folder / "sources.toml").write_text(f"""
[settings]
download_delay = 0
autothrottle = false
concurrency_per_domain = 16
download_timeout = 30
max_articles_per_crawl = 100000

[[source]]
name = "bench"
feeds = ["{base}/feed.xml"]
sitemaps = ["{base}/sitemap_index.xml"]
start_urls = ["{base}/news/"]
follow = 3
""", encoding="utf-8")
    return folder


def newsmon_crawl(db: Path, seeds: Path, site: Site) -> Crawl:
    site.command("clear")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "scheduler", "--db", f"sqlite:///{db}", "--seeds", str(seeds),
                           "crawl", "now", "--format", "json"], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"Error: newsmon crawl failed: {done.stderr.strip().splitlines()[-1:]}")
    with sqlite3.connect(db) as conn:
        started, finished = conn.execute("SELECT started, finished FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return Crawl(seconds, wall, stored, site.command("stats"), peak_mb)


def newsmon_texts(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return {url: text or "" for url, text in conn.execute("SELECT url, text FROM articles")}


def score(name: str, texts: dict[str, str], pages: list[BenchPage], base: str) -> float:
    """Print token P/R/F1 against the generated bodies and teaser leaks; return mean F1."""
    rows, leaks, missing = [], 0, 0
    for page in pages:
        text = texts.get(base + page.path)
        if text is None:
            missing += 1
            text = ""
        rows.append(prf(tokens("\n".join(page.body)), tokens(text)))
        body = " ".join(" ".join(page.body).split())
        leaks += len([t for t in leaked(list(page.teasers), text) if t not in body])
    p, r, f1 = (statistics.mean(x[i] for x in rows) for i in range(3))
    print(f"  {name:34} precision {p:.3f} recall {r:.3f} F1 {f1:.3f}  teaser lines leaked {leaks}"
          f"  pages missing {missing}")
    return f1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--skip-alternatives", action="store_true")
    args = parser.parse_args()
    host = resolvable_host()
    pages = list(generate(args.count))
    site = Site(args.count, host)
    cores = os.cpu_count() or 1
    print(f"machine: {cores} cores, Python {sys.version.split()[0]}; site: {args.count} articles, mean page "
          f"{statistics.mean(len(p.html) for p in pages) / 1024:.0f} KiB, served from its own process")
    try:
        limit = cpu_limit(pages, site.url)
        print(f"CPU limit: {limit:.1f} articles/s ({cores} x plain bare_extraction in one process)")
        with tempfile.TemporaryDirectory() as tmp:
            seeds = write_seeds(Path(tmp) / "seeds", site.url)
            db = Path(tmp) / "bench.db"
            first = newsmon_crawl(db, seeds, site)
            rate = first.stored / first.seconds
            print(f"newsmon first crawl: {first.stored} articles in {first.seconds:.1f} s ({rate:.1f}/s; "
                  f"process wall {first.wall:.1f} s; peak RSS {first.peak_mb:.0f} MB); requests {first.requests}")
            alternatives = [] if args.skip_alternatives else run_alternatives(site, host, args.count)
            print("extraction against the generated article bodies:")
            quality = {"newsmon": score("newsmon", newsmon_texts(db), pages, site.url)}
            for alt in alternatives:
                quality[alt.name] = score(alt.name, alt.texts, pages, site.url)
            second = newsmon_crawl(db, seeds, site)
            print(f"newsmon second crawl (nothing new): {second.seconds:.2f} s (process wall {second.wall:.1f} s); "
                  f"requests {second.requests}")
    finally:
        site.close()
    print_ratios(limit, first, second, alternatives, quality)


def run_alternatives(site: Site, host: str, count: int) -> list[CrawlResult]:
    results = []
    for with_metadata in (False, True):
        if host != "127.0.0.1":
            site.command("clear")
            results.append(run_trafilatura(site.url, count, with_metadata))
        site.command("clear")
        results.append(run_plain_scrapy(site.url, count, with_metadata))
    for alt in results:
        print(f"{alt.name}: {alt.fetched} pages, {len(alt.texts)} texts in {alt.seconds:.1f} s "
              f"({len(alt.texts) / alt.seconds:.1f}/s)")
    return results


def print_ratios(limit: float, first: Crawl, second: Crawl, alternatives: list[CrawlResult],
                 quality: dict[str, float]) -> None:
    rate = first.stored / first.seconds
    articles = second.requests.get("article 200", 0) + second.requests.get("article 304", 0)
    discovery = {k: v for k, v in second.requests.items() if not k.startswith(("article", "robots"))}
    print(f"second crawl: article pages requested {articles} (goal 0); feed/sitemap/listing answers "
          f"{discovery} (goal: all 304)")
    for alt in alternatives:
        alt_rate = len(alt.texts) / alt.seconds
        print(f"ratio newsmon / {alt.name} articles/s: {rate / alt_rate:.2f} (goal >= 2), F1 "
              f"{quality['newsmon']:.3f} vs {quality[alt.name]:.3f}")
    print(f"ratio second crawl / first crawl time: {second.seconds / first.seconds:.3f} (goal < 0.05)")
    print(f"ratio newsmon first crawl / CPU limit: {rate / limit:.2f} (goal >= 0.8)")


if __name__ == "__main__":
    main()
