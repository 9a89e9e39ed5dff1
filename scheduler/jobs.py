"""Run a crawl of a batch of sources in a child process, as scrapyd does, and settle how each ended.

Twisted's reactor cannot be restarted in a process, so crawls run in `python -m scheduler.child`,
told what to do by its environment and answering in a result file (the contract is in
scheduler/child.py). Starting that process costs far more than checking a quiet source, so due
sources share one: each keeps its own lease, run and outcome, and a child that dies or runs over
its time limit is settled source by source. With `child_batches` above 1, a child lives on for the
next batches (scheduler/child_serve.py) until it has served them or idled IDLE_SECONDS.
"""

from __future__ import annotations

import json
import logging
import os
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
from scheduler.child_process import Served, close_served, read_reply, stop_child
from scheduler.leftovers import temp_prefix
from store.records import Outcome
from store.repository import Repository

log = logging.getLogger(__name__)

# A graceful stop (first SIGTERM) waits for in-flight downloads, up to DOWNLOAD_TIMEOUT; a child
# over its time limit gets this long, then a second SIGTERM and SIGKILL (scheduler.child_process).
# Stored articles are safe either way: each is its own transaction.
GRACEFUL_STOP_SECONDS = 5.0
# The time limit applies to each source of a batch inside the child (crawler.deadline), from when
# its spider opens; the child's own limit is a backstop for a child whose reactor is stuck (a
# callback looping on the CPU), so it allows for the start-up before the sources' clocks start
# (1-2 s, and ~12 ms a source of Scrapy set-up: bench/capacity.py) and for closing.
BACKSTOP_SECONDS = 30.0
BACKSTOP_PER_SOURCE = 0.1
# The child's first lines: die with the thread that started it (PR_SET_PDEATHSIG = 1: a dispatcher
# of the daemon, a job thread of the worker, which live as long as their process), and exit at once
# if that process died before this took effect; then the usual runner. A daemon or worker killed
# with SIGKILL leaves no crawl running on (bench/kill_soak.py).
_GUARDED_CHILD = """\
import ctypes, os, runpy, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
if os.getppid() != int(sys.argv[1]):
    os._exit(1)
sys.argv = [sys.argv[0]]
runpy.run_module("scheduler.child", run_name="__main__", alter_sys=True)
"""
# Not a run outcome: the child found the source's lease held by another process and did not crawl.
SKIPPED = contract.SKIPPED
# A reused child idle this long exits: it holds ~150 MB, and starting one costs ~1.5 s of CPU, so
# a daemon whose batches come less often than this pays at most ~2% of a core to start them.
IDLE_SECONDS = 60.0


