"""A crawl child that serves batch after batch (scheduler/child_serve.py): one process, one start-up,
for many batches, each answered and settled as a fresh child's would be; its lifetime ends where
--child-batches says, an idle or dead one is replaced, and nothing of it outlives the launcher."""

from __future__ import annotations

import os
import signal
import socket
import threading
from pathlib import Path

import pytest

from sample_site import Page, SiteServer
from scheduler.jobs import Launcher
from store.db import open_db
from store.records import ArticleFilter, Outcome
from store.repository import Repository
from tests.conftest import poll, write_seeds
from tests.sites import serve_stories

pytestmark = pytest.mark.e2e
FAST = "[settings]\ndownload_delay = 0\nretry_times = 0\n"


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie is gone too: only its parent's wait() is left.
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "Z"


def _holders(repo: Repository) -> list[str]:
    return [r.holder or "" for r in sorted(repo.runs.recent(limit=50), key=lambda r: r.id)]


def test_one_child_serves_batches_until_its_lifetime_then_a_fresh_one_takes_over(tmp_path: Path) -> None:
    names = ["a", "b", "c", "d"]
    with SiteServer() as site:
        for i, n in enumerate(names):
            serve_stories(site, 1, path=f"/{n}/2024-09/{{day:02d}}/story-{{n}}.html", feed=f"/{n}.xml", offset=9 * i)
        seeds = write_seeds(tmp_path / "seeds", *({"name": n, "feeds": [f"{site.url}/{n}.xml"]} for n in names),
                            text=FAST)
        db = f"sqlite:///{tmp_path / 'n.db'}"
        repo = Repository(open_db(db))
        launcher = Launcher(repo, db, time_limit=60, child_batches=3)
        try:
            results = [launcher.run_batch(seeds, [n]) for n in names]
            assert [(r[0].outcome, r[0].summary["new"]) for r in results] == [(Outcome.OK, 1)] * 4
            holders = _holders(repo)
            # Three batches in the first child, the fourth in a fresh one; the first has exited.
            assert holders[0] == holders[1] == holders[2] != holders[3]
            first = int(holders[0].rsplit(":", 1)[1])
            poll(lambda: _gone(first), timeout=30, what="the first child's exit after its third batch")
            assert len(repo.articles.query(ArticleFilter(include_all=True))) == 4
            assert repo.leases.all() == {}
        finally:
            launcher.stop_all()
            repo.close()
    last = int(holders[3].rsplit(":", 1)[1])
    assert _gone(last), "stop_all left an idle child running"


def test_a_served_child_picks_up_edited_seeds_and_a_dead_idle_child_is_replaced(tmp_path: Path) -> None:
    with SiteServer() as site:
        serve_stories(site, 1, path="/a/2024-09/{day:02d}/story-{n}.html", feed="/a.xml")
        serve_stories(site, 1, path="/b/2024-09/{day:02d}/story-{n}.html", feed="/b.xml", offset=20)
        seeds = write_seeds(tmp_path / "seeds", {"name": "a", "feeds": [f"{site.url}/a.xml"]}, text=FAST)
        db = f"sqlite:///{tmp_path / 'n.db'}"
        repo = Repository(open_db(db))
        launcher = Launcher(repo, db, time_limit=60, child_batches=10)
        try:
            assert launcher.run_batch(seeds, ["a"])[0].outcome == Outcome.OK
            # The seeds change under the living child: its next batch reads them again.
            write_seeds(seeds, {"name": "a", "feeds": [f"{site.url}/a.xml"]},
                        {"name": "b", "feeds": [f"{site.url}/b.xml"]}, text=FAST)
            assert launcher.run_batch(seeds, ["b"])[0].summary["new"] == 1
            first = int(_holders(repo)[-1].rsplit(":", 1)[1])
            assert _holders(repo) == [f"{_holders(repo)[0]}"] * 2  # the same child served both
            os.kill(first, signal.SIGKILL)  # dies while idle (out of memory, an operator)
            # At once: the dying child may still take the write, but never says it took the batch.
            again = launcher.run_batch(seeds, ["a", "b"])
            assert [r.outcome for r in again] == [Outcome.OK, Outcome.OK]
            assert _holders(repo)[-1] != _holders(repo)[0]
        finally:
            launcher.stop_all()
            repo.close()


