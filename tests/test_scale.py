"""Crawls on several machines through Celery: `newsmon daemon --queue` and `newsmon worker`s on a real
Redis broker (a private redis-server per module, so the machine's own is never touched) and a real
PostgreSQL database. Workers killed mid-crawl, a scheduler killed, the broker restarted: nothing is
lost, nothing stored twice.

Skipped with the reason when redis-server or PostgreSQL is missing; failed instead when
NEWSMON_REQUIRE_SCALE=1 (as .ci/run sets it).
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bench.pages import generate
from bench.pg_schema import with_driver
from sample_site import Page, SiteServer
from scheduler.jobs import ChildResult
from scheduler.standby import SCHEDULER_LEASE
from store.records import Outcome
from tests.conftest import FAST_CRAWL_ENV, PG_ENV, ROOT, fresh_pg_schema, poll, run_cli, write_seeds
from tests.sites import serve_feed

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
REQUIRE_ENV = "NEWSMON_REQUIRE_SCALE"
HOST = socket.gethostname()
# Each source's time limit in these jobs (the daemon's --time-limit).
TIME_LIMIT = 8
# Redis hands out again a job unacknowledged this long (`worker --redeliver-after`): longer than
# the slow source's crawl, short for a test.
REDELIVER_AFTER = 12
LEASE_TTL = 3


def unavailable(reason: str) -> None:
    """Skip, or fail when CI requires these tests."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1)")
    pytest.skip(reason)


# -- the broker, the database, the processes -----------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A private redis-server on a free port, its data (append-only file) kept across restarts."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._dbs = itertools.count(1)

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--dir", str(self.folder), "--save", "", "--appendonly", "yes"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        poll(self.answers, timeout=20, what="redis-server to answer")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: Redis writes its append-only file and exits
            self.proc.wait(timeout=30)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def url(self) -> str:
        """A broker URL on a database of its own: no test sees another's jobs."""
        return f"redis://127.0.0.1:{self.port}/{next(self._dbs)}"


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if subprocess.run(["which", "redis-server"], capture_output=True).returncode != 0:
        unavailable("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def rabbitmq() -> Iterator[str]:
    """A broker URL on a private virtual host of the machine's RabbitMQ, deleted afterwards."""
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError:
        unavailable("RabbitMQ is not running on 127.0.0.1:5672")
    vhost = f"newsmon_test_{uuid.uuid4().hex[:8]}"
    for args in (("add_vhost", vhost), ("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")):
        proc = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            unavailable(f"rabbitmqctl {args[0]} failed: {proc.stderr.strip()}")
    try:
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=120)


@pytest.fixture
def db() -> Iterator[str]:
    """A fresh PostgreSQL schema."""
    if not os.environ.get(PG_ENV):
        unavailable(f"queue mode needs PostgreSQL: set {PG_ENV}")
    with fresh_pg_schema() as url:
        yield url


class Proc:
    """A newsmon command in a child process, its stderr in a file."""

    def __init__(self, log: Path, *args: str, db: str, env: dict[str, str] | None = None) -> None:
        self.log = log
        with log.open("wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "scheduler", "--log-level", "info", *args],
                                         cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                         env={**os.environ, **FAST_CRAWL_ENV, "NEWSMON_DB": db, **(env or {})})
        self.pid = self.proc.pid

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, line: str, timeout: float = 60) -> None:
        poll(lambda: line in self.text() or self.proc.poll() is not None, timeout=timeout, what=f"{line!r}")
        assert self.proc.poll() is None, f"exited {self.proc.returncode}: {self.text()[-3000:]}"

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    """The processes a test starts, stopped at its end whatever happened."""
    started: list[Proc] = []
    yield started
    for p in reversed(started):
        p.stop()


def start_workers(procs: list[Proc], folder: Path, queue: str, db: str, count: int = 1, concurrency: int = 1,
                  redeliver_after: str = "1h5m") -> list[Proc]:
    """Start `count` workers, one after the other (the first one creates the schema: two first opens
    of an empty PostgreSQL database at once race in the migrations); return them once they run."""
    workers = []
    for i in range(count):
        worker = Proc(folder / f"worker{i}.log", "worker", "--queue", queue, "--concurrency", str(concurrency),
                      "--redeliver-after", redeliver_after, db=db)
        procs.append(worker)
        worker.wait_for("newsmon worker running")
        workers.append(worker)
    return workers


