"""`newsmon daemon`: every source on its own timer; due sources crawled in batches, one child each.

APScheduler's BackgroundScheduler does the timing in its own thread. A source's timer only puts it
in the queue of due sources (scheduler.batches: each queued once, so a busy source's runs
coalesce); up to --max-parallel dispatchers on APScheduler's thread pool each take up to
--batch-size of them (default 200, measured: see scheduler.batches), block on one crawl child
for the batch (scheduler.jobs), and reschedule every source from its own result.
The main thread only handles signals and watches seeds/ for edits. No persistent job store:
APScheduler's must never be shared between schedulers, so the jobs are rebuilt from seeds/ and
the database at every start. With --queue, each batch is a job for `newsmon worker`s
(scheduler.queue) and only the holder of the scheduler lease schedules (scheduler.standby).

Alerts go out from their own thread (scheduler.alerts), every --alerts-every seconds and after each
crawl: a slow target never holds up a crawl; what was sent is stored, so a restart sends it once.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from crawler.config import RULES_FILE, SOURCES_FILE, Config, ConfigError, Source
from scheduler.alert_config import ALERTS_FILE, Alert, load_alerts
from scheduler.alerts import deliver
from scheduler.batches import BATCH_SIZE, BATCH_WAIT, Due, DueQueue, taken_ahead
from scheduler.jobs import Launcher
from scheduler.leases import process_holder
from scheduler.leftovers import temp_folder
from scheduler.queue import QueueLauncher
from scheduler.reapply import changed_rules
from scheduler.schedule import Timing, adapts, default_every, default_max_every, load_config, plan, silent_after, timing
from scheduler.standby import SchedulerLease
from store.errors import StoreError
from store.records import Outcome, ScheduleRecord
from store.repository import Repository

log = logging.getLogger("newsmon.daemon")

# The APScheduler executor that runs the sources' timers: they only queue, so one thread does.
DUE_EXECUTOR = "due"


@dataclass(frozen=True)
class DaemonOptions:
    max_parallel: int = 2
    # Due sources one crawl child takes (bench/capacity.py chose it: scheduler.batches).
    batch_size: int = BATCH_SIZE
    # Seconds a due source waits for others to share its child (at most a twentieth of its interval).
    batch_wait: float = BATCH_WAIT
    time_limit: float = 3600.0
    grace: float = 60.0
    check_seconds: float = 5.0
    # Random delay added to each run so sources with the same interval do not fire together.
    jitter: float = 60.0
    # Seconds between alert delivery passes (there is one after each crawl too).
    alerts_every: float = 30.0
    # Queue mode: schedule only while holding the scheduler lease, standing by until then (scheduler/standby.py).
    exclusive: bool = False


class Daemon:
    """Schedule every source, run due crawls in children, reload seeds, stop cleanly."""

    def __init__(self, seeds_dir: Path | None, repository: Repository, launcher: Launcher | QueueLauncher,
                 options: DaemonOptions) -> None:
        self.seeds_dir = seeds_dir
        self.repository = repository
        self.launcher = launcher
        self.options = options
        self.name = process_holder()
        self.config: Config | None = None
        self.alerts: tuple[Alert, ...] = ()
        self._lease: SchedulerLease | None = None
        self._deliver_soon = threading.Event()
        self._delivery = threading.Thread(target=self._delivery_loop, name="alerts", daemon=True)
        # Made by run() and removed when it returns, however it returns.
        self._snapshot = Path()
        self._mtimes: tuple[float, ...] = ()
        self._failed_mtimes: tuple[float, ...] = ()
        self._watched: list[Path] = []
        self._apply_lock = threading.Lock()
        self._stop = threading.Event()
        self._reload = threading.Event()
        # Wakes the main loop at once for a signal; otherwise it wakes to check seeds/ for edits.
        self._wake = threading.Event()
        # Each source's current adaptive interval (seconds), seeded from the schedules table.
        self._intervals: dict[str, int] = {}
        self._due_queue = DueQueue(options.batch_size, options.max_parallel, options.batch_wait)
        # APScheduler says three INFO lines per timer and batch ("Added", "Running", "executed"): at
        # 10,000 sources most of an INFO log (bench/capacity.py). Our own crawl start/end lines say it.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self._saved: dict[str, ScheduleRecord] | None = None
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(options.max_parallel), DUE_EXECUTOR: ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=UTC,
        )

    # -- life cycle ------------------------------------------------------------------------------

    def run(self, on_started: Callable[[Config], object] | None = None,
            on_standby: Callable[[str], object] | None = None) -> int:
        """Run until SIGTERM or SIGINT; return the exit code. `on_started(config)` is called once the
        sources are scheduled (the command line says so: a silent start looks like a hang), and
        `on_standby(holder)` when another daemon holds the scheduler lease (with `exclusive`)."""
        self._snapshot = temp_folder("seeds")
        try:
            self.config = self._load()  # a bad config at start is the operator's to fix: raise
            self._install_signals()
            if self.options.exclusive and not self._lead(on_standby):
                return 0
            self.scheduler.start()
            self._sync_jobs()
            self._delivery.start()
            log.info("daemon %s started: %d sources, up to %d crawls at once", self.name,
                     len(self.config.sources), self.options.max_parallel)
            if on_started is not None:
                on_started(self.config)
            while not self._stop.is_set():
                self._wake.wait(self.options.check_seconds)
                self._wake.clear()
                if self._stop.is_set():
                    break
                if self._reload.is_set() or self._seeds_changed():
                    self._reload.clear()
                    self.reload()
            self._shutdown()
        finally:
            shutil.rmtree(self._snapshot, ignore_errors=True)
            if self._lease is not None:
                self._lease.release()
        # Lost the scheduler lease: exit 1, and a service manager starts it again, as a standby.
        return 1 if self._lease is not None and self._lease.lost.is_set() else 0

    def _lead(self, on_standby: Callable[[str], object] | None) -> bool:
        """Stand by until this daemon holds the scheduler lease (queue mode); False if stopped first."""
        assert self.config is not None
        self._lease = SchedulerLease(self.repository, self.name, self.config.settings.lease_ttl, on_lost=self.stop)
        if self._lease.wait(self._stop, on_standby) and self._seeds_changed():
            self._reload.set()  # edited while standing by: the first loop turn reloads
            self._wake.set()
        return not self._stop.is_set()

    def stop(self) -> None:
        """Ask the daemon to stop (what SIGTERM does)."""
        self._stop.set()
        self._wake.set()
        self._due_queue.close()  # a dispatcher waiting to fill a batch gives up at once

    def _install_signals(self) -> None:
        def on_stop(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s: stopping", signal.Signals(signum).name)
            self.stop()

        def on_hup(_signum: int, _frame: FrameType | None) -> None:
            self._reload.set()
            self._wake.set()

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGHUP, on_hup)

    def _shutdown(self) -> None:
        self.scheduler.pause()
        running = self.launcher.running()
        if running:
            log.info("waiting up to %.0fs for %d running crawls", self.options.grace, len(running))
            self._wait_for_children(self.options.grace)
        if self.launcher.running():
            log.warning("grace period over: stopping %d crawls", len(self.launcher.running()))
        # Also ends the idle crawl children that would have served the next batches.
        self.launcher.stop_all()
        self.scheduler.shutdown(wait=True)
        self._deliver_soon.set()
        if self._delivery.is_alive():
            # A send in progress ends within Apprise's timeouts; what is unsent waits in the database.
            self._delivery.join(timeout=30)
        log.info("daemon %s stopped", self.name)

    def _wait_for_children(self, seconds: float) -> None:
        done, deadline = threading.Event(), datetime.now(UTC).timestamp() + seconds
        while self.launcher.running() and datetime.now(UTC).timestamp() < deadline:
            done.wait(0.2)

    # -- seeds -----------------------------------------------------------------------------------

    def _load(self) -> Config:
        config = load_config(self.seeds_dir)
        assert config.seeds_dir is not None
        self.alerts = load_alerts(config.seeds_dir, {r.name for r in config.rules})
        # Watched for edits besides the two seeds files: the `like` rules' example files inside
        # the seeds folder, and their folders (a file added to a glob's folder).
        examples = _example_files(config)
        self._watched = [*examples, *{p.parent for p in examples}]
        self._mtimes = self._current_mtimes(config.seeds_dir)
        # Children read this copy, so a broken edit never reaches them.
        for name in (SOURCES_FILE, RULES_FILE):
            shutil.copyfile(config.seeds_dir / name, self._snapshot / name)
        for path in examples:
            copy = self._snapshot / path
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(config.seeds_dir / path, copy)
        return config

    def _current_mtimes(self, folder: Path | None) -> tuple[float, ...]:
        assert folder is not None
        out = []
        paths: list[str | Path] = [SOURCES_FILE, RULES_FILE, ALERTS_FILE, *self._watched]
        for path in paths:
            try:
                out.append((folder / path).stat().st_mtime)
            except OSError:
                out.append(-1.0)
        return tuple(out)

    def _seeds_changed(self) -> bool:
        assert self.config is not None
        current = self._current_mtimes(self.config.seeds_dir)
        return current != self._mtimes and current != self._failed_mtimes

    def reload(self) -> None:
        """Re-read seeds/; on a bad edit keep the running config and log one error line."""
        assert self.config is not None
        before = self.config.rules
        try:
            self.config = self._load()
        except ConfigError as exc:
            self._failed_mtimes = self._current_mtimes(self.config.seeds_dir)
            log.error("seeds edit rejected, still running the last good config: %s", exc)
            return
        log.info("seeds reloaded: %d sources, %d alerts", len(self.config.sources), len(self.alerts))
        self._sync_jobs()
        changed = changed_rules(before, self.config.rules)
        if changed:
            self._apply_rules(changed)

    def _apply_rules(self, names: tuple[str, ...]) -> None:
        """Apply edited rules to the stored articles in a child (`newsmon rules apply`), so the
        daemon never loads the embedding model; one at a time, the last edit waiting its turn."""
        log.info("rules changed (%s): applying them to stored articles", ", ".join(names))
        command = [sys.executable, "-m", "scheduler", "--seeds", str(self._snapshot), "rules", "apply",
                   "--format", "json"]
        command += [arg for name in names for arg in ("--rule", name)]
        threading.Thread(target=self._run_apply, args=(command,), name="rules-apply", daemon=True).start()

    def _run_apply(self, command: list[str]) -> None:
        with self._apply_lock:
            if self._stop.is_set():
                return
            # The database URL by environment, not argv: a password in it would show in `ps`.
            proc = subprocess.run(command, capture_output=True, text=True, check=False,
                                  env={**os.environ, "NEWSMON_DB": self.launcher.db_url})
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            log.error("applying edited rules to stored articles failed: %s", last)
            return
        report = json.loads(proc.stdout)[0]
        log.info("rules applied to %d stored articles: %d newly matched (listed again for query --new), "
                 "%d no longer matched", report["examined"], report["newly_matched"], report["unmatched"])

    # -- jobs ------------------------------------------------------------------------------------

    def _sync_jobs(self) -> None:
        assert self.config is not None
        wanted = {s.name: s for s in self.config.sources}
        for job in self.scheduler.get_jobs():
            if job.id not in wanted:
                job.remove()
                self._due_queue.forget(job.id)
                log.info("source %s removed from seeds: unscheduled", job.id)
        # Read once: a query per source was quadratic (10,000 sources: minutes before the first crawl).
        self._saved = self.repository.schedules.all()
        try:
            self._schedule({name: None for name in wanted})
        finally:
            self._saved = None

    def _schedule(self, found_new: dict[str, int | None]) -> None:
        """Plan the next run of each source in `found_new` (what its crawl found new; None: it did
        not finish), and record the plans: one query and one transaction for them all."""
        assert self.config is not None
        sources = {s.name: s for s in self.config.sources}
        failures = self.repository.runs.failures(found_new)
        plans = []
        for source in (sources[n] for n in found_new if n in sources):
            when = self._timing(source, failures[source.name], found_new[source.name])
            job = self.scheduler.get_job(source.name)
            # A timer that fires more than half its interval late (capped at an hour) is dropped, and
            # coalesce folds the missed ones into one, so a laptop waking up crawls once, not n times.
            # A source queued behind busy dispatchers is not dropped: it waits its turn, queued once.
            grace = max(1, min(when.interval or 3600, 3600) // 2)
            if job is None:
                job = self.scheduler.add_job(self._due, when.trigger, id=source.name, args=[source.name],
                                             misfire_grace_time=grace, name=source.name, executor=DUE_EXECUTOR,
                                             next_run_time=self._first_run(source, when.interval))
            elif str(job.trigger) != str(when.trigger):
                job = job.reschedule(when.trigger)
            ahead = taken_ahead(when.interval, self.options.batch_wait)
            self._due_queue.plan(source.name, job.next_run_time, ahead)
            plans.append((source.name, job.next_run_time, when.interval, when.reason, failures[source.name]))
        self.repository.schedules.save_many(self.name, plans)

    def _first_run(self, source: Source, interval: int | None) -> datetime | None:
        """Crawl at once a source that is due (never crawled, or last crawled an interval ago)."""
        if interval is None:
            return None  # cron: its next slot
        last = next(iter(self.repository.runs.recent(source=source.name, limit=1)), None)
        now = datetime.now(UTC)
        if last is None:
            return now
        return max(now, last.started + timedelta(seconds=interval))

    def _timing(self, source: Source, failures: int, found_new: int | None) -> Timing:
        assert self.config is not None
        configured = plan(source)
        base = configured.every or default_every(self.config)
        adaptive = adapts(configured.cron, failures)
        if adaptive and source.name not in self._intervals:
            saved = (self.repository.schedules.all() if self._saved is None else self._saved).get(source.name)
            self._intervals[source.name] = saved.interval if saved and saved.interval and not saved.failures else base
        when = timing(base, configured.cron, failures, self._intervals.get(source.name), found_new,
                      self.options.jitter, configured.max_every or default_max_every(self.config))
        if adaptive and when.interval is not None:
            self._intervals[source.name] = when.interval
        return when

    def _due(self, name: str) -> None:
        """A source's timer fired: queue it for a batch (unless it is queued or being crawled)."""
        # The job holds its next run already: APScheduler moves it on under the lock get_job waits for.
        job = self.scheduler.get_job(name)
        if self._due_queue.put(name, job.next_run_time if job is not None else None):
            self.scheduler.add_job(self._dispatch, name="dispatch", misfire_grace_time=None)

    def _dispatch(self) -> None:
        """Crawl batches of due sources until none is left (one of up to --max-parallel)."""
        while batch := self._due_queue.take():
            try:
                self._crawl_batch(batch)
            except Exception:
                # These sources must be queued again by their timers and this dispatcher must go on
                # (the database failing, most likely); the traceback is for a bug report.
                log.exception("crawl of %s failed", ", ".join(d.name for d in batch))
            finally:
                self._due_queue.done(batch)

    def _crawl_batch(self, batch: list[Due]) -> None:
        sources = {s.name: s for s in self.config.sources} if self.config is not None else {}
        # A source removed from seeds while it waited would fail the whole child (unknown source).
        due = [d for d in batch if d.name in sources]
        if not due or self._stop.is_set():
            return
        for d in due:
            log.info("crawl start: %s planned=%s batch=%d", d.name, d.planned.isoformat(), len(due))
        results = self.launcher.run_batch(self._snapshot, [d.name for d in due])
        matched = False
        found: dict[str, int | None] = {}
        for result in results:
            s = result.summary or {}
            # The run's own outcome when it has one: a child that ran may still have failed this source.
            outcome = s.get("outcome") or result.outcome
            log.info("crawl end: %s outcome=%s seconds=%.1f pages=%s new=%s matched=%s duplicates=%s skipped=%s "
                     "errors=%s", result.source, outcome, result.seconds, s.get("pages", 0), s.get("new", 0),
                     s.get("matched", 0), s.get("duplicates", 0), s.get("skipped", 0), s.get("errors", 0))
            matched = matched or bool(s.get("matched"))
            if result.source in sources:
                found[result.source] = int(s.get("new", 0)) if result.outcome == Outcome.OK else None
        if found and not self._stop.is_set():
            self._schedule(found)
        if matched:
            self._deliver_soon.set()

    # -- alerts ----------------------------------------------------------------------------------

    def _delivery_loop(self) -> None:
        while not self._stop.is_set():
            self._deliver()
            self._deliver_soon.wait(self.options.alerts_every)
            self._deliver_soon.clear()

    def _deliver(self) -> None:
        # One consistent config for the pass, whatever a reload does meanwhile.
        alerts, config = self.alerts, self.config
        if not alerts or config is None:
            return
        try:
            report = deliver(self.repository, alerts, silent_after=silent_after(config))
        except StoreError as exc:
            log.error("alert delivery pass failed, tried again in %.0fs: %s", self.options.alerts_every, exc)
            return
        except Exception:
            # Whatever a notification service or plugin throws, the daemon keeps crawling and the
            # next pass tries again; the traceback goes to the log for a bug report.
            log.exception("alert delivery pass failed, tried again in %.0fs", self.options.alerts_every)
            return
        if report.queued or report.sent or report.failed:
            log.info("alerts: %d stories queued, %d messages sent, %d failed, %d dropped", report.queued,
                     report.sent, report.failed, report.dropped)


def _example_files(config: Config) -> list[Path]:
    """The `like` rules' example files inside the seeds folder, relative to it."""
    out = []
    for rule in config.rules:
        if rule.like is not None:
            out += [Path(e.label) for e in (*rule.like.like, *rule.like.unlike) if not Path(e.label).is_absolute()]
    return sorted(set(out))
