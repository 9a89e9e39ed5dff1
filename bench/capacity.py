"""How many sources one machine can watch: `newsmon daemon` against a simulated web of thousands.

Usage: python bench/capacity.py [--sources 500] [--rounds 3] [--every 60] [--batch-size 200]
                                [--compare 1] [--sweep 1,10,50,200] [--full]
Serves --sources sources on loopback (bench/simweb.py: one host each in 127.0.0.0/8, a feed, a
sitemap and a listing page that answer 304 while unchanged), each with two articles. A first daemon
run crawls every source once (the warm-up: what a deployment has behind it). Then the real daemon (a
child process, --max-parallel 2, every source `every` --every seconds, the default rules) runs for
--rounds intervals while 3% of the sources publish an article in each, and 1.25 intervals more
(publishing on) so that each article counted has had over an interval to be stored; then it is
stopped with SIGTERM. Printed: CPU seconds per check (the daemon's and its children's, from
getrusage(RUSAGE_CHILDREN) around the run, over the checks the runs table counts), publication to
stored (p50, p99; one never stored counts as the latest), schedule lateness (a run's start against
the plan the daemon logged, p50, p99; and how many runs a leaving batch took early), daemon and
children peak RSS, database size, and the sources one 2-core machine could watch at a 30-minute
interval with 25% of its CPU. --compare 1 runs the same on a few sources with --batch-size 1 (one
child per due source, as before batches) and prints the ratio last; --sweep first measures CPU per
quiet check for each batch size given, with the daemon's launcher alone. --quiet-rounds (default 1)
first runs the daemon that many intervals with nothing published: the CPU per quiet check, the
daemon's and its children's (the goal's figure). --full: 10,000 sources, every 600 s, 3 rounds
(about an hour).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.daemon_memory import children
from bench.simweb import SimWeb
from crawler.config import copy_default_rules
from scheduler import batches
from scheduler.batches import BATCH_SIZE
from store.records import ArticleFilter, RunRecord
from store.repository import Repository

PUBLISHING_SHARE = 0.03
# Intervals the daemon runs on after the measured rounds, so that whatever was published in them
# has had more than one interval (and its lateness) to be stored.
DRAIN = 1.25
# The daemon's --child-batches (--child-batches here sets it).
CHILD_BATCHES = [batches.CHILD_BATCHES]
STRETCH = [False]
# The goal's deployment: sources every 30 minutes on a 2-core machine, a quarter of it busy.
INTERVAL, CORES, BUSY = 1800, 2, 0.25
_START = re.compile(r"^(\S+ \S+) .*crawl start: (\S+) planned=(\S+) batch=(\d+)")


@dataclass
class Phase:
    """One daemon run: what it cost, what it did, and how late and how fast."""

    batch_size: int
    sources: int
    seconds: float
    cpu: float  # daemon + children, seconds
    daemon_cpu: float
    checks: int
    found_new: int
    published: int
    delays: list[float]  # publication to stored, seconds
    unstored: int
    lateness: list[float]  # runs planned after the first interval: the steady state
    backlog: list[float]  # runs planned in the first interval, due sources queued at start among them
    batches: list[int]
    daemon_rss: int  # KiB, peak
    child_rss: int  # KiB, peak of any child
    rounds: float = 0  # intervals whose publications count

    @property
    def per_check(self) -> float:
        return self.cpu / max(1, self.checks)


def proc_status(pid: int, key: str) -> int:
    """Return a /proc/PID/status field in KiB (VmHWM, VmRSS), 0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def own_cpu(pid: int) -> float:
    """Return a process's own CPU seconds so far (not its children's), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        out += kids
        todo += kids
    return out


def write_seeds(folder: Path, web: SimWeb, count: int, every: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    # A fixed interval, as the goals' arithmetic assumes (every source checked every interval), unless
    # --stretch: then quiet sources stretch up to 8 times it, and a new article waits that long.
    lines = ["[settings]", f'every = "{every}s"', f'max_every = "{"8x" if STRETCH[0] else f"{every}s"}"', ""]
    for i in range(count):
        base = web.base(i)
        lines += ["[[source]]", f'name = "s{i}"', f'feeds = ["{base}/feed.xml"]', f'sitemaps = ["{base}/sitemap.xml"]',
                  f'start_urls = ["{base}/news/"]', ""]
    (folder / "sources.toml").write_text("\n".join(lines), encoding="utf-8")
    copy_default_rules(folder)
    return folder


def run_daemon(work: Path, db: str, seeds: Path, batch_size: int,
               done: Callable[[], bool]) -> tuple[float, float, int, int, Path]:
    """Run the daemon until done(), then SIGTERM it; return (CPU of it and its children, its own CPU,
    its peak RSS, its children's peak RSS, its log)."""
    log = work / f"daemon-{time.monotonic_ns()}.log"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    daemon = subprocess.Popen([sys.executable, "-m", "scheduler", "--db", db, "--seeds", str(seeds), "--log-level",
                               "info", "--log-file", str(log), "daemon", "--max-parallel", "2", "--batch-size",
                               str(batch_size), "--child-batches", str(CHILD_BATCHES[0]), "--grace", "600"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    daemon_rss = child_rss = 0
    daemon_cpu = 0.0
    try:
        while daemon.poll() is None and not done():
            daemon_rss = max(daemon_rss, proc_status(daemon.pid, "VmHWM"))
            daemon_cpu = max(daemon_cpu, own_cpu(daemon.pid))
            for pid in descendants(daemon.pid):
                child_rss = max(child_rss, proc_status(pid, "VmHWM"))
            time.sleep(0.5)
        daemon.send_signal(signal.SIGTERM)
        while daemon.poll() is None:  # the last batches finish within --grace
            daemon_cpu = max(daemon_cpu, own_cpu(daemon.pid))
            time.sleep(0.2)
    finally:
        # The bench stopped early (Ctrl-C, SIGTERM): its daemon must not crawl on (its crawl
        # children die with it, by their parent-death signal).
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    err = daemon.communicate()[1]
    if daemon.returncode != 0:
        raise SystemExit(f"the daemon exited {daemon.returncode}: {err.decode()[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return cpu, daemon_cpu, daemon_rss, child_rss, log


def warm_up(work: Path, db: str, seeds: Path, count: int, batch_size: int) -> None:
    """Crawl every source once (their first articles stored, their validators saved)."""
    repo = Repository.open(db)

    def crawled() -> bool:
        return len({r.source for r in repo.runs.recent(limit=count * 3) if r.finished}) >= count

    started = time.monotonic()
    cpu = run_daemon(work, db, seeds, batch_size, crawled)[0]
    repo.close()
    print(f"warm-up: every one of {count} sources crawled once (2 articles each) in "
          f"{time.monotonic() - started:.0f} s, {1000 * cpu / count:.0f} ms CPU a source", flush=True)


def sweep(db: str, seeds: Path, count: int, sizes: list[int]) -> list[tuple[int, int, float]]:
    """CPU per quiet check by batch size: crawl children (the daemon's launcher) over sources with
    nothing new; return (batch size, checks, CPU seconds per check) for each size."""
    from scheduler.jobs import Launcher

    repo = Repository.open(db)
    out = []
    try:
        launcher = Launcher(repo, db, time_limit=600)
        for size in sizes:
            # Enough children to average over, few enough to take a minute: ~30 s of CPU each.
            checks = min(count, max(size * 2, 20 if size == 1 else 100))
            names = [f"s{i}" for i in range(checks)]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            for start in range(0, checks, size):
                for result in launcher.run_batch(seeds, names[start:start + size]):
                    if (result.summary or {}).get("new"):
                        raise SystemExit(f"{result.source} found something new: the sweep counts quiet checks")
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            out.append((size, checks, cpu / checks))
            print(f"  batch {size:>4}: {checks:>4} quiet checks, {1000 * cpu / checks:7.1f} ms CPU each", flush=True)
    finally:
        repo.close()
    return out


def measure(work: Path, db: str, web: SimWeb, count: int, every: int, rounds: float, batch_size: int,
            share: float = PUBLISHING_SHARE) -> Phase:
    """Run the daemon for `rounds` intervals over the first `count` sources while `share` of them
    publish in each, and (when anything is published) DRAIN more intervals: publishing goes on, so
    the load stays the same, but only what was published in the first `rounds` intervals counts
    for publication to stored, each having had over one interval to be stored."""
    seeds = write_seeds(work / f"seeds-{count}", web, count, every)
    published: dict[str, float] = {}
    stop = threading.Event()
    drain = DRAIN if share else 0.0

    def publish() -> None:
        rng = random.Random(count * 31 + batch_size)
        for _ in range(math.ceil(rounds + drain)):
            chosen = rng.sample(range(count), round(count * share))
            at = sorted(rng.uniform(0, every) for _ in chosen)
            start = time.monotonic()
            for i, offset in zip(chosen, at, strict=True):
                if stop.wait(max(0.0, start + offset - time.monotonic())):
                    return
                url = web.publish(i)
                published[url] = web.published[url]
            stop.wait(max(0.0, start + every - time.monotonic()))

    begun = datetime.now().astimezone()
    started = time.monotonic()
    counted_until = time.time() + rounds * every
    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    end = started + (rounds + drain) * every
    cpu, daemon_cpu, daemon_rss, child_rss, log = run_daemon(work, db, seeds, batch_size,
                                                             lambda: time.monotonic() >= end)
    stop.set()
    seconds = time.monotonic() - started
    repo = Repository.open(db)
    try:
        runs = [r for r in repo.runs.recent(limit=1_000_000) if r.started >= begun]
        articles = repo.articles.query(ArticleFilter(include_all=True, limit=None))
        stored = {a.url: a.first_seen.timestamp() for a in articles}
    finally:
        repo.close()
    counted = {u: t for u, t in published.items() if t < counted_until}
    # One not stored by the end counts as later than any that was (it has had over an interval).
    delays = [stored[u] - t if u in stored else math.inf for u, t in counted.items()]
    late, batches = _lateness(log, runs)
    steady = [s for planned, s in late if planned.timestamp() >= begun.timestamp() + every]
    backlog = [s for planned, s in late if planned.timestamp() < begun.timestamp() + every]
    return Phase(batch_size, count, seconds, cpu, daemon_cpu, len(runs), sum(1 for r in runs if r.new),
                 len(counted), delays, sum(1 for d in delays if d == math.inf), steady, backlog, batches,
                 daemon_rss, child_rss, rounds)


def _lateness(log: Path, runs: list[RunRecord]) -> tuple[list[tuple[datetime, float]], list[int]]:
    """Each run's plan and its start minus that plan (negative: a batch took it early), the plan
    the daemon logged for it (the nearest to its start); and the batch sizes logged."""
    plans: dict[str, list[datetime]] = defaultdict(list)
    batches = []
    for line in log.read_text(encoding="utf-8").splitlines():
        found = _START.match(line)
        if found:
            plans[found[2]].append(datetime.fromisoformat(found[3]))
            batches.append(int(found[4]))
    late = []
    for run in runs:
        started = run.started
        nearest = min(plans.get(run.source, ()), key=lambda p: abs(started - p), default=None)
        if nearest is not None:
            late.append((nearest, (started - nearest).total_seconds()))
    return late, batches


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(phase: Phase, every: int, db_file: Path) -> None:
    mean_batch = statistics.mean(phase.batches) if phase.batches else 0.0
    print(f"\n--batch-size {phase.batch_size}: {phase.sources} sources every {every} s, {phase.seconds:.0f} s, "
          f"{phase.checks} checks ({phase.found_new} found new articles), batches of {mean_batch:.1f} on average")
    print(f"  CPU: {phase.cpu:.1f} s ({phase.daemon_cpu:.1f} s the daemon's own) = "
          f"{1000 * phase.per_check:.1f} ms per check (goal <= 20 ms)")
    print(f"  publication to stored: p50 {pct(phase.delays, 0.5):.1f} s, p99 {pct(phase.delays, 0.99):.1f} s of "
          f"{phase.published} published in the first {phase.rounds:g} intervals "
          f"({phase.unstored} not stored by the end, {DRAIN} interval later; goal p99 < {every} s)")
    late = [max(0.0, s) for s in phase.lateness]
    early = [-s for s in phase.lateness if s < 0]
    print(f"  schedule lateness after the first interval: p50 {pct(late, 0.5):.1f} s, "
          f"p99 {pct(late, 0.99):.1f} s of {len(late)} runs (goal p99 < {every / 10:.0f} s), "
          f"{len(early)} taken early (p50 {pct(early, 0.5):.1f} s, most {max(early, default=0):.1f} s); "
          f"in the first (the backlog due at start): p50 {pct(phase.backlog, 0.5):.1f} s, "
          f"p99 {pct(phase.backlog, 0.99):.1f} s")
    print(f"  peak RSS: daemon {phase.daemon_rss / 1024:.0f} MB, crawl children {phase.child_rss / 1024:.0f} MB")
    size = sum(p.stat().st_size for p in db_file.parent.glob(db_file.name + "*"))
    print(f"  database: {size / 1e6:.1f} MB")


def capacity_line(phase: Phase) -> str:
    return (f"sources one {CORES}-core machine watches every {INTERVAL // 60} min at {BUSY:.0%} CPU "
            f"(--batch-size {phase.batch_size}): {BUSY * CORES * INTERVAL / phase.per_check:,.0f} (goal 20,000)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--rounds", type=float, default=3,
                        help="intervals whose publications count (0.5: the first half of one)")
    parser.add_argument("--every", type=int, default=60, help="seconds between checks of a source")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--compare", type=int, default=0, metavar="B",
                        help="also run --batch-size B on a few sources and print the ratio")
    parser.add_argument("--full", action="store_true", help="10,000 sources every 600 s for 3 rounds")
    parser.add_argument("--quiet-rounds", type=int, default=1,
                        help="first, this many intervals with nothing published: CPU per quiet check")
    parser.add_argument("--sweep", default="", metavar="B,B,...",
                        help="first, CPU per quiet check for these batch sizes (crawl children, no daemon)")
    parser.add_argument("--child-batches", type=int, default=batches.CHILD_BATCHES,
                        help="the daemon's --child-batches (1: a fresh crawl process per batch)")
    parser.add_argument("--stretch", action="store_true",
                        help="quiet sources stretch their interval (max_every 8x, the default), not a fixed one")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the daemon and the temporary folder go with the bench.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    CHILD_BATCHES[0] = args.child_batches
    STRETCH[0] = args.stretch
    if args.full:
        args.sources, args.every, args.rounds = 10_000, 600, 3
    work = Path(tempfile.mkdtemp(prefix="newsmon-capacity-"))
    db_file = work / "newsmon.db"
    db = f"sqlite:///{db_file}"
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load {load:.2f} before the run; {args.sources} sources", flush=True)
    try:
        with SimWeb(args.sources, initial_articles=2) as web:
            seeds = write_seeds(work / "seeds-warm", web, args.sources, args.every)
            warm_up(work, db, seeds, args.sources, args.batch_size)
            if args.sweep:
                print("CPU per quiet check (nothing new anywhere), by batch size:")
                sweep(db, seeds, args.sources, [int(b) for b in args.sweep.split(",")])
            quiet = None
            if args.quiet_rounds:
                quiet = measure(work, db, web, args.sources, args.every, args.quiet_rounds, args.batch_size, share=0.0)
                print(f"\nquiet: {quiet.checks} checks in {quiet.seconds:.0f} s, nothing published: "
                      f"{1000 * quiet.per_check:.1f} ms CPU per quiet check, the daemon and its children "
                      f"({1000 * quiet.daemon_cpu / max(1, quiet.checks):.1f} ms the daemon's own; goal <= 20 ms)",
                      flush=True)
            phase = measure(work, db, web, args.sources, args.every, args.rounds, args.batch_size)
            report(phase, args.every, db_file)
            if args.compare:
                # One child per source costs ~1 s of CPU: a few sources say enough.
                few = min(args.sources, 40)
                other = measure(work, db, web, few, args.every, 1, args.compare)
                report(other, args.every, db_file)
        print(f"\nload after the run: {os.getloadavg()[0]:.2f}")
        if quiet is not None:
            print(f"CPU per quiet check: {1000 * quiet.per_check:.1f} ms (goal <= 20 ms); at that cost one "
                  f"{CORES}-core machine watches {BUSY * CORES * INTERVAL / quiet.per_check:,.0f} quiet sources "
                  f"every {INTERVAL // 60} min at {BUSY:.0%} CPU")
        print(capacity_line(phase))
        if args.compare:
            print(f"CPU per check, --batch-size {args.compare} / --batch-size {args.batch_size}: "
                  f"{other.per_check / phase.per_check:.1f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