def test_a_child_killed_mid_batch_closes_its_open_runs_as_killed_and_its_finished_runs_stand(tmp_path: Path) -> None:
    with SiteServer() as site:
        serve_stories(site, 1, path="/a/2024-09/{day:02d}/story-{n}.html", feed="/a.xml")
        serve_stories(site, 1, path="/b/2024-09/{day:02d}/story-{n}.html", feed="/b.xml", offset=5)
        site.set_page("/hang.xml", Page(b"<rss/>", delay=60))
        seeds = write_seeds(tmp_path / "seeds", {"name": "a", "feeds": [f"{site.url}/a.xml"]},
                            {"name": "b", "feeds": [f"{site.url}/b.xml"]},
                            {"name": "hang", "feeds": [f"{site.url}/hang.xml"]},
                            text=FAST + "download_timeout = 50\n")
        db = f"sqlite:///{tmp_path / 'n.db'}"
        repo = Repository(open_db(db))
        launcher = Launcher(repo, db, time_limit=60, child_batches=10)
        try:
            assert launcher.run_batch(seeds, ["a"])[0].outcome == Outcome.OK

            def kill_when_hanging() -> None:
                def ready() -> bool:
                    runs = {r.source: r for r in repo.runs.recent(limit=5)}
                    return "hang" in runs and not runs["hang"].finished and "b" in runs and bool(runs["b"].finished)

                poll(ready, timeout=30, what="b's finished run and the hanging source's open one")
                os.kill(launcher.running()[0], signal.SIGKILL)

            killer = threading.Thread(target=kill_when_hanging)
            killer.start()
            results = {r.source: r for r in launcher.run_batch(seeds, ["b", "hang"])}
            killer.join()
            # Killed from outside (the OOM killer, kill -9): the open run was killed, not failed, and
            # the batch's run that had finished keeps its ok, as the same child's earlier batch does.
            assert results["hang"].outcome == Outcome.KILLED and results["hang"].returncode == -signal.SIGKILL
            assert results["b"].outcome == Outcome.OK
            runs = {r.source: r for r in repo.runs.recent(limit=5)}
            assert runs["hang"].outcome == Outcome.KILLED and runs["hang"].finished is not None
            assert runs["a"].outcome == runs["b"].outcome == Outcome.OK
            assert runs["a"].holder == runs["b"].holder == runs["hang"].holder
            assert repo.leases.all() == {}
        finally:
            launcher.stop_all()
            repo.close()


def test_a_daemon_killed_with_sigkill_leaves_no_crawl_child_running(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import FAST_CRAWL_ENV, ROOT

    with SiteServer() as site:
        site.set_page("/hang.xml", Page(b"<rss/>", delay=60))
        seeds = write_seeds(tmp_path / "seeds", {"name": "hang", "feeds": [f"{site.url}/hang.xml"]},
                            text=FAST + "download_timeout = 50\n")
        db = f"sqlite:///{tmp_path / 'n.db'}"
        daemon = subprocess.Popen([sys.executable, "-m", "scheduler", "--db", db, "--seeds", str(seeds), "daemon",
                                   "--jitter", "0"], cwd=ROOT, env={**os.environ, **FAST_CRAWL_ENV},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        repo = Repository(open_db(db))
        try:
            # Mid-crawl: the child has opened the hanging source's run.
            poll(lambda: any(not r.finished for r in repo.runs.recent(limit=5)), timeout=60,
                 what="the crawl child's open run")
            (holder,) = {r.holder for r in repo.runs.recent(limit=5)}
            child = int(str(holder).rsplit(":", 1)[1])
            assert not _gone(child)
        finally:
            daemon.kill()
            daemon.wait()
            repo.close()
        # Dies with the daemon (the parent-death signal), not at the end of its crawl.
        poll(lambda: _gone(child), timeout=10, what="the crawl child to die with its daemon")


def _children_of(pid: int) -> list[tuple[int, str]]:
    """Return (pid, command line) of `pid`'s child processes."""
    out = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append((int(entry.name), (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()))
        except (OSError, ValueError):
            continue
    return out


def test_a_warm_child_is_started_ahead_and_has_its_analysis_fork_server_before_the_first_batch(tmp_path: Path) -> None:
    with SiteServer() as site:
        serve_stories(site, 14, feed="/burst.xml")  # more than a crawl analyzes before starting its pool
        seeds = write_seeds(tmp_path / "seeds", {"name": "burst", "feeds": [f"{site.url}/burst.xml"]}, text=FAST)
        db = f"sqlite:///{tmp_path / 'n.db'}"
        repo = Repository(open_db(db))
        launcher = Launcher(repo, db, time_limit=60, child_batches=5, warm=True)
        try:
            launcher.prestart()
            (child, _), = poll(lambda: [c for c in _children_of(os.getpid()) if "scheduler.child" in c[1]],
                               timeout=30, what="the child started ahead of the first batch")
            # Its analysis pool's fork server is running before anything asked for an analysis.
            (server, _), = poll(lambda: [c for c in _children_of(child) if "forkserver" in c[1]], timeout=60,
                                what="the warm child's fork server")
            (result,) = launcher.run_batch(seeds, ["burst"])
            assert (result.outcome, result.summary["new"]) == (Outcome.OK, 14)
            # The batch ran in that child, whose pool forked its workers from that same fork server.
            assert [r.holder for r in repo.runs.recent(limit=5)] == [f"{socket.gethostname()}:{child}"]
            assert [pid for pid, command in _children_of(child) if "forkserver" in command] == [server]
        finally:
            launcher.stop_all()
            repo.close()
