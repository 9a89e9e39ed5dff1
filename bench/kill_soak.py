"""Issue #15's kill soak: SIGKILL at random points of crawls, workers and daemons, and check after each.

Usage: python bench/kill_soak.py [--mode local|queue|both] [--kills 100] [--seed 15] [--sources 40]
                                 [--deadline 1] [--postgres URL] [--format table|json]
Example: python bench/kill_soak.py --kills 10 --mode local

Run by hand, not in CI (100 kills: 6 to 12 minutes on 2 cores); docs/reliability.md says what it
checks. --kills are split between the modes. local: `newsmon daemon` on a temporary SQLite file;
targets: its crawl children and the daemon. queue: `newsmon daemon --queue` and two `newsmon
worker`s, a private redis-server, a fresh PostgreSQL schema; targets: a worker's crawl child, a
worker, the daemon. Both crawl bench/simweb.py's web, a few sources publishing every 2 s. Once the
sources' first articles are stored, and after each kill once a crawl has ended ok again, a kill
waits for its target and a random 0-3 s more; what was killed is started again, as systemd would.
After each kill, within --deadline s every descendant of the killed process is gone and no process
of the soak lives outside its own tree; the database passes its integrity checks and has lost no
article. At the end of a mode every article published must be stored within 180 s of the end of
publishing (else it is late, if a `crawl now` then stores it, or lost), SIGTERM must stop
everything with exit 0, and nothing may be left running. Progress on stderr, the summary on
stdout; exit 1 on any failure.
Over the house's ~400 lines: two systems of real processes to start, kill, restart and stop, and
the checks after each kill, in one file so that the soak stays one command.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.pool import NullPool

from bench import simweb
from bench.pg_schema import fresh_pg_schema, with_driver
from bench.simweb import SimWeb, article_path
from crawler.config import copy_default_rules

ROOT = Path(__file__).resolve().parent.parent
# tests/conftest.py's FAST_CRAWL_ENV (bench/ never imports tests/), and a dead crawl's lease gone in 3 s.
FAST_CRAWL_ENV = {"NEWSMON_DOWNLOAD_DELAY": "0", "NEWSMON_AUTOTHROTTLE": "false", "NEWSMON_RETRY_BACKOFF": "0",
                  "NEWSMON_DOWNLOAD_TIMEOUT": "10", "NEWSMON_LEASE_TTL": "3"}
# In the environment of every process the soak starts, so of their descendants: finds an orphan.
TAG_ENV = "KILL_SOAK_TAG"
TARGETS = {"local": ("crawl child", "daemon"), "queue": ("crawl child", "worker", "daemon")}
# A burst of 12 is over the 10 new pages (crawler.workers.IN_PROCESS_PAGES) that start an analysis pool.
INITIAL, EVERY, PUBLISH_EVERY, BURST = 3, 5, 2.0, 12
DAEMON_ARGS = ("daemon", "--jitter", "0.5", "--check-every", "1", "--grace", "20", "--time-limit", "60s")
# Redis hands a dead worker's job out again after this: longer than a job here, short for a soak.
WORKER_ARGS = ("worker", "--concurrency", "1", "--redeliver-after", "30s")
DRAIN_SECONDS, STOP_SECONDS, TARGET_WAIT = 180, 60, 90

Ident = tuple[int, int]  # (pid, start time in clock ticks): a pid can be reused, the pair cannot
Table = dict[int, tuple[int, str, int]]  # pid -> (parent pid, state, start time)


def processes() -> Table:
    out = {}
    for entry in os.scandir("/proc"):
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            out[int(entry.name)] = (int(fields[1]), fields[0], int(fields[19]))
        except (OSError, IndexError, ValueError):  # not a process, or gone meanwhile
            continue
    return out


def descendants(pid: int, table: Table) -> set[Ident]:
    kids: dict[int, list[int]] = {}
    for p, (parent, _, _) in table.items():
        kids.setdefault(parent, []).append(p)
    out, todo = set(), [pid]
    while todo:
        for kid in kids.get(todo.pop(), ()):
            out.add((kid, table[kid][2]))
            todo.append(kid)
    return out


def alive(ident: Ident, table: Table) -> bool:
    entry = table.get(ident[0])
    return entry is not None and entry[2] == ident[1] and entry[1] != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"


def roles(idents: set[Ident], counts: bool = True) -> str:
    """Say what these processes are, from their command lines: "2 pool worker, 1 forkserver"."""
    table, found = processes(), Counter[str]()
    for pid, _ in idents:
        cmd = cmdline(pid)
        if "forkserver" in cmd:
            found["pool worker" if "forkserver" in cmdline(table.get(pid, (0,))[0]) else "forkserver"] += 1
            continue
        names = (("scheduler.child", "crawl child"), ("resource_tracker", "resource tracker"),
                 (" daemon", "daemon"), (" worker", "worker"))
        found[next((name for key, name in names if key in cmd), cmd[:30] or "process that just exited")] += 1
    return ", ".join(f"{n} {r}" if counts else r for r, n in sorted(found.items()))


def survivors(before: set[Ident], tag: str, deadline: float, everything: bool = False) -> tuple[float, set[Ident]]:
    """Poll until every process of `before` is gone and none of the soak's is outside its tree (an
    orphan), or with `everything` none is left at all; return (seconds it took, what was left)."""
    started, needle = time.monotonic(), f"{TAG_ENV}={tag}".encode()
    while True:
        table = processes()
        mine = set()
        for pid, (_, state, start) in table.items():
            try:
                if state != "Z" and needle in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                    mine.add((pid, start))
            except OSError:
                continue
        left = {i for i in before if alive(i, table)} | (mine if everything else mine - descendants(os.getpid(), table))
        if not left or time.monotonic() - started >= deadline:
            return time.monotonic() - started, left
        time.sleep(0.05)


def kill(idents: set[Ident], tag: str) -> None:
    """SIGKILL these processes (each only if its pid still names it), then the orphans that leaves."""
    for _ in range(5):
        table = processes()
        for ident in idents:
            if alive(ident, table):
                os.kill(ident[0], signal.SIGKILL)
        idents = survivors(set(), tag, 0.5)[1]
        if not idents:
            return


class System:
    """The newsmon processes of one mode: started, killed and started again, as systemd would."""

    def __init__(self, work: Path, db: str, seeds: Path, tag: str, queue: str | None) -> None:
        self.work, self.seeds, self.queue, self.tag = work, seeds, queue, tag
        self.env = {**os.environ, **FAST_CRAWL_ENV, "NEWSMON_DB": db, TAG_ENV: tag}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, wait: str = "") -> None:
        log = self.work / f"{name}.log"
        with log.open("ab") as err:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "scheduler", "--log-level", "info", "--seeds", str(self.seeds),
                 *(DAEMON_ARGS if name == "daemon" else WORKER_ARGS), *(("--queue", self.queue) if self.queue else ())],
                cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 120
        while wait and wait not in log.read_text(errors="replace"):
            if self.procs[name].poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)

    def targets(self, target: str, table: Table) -> list[tuple[str, int]]:
        """Return (its own or its parent's name, pid) of each live process of the kind `target`."""
        by_pid = {p.pid: name for name, p in self.procs.items()}
        if target == "crawl child":
            return [(by_pid[parent], pid) for pid, (parent, state, _) in table.items()
                    if parent in by_pid and state != "Z" and "scheduler.child" in cmdline(pid)]
        return [(n, p.pid) for n, p in self.procs.items() if n.startswith(target) and p.poll() is None]

    def stop(self) -> list[str]:
        """SIGTERM the daemon, then the workers; return what did not exit 0 in time."""
        problems = []
        for name in sorted(self.procs, key=lambda n: n != "daemon"):
            proc = self.procs[name]
            proc.send_signal(signal.SIGTERM)
            try:
                if proc.wait(timeout=STOP_SECONDS) != 0:
                    problems.append(f"{name} exited {proc.returncode} after SIGTERM")
            except subprocess.TimeoutExpired:
                problems.append(f"{name} still running {STOP_SECONDS} s after SIGTERM")
        return problems

    def abort(self) -> None:
        """Kill whatever of the soak still runs (after an error, a failed stop or Ctrl-C)."""
        for proc in self.procs.values():
            proc.kill()
            proc.wait()
        kill(survivors(set(), self.tag, 0, everything=True)[1], self.tag)


Row = tuple[int, str, str]
CHECKS = {
    "half-written articles": "SELECT count(*) FROM articles WHERE (text IS NULL OR text = '') AND duplicate_of IS NULL",
    "articles without URL row": "SELECT count(*) FROM articles a WHERE NOT EXISTS "
                                "(SELECT 1 FROM article_urls u WHERE u.url = a.url)",
    "articles stored twice (same content hash)": "SELECT count(*) - count(DISTINCT content_hash) FROM articles",
    "URLs stored twice": "SELECT count(*) - count(DISTINCT url) FROM articles",
    "copies stored (simweb serves none)": "SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL",
}


def check_db(engine: Engine, previous: set[Row]) -> tuple[set[Row], list[tuple[str, str]]]:
    """Run the checks; return the articles' (id, url, content_hash) and each problem as (check, finding)."""
    problems: list[tuple[str, str]] = []
    rows: set[Row] = set()
    with engine.connect() as conn:
        if inspect(conn).has_table("articles"):
            if engine.dialect.name == "sqlite":
                if (ok := conn.execute(text("PRAGMA integrity_check")).scalar()) != "ok":
                    problems.append(("integrity_check", f"integrity_check: {ok}"))
                if (row := conn.execute(text("PRAGMA foreign_key_check")).first()) is not None:
                    problems.append(("foreign_key_check", f"foreign_key_check: {tuple(row)}"))
            for what, query in CHECKS.items():
                if count := conn.execute(text(query)).scalar():
                    problems.append((what, f"{count} {what}"))
            rows = {(int(r[0]), str(r[1]), str(r[2])) for r in conn.execute(text(
                "SELECT id, url, content_hash FROM articles"))}
    if lost := previous - rows:
        problems.append(("articles lost or changed", f"{len(lost)} articles lost or changed, e.g. {min(lost)}"))
    return rows, problems


def write_seeds(folder: Path, web: SimWeb) -> Path:
    """Write a seeds folder: every simweb source with its feed, sitemap and listing, every EVERY s."""
    folder.mkdir(parents=True)
    lines = ["[settings]", f'every = "{EVERY}s"']
    for i in range(web.count):
        base = web.base(i)
        lines += ["[[source]]", f'name = "s{i}"', f'feeds = ["{base}/feed.xml"]', f'sitemaps = ["{base}/sitemap.xml"]',
                  f'start_urls = ["{base}/news/"]']
    (folder / "sources.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    copy_default_rules(folder)
    return folder


@dataclass
class ModeResult:
    kills: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    published: int = 0
    stored: int = 0
    late: int = 0  # stored only by a crawl now after DRAIN_SECONDS
    lost: int = 0  # not stored even then
    slowest_gone: float = 0.0  # of the kills whose descendants were gone within the deadline
    seconds: float = 0.0
    skipped: str | None = None


def ok_runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM runs WHERE outcome = 'ok'")).scalar() or 0)


def publish(web: SimWeb, rng: random.Random, halt: threading.Event) -> None:
    """Publish on 5% of the sources every PUBLISH_EVERY seconds, and now and then a burst on one."""
    while not halt.wait(PUBLISH_EVERY):
        for i in rng.sample(range(web.count), max(1, round(web.count * 0.05))):
            web.publish(i)
        if rng.random() < 0.1:
            i = rng.randrange(web.count)
            for _ in range(BURST):
                web.publish(i)


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args, self.rng, self.done, self.ok_runs = args, random.Random(args.seed), 0, 0
        self.failures: list[dict[str, str]] = []  # mode, target, kind (what the summary counts), detail
        self.results: dict[str, ModeResult] = {}

    def fail(self, mode: str, target: str, kind: str, detail: str = "") -> None:
        self.failures.append({"mode": mode, "target": target, "kind": kind, "detail": detail or kind})
        if target == "-":  # a kill's failures are on its progress line
            print(f"{mode}: FAILED: {detail or kind}", file=sys.stderr, flush=True)

    def run_mode(self, mode: str, kills: int, work: Path) -> None:
        result = self.results[mode] = ModeResult()
        if mode == "queue" and shutil.which("redis-server") is None:
            result.skipped = "redis-server is not installed (apt-get install redis-server)"
            print(f"queue mode skipped: {result.skipped}", file=sys.stderr)
            self.done += kills
            return
        started, tag, halt = time.monotonic(), uuid.uuid4().hex, threading.Event()
        # Every article stays in its source's feed, sitemap and listing (simweb lists the newest 20):
        # a source whose crawls are killed for minutes must not lose articles off its feed, which
        # would be the simulated web's loss, not newsmon's (seen in a full run: a source 21 behind).
        simweb.LISTED = 1 << 30
        with ExitStack() as stack:
            web = stack.enter_context(SimWeb(self.args.sources, initial_articles=INITIAL))
            seeds = write_seeds(work / "seeds", web)
            if mode == "local":
                db, queue = f"sqlite:///{work / 'newsmon.db'}", None
                engine = create_engine(db, poolclass=NullPool, connect_args={"timeout": 60})
            else:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", 0))
                    port = sock.getsockname()[1]
                redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                          "--appendonly", "no", "--dir", str(work)], stdout=subprocess.DEVNULL)
                stack.callback(redis.wait, timeout=30)
                stack.callback(redis.terminate)
                queue = f"redis://127.0.0.1:{port}/0"
                db = stack.enter_context(fresh_pg_schema(self.args.postgres, prefix="newsmon_soak"))
                engine = create_engine(with_driver(db), poolclass=NullPool)
            stack.callback(engine.dispose)
            system = System(work, db, seeds, tag, queue)
            stack.callback(system.abort)
            # One after the other: the first creates the schema (two first opens race in the migrations).
            for name in ("worker0", "worker1") if queue else ():
                system.start(name, wait="newsmon worker running")
            system.start("daemon")
            # No kill before the first crawl stored the sources' first articles (what a deployment
            # has behind it): later crawls are small, so kills land in their writes too.
            initial = {f"{web.base(i)}{article_path(k)}" for i in range(web.count) for k in range(INITIAL)}
            rows, _ = self.wait_stored(mode, engine, set(), initial, DRAIN_SECONDS, "warm-up")
            self.ok_runs = 0
            publisher = threading.Thread(target=publish, args=(web, random.Random(self.rng.random()), halt))
            publisher.start()
            try:
                for _ in range(kills):
                    rows = self.kill_one(mode, system, engine, rows, result)
            finally:
                halt.set()
                publisher.join()
            result.published, expected = len(web.published), initial | set(web.published)
            rows, late = self.wait_stored(mode, engine, rows, expected, DRAIN_SECONDS, "after publishing stopped")
            for problem in system.stop():
                self.fail(mode, "-", "did not stop with SIGTERM and exit 0", problem)
            if late:  # stored by a crawl now: only late (its source backing off); else lost
                names = {web.base(i): f"s{i}" for i in range(web.count)}
                sources = sorted({names[url.split("/news/")[0]] for url in late})
                with (work / "crawl-now.log").open("wb") as log:
                    subprocess.run([sys.executable, "-m", "scheduler", "--seeds", str(seeds), "crawl", "now",
                                    *(a for s in sources for a in ("--source", s))], cwd=ROOT, env=system.env,
                                   stdout=log, stderr=subprocess.STDOUT, timeout=600)
            rows, lost = self.wait_stored(mode, engine, rows, expected, 0, "final check")
            result.late, result.lost = len(late) - len(lost), len(lost)
            if result.late:
                self.fail(mode, "-", f"not stored {DRAIN_SECONDS} s after publishing stopped",
                          f"{result.late} articles stored only by a crawl now after {DRAIN_SECONDS} s")
            if lost:
                self.fail(mode, "-", "lost: not stored, even by a crawl now", f"{len(lost)} lost, e.g. {min(lost)}")
            if left := survivors(set(), tag, self.args.deadline, everything=True)[1]:
                self.fail(mode, "-", f"left after the stop: {roles(left)}")
            result.stored = len(rows)
        result.seconds = time.monotonic() - started

    def kill_one(self, mode: str, system: System, engine: Engine, rows: set[Row], result: ModeResult) -> set[Row]:
        target, delay = self.rng.choice(TARGETS[mode]), self.rng.uniform(0, 3)
        # Crawls go on between kills: a run ends ok after each (else kills would keep landing in
        # start-ups, never in writes, and a system that stopped crawling would pass).
        deadline = time.monotonic() + TARGET_WAIT
        while (ok := ok_runs(engine)) <= self.ok_runs:
            if time.monotonic() > deadline:
                self.fail(mode, target, f"no crawl ended ok within {TARGET_WAIT} s after a kill")
                break
            time.sleep(0.2)
        self.ok_runs = ok
        for name, proc in system.procs.items():
            if proc.poll() is not None:
                self.fail(mode, name, "exited by itself", f"{name} exited {proc.returncode}: started again")
                system.start(name)
        victim = self.await_target(system, target, delay)
        self.done += 1
        line = f"{self.done:>4}/{self.args.kills} {mode:<5} {target:<11} after {delay:4.2f} s"
        if victim is None:
            self.fail(mode, target, f"no {target} appeared within {TARGET_WAIT} s")
            result.failed[target] += 1
            print(f"{line}  FAILED: no {target} appeared", file=sys.stderr, flush=True)
            return rows
        name, ident, before = victim
        os.kill(ident[0], signal.SIGKILL)
        result.kills[target] += 1
        if target != "crawl child":
            system.procs[name].wait()
        took, left = survivors(before | {ident}, system.tag, self.args.deadline)
        problems = []
        if left:
            problems.append(f"outlived it: {roles(left)}")
            self.fail(mode, target, f"outlived it: {roles(left, counts=False)}",
                      f"kill {self.done}: {problems[-1]} (pids {sorted(p for p, _ in left)})")
            kill(left, system.tag)
        else:
            result.slowest_gone = max(result.slowest_gone, took)
        rows, found = check_db(engine, rows)
        for kind, problem in found:
            self.fail(mode, target, kind, f"kill {self.done}: {problem}")
        problems += [problem for _, problem in found]
        if target != "crawl child":
            system.start(name)
        result.failed[target] += bool(problems)
        print(f"{line}  {len(before):>2} below, gone in {took:4.2f} s  stored {len(rows):>5}  "
              f"{'ok' if not problems else 'FAILED: ' + '; '.join(problems)}", file=sys.stderr, flush=True)
        return rows

    def await_target(self, system: System, target: str, delay: float) -> tuple[str, Ident, set[Ident]] | None:
        """Wait for a target, then `delay` s; if it is still there (else wait for the next), return its
        own or its parent's name, it, and its descendants now; None after TARGET_WAIT s without one."""
        deadline = time.monotonic() + TARGET_WAIT
        while time.monotonic() < deadline:
            table = processes()
            if not (candidates := system.targets(target, table)):
                time.sleep(0.05)
                continue
            name, pid = self.rng.choice(candidates)
            ident = (pid, table[pid][2])
            time.sleep(delay)
            if alive(ident, table := processes()):
                return name, ident, descendants(pid, table)
        return None

    def wait_stored(self, mode: str, engine: Engine, rows: set[Row], expected: set[str], seconds: float,
                    what: str) -> tuple[set[Row], set[str]]:
        """Check the database every second until every URL `expected` is stored or `seconds` have
        passed; return the rows and the URLs still missing."""
        started, seen = time.monotonic(), set()
        while True:
            rows, problems = check_db(engine, rows)
            for kind, problem in problems:
                if kind not in seen:  # once each: what is broken stays broken
                    seen.add(kind)
                    self.fail(mode, "-", f"{what}: {kind}", problem)
            missing = expected - {url for _, url, _ in rows}
            if not missing or time.monotonic() >= started + seconds:
                print(f"{mode}, {what}: {len(expected) - len(missing)} of {len(expected)} articles stored "
                      f"in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
                return rows, missing
            time.sleep(1)


def summary_table(soak: Soak, seconds: float, loads: tuple[float, float]) -> str:
    lines = [f"kill soak: {soak.args.kills} kills, seed {soak.args.seed}, {seconds / 60:.1f} min, "
             f"{os.cpu_count()} cores, load {loads[0]:.2f} before, {loads[1]:.2f} after",
             "", f"{'mode':<6} {'target':<12} {'kills':>6} {'failed':>7}"]
    for mode, r in soak.results.items():
        lines += [f"{mode:<6} skipped: {r.skipped}"[:80]] if r.skipped else [
            f"{mode:<6} {t:<12} {r.kills[t]:>6} {r.failed[t]:>7}" for t in TARGETS[mode]]
    lines += ["", f"{'mode':<6} {'published':>9} {'stored':>7} {'late':>5} {'lost':>5} {'slowest gone':>13} "
              f"{'minutes':>8}"]
    lines += [f"{m:<6} {r.published:>9} {r.stored:>7} {r.late:>5} {r.lost:>5} {r.slowest_gone:>11.2f} s "
              f"{r.seconds / 60:>8.1f}"
              for m, r in soak.results.items() if not r.skipped]
    if soak.failures:
        kinds = Counter((f["mode"], f["target"], f["kind"]) for f in soak.failures)
        lines += ["", f"{'mode':<6} {'killed':<12} {'failure':<52} {'times':>6}"]
        lines += [f"{m:<6} {t:<12} {k[:52]:<52} {n:>6}" for (m, t, k), n in sorted(kinds.items())]
    lines += ["", f"result: {'ok' if not soak.failures else f'{len(soak.failures)} failed checks'}"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Example: python bench/kill_soak.py --kills 10 --mode local")
    parser.add_argument("--mode", choices=("local", "queue", "both"), default="both")
    parser.add_argument("--kills", type=int, default=100, help="in all, split between the modes")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--sources", type=int, default=40)
    parser.add_argument("--deadline", type=float, default=1.0, help="seconds a killed process's descendants get")
    parser.add_argument("--postgres", default=os.environ.get("NEWSMON_TEST_POSTGRES_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    modes = ["local", "queue"] if args.mode == "both" else [args.mode]
    soak, load, started = Soak(args), os.getloadavg()[0], time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="newsmon-soak-"))
    try:
        for n, mode in enumerate(modes):
            (work / mode).mkdir()
            soak.run_mode(mode, args.kills // len(modes) + (n < args.kills % len(modes)), work / mode)
    finally:
        if soak.failures:
            print(f"logs kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    seconds, loads = time.monotonic() - started, (load, os.getloadavg()[0])
    results = {m: {**asdict(r), "kills": dict(r.kills), "failed": dict(r.failed)} for m, r in soak.results.items()}
    print(summary_table(soak, seconds, loads) if args.format == "table" else json.dumps(
        {"kills": args.kills, "seed": args.seed, "seconds": round(seconds, 1), "cores": os.cpu_count(), "load": loads,
         "ok": not soak.failures, "failures": soak.failures, "modes": results}, indent=2))
    sys.exit(1 if soak.failures else 0)


if __name__ == "__main__":
    main()
