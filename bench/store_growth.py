"""What checks and articles cost the PostgreSQL store as newsmon grows, for docs/scale.md's plan.

Usage: python bench/store_growth.py --postgres URL [--phases jobs,quiet,runs,prune] [--sources 300]
          [--rounds 2] [--every 60] [--runs 1000000] [--articles 50000] [--jobs 20000,100000,1000000]
          [--load-max 100000]
jobs: what a queue job weighs and costs at each size in --jobs: seeds written as bench/capacity.py
  writes them (a feed, a sitemap and a listing each), packed and zlib-compressed as
  scheduler/queue.py sends them (kombu's compression, Celery's JSON body, a batch of 200 names),
  and the crawl child's load_config of them (sizes up to --load-max), which every batch pays.
The other phases work in a fresh schema on --postgres, dropped afterwards:
quiet: the daemon (bench/capacity.py's warm-up and run_daemon, bench/simweb.py's sites) crawls
  --sources once (2 articles each), then checks them for --rounds intervals of --every seconds with
  nothing new. Printed per quiet check (a check = a row added to runs): rows inserted, updated and
  deleted in each table (pg_stat_user_tables), WAL bytes (pg_current_wal_lsn: the whole server's,
  so keep it otherwise idle), write transactions and how long each held the store's one write lock
  (every PostgreSQL write takes it: store/database.py), counted in the daemon and its children by a
  sitecustomize hook on SQLAlchemy's events, and CPU (daemon and children, not the server). Then
  the bytes per stored article, every table and index it writes, after VACUUM FULL.
runs: --runs synthetic runs (--sources sources of their own, one run every 30 minutes each, 3%
  finding something) added by COPY in two steps (a tenth, then all); after each, the median time of
  every read of runs the daemon, `status` and the alerts make, and the bytes per run row.
prune: --articles synthetic articles (bench/store.py's fill), each named by one of 20,200 runs, and
  20,200 runs no article names; the time to delete runs without and with an index on
  articles.run_id (deleting a run sets its articles' run_id to NULL, through the foreign key).
Last: the write lock's ceiling (checks a second, whatever the workers) and source_status's growth.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, create_engine, text

from bench.capacity import run_daemon, warm_up, write_seeds
from bench.pg_schema import fresh_pg_schema
from bench.simweb import SimWeb, host
from scheduler.batches import BATCH_SIZE
from scheduler.queue import pack
from scheduler.schedule import load_config
from store.records import Outcome
from store.repository import Repository
from store.status import source_status

HOOK = '''
import atexit, json, os, sys, time
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool
_OUT = os.environ["NEWSMON_BENCH_LOCKS"]
_S = {"writes": 0, "hold": 0.0, "wait": 0.0}
def _before(conn, cursor, statement, params, context, many):
    if "pg_advisory_xact_lock" in statement and "lock_at" not in conn.info:
        conn.info["lock_asked"] = time.perf_counter()
def _after(conn, cursor, statement, params, context, many):
    asked = conn.info.pop("lock_asked", None)
    if asked is not None:
        conn.info["lock_at"] = now = time.perf_counter()
        _S["wait"] += now - asked
def _checkin(dbapi_connection, record):
    at = record.info.pop("lock_at", None) if record is not None else None
    if at is not None:
        _S["writes"] += 1
        _S["hold"] += time.perf_counter() - at
event.listen(Engine, "before_cursor_execute", _before)
event.listen(Engine, "after_cursor_execute", _after)
event.listen(Pool, "checkin", _checkin)
@atexit.register
def _dump():
    if _S["writes"]:
        with open(os.path.join(_OUT, f"{os.getpid()}.json"), "w") as f:
            json.dump({"daemon": "daemon" in sys.argv, **_S}, f)
'''
RUN_EVERY = timedelta(minutes=30)
YIELD_SHARE = 0.03  # bench/capacity.py's PUBLISHING_SHARE


class Sites:
    """bench/capacity.write_seeds's view of a SimWeb, without serving anything."""

    def base(self, i: int) -> str:
        return f"http://{host(i)}:8080"


