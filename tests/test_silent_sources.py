"""A source that stops yielding is flagged in `status` and told to the alert targets, once per silence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sample_site import SiteServer
from tests.conftest import cli_json, crawl, http_get, poll, run_cli, serving
from tests.sites import serve_feed
from tests.test_alerts import Receiver, alert_seeds, publish


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def status_of(db: str, seeds: Path) -> tuple[dict[str, Any], str]:
    proc = run_cli("--db", db, "--seeds", str(seeds), "status", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)
    return row, proc.stderr


def test_a_source_that_stops_yielding_is_flagged_and_alerted_once(tmp_path: Path, receiver: Receiver) -> None:
    with SiteServer() as site:
        paths: list[str] = []
        publish(site, paths, 1)
        seeds = alert_seeds(tmp_path / "seeds", site, f'[[alert]]\nname = "hook"\nurls = ["{receiver.url()}"]\n'
                                                      'rules = ["green-manufacturing"]\n')
        text = (seeds / "sources.toml").read_text(encoding="utf-8")
        (seeds / "sources.toml").write_text(text.replace('every = "1s"', 'every = "1s"\nsilent_after = "2s"'),
                                            encoding="utf-8")
        db = f"sqlite:///{tmp_path / 'newsmon.db'}"
        assert crawl(db, seeds)["new"] == 1
        row, _ = status_of(db, seeds)
        assert row["last_new"] is not None and row["silent"] is False
        assert cli_json(db, "alerts", "send", seeds=seeds)[0]["sent"] == 1  # the story
        # The feed goes empty: crawls go on, nothing new comes.
        serve_feed(site, "/rss.xml", [])
        assert crawl(db, seeds)["new"] == 0
        row, stderr = poll(lambda: (r := status_of(db, seeds))[0]["silent"] and r, timeout=30, what="silent")
        assert "source site is silent: crawled, but no new article since" in stderr
        # The web app's source health says so too, as the same row.
        with serving(SimpleNamespace(db=db, seeds=seeds), tmp_path / "serve.log") as served:  # type: ignore[arg-type]
            status, _, body = http_get(served.url + "sources.json")
            assert status == 200 and json.loads(body)[0]["silent"] is True
            assert b"silent: nothing new since" in http_get(served.url + "sources")[2]
        assert cli_json(db, "alerts", "send", seeds=seeds)[0]["sent"] == 1
        _story, notice = receiver.received()
        assert notice["title"] == "newsmon: source site has gone silent"
        assert "newsmon runs --source site --errors" in notice["message"]
        # Once per silence: more passes and more empty crawls tell nobody again.
        assert crawl(db, seeds)["new"] == 0
        assert cli_json(db, "alerts", "send", seeds=seeds)[0]["sent"] == 0
        assert len(receiver.received()) == 2
        # It yields again: no longer silent, and its story goes out as usual.
        publish(site, paths, 2)
        assert crawl(db, seeds)["new"] == 1
        row, stderr = status_of(db, seeds)
        assert row["silent"] is False and "is silent" not in stderr
        assert cli_json(db, "alerts", "send", seeds=seeds)[0]["sent"] == 1


def test_a_source_never_crawled_since_it_yielded_is_not_silent(tmp_path: Path) -> None:
    # Only crawls that find nothing make a source silent; a daemon that is down is `last_run`'s to show.
    with SiteServer() as site:
        publish(site, [], 1)
        seeds = alert_seeds(tmp_path / "seeds", site, "")
        (seeds / "sources.toml").write_text((seeds / "sources.toml").read_text(encoding="utf-8").replace(
            'every = "1s"', 'every = "1s"\nsilent_after = "1s"'), encoding="utf-8")
        db = f"sqlite:///{tmp_path / 'newsmon.db'}"
        assert crawl(db, seeds)["new"] == 1
        row, _ = status_of(db, seeds)
        last_new = datetime.fromisoformat(row["last_new"])
        poll(lambda: datetime.now(UTC) - last_new > timedelta(seconds=1.5), what="silent_after to pass")
        row, stderr = status_of(db, seeds)
        assert row["silent"] is False and "is silent" not in stderr
