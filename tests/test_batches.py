"""One crawl child for a batch of sources: each keeps its own lease, run and outcome, so one source
that is busy elsewhere, dead or slow neither holds up the others nor takes them down."""

from __future__ import annotations

from pathlib import Path

from sample_site import SiteServer
from scheduler.jobs import SKIPPED, Launcher
from store.db import open_db
from store.records import Outcome
from store.repository import Repository
from tests.conftest import write_seeds
from tests.sites import serve_stories


def test_one_child_crawls_a_batch_and_answers_for_each_source(tmp_path: Path) -> None:
    with SiteServer() as a, SiteServer() as b:
        serve_stories(a, 3)
        serve_stories(b, 2, path="/news/2024-09/{day:02d}/other-{n}.html", offset=40)
        seeds = write_seeds(tmp_path / "seeds",
                            {"name": "a", "feeds": [a.url + "/rss.xml"]}, {"name": "b", "feeds": [b.url + "/rss.xml"]},
                            {"name": "dead", "feeds": ["http://127.0.0.1:9/rss.xml"]},
                            {"name": "busy", "feeds": [a.url + "/rss.xml"]},
                            text="[settings]\ndownload_delay = 0\nretry_times = 0\n")
        db = f"sqlite:///{tmp_path / 'n.db'}"
        repo = Repository(open_db(db))
        try:
            assert repo.leases.acquire("busy", "elsewhere:1", 120)
            results = Launcher(repo, db, time_limit=120).run_batch(seeds, ["a", "b", "dead", "busy"])
            by_source = {r.source: r for r in results}
            assert [r.source for r in results] == ["a", "b", "dead", "busy"]
            # One process for all four.
            assert len({r.returncode for r in results}) == 1 and results[0].returncode == 0
            assert (by_source["a"].outcome, by_source["a"].summary["new"]) == (Outcome.OK, 3)
            assert (by_source["b"].outcome, by_source["b"].summary["new"]) == (Outcome.OK, 2)
            # The dead source ran and recorded its failure; it stopped nobody else.
            assert by_source["dead"].outcome == Outcome.OK and by_source["dead"].summary["errors"] >= 1
            assert (by_source["busy"].outcome, by_source["busy"].reason) == (SKIPPED, "being crawled by elsewhere:1")
            runs = repo.runs.recent(limit=10)
            assert sorted(r.source for r in runs) == ["a", "b", "dead"]
            assert len({r.holder for r in runs}) == 1
            # Every lease the child took is released; the other process's is untouched.
            assert {s: lease.holder for s, lease in repo.leases.all().items()} == {"busy": "elsewhere:1"}
        finally:
            repo.close()