def start_daemon(procs: list[Proc], folder: Path, seeds: Path, queue: str, db: str, name: str, *args: str,
                 wait_for: str = "newsmon daemon running") -> Proc:
    daemon = Proc(folder / f"{name}.log", "--seeds", str(seeds), "daemon", "--queue", queue, "--jitter", "0",
                  "--check-every", "0.5", "--max-parallel", "4", *args, db=db)
    procs.append(daemon)
    daemon.wait_for(wait_for)
    return daemon


def sql(db: str, query: str, **params: Any) -> list[Any]:
    engine = create_engine(with_driver(db))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(query), params).all())
    finally:
        engine.dispose()


def stored(db: str) -> tuple[int, int]:
    """(articles, distinct URLs) stored."""
    (row,) = sql(db, "SELECT count(*), count(DISTINCT url) FROM articles")
    return int(row[0]), int(row[1])


def lease_holder(db: str, name: str) -> str | None:
    rows = sql(db, "SELECT holder FROM leases WHERE source = :name AND expires > now()", name=name)
    return str(rows[0][0]) if rows else None


def serve_sources(site: SiteServer, count: int, stories: int = 2, delay: float = 0.0) -> list[dict[str, Any]]:
    """Serve `count` sources on one site, each its own feed of `stories` distinct news pages; return their
    seeds tables."""
    pages = iter(generate(count * stories))
    tables = []
    for i in range(count):
        paths = []
        for page in itertools.islice(pages, stories):
            site.set_page(page.path, Page(page.html.encode(), delay=delay))
            paths.append(page.path)
        serve_feed(site, f"/s{i}/rss.xml", paths)
        tables.append({"name": f"s{i}", "feeds": [f"{site.url}/s{i}/rss.xml"]})
    return tables


def settings(every: str = "1h") -> str:
    return f'[settings]\nevery = "{every}"\nlease_ttl = {LEASE_TTL}\n\n'


# -- the tests -----------------------------------------------------------------------------------

def test_a_scheduler_and_two_workers_crawl_every_source_once(redis: RedisServer, db: str, procs: list[Proc],
                                                             tmp_path: Path) -> None:
    count, per_source = 50, 1
    with SiteServer() as site:
        seeds = write_seeds(tmp_path / "seeds", *serve_sources(site, count, per_source), text=settings())
        queue = redis.url()
        workers = start_workers(procs, tmp_path, queue, db, count=2)
        # Five jobs of ten sources: both workers get some.
        start_daemon(procs, tmp_path, seeds, queue, db, "daemon", "--batch-size", "10")
        poll(lambda: stored(db)[0] >= count * per_source, timeout=100, what="every article stored")
        poll(lambda: len(sql(db, "SELECT DISTINCT source FROM runs WHERE outcome = 'ok'")) == count,
             timeout=30, what="every source's run to end ok")
    assert stored(db) == (count * per_source, count * per_source)
    # Each source crawled once, and both workers had a share.
    runs = sql(db, "SELECT source, outcome FROM runs")
    assert sorted(r[0] for r in runs) == sorted(f"s{i}" for i in range(count))
    assert {r[1] for r in runs} == {"ok"}
    for w in workers:
        assert "job done: " in w.text(), w.text()[-2000:]


