"""Crawl jobs on Celery: the app made from a broker URL, the `crawl_batch` task, and `QueueLauncher`,
which runs a batch on whichever `newsmon worker` takes it, behind the local `Launcher`'s interface.

A job is one batch of sources with the seeds it needs (the daemon's snapshot, sent whole: sources,
rules, the `like` rules' example files). The worker writes them to a temporary folder and crawls the
batch in one child process, as the daemon does locally (scheduler/worker.py), and answers each
source's result as JSON through the result backend: the broker's Redis, or RabbitMQ's reply queue.

Celery is configured for jobs that must not be lost: acknowledged late (when done), so a worker
that dies mid-crawl leaves its job to be delivered again (and rejected, not acknowledged, should
a pool process be lost: newsmon's workers run jobs on threads, so a lost worker is a lost
connection); one job reserved per free slot, so a long crawl never holds a waiting job hostage.
What keeps a redelivered job from storing anything twice is the database: per-source leases and
the known-URL check.

Celery's result calls are not thread-safe (celery issues #4480, #6335) and the daemon waits on
several jobs from its thread pool, so every wait for an answer holds one lock. Sending has a lock
of its own: a wait holds its lock for up to a second (Celery drains answers a second at a time,
whatever get()'s timeout says), and a send queued behind the waits left a free worker idle for
that long (bench/workers.py: the second worker's first job came 1.0 s after the first's). A send
subscribes to its answer as it goes, which Celery's Redis result consumer locks for itself since
5.7 (pyproject.toml); RabbitMQ's reply queue is declared on the sending connection.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from scheduler.child_process import HARD_STOP_SECONDS
from scheduler.jobs import GRACEFUL_STOP_SECONDS, ChildResult, child_limit
from store.records import Outcome
from store.repository import Repository

log = logging.getLogger(__name__)

TASK_NAME = "newsmon.crawl_batch"
# Our own queue, so a broker shared with other Celery apps never hands our jobs to theirs.
QUEUE_NAME = "newsmon"
SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp")
# Redis has no connection-bound acknowledgement: a job reserved by a worker that died is handed out
# again once it has been unacknowledged this long (its visibility timeout; `worker
# --redeliver-after`). It must outlast the longest job: the daemon's default --time-limit (1h) and
# the child's backstop beyond it for a batch of its default size (job_seconds(3600, 200): 3658 s).
# Too short costs a second delivery of a job still running, which finds its sources' leases held
# and skips them: never a second copy of an article. RabbitMQ redelivers as soon as the dead
# worker's connection closes, whatever this says.
DEFAULT_REDELIVER_AFTER = 3900.0
# How often a worker looks for jobs due again (kombu's default sweep is 10 s x 10 calls).
RESTORE_EVERY = 2.0
# A job may wait in the queue (and be delivered again) for this many times its longest run before
# it is dropped unstarted; the daemon plans its sources again from the answer that says so.
QUEUE_WAIT_FACTOR = 3.0


class QueueError(Exception):
    """The queue URL is unusable, or the broker cannot be reached."""


def check_url(url: str) -> str:
    """Return `url` if Celery can use it as a broker; QueueError saying what would do otherwise."""
    from kombu.utils.url import maybe_sanitize_url

    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise QueueError(f"--queue {maybe_sanitize_url(url)!r} is not a broker URL: give redis://HOST:6379/0 "
                         "or amqp://USER:PASSWORD@HOST:5672//")
    return url


def shown(url: str) -> str:
    """Return the broker URL with its password masked, for logs and messages."""
    from kombu.utils.url import maybe_sanitize_url

    return str(maybe_sanitize_url(url))


def job_seconds(time_limit: float, sources: int) -> float:
    """Return the longest a job of `sources` sources, each within `time_limit`, runs on a worker."""
    return child_limit(time_limit, sources) + GRACEFUL_STOP_SECONDS + HARD_STOP_SECONDS


def make_app(url: str, redeliver_after: float = DEFAULT_REDELIVER_AFTER) -> Any:
    """Return the Celery app on broker `url`, with the crawl task registered.

    `redeliver_after` is when Redis hands out again a job whose worker has not acknowledged it.
    """
    from celery import Celery

    scheme = url.split("://", 1)[0].lower()
    # Redis keeps results beside the queue; RabbitMQ sends each back on the sender's reply queue.
    backend = url if scheme.startswith("redis") else "rpc://"
    app = Celery("newsmon", broker=url, backend=backend, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE_NAME,
        task_serializer="json", result_serializer="json", accept_content=["json"],
        # The scheduler forgets each answer it reads; this is for answers nobody waited for.
        result_expires=86400,
        # Ours: logs stay as --log-level/--log-format/--log-file set them.
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        broker_connection_retry_on_startup=True,
        # A broker restart takes a few seconds: keep trying to publish for about a minute.
        task_publish_retry_policy={"max_retries": 30, "interval_start": 0, "interval_step": 0.5,
                                   "interval_max": 2},
        broker_transport_options={"visibility_timeout": redeliver_after,
                                  "unacked_restore_interval": RESTORE_EVERY, "unacked_restore_throttle": 1},
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    app.task(name=TASK_NAME, bind=True)(_crawl_batch)
    return app


def _crawl_batch(task: Any, bundle: dict[str, str], names: list[str], time_limit: float) -> list[dict[str, Any]]:
    # The worker command puts its job runner on the app (scheduler/worker.py): the task is the
    # broker's end of it only.
    redelivered = bool((task.request.delivery_info or {}).get("redelivered"))
    result: list[dict[str, Any]] = task.app.newsmon_jobs.run(bundle, names, time_limit, redelivered)
    return result


def check_broker(app: Any, url: str) -> None:
    """Connect to the broker once; QueueError naming it when it does not answer."""
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=2, interval_start=0.2, interval_step=0.5, timeout=5)
    except Exception as exc:  # kombu's and the transports' errors have no common base
        raise QueueError(f"cannot reach the queue at {shown(url)}: {exc}") from None


# -- the seeds a job carries ---------------------------------------------------------------------

def pack(folder: Path) -> dict[str, str]:
    """Return every file under `folder` as {relative POSIX path: text}."""
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(folder.rglob("*")) if p.is_file()}


def unpack(bundle: dict[str, str], folder: Path) -> None:
    """Write a packed bundle into `folder`; ValueError for a path that would leave it."""
    for name, text in bundle.items():
        path = PurePosixPath(name)
        if path.is_absolute() or ".." in path.parts or not path.parts:
            raise ValueError(f"the job's seeds hold a path outside their folder: {name!r}")
        target = folder.joinpath(*path.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def result_records(results: Sequence[ChildResult]) -> list[dict[str, Any]]:
    """Return results as the task answers them (JSON)."""
    return [{"source": r.source, "outcome": str(r.outcome), "returncode": r.returncode, "seconds": r.seconds,
             "runs": list(r.runs), "reason": r.reason} for r in results]


def from_records(records: Sequence[dict[str, Any]]) -> list[ChildResult]:
    """Return the ChildResults a task answered."""
    return [ChildResult(r["source"], r["outcome"], r.get("returncode"), float(r.get("seconds") or 0.0),
                        tuple(r.get("runs") or ()), r.get("reason")) for r in records]


# -- the scheduler's end -------------------------------------------------------------------------

class QueueLauncher:
    """Run batches on the workers: send the job, wait for its answer; `Launcher`'s interface."""

    def __init__(self, repository: Repository, db_url: str, url: str, time_limit: float = 3600.0) -> None:
        self.repository = repository
        # The daemon runs `rules apply` itself, on this database.
        self.db_url = db_url
        self.url = url
        # Each source's, as the daemon's --time-limit: the worker's child applies it.
        self.time_limit = time_limit
        self.app = make_app(url)
        self._sending = threading.Lock()
        self._results = threading.Lock()
        self._waiting: dict[int, Any] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def check(self) -> None:
        """Connect to the broker once; QueueError when it does not answer."""
        check_broker(self.app, self.url)

    def run(self, seeds_dir: Path, source: str) -> ChildResult:
        """Crawl `source` on a worker and wait for it."""
        return self.run_batch(seeds_dir, [source])[0]

    def run_batch(self, seeds_dir: Path, sources: Sequence[str]) -> list[ChildResult]:
        """Crawl `sources` as one job on a worker and wait for its answer; return each source's result."""
        started = time.monotonic()
        names = list(sources)
        longest = job_seconds(self.time_limit, len(names))
        queued_for = QUEUE_WAIT_FACTOR * longest
        try:
            with self._sending:
                # The seeds compress ~15 times: 20,000 sources are 3.5 MB of TOML, 233 KB in a job.
                job = self.app.send_task(TASK_NAME, args=(pack(seeds_dir), names, self.time_limit),
                                         compression="zlib", expires=queued_for)
        except Exception as exc:  # kombu's and the transports' errors have no common base
            log.error("could not queue the crawl of %s at %s: %s", ", ".join(names), shown(self.url), exc)
            return self._unanswered(names, started, f"the queue at {shown(self.url)} is unreachable: {exc}")
        key = next(self._ids)
        with self._lock:
            self._waiting[key] = job
        try:
            answer = self._wait(job, started, queued_for + longest)
        finally:
            with self._lock:
                self._waiting.pop(key, None)
        if isinstance(answer, str):
            self._forget(job)
            return self._unanswered(names, started, answer, Outcome.STOPPED if self._stop.is_set() else Outcome.FAILED)
        return from_records(answer)

    def _wait(self, job: Any, started: float, seconds: float) -> list[dict[str, Any]] | str:
        """Return the job's answer, or why there is none (stopped, no answer in time, the job failed)."""
        from celery.exceptions import TimeoutError as NotYet

        unreachable = ""
        while not self._stop.is_set():
            if time.monotonic() > started + seconds:
                return f"no answer from the workers in {seconds:.0f}s" + unreachable
            try:
                with self._results:
                    value = job.get(timeout=0.1, propagate=False)
                    state = job.state
                    # Answered: the backend need not keep it (Redis would for result_expires).
                    job.forget()
            except NotYet:
                # Outside the lock, so every waiting thread gets its turn (any turn reads the answers
                # of every job in flight).
                self._stop.wait(0.25)
                continue
            except Exception as exc:  # the result backend is down: it may be back before the deadline
                if not unreachable:
                    log.warning("waiting for job %s: the queue at %s is unreachable: %s", job.id,
                                shown(self.url), exc)
                unreachable = f" (the queue was unreachable: {exc})"
                self._stop.wait(1.0)
                continue
            if state != "SUCCESS" or not isinstance(value, list):
                # REVOKED: it waited in the queue past its expiry; FAILURE: a bug on the worker.
                return f"the job ended {state} on the worker: {value!r}"
            return value
        return "the daemon stopped waiting: the worker goes on, and records the runs"

    def _forget(self, job: Any) -> None:
        # Celery keeps every result it was asked for until it is read or forgotten: one not waited
        # for any more would otherwise stay subscribed (Redis) until the app is gone.
        try:
            with self._results:
                job.forget()
        except Exception as exc:  # the broker is down: nothing to keep subscribed to
            log.debug("could not forget job %s: %s", job.id, exc)

    def _unanswered(self, names: list[str], started: float, reason: str,
                    outcome: str = Outcome.FAILED) -> list[ChildResult]:
        return [ChildResult(n, outcome, None, time.monotonic() - started, reason=reason) for n in names]

    def running(self) -> list[int]:
        """Return an id for each job being waited for."""
        with self._lock:
            return list(self._waiting)

    def stop_all(self) -> None:
        """Stop waiting for answers. The jobs go on on the workers, which record their runs."""
        self._stop.set()

    def close(self) -> None:
        """Close the connections to the broker and the result backend."""
        with self._sending, self._results:
            # RabbitMQ's reply consumer raises AttributeError when it never started: nothing to close.
            with contextlib.suppress(AttributeError):
                self.app.backend.result_consumer.stop()
            self.app.close()
