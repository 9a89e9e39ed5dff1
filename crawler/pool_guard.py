"""The analysis pool's fork server and workers exit when the process that started them is gone.

A crawl child killed with SIGKILL (by an operator, by the daemon's backstop, or with the daemon or
worker it belongs to) cannot shut its ProcessPoolExecutor down, and bench/kill_soak.py found its
fork server and workers running on for good. Linux's parent-death signal does not fit: it fires
when the *thread* that forked exits, and the pool is started from a short-lived thread
(crawler.workers). So each of them watches its parent instead, and exits within INTERVAL of
losing it: the workers watch the fork server, which watches the crawl child, so the last of them
is gone within two INTERVALs of the child.

Which parent to watch is named in the environment (PARENT_ENV), not read from getppid() when the
watch starts: a crawl child killed while its fork server was still starting (the interpreter up,
this module not yet imported) had left it an orphan already, and the watch took the orphan's new
parent for its own and never fired (bench/kill_soak.py: a fork server and its resource tracker
alive 5 s after a daemon was killed).

OWNS: watch_parent(), PARENT_ENV. Importing this module also starts the fork server's watch: it is
the fork server's first preload module (crawler.workers), the only way to run code in the fork
server; nothing else imports it at module level.
"""

from __future__ import annotations

import os
import threading
import time

# How often the parent is looked for: an orphan lives at most this long. At 0.5 s the slowest
# descendants of a kill were gone in 0.88 s in bench/kill_soak.py, near its one-second deadline;
# at 0.2 s in 0.34-0.40 s. A look is one getppid() call: five a second took no CPU that os.times()
# could see in 20 s (under 0.05% of a core).
INTERVAL = 0.2

# The pid a pool process's parent must be: the crawl child's, set before it starts the fork server
# (crawler.workers); in the fork server, its own, which the workers it forks inherit.
PARENT_ENV = "NEWSMON_POOL_PARENT"


def expected_parent() -> int | None:
    """The parent this process was started by, as the environment names it (None if it does not)."""
    value = os.environ.get(PARENT_ENV, "")
    return int(value) if value.isdigit() else None


def watch_parent(parent: int | None = None, interval: float = INTERVAL) -> None:
    """Exit this process (at once, without cleanup: it has nothing to save) as soon as its parent is
    not `parent` (by default, its parent now): gone already, or gone later."""
    expected = os.getppid() if parent is None else parent

    def watch() -> None:
        while os.getppid() == expected:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _guard_fork_server() -> None:
    watch_parent(expected_parent())
    os.environ[PARENT_ENV] = str(os.getpid())


_guard_fork_server()
