"""Run a crawl of a batch of sources in a child process, as scrapyd does, and settle how each ended.

Twisted's reactor cannot be restarted in a process and a long-lived Scrapy process accumulates
memory, so every crawl is a fresh `python -m scheduler.child`, told what to do by its environment
and answering in a result file (the contract is in scheduler/child.py). Starting that process costs
far more than checking a quiet source, so due sources share one: each keeps its own lease, run and
outcome, and a child that dies or runs over its time limit is settled source by source.
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
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scheduler import child as contract
from store.records import Outcome
from store.repository import Repository

log = logging.getLogger(__name__)

# A graceful stop (first SIGTERM) waits for in-flight downloads, up to DOWNLOAD_TIMEOUT; a child
# over its time limit gets this long, then a second SIGTERM, which Scrapy obeys in well under a
# second (this covers a slow machine), then SIGKILL. Stored articles are safe either way: each is
# its own transaction.
GRACEFUL_STOP_SECONDS = 5.0
HARD_STOP_SECONDS = 3.0
# The time limit applies to each source of a batch inside the child (crawler.deadline), from when
# its spider opens; the child's own limit is a backstop for a child whose reactor is stuck (a
# callback looping on the CPU), so it allows for the start-up before the sources' clocks start
# (1-2 s, and ~12 ms a source of Scrapy set-up: bench/capacity.py) and for closing.
BACKSTOP_SECONDS = 30.0
BACKSTOP_PER_SOURCE = 0.1
# Not a run outcome: the child found the source's lease held by another process and did not crawl.
SKIPPED = contract.SKIPPED


@dataclass(frozen=True)
class LogOptions:
    """How a child logs: the daemon's own --log-level, --log-format and --log-file."""

    level: str = "warning"
    format: str = "text"
    file: Path | None = None


@dataclass(frozen=True)
class ChildResult:
    source: str
    outcome: str  # an Outcome (ok | failed | timed_out | killed | stopped), or SKIPPED
    returncode: int | None
    seconds: float
    runs: tuple[dict[str, Any], ...] = ()
    reason: str | None = None

    @property
    def summary(self) -> dict[str, Any] | None:
        """Return the crawled run's figures (pages, new, matched, ...), or None when nothing ran."""
        return self.runs[0] if self.runs else None


