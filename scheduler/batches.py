"""Due sources waiting for a crawl child, and when a dispatcher takes them as a batch.

OWNS: the queue of due sources (a source is queued once: while queued or being crawled, its timer
firing again adds nothing, which is how the daemon coalesces), each source's planned run (what
its lateness is measured against), how many dispatchers run, when a batch is ready (full, or its
first source has waited long enough) and which sources it takes ahead of their timers.

A crawl child costs ~1.5 s of CPU to start and a quiet source ~23 ms more in it. CPU per quiet
source's check by batch size, measured by bench/capacity.py --sweep (2 cores, load ~1): 1: 1,591
ms, 10: 181 ms, 50: 53 ms, 200: 30 ms. Past 200 the start-up is under 8 ms a check, and a batch's
results (each source's next schedule) wait for its slowest source: hence BATCH_SIZE.

Company for a batch is found ahead, not waited for: a source on an interval leaves as soon as it
falls due (SETTLE later), with the sources due within the next `ahead` seconds (BATCH_WAIT, and at
most BATCH_WAIT_SHARE of the interval) taken early; their timers' runs are then skipped. Waiting
after the due time instead made every check up to BATCH_WAIT late, which publication-to-stored pays
in full (bench/capacity.py at a fixed 300 s: p99 305 s, over one interval); taking a check a few
seconds early costs a few per cent more checks and makes no result later. A cron source keeps its
slot: it is never taken early, and waits up to BATCH_WAIT for company after it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

BATCH_SIZE = 200
# Batches a crawl child serves before a fresh one replaces it (scheduler/child_serve.py): its start-up
# (~1.5 s of CPU, ~1.6 s more for the analysis libraries once anything is new) spread over 100
# batches is a few ms a batch, and memory a long-lived Scrapy process gathers goes back when it exits.
CHILD_BATCHES = 100
BATCH_WAIT = 10.0
BATCH_WAIT_SHARE = 0.05
# How long a source taken ahead still waits when it falls due: timers firing together (all sources
# at start-up, their jobs added one by one) reach the queue within it and leave as one batch.
SETTLE = 1.0


@dataclass(frozen=True)
class Due:
    """A source waiting for a crawl child: when its timer planned the run, and until when it waits for others."""

    name: str
    planned: datetime
    ready: float  # time.monotonic()


def taken_ahead(interval: float | None, batch_wait: float = BATCH_WAIT) -> float:
    """Return how many seconds before its due time a source may join a leaving batch (0: cron)."""
    return min(batch_wait, interval * BATCH_WAIT_SHARE) if interval else 0.0


class DueQueue:
    """Due sources in the order they fell due; dispatchers take them `size` at a time."""

    def __init__(self, size: int = BATCH_SIZE, dispatchers: int = 1, wait: float = BATCH_WAIT) -> None:
        self.size = size
        self.wait = wait
        self.max_dispatchers = dispatchers
        self._cond = threading.Condition()
        self._queue: deque[Due] = deque()
        self._busy: set[str] = set()
        self._dispatchers = 0
        self._closed = False
        self._plans: dict[str, datetime] = {}
        self._ahead: dict[str, float] = {}
        # Sources a batch took ahead of their timers: the plan whose timer run is to be skipped.
        self._taken_early: dict[str, datetime] = {}
        self._widest = timedelta(0)  # the largest `ahead` noted

    def plan(self, name: str, when: datetime | None, ahead: float | None = None) -> None:
        """Note when `name`'s timer will fire next, and (when given) how many seconds before that a
        leaving batch may take it."""
        with self._cond:
            if when is not None:
                self._plans[name] = when
            if ahead is not None:
                self._ahead[name] = ahead
                self._widest = max(self._widest, timedelta(seconds=ahead))

    def forget(self, name: str) -> None:
        """`name` is no longer scheduled: never take it ahead of a timer it no longer has."""
        with self._cond:
            for known in (self._plans, self._ahead, self._taken_early):
                known.pop(name, None)

    def put(self, name: str, upcoming: datetime | None = None, wait: float | None = None) -> bool:
        """Queue `name`, its timer having fired, unless it is queued or being crawled (`upcoming`: its
        timer's next time; `wait`: how long it waits for company, by default SETTLE for a source
        that may be taken ahead and `self.wait` for one that may not); return True if a dispatcher
        should be started for it, which then counts as running until take() returns []."""
        with self._cond:
            if wait is None:
                ahead = self._ahead.get(name, 0.0)
                wait = min(SETTLE, ahead) if ahead else self.wait
            planned = self._plans.get(name) or datetime.now(UTC)
            self.plan(name, upcoming)
            early = self._taken_early.pop(name, None)
            if self._closed or name in self._busy or (early is not None and planned <= early):
                return False
            self._busy.add(name)
            self._queue.append(Due(name, planned, time.monotonic() + wait))
            self._cond.notify_all()
            if self._dispatchers < self.max_dispatchers:
                self._dispatchers += 1
                return True
            return False

    def take(self) -> list[Due]:
        """Wait until a batch is full or its first source is ready; [] (and one dispatcher fewer) when
        nothing is queued or the queue is closed."""
        with self._cond:
            while True:
                if self._closed or not self._queue:
                    self._dispatchers -= 1
                    return []
                left = self._queue[0].ready - time.monotonic()
                if len(self._queue) >= self.size or left <= 0:
                    batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.size))]
                    return batch + self._take_ahead(self.size - len(batch))
                self._cond.wait(left)

    def _take_ahead(self, room: int) -> list[Due]:
        """Take up to `room` idle sources whose timers fire within their `ahead` seconds, soonest first,
        unless an earlier batch took that run already (its timer has not fired yet)."""
        if room <= 0:
            return []
        now = datetime.now(UTC)
        # A linear pass over every plan, once a batch: ~1.2 ms per 10,000 sources (datetimes compared,
        # not subtracted: 7.5 ms).
        lo, hi = now - self._widest, now + self._widest
        soon = sorted((when, name) for name, when in self._plans.items()
                      if lo <= when <= hi and name not in self._busy and self._taken_early.get(name) != when
                      and abs((when - now).total_seconds()) <= self._ahead.get(name, 0.0))
        ready = time.monotonic()
        taken = [Due(name, when, ready) for when, name in soon[:room]]
        for due in taken:
            self._busy.add(due.name)
            self._taken_early[due.name] = due.planned
        return taken

    def done(self, batch: list[Due]) -> None:
        """The batch's crawl is over: its sources may be queued again."""
        with self._cond:
            self._busy.difference_update(d.name for d in batch)

    def close(self) -> None:
        """Queue nothing more; a dispatcher waiting for company gives up at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def queued(self) -> int:
        """Return how many sources wait for a child."""
        with self._cond:
            return len(self._queue)
