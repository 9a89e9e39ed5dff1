"""Analysis in worker processes: same results as in-process, and a killed worker loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from crawler.analysis import analyze
from crawler.config import load_config
from crawler.items import FetchedPage
from crawler.workers import AnalysisPool
from sample_site import build_sample_site
from tests.sites import expect

BASE = "http://127.0.0.1:8000"
SITE = build_sample_site(BASE)
EXPECTED = expect(SITE)
RULES = load_config().rules


def _page(url: str, html: str | None = None) -> FetchedPage:
    return FetchedPage("s", url, html or SITE.pages[url.removeprefix(BASE)].body.decode(), (url,))


def test_pool_gives_the_same_analysis_as_this_process() -> None:
    async def run() -> list[object]:
        pool = AnalysisPool(workers=2, in_process_pages=0, rules=RULES)
        try:
            return list(await asyncio.gather(*(pool.analyze(_page(u), 100, ()) for u in EXPECTED.relevant)))
        finally:
            assert len(pool.pids()) >= 1  # it really ran in workers
            pool.close()

    results = asyncio.run(run())
    assert results == [analyze(_page(u), RULES, 100, ()) for u in EXPECTED.relevant]
    # The rules reached the workers (set once per worker, not sent with each page).
    assert all(r is not None and r.article.matches for r in results)


def test_a_killed_worker_loses_no_page() -> None:
    url = EXPECTED.relevant[1]
    # A page big enough that its extraction is still running when the worker is killed.
    body = SITE.pages[url.removeprefix(BASE)].body.decode()
    filler = "".join(f"<div class='row'><p>cell {i} of a very long table of figures</p></div>" for i in range(3_000))
    huge = body.replace("</footer>", f"</footer>{filler}")

    async def run() -> tuple[object, int]:
        pool = AnalysisPool(workers=1, in_process_pages=0)
        try:
            task = asyncio.ensure_future(pool.analyze(_page(url, huge), 100, ()))
            deadline = time.monotonic() + 30
            while not pool.pids() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # let the worker pick the task up
            for pid in pool.pids():
                os.kill(pid, signal.SIGKILL)
            return await task, pool.restarts
        finally:
            pool.close()

    result, restarts = asyncio.run(run())
    assert restarts == 1
    assert result is not None and result.article.title == analyze(_page(url), (), 100, ()).article.title


_POOL_OWNER = """
import sys
from crawler.workers import AnalysisPool
pool = AnalysisPool(workers=2)
pool.expect(100)  # started from a short-lived thread, as a crawl starts it
pool._warming.join()
print(" ".join(map(str, pool.pids())), flush=True)
sys.stdin.read()  # until killed
"""


def _descendants(pid: int) -> set[int]:
    out, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in os.listdir(f"/proc/{parent}/task"):
            try:
                with open(f"/proc/{parent}/task/{task}/children", encoding="ascii") as f:
                    kids = {int(k) for k in f.read().split()}
            except FileNotFoundError:
                continue
            todo += kids - out
            out |= kids
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_a_crawl_process_killed_with_sigkill_leaves_no_pool_process_behind() -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT, poll

    owner = subprocess.Popen([sys.executable, "-c", _POOL_OWNER], cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        workers = {int(p) for p in owner.stdout.readline().split()}
        assert len(workers) == 2
        pool = _descendants(owner.pid)  # the fork server, its workers, the resource tracker
        assert workers < pool
    finally:
        owner.kill()
        owner.wait()
        # Not communicate(): an orphan holding the pipe (the bug this test is for) would block it.
        for pipe in (owner.stdin, owner.stdout):
            if pipe is not None:
                pipe.close()
    left = poll(lambda: not any(_alive(p) for p in pool) or None, timeout=15, what="the pool's processes to exit")
    assert left


# A crawl child names itself the fork server's parent (crawler.workers._context), starts a process
# that imports crawler.pool_guard a moment later, as a fork server's preload does, and exits at once.
_OWNER_GONE_FIRST = """
import subprocess, sys
from crawler.workers import _context
_context()
late = "import time; time.sleep(0.5); import crawler.pool_guard; time.sleep(60)"
quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
print(subprocess.Popen([sys.executable, "-c", late], **quiet).pid, flush=True)
"""


def test_a_fork_server_whose_crawl_child_died_before_its_watch_started_exits_too() -> None:
    # The watch took the orphan's new parent for its own and never fired: a fork server and its
    # resource tracker outlived a killed daemon in bench/kill_soak.py.
    import subprocess
    import sys

    from tests.conftest import ROOT, poll

    owner = subprocess.run([sys.executable, "-c", _OWNER_GONE_FIRST], cwd=ROOT, capture_output=True, text=True,
                           check=True, timeout=60)
    late = int(owner.stdout.split()[0])
    try:
        assert poll(lambda: not _alive(late) or None, timeout=15, what="the orphaned fork server to exit")
    finally:
        if _alive(late):
            os.kill(late, signal.SIGKILL)
