"""Due sources waiting for a crawl child, and when a dispatcher takes them as a batch.

OWNS: the queue of due sources (a source is queued once: while queued or being crawled, its timer
firing again adds nothing, which is how the daemon coalesces), each source's planned run (what
its lateness is measured against), how many dispatchers run, and when a batch is ready: full, or
its first source has waited for company long enough.

A crawl child costs ~1.5 s of CPU to start and a quiet source ~23 ms more in it. CPU per quiet
source's check by batch size, measured by bench/capacity.py --sweep (2 cores, load ~1): 1: 1,591
ms, 10: 181 ms, 50: 53 ms, 200: 30 ms. Past 200 the start-up is under 8 ms a check, and a batch's
results (each source's next schedule) wait for its slowest source: hence BATCH_SIZE. Waiting for
company trades lateness for CPU, so it is bounded twice: BATCH_WAIT seconds, and BATCH_WAIT_SHARE
of the source's interval (the lateness goal is a tenth of it).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

BATCH_SIZE = 200
# Batches a crawl child serves before a fresh one replaces it (scheduler/child_serve.py): its start-up
# (~1.5 s of CPU, ~1.6 s more for the analysis libraries once anything is new) spread over 100
# batches is a few ms a batch, and memory a long-lived Scrapy process gathers goes back when it exits.
CHILD_BATCHES = 100
BATCH_WAIT = 10.0
BATCH_WAIT_SHARE = 0.05


@dataclass(frozen=True)
class Due:
    """A source waiting for a crawl child: when its timer planned the run, and until when it waits for others."""

    name: str
    planned: datetime
    ready: float  # time.monotonic()


def wait_for_company(interval: float | None, batch_wait: float = BATCH_WAIT) -> float:
    """Return how long a due source waits for others to share its child (interval in seconds, None for cron)."""
    return min(batch_wait, interval * BATCH_WAIT_SHARE) if interval else batch_wait


class DueQueue:
    """Due sources in the order they fell due; dispatchers take them `size` at a time."""

    def __init__(self, size: int = BATCH_SIZE, dispatchers: int = 1) -> None:
        self.size = size
        self.max_dispatchers = dispatchers
        self._cond = threading.Condition()
        self._queue: deque[Due] = deque()
        self._busy: set[str] = set()
        self._dispatchers = 0
        self._closed = False
        self._plans: dict[str, datetime] = {}

    def plan(self, name: str, when: datetime | None) -> None:
        """Note when `name`'s timer will fire next."""
        with self._cond:
            if when is not None:
                self._plans[name] = when

    def put(self, name: str, wait: float, upcoming: datetime | None = None) -> bool:
        """Queue `name`, its timer having fired, unless it is queued or being crawled (`upcoming`: its
        timer's next time); return True if a dispatcher should be started for it, which then counts
        as running until take() returns []."""
        with self._cond:
            planned = self._plans.get(name) or datetime.now(UTC)
            self.plan(name, upcoming)
            if self._closed or name in self._busy:
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
                    return [self._queue.popleft() for _ in range(min(len(self._queue), self.size))]
                self._cond.wait(left)

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