def jobs(work: Path, sizes: list[int], load_max: int) -> None:
    from kombu import compression

    print("queue jobs (a batch of 200 names with the seeds):")
    for size in sizes:
        folder = write_seeds(work / f"seeds-{size}", Sites(), size, 1800)  # type: ignore[arg-type]
        t0 = time.process_time()
        bundle = pack(folder)
        body = json.dumps([[bundle, [f"s{i}" for i in range(200)], 3600.0], {},
                           {"callbacks": None, "errbacks": None, "chain": None, "chord": None}])
        packed, _ = compression.compress(body.encode(), "zlib")  # type: ignore[no-untyped-call]
        cpu = time.process_time() - t0
        line = (f"  {size:>9,} sources: seeds {len(body) / 1e6:7.1f} MB, job {len(packed) / 1e3:8.0f} KB "
                f"zlib, {cpu:5.2f} s CPU to pack and compress")
        if size <= load_max:
            t0 = time.process_time()
            load_config(folder)
            line += f"; the crawl child's load_config {time.process_time() - t0:5.2f} s CPU"
        print(line, flush=True)
        shutil.rmtree(folder)
        # zlib.decompress is what a worker pays; a check that the job is what was measured.
        assert len(zlib.decompress(packed)) == len(body.encode())


def snapshot(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        rows = conn.execute(text("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables "
                                 "WHERE schemaname = current_schema()")).all()
        wal = conn.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one()
        runs = conn.execute(text("SELECT count(*) FROM runs")).scalar_one()
    return {"tables": {r[0]: r[1:] for r in rows}, "wal": wal, "runs": int(runs)}


def wal_bytes(engine: Engine, start: str, end: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_wal_lsn_diff(:b, :a)"), {"a": start, "b": end}).scalar_one())


def locks(folder: Path) -> dict[str, list[float]]:
    """Sum the hook's dumps: [writes, hold s, wait s] for the daemon and for its children."""
    out = {"daemon": [0.0, 0.0, 0.0], "children": [0.0, 0.0, 0.0]}
    for path in folder.glob("*.json"):
        d = json.loads(path.read_text())
        kind = out["daemon" if d["daemon"] else "children"]
        for k, key in enumerate(("writes", "hold", "wait")):
            kind[k] += d[key]
    return out


def hooked(work: Path, name: str) -> Path:
    folder = work / name
    folder.mkdir()
    os.environ["NEWSMON_BENCH_LOCKS"] = str(folder)
    return folder


def quiet_checks(work: Path, url: str, engine: Engine, count: int, rounds: int, every: int) -> float:
    """Run the daemon over quiet sources; print what a check writes; return the write lock's ms a check."""
    (work / "hook").mkdir()
    (work / "hook" / "sitecustomize.py").write_text(HOOK)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(work / "hook"), os.environ.get("PYTHONPATH")]))
    with SimWeb(count, initial_articles=2) as web:
        seeds = write_seeds(work / "seeds", web, count, every)
        hooked(work, "locks-warm")
        warm_up(work, url, seeds, count, BATCH_SIZE)
        before = snapshot(engine)
        lock_dir = hooked(work, "locks-quiet")
        started = time.monotonic()
        end = started + rounds * every
        cpu = run_daemon(work, url, seeds, BATCH_SIZE, lambda: time.monotonic() >= end)[0]
        seconds = time.monotonic() - started
    after = snapshot(engine)
    checks = after["runs"] - before["runs"]
    print(f"\nquiet checks: {checks} in {seconds:.0f} s ({count} sources every {every} s, adaptive, nothing new), "
          f"{1000 * cpu / checks:.0f} ms CPU each (daemon and children; the PostgreSQL server not counted)")
    print(f"  {'table':<20} {'inserted':>9} {'updated':>9} {'deleted':>9}   rows per check")
    total = 0.0
    for table, now in sorted(after["tables"].items()):
        was = before["tables"].get(table, (0, 0, 0))
        per = [(n - w) / checks for n, w in zip(now, was, strict=True)]
        total += sum(per)
        if any(per):
            print(f"  {table:<20} {per[0]:9.2f} {per[1]:9.2f} {per[2]:9.2f}")
    print(f"  all tables: {total:.2f} rows written per check; WAL "
          f"{wal_bytes(engine, before['wal'], after['wal']) / checks:,.0f} bytes per check")
    held = 0.0
    for kind, (writes, hold, wait) in locks(lock_dir).items():
        held += 1000 * hold / checks
        if writes:
            print(f"  write transactions, {kind}: {writes / checks:.2f} per check, the write lock held "
                  f"{1000 * hold / writes:.2f} ms each ({1000 * hold / checks:.2f} ms per check), "
                  f"waited for {1000 * wait / writes:.2f} ms each")
    return held


