"""`newsmon worker`, and what `newsmon daemon --queue` needs: crawls on several machines through Celery.

Registered on scheduler.cli's `main` by its import at the bottom of that module. Queue mode needs
PostgreSQL: every worker and scheduler writes to one database, which SQLite cannot be across
machines; a SQLite URL is refused in one line, exit 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scheduler.cli import EXIT_RUNTIME, EXIT_USAGE, errors_as_exit, fail, main

if TYPE_CHECKING:
    from scheduler.queue import QueueLauncher
    from store.repository import Repository

QUEUE_HELP = ("Broker URL of the crawl queue: redis://HOST:6379/0 or amqp://USER:PASSWORD@HOST//. "
              "Env: NEWSMON_QUEUE (keeps a password out of `ps`).")


def _duration(option: str, text: str) -> float:
    from crawler.config import parse_duration

    try:
        return float(parse_duration(text))
    except ValueError as exc:
        fail(f"{option}: {exc}", EXIT_USAGE)


def check_queue_mode(db: str, queue: str) -> None:
    """Refuse a queue URL Celery cannot use, and a database other machines cannot share."""
    from scheduler.queue import QueueError, check_url
    from store.db import database_url, redact

    try:
        check_url(queue)
    except QueueError as exc:
        fail(str(exc), EXIT_USAGE)
    with errors_as_exit():
        url = database_url(db)
    if url.get_backend_name() != "postgresql":
        fail(f"--queue needs a PostgreSQL database that every worker and scheduler share, not {redact(db)}: "
             "give --db postgresql://USER@HOST/DATABASE (or NEWSMON_DB)", EXIT_USAGE)


def queue_launcher(repository: Repository, db: str, queue: str, time_limit: float) -> QueueLauncher:
    """Return the daemon's QueueLauncher for `--queue` (check_queue_mode first), once the broker answers."""
    from scheduler.queue import QueueError, QueueLauncher

    launcher = QueueLauncher(repository, db, queue, time_limit)
    try:
        launcher.check()
    except QueueError as exc:
        fail(str(exc), EXIT_RUNTIME)
    return launcher


def standby_notice(holder: str) -> None:
    """Say on stderr that this daemon stands by, and for whom."""
    click.echo(f"newsmon daemon standing by: {holder} schedules now; this one takes over within "
               "lease_ttl if it stops. Ctrl-C stops it.", err=True)


@main.command()
@click.option("--queue", envvar="NEWSMON_QUEUE", required=True, metavar="URL", help=QUEUE_HELP)
@click.option("--concurrency", type=click.IntRange(min=1), default=2, show_default=True,
              help="Jobs run at once, each a crawl child crawling one batch of sources.")
@click.option("--redeliver-after", default="1h5m", show_default=True, metavar="DURATION",
              help="Redis only: a job not acknowledged this long after a worker took it (the worker died) "
                   "goes to another. Keep it above the daemon's --time-limit plus a minute.")
@click.pass_obj
def worker(obj: dict[str, Any], queue: str, concurrency: int, redeliver_after: str) -> None:
    """Take crawl jobs from the queue that `newsmon daemon --queue` fills.

    Run any number, on any machines that reach the broker and the PostgreSQL database
    (--db, better by NEWSMON_DB). Each job, a batch of due sources, is crawled in a child
    process; a job is acknowledged only when done, so the job of a worker that dies is
    delivered again to another. SIGTERM lets running jobs finish; a second one stops now.

    \b
    Example:
      NEWSMON_DB=postgresql://newsmon@db.internal/newsmon \\
        newsmon worker --queue redis://queue.internal:6379/0 --concurrency 2
    """
    from scheduler.jobs import LogOptions
    from scheduler.leftovers import sweep
    from scheduler.queue import QueueError, shown
    from scheduler.worker import run_worker
    from store.db import redact

    after = _duration("--redeliver-after", redeliver_after)
    check_queue_mode(obj["db"], queue)
    log_options = LogOptions(obj["log_level"], obj["log_format"], obj["log_file"])
    log_file: Path | None = obj["log_file"]

    def started() -> None:
        logs = f"; logs to {log_file}" if log_file else ""
        click.echo(f"newsmon worker running: up to {concurrency} job{'s' if concurrency != 1 else ''} at once "
                   f"from {shown(queue)}, into {redact(obj['db'])}{logs}. Ctrl-C stops it.", err=True)

    with errors_as_exit():
        sweep()  # what workers and crawls killed before left in the temporary folder
        try:
            code = run_worker(queue, obj["db"], concurrency, log_options, after, on_started=started)
        except QueueError as exc:
            fail(str(exc), EXIT_RUNTIME)
    sys.exit(code)