def test_a_job_is_sent_while_another_thread_waits_for_its_answer(redis: RedisServer, db: str,
                                                                 tmp_path: Path) -> None:
    # A thread waiting for an answer holds the results lock for up to a second at a time (Celery
    # drains answers a second at a time); a send queued behind it left a free worker idle that long.
    from redis import Redis

    from scheduler.queue import QUEUE_NAME, QueueLauncher
    from store.repository import Repository

    seeds = write_seeds(tmp_path / "seeds", {"name": "s0", "feeds": ["http://127.0.0.1:9/rss.xml"]})
    queue = redis.url()
    repository = Repository.open(db)
    launcher = QueueLauncher(repository, db, queue, time_limit=TIME_LIMIT)
    broker = Redis.from_url(queue)
    try:
        with launcher._results:  # as a waiting thread holds it, for as long as the test needs
            thread = threading.Thread(target=launcher.run_batch, args=(seeds, ["s0"]), daemon=True)
            thread.start()
            poll(lambda: broker.llen(QUEUE_NAME) == 1, timeout=10, what="the job to reach the queue")
        launcher.stop_all()
        thread.join(timeout=10)
        assert not thread.is_alive()
    finally:
        launcher.close()
        broker.close()
        repository.close()


def _run_in_thread(queue: str, db: str, seeds: Path, names: list[str]) -> tuple[threading.Thread, list[Any]]:
    """QueueLauncher.run_batch in a thread, as the daemon calls it; the results land in the list."""
    from scheduler.queue import QueueLauncher
    from store.repository import Repository

    out: list[Any] = []

    def run() -> None:
        repository = Repository.open(db)
        launcher = QueueLauncher(repository, db, queue, time_limit=TIME_LIMIT)
        try:
            out.extend(launcher.run_batch(seeds, names))
        finally:
            launcher.close()
            repository.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_a_worker_killed_mid_crawl_has_its_job_delivered_again_and_finished_by_another(
        broker: str, request: pytest.FixtureRequest, db: str, procs: list[Proc], tmp_path: Path) -> None:
    # Redis hands the job out again once its visibility timeout (--redeliver-after) has passed;
    # RabbitMQ at once, when the dead worker's connection closes, while the dead crawl's lease still
    # holds: the job waits it out rather than skip the source as being crawled.
    stories = 4
    with SiteServer() as site:
        # Slow pages keep the first worker busy long enough to be killed mid-crawl.
        seeds = write_seeds(tmp_path / "seeds", *serve_sources(site, 1, stories, delay=1.0), text=settings())
        queue = request.getfixturevalue("redis").url() if broker == "redis" else request.getfixturevalue(broker)
        started = start_workers(procs, tmp_path, queue, db, count=2, redeliver_after=f"{REDELIVER_AFTER}s")
        workers = {w.pid: w for w in started}
        thread, results = _run_in_thread(queue, db, seeds, ["s0"])
        poll(lambda: any("/story-" in p for p in site.requests()), timeout=60, what="the first story requested")
        (holder,) = poll(lambda: [r[0] for r in sql(db, "SELECT holder FROM runs WHERE outcome = 'running'")],
                         timeout=10, what="the open run")
        child = int(holder.rsplit(":", 1)[1])
        busy = workers[_parent(child)]
        other = next(w for w in started if w is not busy)
        busy.kill()
        killed_at = time.monotonic()
        # The crawl child dies with its worker: nothing of the killed worker crawls on.
        poll(lambda: _gone(child), timeout=5, what="the killed worker's crawl child to die with it")
        assert stored(db)[0] < stories
        poll(lambda: "(delivered again)" in other.text(), timeout=REDELIVER_AFTER + 30, what="the job delivered again")
        redelivered = time.monotonic() - killed_at
        thread.join(timeout=60)
        assert not thread.is_alive(), "no answer for the job"
    (result,) = results
    assert isinstance(result, ChildResult) and result.outcome == Outcome.OK, result
    if broker == "rabbitmq":
        # Before Redis could have: the job was taken less than REDELIVER_AFTER before the kill.
        assert "waiting up to" in other.text() and redelivered < REDELIVER_AFTER, redelivered
    # Nothing lost, nothing stored twice; the killed run is closed as killed.
    assert stored(db) == (stories, stories)
    outcomes = sorted(r[0] for r in sql(db, "SELECT outcome FROM runs"))
    assert outcomes == ["killed", "ok"], outcomes
    print(f"{broker}: job delivered again {redelivered:.1f}s after the kill")


