"""Two `newsmon worker`s, each held to one core, against one: a CPU-bound burst through the queue.

Usage: python bench/workers.py [--articles 400] [--sources 8] [--pairs 8] [--postgres URL]
Serves bursts of new, generated news pages (bench/pages.py, ~47 KB each), each as --sources feeds of
its own on 127.0.0.1, and starts a private redis-server and, on one fresh PostgreSQL schema, three
workers that stay up for the whole run: one pinned to core 0 (taskset) on one queue, two pinned to
cores 0 and 1 on another, each with one analysis process, started and left to settle (their crawl
children started and warm, no CPU used for a second): a burst reaches a cluster that is running
already; one burst each, not counted, warms them up. Then --pairs pairs of bursts, one to the one
worker and one to the two, in the order ABBA (one-two, two-one, ...) so that a drift of the VM's
speed, 10-40% within minutes on these VMs, falls on both alike; after each pair, the machine's own
ceiling (the burst's analysis in two bare pinned processes against one, nothing shared: two vCPUs of
a VM need not do twice one's work). One job per source is sent through QueueLauncher from threads,
as the daemon's dispatchers do, and a burst is timed from the first job sent to the last answer.
Prints each burst (seconds, articles/s, the machine's busy cores from /proc/stat, CPU an article by
part: the workers, PostgreSQL, Redis, this process's fixture web and job senders), each pair's ratio
and ceiling; last, the ratio of all one-worker seconds to all two-worker seconds (goal: two workers
at least 1.8 times one), the pairs' median and range, the ceiling's, and articles per busy
core-second of two workers over one's. PostgreSQL from --postgres or NEWSMON_TEST_POSTGRES_URL;
needs 2+ cores, redis-server, taskset.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
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


# Pages each of the ceiling's processes analyses (twice): ~5 s of one core.
CEILING_PAGES = 100


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_bursts(site: SiteServer, articles: int, sources: int, bursts: int, seeds: Path) -> list[list[str]]:
    """Serve `bursts` bursts of `articles` distinct pages, each as `sources` feeds of its own; write
    the seeds (every burst's sources); return each burst's source names."""
    pages = list(generate(articles * bursts))
    (seeds.parent / "pages").mkdir(parents=True, exist_ok=True)
    for n, page in enumerate(pages[:CEILING_PAGES]):
        (seeds.parent / "pages" / f"{n}.html").write_text(page.html, encoding="utf-8")
    names: list[list[str]] = []
    lines = []
    for b in range(bursts):
        mine = pages[b * articles:(b + 1) * articles]
        names.append([])
        for i in range(sources):
            theirs = mine[i::sources]
            for page in theirs:
                site.set_page(page.path, Page(page.html.encode()))
            site.set_page(f"/b{b}/s{i}/rss.xml", feed_page([site.url + p.path for p in theirs]))
            names[-1].append(f"burst-{b}-{i}")
            lines.append(f'[[source]]\nname = "burst-{b}-{i}"\nfeeds = ["{site.url}/b{b}/s{i}/rss.xml"]\n\n')
    seeds.mkdir(parents=True, exist_ok=True)
    (seeds / "sources.toml").write_text("".join(lines), encoding="utf-8")
    copy_default_rules(seeds)
    return names


def analyze_pages(folder: Path, seeds: Path, rounds: int) -> None:
    """The ceiling's child: analyse every page in `folder` `rounds` times, as a crawl's analysis does."""
    from crawler.analysis import analyze
    from crawler.items import FetchedPage
    from scheduler.schedule import load_config

    config = load_config(seeds)
    pages = [FetchedPage("burst", f"http://127.0.0.1/{p.name}", p.read_text(encoding="utf-8"), ())
             for p in sorted(folder.glob("*.html"))]
    for _ in range(rounds):
        for page in pages:
            analyze(page, config.rules, config.settings.min_article_chars)


def ceiling(folder: Path, seeds: Path) -> float:
    """Return what two cores do over one on this machine now, for the burst's own CPU work and
    nothing shared: one pinned process analysing the pages, then two at once (each the same work);
    2 x one's time / two's."""
    def run(cores: list[int]) -> float:
        started = time.monotonic()
        procs = [subprocess.Popen(["taskset", "-c", str(core), sys.executable, __file__, "--analyze-pages",
                                   str(folder), str(seeds)], cwd=ROOT) for core in cores]
        if any(p.wait() for p in procs):
            raise SystemExit("the ceiling's analysis failed")
        return time.monotonic() - started

    return 2 * run([0]) / run([0, 1])


def start_worker(queue: str, db: str, core: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as err:
        # JSON log lines at info: when each job was taken and answered (job_span).
        proc = subprocess.Popen(["taskset", "-c", str(core), sys.executable, "-m", "scheduler", "--log-level",
                                 "info", "--log-format", "json", "worker", "--queue", queue, "--concurrency", "1"],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err,
                                env={**os.environ, **CRAWL_ENV, "NEWSMON_DB": db})
    deadline = time.monotonic() + 120
    while "newsmon worker running" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"worker did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    return proc


def settle(workers: list[int], deadline: float = 120) -> None:
    """Wait until the workers have started and warmed their crawl children (the analysis libraries
    imported, the fork server running: scheduler/child_serve.py), seen as their process trees using
    no CPU for a second: a burst reaches workers that are running already, not starting."""
    give_up = time.monotonic() + deadline
    with CpuByPart(workers, redis=-1) as cpu:
        before = -1.0
        while time.monotonic() < give_up:
            time.sleep(1.0)
            now = cpu.seconds().get("workers", 0.0)
            if now - before < 0.05 and len(cpu.pids("workers")) > 2 * len(workers):
                return
            before = now
    raise SystemExit("the workers did not settle within two minutes")


class CpuByPart:
    """CPU seconds of the workers (and their crawl and analysis children), PostgreSQL's backends,
    Redis and this process (the fixture web and the job senders) while it is open, read from /proc
    every 0.1 s: a backend or child that exits between two reads loses at most its last 0.1 s."""

    def __init__(self, workers: list[int], redis: int) -> None:
        self.workers, self.redis = workers, redis
        self._first: dict[int, tuple[str, float]] = {}
        self._last: dict[int, float] = {}
        self._others: set[int] = set()
        self._opened = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> CpuByPart:
        self._read()
        self._opened = True  # a process first seen from now on was started since: all its CPU counts
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._read()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self._read()

    def _part(self, pid: int, comm: str) -> str | None:
        if comm == "postgres":
            return "PostgreSQL"
        if pid == self.redis:
            return "Redis"
        if pid == os.getpid():
            return "bench (fixture web, job senders)"
        while pid > 1:
            if pid in self.workers:
                return "workers"
            parent = _stat(pid)
            pid = parent[1] if parent else 0
        return None

    def _read(self) -> None:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            if pid in self._others:
                continue
            stat = _stat(pid)
            if stat is None:
                continue
            comm, _, cpu = stat
            if pid not in self._first:
                part = self._part(pid, comm)
                if part is None:
                    self._others.add(pid)
                    continue
                self._first[pid] = (part, cpu if not self._opened else 0.0)
            self._last[pid] = cpu

    def pids(self, part: str) -> list[int]:
        """Return the processes of `part` seen so far."""
        return [pid for pid, (p, _) in self._first.items() if p == part]

    def seconds(self) -> dict[str, float]:
        """Return CPU seconds by part while open."""
        out: dict[str, float] = {}
        for pid, (part, first) in self._first.items():
            out[part] = out.get(part, 0.0) + self._last[pid] - first
        return out


def _stat(pid: int) -> tuple[str, int, float] | None:
    """Return a process's (command name, parent pid, CPU seconds), None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = text[text.index("(") + 1:text.rindex(")")]
    fields = text.rsplit(")", 1)[1].split()
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_cores() -> tuple[float, float]:
    """Return the machine's (busy, all) CPU seconds so far, every core's, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields) - idle) / hz, sum(fields) / hz


def burst(launcher: QueueLauncher, repository: Repository, seeds: Path, names: list[str],
          workers: list[subprocess.Popen[bytes]], redis: int) -> tuple[float, int, float, dict[str, float]]:
    """Crawl every source once as one job each on `workers` (their queue is the launcher's); return
    (seconds, articles stored, the machine's cores busy meanwhile, the CPU seconds of each part)."""
    outcomes: list[str] = []
    threads = [threading.Thread(target=lambda n=n: outcomes.extend(
        r.outcome for r in launcher.run_batch(seeds, [n]))) for n in names]
    stored_before = repository.articles.count()
    with CpuByPart([w.pid for w in workers], redis) as parts:
        started, (busy_before, _) = time.monotonic(), busy_cores()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.monotonic() - started
        busy = (busy_cores()[0] - busy_before) / seconds
    if set(outcomes) != {"ok"}:
        raise SystemExit(f"some jobs did not end ok: {outcomes}")
    return seconds, repository.articles.count() - stored_before, busy, parts.seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=400, help="articles a burst")
    parser.add_argument("--sources", type=int, default=8, help="sources (feeds, jobs) a burst")
    parser.add_argument("--postgres", default=os.environ.get("NEWSMON_TEST_POSTGRES_URL"))
    parser.add_argument("--pairs", type=int, default=8,
                        help="bursts to one worker and to two, alternated ABBA (this VM's speed drifts)")
    parser.add_argument("--analyze-pages", nargs=2, metavar=("FOLDER", "SEEDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.analyze_pages:
        analyze_pages(Path(args.analyze_pages[0]), Path(args.analyze_pages[1]), rounds=2)
        return
    if not args.postgres:
        raise SystemExit("give --postgres URL (or set NEWSMON_TEST_POSTGRES_URL)")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs two cores")
    folder = Path(tempfile.mkdtemp(prefix="newsmon-bench-workers-"))
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL)
    sets: dict[int, list[subprocess.Popen[bytes]]] = {}
    seconds: dict[int, list[float]] = {1: [], 2: []}
    per_core: dict[int, list[float]] = {1: [], 2: []}
    ratios, ceilings = [], []
    try:
        with SiteServer() as site, fresh_pg_schema(args.postgres, prefix="newsmon_bench") as db:
            bursts = iter(serve_bursts(site, args.articles, args.sources, 2 * args.pairs + 2, folder / "seeds"))
            repository = Repository.open(db)
            # Both sets stay up all run, each on its own queue; the set not in a burst waits, idle.
            launchers: dict[int, QueueLauncher] = {}
            for n, cores in ((1, [0]), (2, [0, 1])):
                queue = f"redis://127.0.0.1:{port}/{n}"
                sets[n] = [start_worker(queue, db, core, folder / f"worker-{n}-{core}.log") for core in cores]
                launchers[n] = QueueLauncher(repository, db, queue, time_limit=600)
            settle([w.pid for ws in sets.values() for w in ws])
            # A settled set's first burst still costs up to twice a later one's (first crawls'
            # imports and caches): one burst each, not counted.
            for n in (1, 2):
                burst(launchers[n], repository, folder / "seeds", next(bursts), sets[n], redis.pid)
            for pair in range(args.pairs):
                took: dict[int, float] = {}
                for n in ((1, 2) if pair % 2 == 0 else (2, 1)):
                    took[n], stored, busy, parts = burst(launchers[n], repository, folder / "seeds", next(bursts),
                                                         sets[n], redis.pid)
                    seconds[n].append(took[n])
                    per_core[n].append(stored / took[n] / busy)
                    print(f"{n} worker{'s' if n > 1 else ''}: {stored} articles in {took[n]:.1f} s, "
                          f"{stored / took[n]:.1f} articles/s; the machine {busy:.2f} cores busy, "
                          f"{per_core[n][-1]:.1f} articles a busy core-second", flush=True)
                    print("  CPU ms an article: " + ", ".join(f"{part} {1000 * cpu / stored:.1f}"
                                                              for part, cpu in sorted(parts.items())), flush=True)
                    if stored != args.articles:
                        raise SystemExit(f"stored {stored} articles of {args.articles}")
                ratios.append(took[1] / took[2])
                ceilings.append(ceiling(folder / "pages", folder / "seeds"))
                print(f"pair {pair + 1}: two workers / one {ratios[-1]:.2f}x; the machine's ceiling "
                      f"{ceilings[-1]:.2f}x", flush=True)
            for launcher in launchers.values():
                launcher.close()
            repository.close()
    finally:
        for w in (w for ws in sets.values() for w in ws):
            w.terminate()
        for w in (w for ws in sets.values() for w in ws):
            w.wait(timeout=60)
        redis.terminate()
        redis.wait(timeout=30)
        # The pages, seeds and worker logs of the run (a temporary folder left behind on every run).
        shutil.rmtree(folder, ignore_errors=True)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end")
    print(f"two workers / one worker: {sum(seconds[1]) / sum(seconds[2]):.2f}x as fast over all "
          f"{args.pairs} pairs (goal: >= 1.8); each pair's: median {statistics.median(ratios):.2f}, "
          f"{min(ratios):.2f} to {max(ratios):.2f}")
    # The same analysis in two bare processes against one, nothing shared: what the machine itself
    # gives a second core (two vCPUs of a VM need not be two cores' worth).
    print(f"the machine's own ceiling, the burst's analysis in two pinned processes / one: median "
          f"{statistics.median(ceilings):.2f}x, {min(ceilings):.2f} to {max(ceilings):.2f}")
    # PostgreSQL, the fixture web and Redis run on the same two cores: beside one worker they take
    # the idle core's time, beside two they take the workers'. Articles per busy core-second says
    # whether a second worker's core does as much as the first's, which is the claim for more machines.
    print(f"articles a busy core-second, two workers / one: "
          f"{statistics.median(per_core[2]) / statistics.median(per_core[1]):.2f} (medians)")


if __name__ == "__main__":
    main()
