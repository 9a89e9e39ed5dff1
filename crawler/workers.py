"""Run page analysis in worker processes, so a burst of new articles uses every core.

Extraction is CPU-bound and Scrapy runs in one thread: inside the reactor a large page stalls every
download for the length of its extraction (measured: 544 ms a page on the largest real pages; a
thread only halves that, the GIL again). A process pool keeps the reactor free and the cores busy.
The pool starts only when a crawl has more pages than IN_PROCESS_PAGES: a routine monitoring run
finds a handful of new articles and should not pay a second or so of worker start-up. It starts in
a background thread, and pages go on being analyzed here until its workers have answered once. Workers are
started by a fork server, not forked from this process, whose threads (the reactor's pool, the
lease heartbeat) must not be copied mid-operation.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections.abc import Collection, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from crawler.items import FetchedPage
from crawler.rules import Rule

if TYPE_CHECKING:
    from crawler.analysis import Analysis
    from crawler.extraction import Rejection

log = logging.getLogger(__name__)

# Pages of a crawl analyzed in this process before the pool is started.
IN_PROCESS_PAGES = 10


# The crawl's rules, set once in each worker: pickled with every page they cost as much as the
# page itself (a parse tree of ~11 KB, 0.23 ms a page to pickle and unpickle, measured).
_worker_rules: tuple[Rule, ...] = ()


def _init_worker(rules: tuple[Rule, ...]) -> None:
    global _worker_rules
    _worker_rules = rules
    # Forked from the fork server, where crawler.pool_guard was imported and named itself the parent.
    from crawler.pool_guard import expected_parent, watch_parent

    watch_parent(expected_parent())


def _analyze_in_worker(page: FetchedPage, min_chars: int, learned: frozenset[str]) -> Analysis | Rejection:
    from crawler.analysis import analyze

    return analyze(page, _worker_rules, min_chars, learned)


def _analyze_here(page: FetchedPage, rules: tuple[Rule, ...], min_chars: int,
                  learned: Collection[str]) -> Analysis | Rejection:
    # Imported on first use: a crawl that finds nothing new never analyzes, and trafilatura's
    # import was most of its start-up.
    from crawler.analysis import analyze

    return analyze(page, rules, min_chars, learned)


def _context() -> multiprocessing.context.ForkServerContext:
    # The fork server, started from this process, inherits this: its parent must be this process
    # (crawler.pool_guard). Not imported from there: importing it starts a watch.
    os.environ["NEWSMON_POOL_PARENT"] = str(os.getpid())
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["crawler.pool_guard", "crawler.analysis"])
    return context


def start_fork_server() -> None:
    """Start the fork server every pool of this process forks its workers from (once a process),
    its analysis imports done, ahead of the first pool (scheduler.child_serve warms a worker's child)."""
    _context()
    from multiprocessing import forkserver

    forkserver.ensure_running()


class AnalysisPool:
    """analyze() for one crawl: in this process at first, then in `workers` processes."""

    def __init__(self, workers: int | None = None, in_process_pages: int = IN_PROCESS_PAGES,
                 rules: Sequence[Rule] = ()) -> None:
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self.in_process_pages = in_process_pages
        self.rules = tuple(rules)
        self.seen = 0
        self.restarts = 0
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._warming: threading.Thread | None = None

    def expect(self, pages: int) -> None:
        """Start the workers in the background if this crawl will analyze more than
        in_process_pages pages: their start-up (a second of imports in the fork server) then
        overlaps the first pages, which this process analyzes meanwhile, instead of stalling them."""
        if self.workers > 0 and pages > self.in_process_pages and self._executor is None and self._warming is None:
            self._warming = threading.Thread(target=self._warm, name="newsmon-pool-start", daemon=True)
            self._warming.start()

    def _warm(self) -> None:
        pool = self._pool()
        # A worker is ready once it has answered: spawning and the fork server's imports are done.
        for future in [pool.submit(os.getpid) for _ in range(self.workers)]:
            try:
                future.result()
            except BrokenProcessPool:
                break

    async def analyze(self, page: FetchedPage, min_chars: int, learned: Collection[str]) -> Analysis | Rejection:
        """Analyze one page with the pool's rules (an Analysis, or the Rejection saying why it is no
        article); a crashed worker costs a retry here, never the page."""
        self.seen += 1
        warming = self._warming is not None and self._warming.is_alive()
        if self.workers <= 0 or self.seen <= self.in_process_pages or warming:
            return _analyze_here(page, self.rules, min_chars, learned)
        try:
            return await asyncio.wrap_future(
                self._pool().submit(_analyze_in_worker, page, min_chars, frozenset(learned)))
        except BrokenProcessPool:
            # A worker died (killed, out of memory, a crash in a C extension). The pool is
            # unusable; start a new one for the next pages and do this one here.
            log.warning("analysis worker died on %s; restarting the pool and analyzing it here", page.url)
            self._discard()
            self.restarts += 1
            return _analyze_here(page, self.rules, min_chars, learned)

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=_context(),
                                                     initializer=_init_worker, initargs=(self.rules,))
            return self._executor

    def _discard(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def close(self) -> None:
        """Stop the workers."""
        if self._warming is not None:
            self._warming.join()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def pids(self) -> list[int]:
        """Return the worker processes' pids (empty before the pool starts)."""
        processes = getattr(self._executor, "_processes", None) or {}
        return list(processes)
