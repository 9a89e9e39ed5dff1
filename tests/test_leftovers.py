"""Temporary files of killed newsmon processes are removed by the next to start; a running
process's never are (scheduler/leftovers.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scheduler.leftovers import sweep, temp_prefix
from tests.conftest import FAST_CRAWL_ENV, ROOT, poll, write_seeds


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_what_dead_processes_left_is_removed_and_a_running_ones_is_kept(tmp_path: Path) -> None:
    dead = _dead_pid()
    (tmp_path / f"newsmon-seeds-{dead}-ab12cd34").mkdir()
    (tmp_path / f"newsmon-seeds-{dead}-ab12cd34" / "sources.toml").write_text("", encoding="utf-8")
    (tmp_path / f"newsmon-child-{dead}-x1y2z3w4.json").write_text("{}", encoding="utf-8")
    (tmp_path / f"newsmon-child-{dead}-x1y2z3w4.json.partial").write_text("{", encoding="utf-8")
    (tmp_path / f"newsmon-job-{dead}-q9w8e7r6").mkdir()
    alive = [f"newsmon-seeds-{os.getppid()}-aaaa1111", temp_prefix("child") + "bbbb2222.json",
             "newsmon-seeds-abc12345", "newsmon-demo-xyz", "other-123-file"]
    for name in alive:
        (tmp_path / name).write_text("", encoding="utf-8")
    assert sweep(tmp_path) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(alive)
    assert sweep(tmp_path) == 0


def test_a_dead_pid_of_another_pid_namespace_keeps_its_files(tmp_path: Path) -> None:
    # Two containers sharing the temporary folder: the other's pid is dead here, not there.
    dead = _dead_pid()
    own = temp_prefix("job").split("-")[3]
    assert own.startswith("ns"), temp_prefix("job")
    other = f"newsmon-job-{dead}-ns{int(own[2:]) + 1}-q9w8e7r6"
    (tmp_path / other).mkdir()
    (tmp_path / f"newsmon-job-{dead}-{own}-a1s2d3f4").mkdir()
    assert sweep(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == [other]


def test_a_starting_daemon_removes_a_killed_ones_leftovers_and_names_its_own(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    dead = _dead_pid()
    (temp / f"newsmon-seeds-{dead}-ab12cd34").mkdir()
    seeds = write_seeds(tmp_path / "seeds", {"name": "s", "feeds": ["http://127.0.0.1:9/rss.xml"]})
    log = tmp_path / "daemon.err"
    with log.open("wb") as err:
        daemon = subprocess.Popen([sys.executable, "-m", "scheduler", "--db", f"sqlite:///{tmp_path / 'n.db'}",
                                   "--seeds", str(seeds), "daemon"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err,
                                  env={**os.environ, **FAST_CRAWL_ENV, "TMPDIR": str(temp)})
    try:
        poll(lambda: "newsmon daemon running" in log.read_text(errors="replace") or daemon.poll() is not None,
             timeout=60, what="the daemon to start")
        assert daemon.poll() is None, log.read_text(errors="replace")
        names = [p.name for p in temp.iterdir()]
        assert f"newsmon-seeds-{dead}-ab12cd34" not in names
        assert any(n.startswith(f"newsmon-seeds-{daemon.pid}-") for n in names), names
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