def article_bytes(engine: Engine) -> None:
    tables = ("articles", "article_urls", "article_bands", "matches")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.execute(text(f"VACUUM FULL ANALYZE {table}"))
        count = conn.execute(text("SELECT count(*) FROM articles")).scalar_one()
        chars = conn.execute(text("SELECT avg(octet_length(text)) FROM articles")).scalar_one()
        print(f"\nper stored article ({count} articles, text {float(chars):,.0f} bytes on average), after VACUUM FULL:")
        whole = 0
        for table in tables:
            rows, data, idx = conn.execute(text(
                f"SELECT (SELECT count(*) FROM {table}), pg_table_size('{table}'), pg_indexes_size('{table}')")).one()
            whole += data + idx
            print(f"  {table:<14} {rows / count:5.1f} rows, table {data / count:7,.0f} B, "
                  f"indexes {idx / count:7,.0f} B")
        print(f"  all: {whole / count:,.0f} bytes per article")


def add_runs(engine: Engine, sources: int, start: int, count: int, total: int, pages: int,
             prefix: str = "g") -> None:
    """COPY runs start..start+count of `total`, of sources g0.. (`prefix`), a run every 30 minutes each,
    oldest first."""
    rng = random.Random(start)
    first = datetime.now(UTC) - timedelta(days=1) - (total // sources) * RUN_EVERY
    conn = engine.raw_connection()
    try:
        cur = conn.cursor()
        with cur.copy("COPY runs (source, started, finished, outcome, pages, new, matched, duplicates, errors, "
                      "holder, skipped) FROM STDIN") as copy:
            for n in range(start, start + count):
                at = first + n // sources * RUN_EVERY
                new = int(rng.random() < YIELD_SHARE)
                copy.write_row((f"{prefix}{n % sources}", at, at + timedelta(seconds=2), "ok", pages, new, 0, 0, 0,
                                f"bench:{n // BATCH_SIZE}", 0))
        conn.commit()
        cur.execute("ANALYZE runs")
        conn.commit()
    finally:
        conn.close()


def median_ms(call: Callable[[], object], reps: int) -> float:
    call()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def run_reads(repo: Repository, sources: int) -> dict[str, float]:
    names = [f"g{i}" for i in range(sources)]
    holder = "bench:0"
    timed: dict[str, tuple[Callable[[], object], int]] = {
        "consecutive_failures (daemon, per check)": (lambda: repo.runs.consecutive_failures("g7"), 20),
        "recent(source, 1) (daemon start, per source)": (lambda: repo.runs.recent(source="g7", limit=1), 20),
        "of_holder (per batch)": (lambda: repo.runs.of_holder(holder), 5),
        "settle (per batch)": (lambda: repo.runs.settle(holder, Outcome.KILLED), 5),
        "recent(limit=20) (serve /runs)": (lambda: repo.runs.recent(limit=20), 20),
        f"source_status, {sources} sources (status; alerts every 30 s)": (lambda: source_status(repo, names), 3),
    }
    return {name: median_ms(call, reps) for name, (call, reps) in timed.items()}


def runs_growth(url: str, engine: Engine, sources: int, total: int) -> float:
    """Time the reads of runs at a tenth of `total` rows and at `total`; return source_status's ratio."""
    with engine.connect() as conn:
        pages = int(conn.execute(text("SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY pages) FROM runs"))
                    .scalar() or 3)
    repo = Repository.open(url)
    results = []
    try:
        done = 0
        for step in (total // 10, total):
            t0 = time.perf_counter()
            add_runs(engine, sources, done, step - done, total, pages)
            fill = time.perf_counter() - t0
            done = step
            results.append((step, run_reads(repo, sources)))
            with engine.connect() as conn:
                rows, data, idx = conn.execute(text(
                    "SELECT (SELECT count(*) FROM runs), pg_table_size('runs'), pg_indexes_size('runs')")).one()
                plan = conn.execute(text("EXPLAIN SELECT * FROM runs WHERE holder = 'bench:0'")).scalars().first() or ""
            print(f"\nruns: {rows:,} rows ({step // sources:,} a source, {step // sources / 48:.0f} days at 30 min; "
                  f"COPY {fill:.0f} s): table {data / rows:.0f} B, indexes {idx / rows:.0f} B a row; "
                  f"WHERE holder = ...: {plan.split('  ')[0]}")
    finally:
        repo.close()
    (small, a), (large, b) = results
    print(f"\nreads of runs, median ms: {'':38} {small:>10,} {large:>10,}  ratio")
    for name in a:
        print(f"  {name:<62} {a[name]:10.2f} {b[name]:10.2f} {b[name] / a[name]:6.1f}")
    key = next(name for name in a if name.startswith("source_status"))
    return b[key] / a[key]


def prune(url: str, engine: Engine, articles: int) -> None:
    from bench.store import Store

    add_runs(engine, 100, 0, 20_200, 20_200, 3, prefix="p")
    store = Store(url)
    t0 = time.perf_counter()
    store.fill(articles, random.Random(5))
    store.repo.close()
    with engine.begin() as conn:
        # Each article from one of the p runs, as crawled articles are (the fill leaves run_id NULL).
        conn.execute(text("UPDATE articles SET run_id = (SELECT min(id) FROM runs WHERE source LIKE 'p%') "
                          "+ id % 20200"))
    # Runs no article names: quiet checks, which are what a prune deletes.
    add_runs(engine, 100, 0, 20_200, 20_200, 3, prefix="q")
    print(f"\nprune: {articles:,} synthetic articles added in {time.perf_counter() - t0:.0f} s; 20,200 runs "
          f"that stored them (p), 20,200 that stored nothing (q)")

    def delete(prefix: str, count: int) -> float:
        with engine.begin() as conn:
            # The oldest synthetic runs: chosen before the clock starts, so only the delete is timed.
            ids = list(conn.execute(text("SELECT id FROM runs WHERE source LIKE :p ORDER BY id LIMIT :n"),
                                    {"p": prefix + "%", "n": count}).scalars())
            t0 = time.perf_counter()
            conn.execute(text("DELETE FROM runs WHERE id = ANY(:ids)"), {"ids": ids})
            return (time.perf_counter() - t0) / count

    without = delete("q", 200)
    with engine.begin() as conn:
        t0 = time.perf_counter()
        conn.execute(text("CREATE INDEX ix_bench_articles_run_id ON articles (run_id)"))
        built = time.perf_counter() - t0
        size = conn.execute(text("SELECT pg_relation_size('ix_bench_articles_run_id')")).scalar_one()
    quiet, named = delete("q", 20_000), delete("p", 20_000)
    print(f"  deleting a run no article names: {1e6 * without:,.0f} us without an index on articles.run_id "
          f"(each delete reads every article), {1e6 * quiet:,.0f} us with one (built in {built:.1f} s, "
          f"{size / articles:.0f} bytes an article); a run {articles / 20_200:.1f} articles name, with it: "
          f"{1e6 * named:,.0f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, metavar="URL")
    parser.add_argument("--phases", default="jobs,quiet,runs,prune")
    parser.add_argument("--sources", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--every", type=int, default=60)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--jobs", default="20000,100000,1000000")
    parser.add_argument("--load-max", type=int, default=100_000)
    args = parser.parse_args()
    phases = set(args.phases.split(","))
    last: list[str] = []
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} before the run", flush=True)
    work = Path(tempfile.mkdtemp(prefix="newsmon-growth-"))
    try:
        if "jobs" in phases and args.jobs:
            jobs(work, [int(s) for s in args.jobs.split(",")], args.load_max)
        if phases & {"quiet", "runs", "prune"}:
            with fresh_pg_schema(args.postgres, prefix="newsmon_growth") as url:
                Repository.open(url).close()  # the schema, migrated
                engine = create_engine(url)
                try:
                    if "quiet" in phases:
                        held = quiet_checks(work, url, engine, args.sources, args.rounds, args.every)
                        last.append(f"the store's write lock held {held:.1f} ms a quiet check: at most "
                                    f"{1000 / held:.0f} checks a second, {1.8e6 / held:,.0f} sources every 30 "
                                    "minutes, however many workers")
                        article_bytes(engine)
                    if "runs" in phases:
                        ratio = runs_growth(url, engine, args.sources, args.runs)
                        last.append(f"source_status time, {args.runs:,} runs / {args.runs // 10:,}: {ratio:.1f} "
                                    "(1 if it reads a few runs a source, 10 if it reads them all)")
                    if "prune" in phases:
                        prune(url, engine, args.articles)
                finally:
                    engine.dispose()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(f"\nload after the run: {os.getloadavg()[0]:.2f}; "
              f"this process's peak RSS {usage.ru_maxrss / 1024:.0f} MB")
        for line in last:
            print(line)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
