"""A crawl child that lives for many batches: `python -m scheduler.child` with NEWSMON_CHILD_SERVE=1.

Why: a child that crawls one batch and exits pays its start-up on every batch (the interpreter,
Scrapy, SQLAlchemy, the seeds parsed: ~1.5 s of CPU) and, when a batch finds anything new, the
analysis libraries' import (~1.6 s more). At 20,000 sources every 30 minutes, batches of ~100 come
every ~9 s, so start-up alone would be most of a core. Twisted's reactor cannot be restarted, but
it can run on: this child keeps one Scrapy CrawlerProcess and one database engine, and starts each
batch's crawlers on the running reactor, as scrapyd's runner does one crawl per process and
Celery's prefork pool recycles a child after `max_tasks_per_child`.

The protocol, one JSON object per line:
    stdin   {"id": n, "sources": [name, ...], "seeds": folder, "result": file, "time_limit": s | null}
    stdout  {"taken": n}                   at once: a child that dies before saying it never
                                           started the batch, which the launcher gives to another
            {"done": n, "exiting": bool}   after the result file (scheduler/child.py's) is written
One batch at a time: the launcher sends the next request only after the reply. The child exits
when stdin closes (the launcher is done with it, or idle), after NEWSMON_CHILD_BATCHES batches or
MAX_SECONDS (it says so in its last reply: "exiting"), or on SIGTERM: Scrapy's handler stops the
crawl gracefully, the result is written, and the process exits; a second SIGTERM forces it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from crawler.config import Config, ConfigError
from scheduler import child as contract
from scheduler.batches import CHILD_BATCHES
from store.errors import StoreError

log = logging.getLogger("newsmon.child")

# A child's longest life, whatever its batches (scheduler.batches.CHILD_BATCHES): memory a
# long-lived Scrapy process gathers (caches, fragmentation) goes back when it exits;
# bench/capacity.py reports the children's peak RSS.
MAX_SECONDS = 3600.0


class Server:
    """Read batch requests, crawl each on the one running reactor, answer each."""

    def __init__(self, env: Mapping[str, str], replies: IO[str]) -> None:
        from scheduler.leases import process_holder
        from store.repository import Repository

        self.env = env
        self.replies = replies
        self.level = env.get(contract.LOG_LEVEL_ENV, "warning").upper()
        self.holder = process_holder()
        self.repository = Repository.open(contract.required(env, contract.DB_ENV))
        self.started = time.monotonic()
        self.batches = 0
        self.max_batches = int(env.get(contract.BATCHES_ENV) or CHILD_BATCHES)
        self.closing = False  # stdin closed or lifetime over: exit once the batch in flight is done
        self.current: dict[str, Any] | None = None
        self._configs: dict[str, Config] = {}
        self.process: Any = None
        self._replying = threading.Lock()

    def serve(self, requests: IO[str]) -> int:
        """Run until stdin closes, the lifetime ends or a signal stops the process; return the exit code."""
        from scrapy.crawler import CrawlerProcess

        from crawler.config import Settings
        from crawler.robots_log import quiet_robots_errors
        from crawler.settings import scrapy_settings
        from crawler.settings_copy import CrawlSettings

        quiet_robots_errors()
        # The process's own settings are the defaults: each crawler takes its batch's config's.
        self.process = CrawlerProcess(CrawlSettings(scrapy_settings(Settings(), self.level)))
        reader = threading.Thread(target=self._read, args=(requests,), name="requests", daemon=True)
        # The reactor exists once the process has built its first crawler; make it now, so the
        # reader can hand it requests from its first line.
        from scrapy.utils.reactor import install_reactor

        install_reactor(self.process.settings["TWISTED_REACTOR"])
        reader.start()
        if self.env.get(contract.WARM_ENV) == "1":
            threading.Thread(target=_warm_analysis, name="warm-analysis", daemon=True).start()
        try:
            self.process.start(stop_after_crawl=False)
        finally:
            if self.current is not None:  # stopped by a signal mid-batch: answer what there is
                self._finish(None)
            self.repository.close()
        return contract.EXIT_OK

    def _read(self, requests: IO[str]) -> None:
        from twisted.internet import reactor

        for line in requests:
            if line.strip():
                self._say({"taken": _request_id(line)})
                reactor.callFromThread(self._take, line)
        reactor.callFromThread(self._close)

    def _close(self) -> None:
        self.closing = True
        if self.current is None:
            self._stop()

    def _stop(self) -> None:
        from twisted.internet import reactor

        if reactor.running:
            reactor.stop()  # type: ignore[misc]

    def _take(self, line: str) -> None:
        """Start the batch `line` asks for (in the reactor's thread)."""
        from crawler.run import start
        from scheduler.leases import LeaseKeeper

        try:
            request = json.loads(line)
            batch = {"id": request["id"], "result": Path(request["result"]), "keeper": None, "crawl": None}
            names, seeds, limit = list(request["sources"]), Path(request["seeds"]), request.get("time_limit")
        except (ValueError, KeyError, TypeError) as exc:
            log.error("unreadable request %r: %s", line[:200], exc)
            return
        self.current = batch
        try:
            config = self._config(seeds)
            sources = [config.source(name) for name in names]
        except ConfigError as exc:
            self._answer(contract.failed(str(exc)))
            return
        busy: dict[str, str] = {}
        try:
            keeper = LeaseKeeper(self.repository, names, self.holder, config.settings.lease_ttl, wait=False,
                                 on_busy=lambda source, holder: busy.__setitem__(source, holder))
            keeper.__enter__()
            batch["keeper"] = keeper
            held = [s for s in sources if s.name in keeper.held]
            batch["skipped"] = {s.name: busy.get(s.name, "?") for s in sources if s.name not in keeper.held}
            if not held:
                self._finish(None)
                return
            crawl = start(self.process, config, held, self.repository, holder=self.holder, time_limit=limit,
                          log_level=self.level)
        except (StoreError, ConfigError) as exc:
            self._release(batch)
            self._answer(contract.failed(str(exc)))
            return
        except Exception as exc:  # a bug: this batch fails, the child goes on serving
            log.exception("batch %s could not start", batch["id"])
            self._release(batch)
            self._answer(contract.failed(f"the crawl could not start: {exc!r}"))
            return
        batch["crawl"] = crawl
        crawl.finished.addBoth(self._finish)

    def _finish(self, _: object) -> None:
        """The batch's crawls are over: release its leases, write its result, answer."""
        batch = self.current
        if batch is None:
            return
        self._release(batch)
        skipped = batch.get("skipped", {})
        try:
            runs = batch["crawl"].runs() if batch["crawl"] is not None else []
        except StoreError as exc:
            self._answer(contract.failed(str(exc)))
            return
        self._answer(contract.answer(runs, skipped))

    def _release(self, batch: dict[str, Any]) -> None:
        keeper, batch["keeper"] = batch.get("keeper"), None
        if keeper is not None:
            try:
                keeper.__exit__(None, None, None)
            except StoreError as exc:  # the leases expire by themselves
                log.warning("could not release the leases of %s: %s", self.holder, exc)

    def _answer(self, result: Mapping[str, Any]) -> None:
        batch, self.current = self.current, None
        if batch is None:
            return
        contract.write_result(batch["result"], result)
        self.batches += 1
        if self.batches >= self.max_batches or time.monotonic() - self.started >= MAX_SECONDS:
            self.closing = True
        self._say({"done": batch["id"], "exiting": self.closing})
        if self.closing:
            self._stop()

    def _say(self, reply: Mapping[str, Any]) -> None:
        with self._replying:
            try:
                self.replies.write(json.dumps(reply) + "\n")
                self.replies.flush()
            except (BrokenPipeError, OSError):
                # The launcher is gone (killed): nobody will send another batch, so exit after this one.
                self.closing = True

    def _config(self, seeds: Path) -> Config:
        """The seeds in `seeds`, parsed once while their content stays the same: 20,000 sources take
        ~1.4 s to parse, ~5 ms to hash (bench/store_growth.py). Keyed by content, not folder: a
        worker gets each job's seeds in a new temporary folder (the config keeps the first folder's
        name, which a crawl uses only in a message)."""
        from scheduler.schedule import load_config

        digest = hashlib.blake2b(digest_size=16)
        for path in sorted(p for p in seeds.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(seeds)).encode() + b"\0" + path.read_bytes() + b"\0")
        key = digest.hexdigest()
        config = self._configs.get(key)
        if config is None:
            config = load_config(seeds, env=self.env)
            self._configs = {key: config}  # the newest only: a reload replaces it
        return config


def _warm_analysis() -> None:
    """Import the analysis libraries here and in the analysis pool's fork server now, while the
    child waits for its first batch: each costs ~1.6 s of CPU, which a worker's first job of new
    pages would otherwise pay before its first article (bench/workers.py)."""
    try:
        from crawler.workers import start_fork_server

        start_fork_server()
        import crawler.analysis  # noqa: F401
    except Exception:  # the first batch imports them itself
        log.exception("could not warm the analysis libraries")


def _request_id(line: str) -> Any:
    try:
        return json.loads(line).get("id")
    except (ValueError, AttributeError):
        return None


def serve(env: Mapping[str, str]) -> int:
    """Serve batches from stdin until done; return the exit code."""
    # Replies go on the real stdout; anything else that prints goes to stderr, never into a reply.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        server = Server(env, replies)
    except (StoreError, ConfigError) as exc:
        log.error("crawl child failed: %s", exc)
        return contract.EXIT_RUNTIME
    return server.serve(sys.stdin)