def test_the_standby_scheduler_takes_over_within_the_lease_time(redis: RedisServer, db: str, procs: list[Proc],
                                                                tmp_path: Path) -> None:
    with SiteServer() as site:
        tables = serve_sources(site, 3, stories=1)
        seeds = write_seeds(tmp_path / "seeds", *tables, text=settings(every="2s"))
        queue = redis.url()
        start_workers(procs, tmp_path, queue, db, concurrency=2)
        first = start_daemon(procs, tmp_path, seeds, queue, db, "first")
        assert lease_holder(db, SCHEDULER_LEASE) == f"{HOST}:{first.pid}"
        second = start_daemon(procs, tmp_path, seeds, queue, db, "second", wait_for="standing by")
        poll(lambda: stored(db)[0] == 3, timeout=60, what="the first crawls")
        first.kill()
        killed_at = time.monotonic()
        poll(lambda: lease_holder(db, SCHEDULER_LEASE) == f"{HOST}:{second.pid}", timeout=LEASE_TTL * 3,
             what="the standby to take the scheduler lease", interval=0.1)
        took = time.monotonic() - killed_at
        second.wait_for("newsmon daemon running")
        # Crawls go on: a story published now is stored by the new scheduler's crawls.
        first_s1, late = (list(generate(4))[i] for i in (1, 3))
        site.set_page(late.path, Page(late.html.encode()))
        serve_feed(site, "/s1/rss.xml", [first_s1.path, late.path])
        poll(lambda: stored(db)[0] == 4, timeout=40, what="the story published after the takeover")
    # The lease expires at most lease_ttl after the last heartbeat, which was at most a third of it
    # before the kill; a standby asks every third of it.
    assert took <= LEASE_TTL + LEASE_TTL / 3 + 1.0, took
    assert "holds the scheduler lease" in second.text()
    print(f"standby took over {took:.1f}s after the kill (lease_ttl {LEASE_TTL}s)")


def test_workers_reconnect_after_a_broker_restart(tmp_path: Path, db: str, procs: list[Proc]) -> None:
    if subprocess.run(["which", "redis-server"], capture_output=True).returncode != 0:
        unavailable("redis-server is not installed (apt-get install redis-server)")
    broker = RedisServer(tmp_path)
    broker.start()
    try:
        with SiteServer() as site:
            seeds = write_seeds(tmp_path / "seeds", *serve_sources(site, 2, stories=1), text=settings())
            queue = broker.url()
            start_workers(procs, tmp_path, queue, db)
            thread, results = _run_in_thread(queue, db, seeds, ["s0"])
            thread.join(timeout=60)
            assert [r.outcome for r in results] == [Outcome.OK]
            broker.stop()
            # Sent while the broker is down: published once it is back.
            thread, results = _run_in_thread(queue, db, seeds, ["s1"])
            broker.start()
            thread.join(timeout=90)
            assert [r.outcome for r in results] == [Outcome.OK], results
        assert stored(db) == (2, 2)
    finally:
        broker.stop()


def test_queue_mode_refuses_sqlite_and_bad_queue_urls_in_one_line(tmp_path: Path) -> None:
    sqlite = f"sqlite:///{tmp_path / 'n.db'}"
    # A broker nobody listens on: refused before any connection is tried, or it fails fast.
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    for args in (("daemon", "--queue", nowhere), ("worker", "--queue", nowhere)):
        proc = run_cli("--db", sqlite, *args)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("Error: --queue needs a PostgreSQL database") and proc.stderr.count("\n") == 1
        assert not (tmp_path / "n.db").exists()
    proc = run_cli("--db", "postgresql://newsmon:secret@127.0.0.1/x", "worker", "--queue", "http://u:pw@host/")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "is not a broker URL" in proc.stderr and "pw" not in proc.stderr


def test_an_unreachable_broker_is_one_line_without_the_password(db: str) -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    for command in ("worker", "daemon"):
        proc = run_cli(command, "--queue", url, env={"NEWSMON_DB": db})
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.startswith("Error: cannot reach the queue at redis://:**@127.0.0.1")
        assert proc.stderr.count("\n") == 1 and "hunter2" not in proc.stderr
