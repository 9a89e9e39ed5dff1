"""Run one source's crawl in a child process, as scrapyd does, and settle how it ended.

Twisted's reactor cannot be restarted in a process and a long-lived Scrapy process accumulates
memory, so every crawl is a fresh `newsmon crawl now --source NAME --no-wait` child.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store.repository import Repository

log = logging.getLogger(__name__)

# A graceful stop (first SIGTERM) waits for in-flight downloads, up to DOWNLOAD_TIMEOUT; a child
# over its time limit gets this long, then a second SIGTERM, which Scrapy obeys in well under a
# second (this covers a slow machine), then SIGKILL. Stored articles are safe either way: each is
# its own transaction.
GRACEFUL_STOP_SECONDS = 5.0
HARD_STOP_SECONDS = 3.0


@dataclass(frozen=True)
class ChildResult:
    source: str
    outcome: str  # ok | failed | timed_out | killed | skipped | stopped
    returncode: int | None
    seconds: float
    summary: dict[str, Any] | None


class Launcher:
    """Start crawl children, enforce their time limit, and stop them all on shutdown."""

    def __init__(self, repository: Repository, db_url: str, log_args: list[str] | None = None,
                 time_limit: float = 3600.0, stop_grace: float = GRACEFUL_STOP_SECONDS) -> None:
        self.repository = repository
        self.db_url = db_url
        self.log_args = log_args or ["--log-level", "warning"]
        self.time_limit = time_limit
        self.stop_grace = stop_grace
        self._children: dict[int, subprocess.Popen[str]] = {}
        self._lock = threading.Lock()

    def command(self, seeds_dir: Path, source: str) -> list[str]:
        """Return the child's command line."""
        # The database URL goes by environment, not argv: a password in it would show in `ps`.
        return [sys.executable, "-m", "scheduler", "--seeds", str(seeds_dir),
                *self.log_args, "crawl", "now", "--source", source, "--no-wait", "--format", "json"]

    def run(self, seeds_dir: Path, source: str) -> ChildResult:
        """Crawl `source` in a child process and wait for it, within the time limit."""
        started = time.monotonic()
        # A session of its own: a Ctrl-C at the terminal goes to the daemon, which decides.
        child = subprocess.Popen(self.command(seeds_dir, source), stdout=subprocess.PIPE, stderr=None, text=True,
                                 start_new_session=True, env={**os.environ, "NEWSMON_DB": self.db_url})
        with self._lock:
            self._children[child.pid] = child
        try:
            outcome = self._wait(child)
            stdout = child.stdout.read() if child.stdout else ""
        finally:
            with self._lock:
                self._children.pop(child.pid, None)
            if child.stdout:
                child.stdout.close()
        summary = _summary(stdout)
        if outcome == "ok" and child.returncode != 0:
            outcome = "failed"
        if outcome == "ok" and summary is None:
            outcome = "skipped"  # another process held the source's lease
        self._settle(child.pid, source, outcome)
        return ChildResult(source, outcome, child.returncode, time.monotonic() - started, summary)

    def _wait(self, child: subprocess.Popen[str]) -> str:
        try:
            child.wait(timeout=self.time_limit)
            return "ok"
        except subprocess.TimeoutExpired:
            log.warning("crawl child %d over its time limit of %.0fs: stopping it", child.pid, self.time_limit)
        return stop_child(child, self.stop_grace, over_time=True)

    def _settle(self, pid: int, source: str, outcome: str) -> None:
        holder = f"{socket.gethostname()}:{pid}"
        if outcome in ("timed_out", "killed"):
            self.repository.settle_runs(holder, outcome, only_open=False)
        elif outcome == "failed":
            self.repository.settle_runs(holder, "failed")
        # A killed child could not release its lease; free it now rather than after its TTL.
        self.repository.release_lease(source, holder)

    def running(self) -> list[int]:
        """Return the pids of the children running now."""
        with self._lock:
            return list(self._children)

    def stop_all(self) -> None:
        """Ask every child to stop (graceful first, then forceful); return when all are gone."""
        with self._lock:
            children = list(self._children.values())
        threads = [threading.Thread(target=stop_child, args=(c, self.stop_grace)) for c in children]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def stop_child(child: subprocess.Popen[str], grace: float, over_time: bool = False) -> str:
    """SIGTERM (Scrapy's graceful close), then SIGTERM again, then SIGKILL; return the outcome."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGTERM, HARD_STOP_SECONDS)):
        _signal(child, sig)
        try:
            child.wait(timeout=wait)
            return "timed_out" if over_time else "stopped"
        except subprocess.TimeoutExpired:
            continue
    # A callback stuck on the CPU ignores SIGTERM: only SIGKILL ends it.
    _signal(child, signal.SIGKILL)
    child.wait()
    return "killed"


def _signal(child: subprocess.Popen[str], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
        os.kill(child.pid, sig)


def _summary(stdout: str) -> dict[str, Any] | None:
    try:
        records = json.loads(stdout) if stdout.strip() else []
    except json.JSONDecodeError:
        return None
    return records[0] if isinstance(records, list) and records else None