class ChildError(OSError):
    """No crawl child could be started to take a batch."""


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
                 time_limit: float = 3600.0, stop_grace: float = GRACEFUL_STOP_SECONDS, child_batches: int = 1,
                 warm: bool = False) -> None:
        self.repository = repository
        self.db_url = db_url
        self.log_options = log_options or LogOptions()
        self.time_limit = time_limit
        self.stop_grace = stop_grace
        # Batches a child serves: 1, a fresh child each; more, a child lives on between them.
        self.child_batches = child_batches
        self.reuse = child_batches > 1
        # Reused children import the analysis libraries as they start, not at the first new page.
        self.warm = warm
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._idle: list[Served] = []
        self._requests = 0
        self._closed = threading.Event()
        self._reaper: threading.Thread | None = None
        self._lock = threading.Lock()

    def command(self) -> list[str]:
        """Return the child's command line: the same for every crawl, since what to do goes by
        environment; on Linux, behind the parent-death guard (_GUARDED_CHILD)."""
        if not sys.platform.startswith("linux"):
            return [sys.executable, "-m", "scheduler.child"]
        return [sys.executable, "-c", _GUARDED_CHILD, str(os.getpid())]

    def environment(self, seeds_dir: Path, source: str | Sequence[str], result: Path,
                    time_limit: float | None = None) -> dict[str, str]:
        """Return the child's environment: ours plus the contract's variables (scheduler/child.py)."""
        # The database URL goes by environment, not argv: a password in it would show in `ps`.
        env = {**os.environ, contract.DB_ENV: self.db_url, contract.SEEDS_ENV: str(seeds_dir),
               contract.SOURCE_ENV: source if isinstance(source, str) else ",".join(source),
               contract.RESULT_ENV: str(result),
               contract.TIME_LIMIT_ENV: str(self.time_limit if time_limit is None else time_limit),
               contract.LOG_LEVEL_ENV: self.log_options.level, contract.LOG_FORMAT_ENV: self.log_options.format}
        env.pop(contract.LOG_FILE_ENV, None)
        if self.log_options.file is not None:
            env[contract.LOG_FILE_ENV] = str(self.log_options.file)
        return env

    def run(self, seeds_dir: Path, source: str) -> ChildResult:
        """Crawl `source` in a child process and wait for it, within the time limit."""
        return self.run_batch(seeds_dir, [source])[0]

    def run_batch(self, seeds_dir: Path, sources: Sequence[str], time_limit: float | None = None) -> list[ChildResult]:
        """Crawl `sources` in one child process and wait for it, within the time limit (`time_limit`,
        else the launcher's); return each source's result, in the order given."""
        limit = self.time_limit if time_limit is None else time_limit
        started = time.monotonic()
        fd, name = tempfile.mkstemp(prefix=temp_prefix("child"), suffix=".json")
        os.close(fd)
        result_file = Path(name)
        # A reused child's runs of earlier batches are not this batch's.
        after = self.repository.runs.last_id() if self.reuse else 0
        try:
            if self.reuse:
                child, outcome, returncode = self._run_served(seeds_dir, sources, result_file, limit)
            else:
                child, outcome = self._run_once(seeds_dir, sources, result_file, limit)
                returncode = child.returncode
            answer = _read_result(result_file)
        finally:
            for path in (result_file, contract.partial_path(result_file)):
                path.unlink(missing_ok=True)
        seconds = time.monotonic() - started
        holder = f"{socket.gethostname()}:{child.pid}"
        if outcome == Outcome.OK and not answer and returncode is not None and returncode < 0:
            # Killed by a signal from outside (the OOM killer, kill -9), not by us: as after a stop,
            # each source's run says how far it got; the ones left open were killed, not failed.
            log.error("crawl child %d was killed by signal %d during %s", child.pid, -returncode, ", ".join(sources))
            outcome = Outcome.KILLED
        if outcome != Outcome.OK:
            # Stopped from outside: each source's run says how far it got (ok if it had finished).
            self._settle(holder, sources, outcome, after)
            ended = {r.source: r.outcome.value for r in self.repository.runs.of_holder(holder, after)}
            return [ChildResult(s, ended.get(s, outcome), child.returncode, seconds) for s in sources]
        said = _settled(", ".join(sources), returncode, answer)
        runs = {r.get("source"): r for r in answer.get("runs") or ()}
        skipped = answer.get("skipped") or {}
        if said == Outcome.FAILED:
            self._settle(holder, sources, Outcome.FAILED, after)
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

    def _run_once(self, seeds_dir: Path, sources: Sequence[str], result_file: Path,
                  limit: float) -> tuple[subprocess.Popen[bytes], str]:
        # A session of its own: a Ctrl-C at the terminal goes to the daemon, which decides.
        child = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, start_new_session=True,
                                 env=self.environment(seeds_dir, sources, result_file, limit))
        with self._lock:
            self._children[child.pid] = child
        try:
            return child, self._wait(child, child_limit(limit, len(sources)))
        finally:
            with self._lock:
                self._children.pop(child.pid, None)

    def _run_served(self, seeds_dir: Path, sources: Sequence[str], result_file: Path,
                    limit: float) -> tuple[subprocess.Popen[bytes], str, int | None]:
        """Crawl in a reused child; return it, the outcome and the exit code to judge its answer by
        (0 when it answered and lives on)."""
        with self._lock:
            self._requests += 1
            request = json.dumps({"id": self._requests, "sources": list(sources), "seeds": str(seeds_dir),
                                  "result": str(result_file), "time_limit": limit}).encode() + b"\n"
        deadline = time.monotonic() + child_limit(limit, len(sources))
        served = self._send(request, deadline)
        child = served.popen
        with self._lock:
            self._children[child.pid] = child
        reply = None
        try:
            reply = read_reply(served, deadline)
            if reply is None:  # it died on the batch: judged by its exit code and its silence
                return child, Outcome.OK, child.wait()
            return child, Outcome.OK, contract.EXIT_OK
        except subprocess.TimeoutExpired:
            log.warning("crawl child %d over its time limit: stopping it", child.pid)
            return child, stop_child(child, self.stop_grace, over_time=True), child.returncode
        finally:
            kept = reply is not None and not reply.get("exiting") and not self._closed.is_set()
            with self._lock:
                self._children.pop(child.pid, None)
                if kept:
                    served.idle_since = time.monotonic()
                    self._idle.append(served)
            if not kept:  # exiting by itself, dead, or stopped: its pipes go with it
                close_served(served, self.stop_grace)

    def _send(self, request: bytes, deadline: float) -> Served:
        """Hand `request` to an idle child, or to a new one if none is idle; return the child once it
        has said it took the request. One that died idle (killed, out of memory) may still take the
        write (its last threads are exiting) but never says so: the request goes to the next."""
        for _ in range(3):
            with self._lock:
                served = self._idle.pop() if self._idle else None
            if served is None:
                served = self._start_served()
            try:
                assert served.popen.stdin is not None
                served.popen.stdin.write(request)
                served.popen.stdin.flush()
                if read_reply(served, deadline) is not None:
                    return served
            except (BrokenPipeError, OSError):
                pass
            except subprocess.TimeoutExpired:
                # Alive but silent past the whole batch's limit: stuck, and the batch is over.
                with self._lock:
                    self._children[served.popen.pid] = served.popen
                return served
            close_served(served, 0)
        raise ChildError("three crawl children in a row died before taking a batch")

    def _start_served(self) -> Served:
        env = self.environment(Path(), [], Path())
        for key in (contract.SOURCE_ENV, contract.RESULT_ENV, contract.SEEDS_ENV):
            env.pop(key, None)
        env[contract.SERVE_ENV] = "1"
        env[contract.BATCHES_ENV] = str(self.child_batches)
        if self.warm:
            env[contract.WARM_ENV] = "1"
        popen = subprocess.Popen(self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 start_new_session=True, env=env)
        with self._lock:
            if self._reaper is None:
                self._reaper = threading.Thread(target=self._reap, name="child-reaper", daemon=True)
                self._reaper.start()
        return Served(popen)

    def prestart(self) -> None:
        """Start a reused child now, idle and ready for the first batch (a worker: its first job
        should not wait for a child's start-up)."""
        if not self.reuse:
            return
        served = self._start_served()
        served.idle_since = time.monotonic()
        with self._lock:
            self._idle.append(served)

    def _reap(self) -> None:
        while not self._closed.wait(IDLE_SECONDS / 4):
            now = time.monotonic()
            with self._lock:
                old = [s for s in self._idle if now - s.idle_since >= IDLE_SECONDS]
                self._idle = [s for s in self._idle if s not in old]
            for served in old:
                close_served(served, self.stop_grace)

    def _wait(self, child: subprocess.Popen[bytes], limit: float) -> str:
        try:
            child.wait(timeout=limit)
            return Outcome.OK
        except subprocess.TimeoutExpired:
            log.warning("crawl child %d over its time limit of %.0fs: stopping it", child.pid, limit)
        return stop_child(child, self.stop_grace, over_time=True)

    def _settle(self, holder: str, sources: Sequence[str], outcome: str, after: int) -> None:
        if outcome in (Outcome.TIMED_OUT, Outcome.KILLED):
            self.repository.runs.settle(holder, Outcome(outcome), only_open=True, after=after)
        elif outcome in (Outcome.FAILED, Outcome.STOPPED):
            self.repository.runs.settle(holder, Outcome(outcome), after=after)
        # A killed child could not release its leases; free them now rather than after their TTL.
        self.repository.leases.release_all(sources, holder)

    def running(self) -> list[int]:
        """Return the pids of the children running now."""
        with self._lock:
            return list(self._children)

    def stop_all(self) -> None:
        """Ask every child to stop (graceful first, then forceful), idle ones to exit; return when all
        are gone."""
        self._closed.set()
        with self._lock:
            children = list(self._children.values())
            idle, self._idle = self._idle, []
        threads = [threading.Thread(target=stop_child, args=(c, self.stop_grace)) for c in children]
        threads += [threading.Thread(target=close_served, args=(s, self.stop_grace)) for s in idle]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def child_limit(time_limit: float, sources: int) -> float:
    """Return how long a child crawling `sources` sources, each within `time_limit`, may run."""
    return time_limit + BACKSTOP_SECONDS + BACKSTOP_PER_SOURCE * sources


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
