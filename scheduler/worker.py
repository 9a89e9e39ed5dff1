"""`newsmon worker`: take crawl jobs from the queue and run each batch in a crawl child, as the daemon
does on one machine (Twisted's reactor cannot be restarted, so never in the worker itself).

The worker is a Celery worker on a thread pool: a job's thread only waits on its child, so threads
are enough, and one process means one thing to kill. Its children die with it (Linux's parent-death
signal): a worker killed with SIGKILL leaves no crawl running on, and its unacknowledged jobs go to
another worker. A redelivered job first waits out the leases its dead crawl left (each expires
`lease_ttl` after its last heartbeat): without that wait, the batch would be skipped as "being
crawled" by a process that no longer exists.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scheduler.batches import CHILD_BATCHES
from scheduler.jobs import ChildResult, Launcher, LogOptions
from scheduler.leftovers import temp_prefix
from scheduler.queue import DEFAULT_REDELIVER_AFTER, check_broker, make_app, result_records, unpack
from store.errors import StoreError
from store.records import Outcome
from store.repository import Repository

log = logging.getLogger("newsmon.worker")

# How often a redelivered job looks whether the leases left by the dead crawl have expired.
LEASE_POLL_SECONDS = 0.5


class Jobs:
    """The worker's end of a job: seeds into a temporary folder, the batch crawled, each result answered."""

    def __init__(self, repository: Repository, db_url: str, log_options: LogOptions) -> None:
        self.repository = repository
        self.db_url = db_url
        self.log_options = log_options
        # One launcher for every job: its crawl children serve job after job (scheduler/child_serve.py).
        # Warm: a worker's jobs are its cluster's crawls of new pages too, so its children import
        # the analysis libraries as they start, and the first is started with the worker.
        self.launcher = Launcher(repository, db_url, log_options, child_batches=CHILD_BATCHES, warm=True)

    def run(self, bundle: dict[str, str], names: Sequence[str], time_limit: float,
            redelivered: bool) -> list[dict[str, Any]]:
        """Crawl `names` with the seeds in `bundle`, each within `time_limit` (the daemon's); return each
        source's result as JSON."""
        started = time.monotonic()
        log.info("job: %s%s", ", ".join(names), " (delivered again)" if redelivered else "")
        try:
            with tempfile.TemporaryDirectory(prefix=temp_prefix("job")) as folder:
                unpack(bundle, Path(folder))
                if redelivered:
                    self._wait_for_dead_holders(names)
                results = self.launcher.run_batch(Path(folder), names, time_limit=time_limit)
        except (ValueError, OSError, StoreError) as exc:
            log.error("job %s failed: %s", ", ".join(names), exc)
            results = [ChildResult(n, Outcome.FAILED, None, time.monotonic() - started, reason=str(exc))
                       for n in names]
        for r in results:
            log.info("job done: %s outcome=%s seconds=%.1f new=%s", r.source, r.outcome, r.seconds,
                     (r.summary or {}).get("new", 0))
        return result_records(results)

    def _wait_for_dead_holders(self, names: Sequence[str]) -> None:
        # Wait only until the leases held now expire: a holder still alive renews its lease past
        # that moment, and the child then skips the source as being crawled, rightly.
        held = [lease for name, lease in self.repository.leases.all().items() if name in names]
        if not held:
            return
        until = max(lease.expires for lease in held)
        log.info("delivered again: waiting up to %s for the leases on %s to expire", until.isoformat(),
                 ", ".join(lease.source for lease in held))
        while datetime.now(UTC) <= until:
            current = self.repository.leases.all()
            if all(lease.source not in current or current[lease.source].holder != lease.holder for lease in held):
                return
            time.sleep(LEASE_POLL_SECONDS)


def run_worker(url: str, db_url: str, concurrency: int, log_options: LogOptions,
               redeliver_after: float = DEFAULT_REDELIVER_AFTER, on_started: Callable[[], object] | None = None) -> int:
    """Consume crawl jobs from the broker at `url` until stopped; return the exit code.

    With Redis, a job a worker has not acknowledged `redeliver_after` seconds after taking it is
    handed to another (scheduler.queue).

    SIGTERM lets running jobs finish first (Celery's warm shutdown); a second one stops at once,
    and the unfinished jobs are delivered again to another worker.
    """
    from celery import signals
    from celery.exceptions import CPendingDeprecationWarning

    app = make_app(url, redeliver_after)
    # Celery 6 will cancel late-acknowledged jobs when the broker connection drops; newsmon wants
    # them to go on (the crawl is fine without the broker) and be acknowledged after reconnecting.
    warnings.filterwarnings("ignore", category=CPendingDeprecationWarning)
    app.conf.broker_connection_max_retries = None  # a worker outlives any broker outage
    check_broker(app, url)
    repository = Repository.open(db_url)
    app.newsmon_jobs = Jobs(repository, db_url, log_options)
    try:
        app.newsmon_jobs.launcher.prestart()
    except OSError as exc:  # the first job starts one itself, and says so if it cannot
        log.warning("could not start a crawl child ahead of the first job: %s", exc)
    if on_started is not None:
        def ready(**_kwargs: Any) -> None:
            on_started()

        signals.worker_ready.connect(ready, weak=False)
    worker = app.Worker(pool="threads", concurrency=concurrency, quiet=True, loglevel=log_options.level.upper(),
                        hostname=f"newsmon-{os.getpid()}@{socket.gethostname()}",
                        without_mingle=True, without_gossip=True, without_heartbeat=True)
    try:
        worker.start()
    finally:
        app.newsmon_jobs.launcher.stop_all()
        repository.close()
    return int(worker.exitcode or 0)
