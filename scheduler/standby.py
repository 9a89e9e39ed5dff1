"""One scheduler at a time, others standing by: the scheduler lease.

In queue mode (`newsmon daemon --queue`) several daemons may run, on any machines sharing the
PostgreSQL database; only the one holding the scheduler lease schedules and enqueues crawls. It is
a row of the leases table under a name no source can have (source names are letters, digits, '.',
'_' and '-'), renewed every third of `lease_ttl`. A standby tries to take it as often; when its
holder dies, the lease expires at most `lease_ttl` after the last heartbeat and the first standby
to ask takes over. A holder that fails to renew in time has lost it: it stops scheduling and exits
(a service manager restarts it, as a standby), so two daemons never schedule at once for longer
than one heartbeat.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from store.errors import StoreError
from store.repository import Repository

log = logging.getLogger("newsmon.standby")

SCHEDULER_LEASE = "newsmon:scheduler"


class SchedulerLease:
    """Take the scheduler lease (standing by until it is free), keep it, give it up."""

    def __init__(self, repository: Repository, holder: str, ttl: float,
                 on_lost: Callable[[], object] | None = None) -> None:
        self.repository = repository
        self.holder = holder
        self.ttl = ttl
        self.on_lost = on_lost
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wait(self, stop: threading.Event, on_standby: Callable[[str], object] | None = None) -> bool:
        """Stand by until this process holds the lease (True) or `stop` is set (False).

        `on_standby(holder)` is called once, if another scheduler holds it when we first ask.
        """
        told = False
        while not stop.is_set():
            if self._try():
                self._thread = threading.Thread(target=self._beat, name="scheduler-lease", daemon=True)
                self._thread.start()
                log.info("%s holds the scheduler lease: scheduling", self.holder)
                return True
            if not told:
                told = True
                holder = self._holder()
                log.info("standing by: the scheduler lease is held by %s", holder)
                if on_standby is not None:
                    on_standby(holder)
            stop.wait(self.ttl / 3)
        return False

    def release(self) -> None:
        """Stop renewing and give the lease up, so a standby takes over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.repository.leases.release(SCHEDULER_LEASE, self.holder)
        except StoreError as exc:  # it expires by itself within lease_ttl
            log.warning("could not give up the scheduler lease: %s", exc)

    def _try(self) -> bool:
        try:
            return self.repository.leases.acquire(SCHEDULER_LEASE, self.holder, self.ttl)
        except StoreError as exc:
            log.warning("could not ask for the scheduler lease: %s", exc)
            return False

    def _holder(self) -> str:
        lease = self.repository.leases.all().get(SCHEDULER_LEASE)
        return lease.holder if lease else "?"

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                kept = self.repository.leases.renew([SCHEDULER_LEASE], self.holder, self.ttl)
            except StoreError as exc:
                # The database may be back by the next beat, within the lease's time.
                log.warning("scheduler lease heartbeat failed: %s", exc)
                continue
            if SCHEDULER_LEASE not in kept:
                log.error("scheduler lease lost to %s: it expired before a heartbeat got through", self._holder())
                self.lost.set()
                if self.on_lost is not None:
                    self.on_lost()
                return