class Launcher:
    """Start crawl children, enforce their time limit, and stop them all on shutdown."""

    def __init__(self, repository: Repository, db_url: str, log_options: LogOptions | None = None,
                 time_limit: float = 3600.0, stop_grace: float = GRACEFUL_STOP_SECONDS) -> None:
        self.repository = repository
        self.db_url = db_url
        self.log_options = log_options or LogOptions()
        self.time_limit = time_limit
        self.stop_grace = stop_grace
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def command(self) -> list[str]:
        """Return the child's command line: the same for every crawl, since what to do goes by environment."""
        return [sys.executable, "-m", "scheduler.child"]

    def environment(self, seeds_dir: Path, source: str | Sequence[str], result: Path) -> dict[str, str]:
        """Return the child's environment: ours plus the contract's variables (scheduler/child.py)."""
        # The database URL goes by environment, not argv: a password in it would show in `ps`.
        env = {**os.environ, contract.DB_ENV: self.db_url, contract.SEEDS_ENV: str(seeds_dir),
               contract.SOURCE_ENV: source if isinstance(source, str) else ",".join(source),
               contract.RESULT_ENV: str(result), contract.TIME_LIMIT_ENV: str(self.time_limit),
               contract.LOG_LEVEL_ENV: self.log_options.level, contract.LOG_FORMAT_ENV: self.log_options.format}
        env.pop(contract.LOG_FILE_ENV, None)
        if self.log_options.file is not None:
            env[contract.LOG_FILE_ENV] = str(self.log_options.file)
        return env

    def run(self, seeds_dir: Path, source: str) -> ChildResult:
        """Crawl `source` in a child process and wait for it, within the time limit."""
        return self.run_batch(seeds_dir, [source])[0]

    def run_batch(self, seeds_dir: Path, sources: Sequence[str]) -> list[ChildResult]:
        """Crawl `sources` in one child process and wait for it, within the time limit; return each
        source's result, in the order given."""
        started = time.monotonic()
        fd, name = tempfile.mkstemp(prefix="newsmon-child-", suffix=".json")
        os.close(fd)
        result_file = Path(name)
        try:
            # A session of its own: a Ctrl-C at the terminal goes to the daemon, which decides.
            child = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, start_new_session=True,
                                     env=self.environment(seeds_dir, sources, result_file))
            with self._lock:
                self._children[child.pid] = child
            try:
                outcome: str = self._wait(child, child_limit(self.time_limit, len(sources)))
            finally:
                with self._lock:
                    self._children.pop(child.pid, None)
            answer = _read_result(result_file)
        finally:
            for path in (result_file, contract.partial_path(result_file)):
                path.unlink(missing_ok=True)
        seconds = time.monotonic() - started
        holder = f"{socket.gethostname()}:{child.pid}"
        if outcome != Outcome.OK:
            # Stopped from outside: each source's run says how far it got (ok if it had finished).
            self._settle(holder, sources, outcome)
            ended = {r.source: r.outcome.value for r in self.repository.runs.of_holder(holder)}
            return [ChildResult(s, ended.get(s, outcome), child.returncode, seconds) for s in sources]
        said = _settled(", ".join(sources), child.returncode, answer)
        runs = {r.get("source"): r for r in answer.get("runs") or ()}
        skipped = answer.get("skipped") or {}
        if said == Outcome.FAILED:
            self._settle(holder, sources, Outcome.FAILED)
        else:
            self.repository.leases.release_all(sources, holder)
        results = []
        for s in sources:
            if said == Outcome.FAILED:
                results.append(ChildResult(s, Outcome.FAILED, child.returncode, seconds, reason=answer.get("reason")))
            elif s in skipped:
                results.append(ChildResult(s, SKIPPED, child.returncode, seconds,
                                           reason=f"being crawled by {skipped[s]}"))
            elif s in runs:
                results.append(ChildResult(s, Outcome.OK, child.returncode, seconds, (runs[s],)))
            else:
                results.append(ChildResult(s, Outcome.FAILED, child.returncode, seconds,
                                           reason="the crawl did not start (see the child's log)"))
        return results

    def _wait(self, child: subprocess.Popen[bytes], limit: float) -> str:
        try:
            child.wait(timeout=limit)
            return Outcome.OK
        except subprocess.TimeoutExpired:
            log.warning("crawl child %d over its time limit of %.0fs: stopping it", child.pid, limit)
        return stop_child(child, self.stop_grace, over_time=True)

    def _settle(self, holder: str, sources: Sequence[str], outcome: str) -> None:
        if outcome in (Outcome.TIMED_OUT, Outcome.KILLED):
            self.repository.runs.settle(holder, Outcome(outcome), only_open=True)
        elif outcome in (Outcome.FAILED, Outcome.STOPPED):
            self.repository.runs.settle(holder, Outcome(outcome))
        # A killed child could not release its leases; free them now rather than after their TTL.
        self.repository.leases.release_all(sources, holder)

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


def child_limit(time_limit: float, sources: int) -> float:
    """Return how long a child crawling `sources` sources, each within `time_limit`, may run."""
    return time_limit + BACKSTOP_SECONDS + BACKSTOP_PER_SOURCE * sources


def stop_child(child: subprocess.Popen[bytes], grace: float, over_time: bool = False) -> str:
    """SIGTERM (Scrapy's graceful close), then SIGTERM again, then SIGKILL; return the outcome."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGTERM, HARD_STOP_SECONDS)):
        _signal(child, sig)
        try:
            child.wait(timeout=wait)
            return Outcome.TIMED_OUT if over_time else Outcome.STOPPED
        except subprocess.TimeoutExpired:
            continue
    # A callback stuck on the CPU ignores SIGTERM: only SIGKILL ends it.
    _signal(child, signal.SIGKILL)
    child.wait()
    return Outcome.KILLED


def _signal(child: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
        os.kill(child.pid, sig)


def _read_result(path: Path) -> dict[str, Any]:
    """Return the child's result object; an empty one if it wrote none (it died first)."""
    try:
        text = path.read_text(encoding="utf-8")
        answer = json.loads(text) if text else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.error("crawl child's result file %s is unreadable: %s", path, exc)
        return {}
    return answer if isinstance(answer, dict) else {}


def _settled(source: str, returncode: int | None, answer: dict[str, Any]) -> str:
    """Return how a child that exited by itself ended, from what it answered (never from its silence)."""
    said = answer.get("outcome")
    if returncode == contract.EXIT_OK and said == contract.OK:
        return Outcome.OK
    if returncode == contract.EXIT_OK and said == contract.SKIPPED:
        return SKIPPED
    log.error("crawl child for %s failed (exit %s): %s", source, returncode,
              answer.get("reason") or "it wrote no result")
    return Outcome.FAILED
