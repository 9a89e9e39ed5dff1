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
