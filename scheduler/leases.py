"""Hold per-source leases for the length of a crawl: one crawler per source, whoever started it.

A lease is a row (source, holder, heartbeat, expires). The holder renews it from a background
thread every third of its time to live; a holder that dies stops renewing, its lease expires, and
the next crawler takes over. The thread keeps beating while the reactor is busy, which is right:
the process is alive, and the daemon's per-crawl time limit handles a stuck one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType

from store.errors import StoreError
from store.repository import Repository

log = logging.getLogger(__name__)

# How often a waiting crawler asks whether a busy source's lease has become free.
WAIT_POLL_SECONDS = 0.5


def process_holder() -> str:
    """Name this process as a lease holder: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class LeaseKeeper:
    """Acquire leases on sources, keep them alive while crawling, release them at the end."""

    def __init__(self, repository: Repository, sources: Sequence[str], holder: str, ttl: float,
                 wait: bool = True, on_busy: Callable[[str, str], None] | None = None) -> None:
        self.repository = repository
        self.sources = list(sources)
        self.holder = holder
        self.ttl = ttl
        self.wait = wait
        self.on_busy = on_busy
        self.held: list[str] = []
        self._held_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LeaseKeeper:
        # Beating before acquiring: the leases taken first must not expire while a busy one is waited for.
        self._thread = threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True)
        self._thread.start()
        try:
            self.acquire()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.held:
            self.repository.leases.release_all(self.held, self.holder)

    def acquire(self) -> None:
        """Take every free lease; wait for busy ones (or skip them when not waiting)."""
        taken = self.repository.leases.acquire_many(self.sources, self.holder, self.ttl)
        with self._held_lock:
            self.held.extend(s for s in self.sources if s in taken)
        busy = [s for s in self.sources if s not in taken]
        for source in busy:
            if self.on_busy is not None:
                lease = self.repository.leases.all().get(source)
                self.on_busy(source, lease.holder if lease else "?")
            if not self.wait:
                continue
            while not self._try(source):
                time.sleep(WAIT_POLL_SECONDS)

    def _try(self, source: str) -> bool:
        if self.repository.leases.acquire(source, self.holder, self.ttl):
            with self._held_lock:
                self.held.append(source)
            return True
        return False

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            with self._held_lock:
                renewing = list(self.held)
            if not renewing:
                continue
            try:
                kept = self.repository.leases.renew(renewing, self.holder, self.ttl)
            except StoreError as exc:
                # A database that is down for a moment may be back by the next beat, within the TTL.
                log.warning("lease heartbeat for %s by %s failed: %s", ", ".join(renewing), self.holder, exc)
                continue
            lost = [s for s in renewing if s not in kept]
            if lost:
                log.warning("lease on %s lost by %s: it expired before a heartbeat got through", ", ".join(lost),
                            self.holder)
                with self._held_lock:
                    self.held = [s for s in self.held if s not in lost]
