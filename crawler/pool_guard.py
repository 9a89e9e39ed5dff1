"""The analysis pool's fork server and workers exit when the process that started them is gone.

A crawl child killed with SIGKILL (by an operator, by the daemon's backstop, or with the daemon or
worker it belongs to) cannot shut its ProcessPoolExecutor down, and bench/kill_soak.py found its
fork server and workers running on for good. Linux's parent-death signal does not fit: it fires
when the *thread* that forked exits, and the pool is started from a short-lived thread
(crawler.workers). So each of them watches its parent instead, and exits within a second of
losing it.

OWNS: watch_parent(). Importing this module also starts the watch: it is the fork server's first
preload module (crawler.workers), the only way to run code in the fork server; nothing else
imports it at module level.
"""

from __future__ import annotations

import os
import threading
import time

# How often the parent is looked for: an orphan lives at most this long.
INTERVAL = 0.5


def watch_parent(interval: float = INTERVAL) -> None:
    """Exit this process (at once, without cleanup: it has nothing to save) when its parent dies."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


watch_parent()
