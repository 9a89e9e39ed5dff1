"""Two `newsmon worker`s, each held to one core, against one: a CPU-bound burst through the queue.

Usage: python bench/workers.py [--articles 200] [--sources 8] [--postgres URL]
Serves a burst of new, generated news pages (bench/pages.py, ~47 KB each) as --sources feeds on
127.0.0.1 and starts a private redis-server. Then, on a fresh PostgreSQL schema each time: one
worker pinned to core 0 (taskset), then two pinned to cores 0 and 1, each with one analysis
process; one job per source is sent through QueueLauncher from threads, as the daemon's
dispatchers do, and the burst is timed from the first job sent to the last answer. Prints both
runs (seconds, articles/s, the machine's busy cores from /proc/stat) and the ratio (goal: two workers
at least 1.8 times one); last, articles per busy core-second of two workers over one's: PostgreSQL,
the fixture web and Redis share the two cores, so that is what a further machine's worker adds.
PostgreSQL from --postgres or NEWSMON_TEST_POSTGRES_URL; needs 2+ cores, redis-server, taskset.
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pages import generate
from bench.pg_schema import fresh_pg_schema
from crawler.config import copy_default_rules
from sample_site import Page, SiteServer, feed_page
from scheduler.queue import QueueLauncher
from store.repository import Repository

ROOT = Path(__file__).resolve().parent.parent
# No politeness against our own server; downloads never the bottleneck; one analysis process per
# worker, so each worker is one core's worth.
CRAWL_ENV = {"NEWSMON_DOWNLOAD_DELAY": "0", "NEWSMON_AUTOTHROTTLE": "false", "NEWSMON_RETRY_BACKOFF": "0",
             "NEWSMON_CONCURRENCY_PER_DOMAIN": "8", "NEWSMON_ANALYSIS_WORKERS": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_burst(site: SiteServer, articles: int, sources: int, seeds: Path) -> list[str]:
    """Serve `articles` pages as `sources` feeds; write the seeds; return the source names."""
    pages = list(generate(articles))
    names = []
    lines = []
    for i in range(sources):
        mine = pages[i::sources]
        for page in mine:
            site.set_page(page.path, Page(page.html.encode()))
        site.set_page(f"/s{i}/rss.xml", feed_page([site.url + p.path for p in mine]))
        names.append(f"burst-{i}")
        lines.append(f'[[source]]\nname = "burst-{i}"\nfeeds = ["{site.url}/s{i}/rss.xml"]\n\n')
    seeds.mkdir(parents=True, exist_ok=True)
    (seeds / "sources.toml").write_text("".join(lines), encoding="utf-8")
    copy_default_rules(seeds)
    return names


def start_worker(queue: str, db: str, core: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as err:
        proc = subprocess.Popen(["taskset", "-c", str(core), sys.executable, "-m", "scheduler", "worker",
                                 "--queue", queue, "--concurrency", "1"], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=err, env={**os.environ, **CRAWL_ENV, "NEWSMON_DB": db})
    deadline = time.monotonic() + 120
    while "newsmon worker running" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"worker did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    return proc


def busy_cores() -> tuple[float, float]:
    """Return the machine's (busy, all) CPU seconds so far, every core's, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields) - idle) / hz, sum(fields) / hz


def burst(queue: str, server: str, seeds: Path, names: list[str], cores: list[int],
          folder: Path) -> tuple[float, int, float]:
    """Crawl every source once as one job each on len(cores) workers; return (seconds, articles stored,
    the machine's cores busy meanwhile: the workers', and PostgreSQL's, the fixture web's and Redis's)."""
    with fresh_pg_schema(server, prefix="newsmon_bench") as db:
        repository = Repository.open(db)
        workers = [start_worker(queue, db, core, folder / f"worker-{len(cores)}-{core}.log") for core in cores]
        launcher = QueueLauncher(repository, db, queue, time_limit=600)
        outcomes: list[str] = []
        try:
            threads = [threading.Thread(target=lambda n=n: outcomes.extend(
                r.outcome for r in launcher.run_batch(seeds, [n]))) for n in names]
            started, (busy_before, _) = time.monotonic(), busy_cores()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds = time.monotonic() - started
            busy = (busy_cores()[0] - busy_before) / seconds
        finally:
            for w in workers:
                w.terminate()
            for w in workers:
                w.wait(timeout=60)
            launcher.close()
        stored = repository.articles.count()
        repository.close()
    if set(outcomes) != {"ok"}:
        raise SystemExit(f"some jobs did not end ok: {outcomes}")
    return seconds, stored, busy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--postgres", default=os.environ.get("NEWSMON_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if not args.postgres:
        raise SystemExit("give --postgres URL (or set NEWSMON_TEST_POSTGRES_URL)")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs two cores")
    folder = Path(tempfile.mkdtemp(prefix="newsmon-bench-workers-"))
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL)
    dbs = itertools.count(1)
    try:
        with SiteServer() as site:
            names = serve_burst(site, args.articles, args.sources, folder / "seeds")
            results, per_core = {}, {}
            for cores in ([0], [0, 1]):
                seconds, stored, busy = burst(f"redis://127.0.0.1:{port}/{next(dbs)}", args.postgres,
                                              folder / "seeds", names, cores, folder)
                results[len(cores)] = seconds
                per_core[len(cores)] = stored / seconds / busy
                print(f"{len(cores)} worker{'s' if len(cores) > 1 else ''} (cores {cores}): {stored} articles "
                      f"in {seconds:.1f} s, {stored / seconds:.1f} articles/s; the machine {busy:.2f} cores "
                      f"busy, {per_core[len(cores)]:.1f} articles a busy core-second")
    finally:
        redis.terminate()
        redis.wait(timeout=30)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end")
    print(f"two workers / one worker: {results[1] / results[2]:.2f}x as fast (goal: >= 1.8)")
    # PostgreSQL, the fixture web and Redis run on the same two cores: beside one worker they take
    # the idle core's time, beside two they take the workers'. Articles per busy core-second says
    # whether a second worker's core does as much as the first's, which is the claim for more machines.
    print(f"articles a busy core-second, two workers / one: {per_core[2] / per_core[1]:.2f}")


if __name__ == "__main__":
    main()
