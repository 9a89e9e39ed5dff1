"""Alerts through Apprise to a real webhook receiver on 127.0.0.1: once per story across crawls and a
daemon restart, a failing target retried, digests grouping stories, a test message, secrets never shown."""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sample_site import SiteServer
from tests.conftest import cli_json, crawl, poll, run_cli, write_seeds
from tests.sites import serve_feed, story
from tests.test_daemon import Daemon


class Receiver:
    """A webhook endpoint (what Apprise's json:// posts to) that records each message, and answers
    500 to the next `fail_next` requests."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.requests = 0
        self.fail_next = 0
        self.auth: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver._lock:
                    receiver.requests += 1
                    receiver.auth.append(self.headers.get("Authorization", ""))
                    failing = receiver.fail_next > 0
                    receiver.fail_next -= int(failing)
                    if not failing:
                        receiver.messages.append({**body, "path": self.path})
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook", auth: str = "") -> str:
        return f"json://{auth}127.0.0.1:{self.server.server_port}{path}"

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def site() -> Iterator[SiteServer]:
    with SiteServer() as server:
        yield server


def publish(server: SiteServer, paths: list[str], n: int, path: str | None = None) -> str:
    """Serve story n (at `path`, or its own path) and list it in the feed; return its URL."""
    paths.append(path or f"/news/2024-10/{1 + n % 28:02d}/green-steel-story-{n}.html")
    server.set_page(paths[-1], story(n, title="Story {n}: steel mills go green", stride=5))
    serve_feed(server, "/rss.xml", paths)
    return server.url + paths[-1]


def alert_seeds(folder: Path, site: SiteServer, alerts: str, every: str = "1s") -> Path:
    seeds = write_seeds(folder, {"name": "site", "feeds": [site.url + "/rss.xml"], "every": every})
    (seeds / "alerts.toml").write_text(alerts, encoding="utf-8")
    return seeds


def links(messages: list[dict[str, Any]]) -> Counter[str]:
    """How often each story URL was the link of a message (the line after 'Matched: ...')."""
    out: Counter[str] = Counter()
    for m in messages:
        lines = m["message"].splitlines()
        out.update(lines[i + 1] for i, line in enumerate(lines) if line.startswith("Matched: "))
    return out


def test_each_story_reaches_a_webhook_once_across_two_crawls_and_a_restart(tmp_path: Path, site: SiteServer,
                                                                           receiver: Receiver) -> None:
    paths: list[str] = []
    first = [publish(site, paths, n) for n in (1, 2)]
    seeds = alert_seeds(tmp_path / "seeds", site, f'[[alert]]\nname = "hook"\nurls = ["{receiver.url()}"]\n'
                                                  'retry = "1s"\n')
    db = f"sqlite:///{tmp_path / 'newsmon.db'}"
    receiver.fail_next = 1  # the first send fails: it must be tried again, and sent once
    daemon = Daemon(db, seeds, tmp_path / "daemon.log", "--alerts-every", "0.2")
    try:
        poll(lambda: len(receiver.received()) >= 2, timeout=90, what="both stories' messages")
        assert "sending to json://127.0.0.1" in daemon.text() and "failed (1 in a row" in daemon.text()
        # Second crawl: one new story, and a copy of story 1 at another URL (a story, not a new one).
        third = publish(site, paths, 3)
        copy = publish(site, paths, 1, path="/news/2024-10/09/copy-of-story-1.html")
        poll(lambda: len(receiver.received()) >= 3, timeout=90, what="the third story's message")
        poll(lambda: daemon.text().count("crawl end: site outcome=ok") >= 2, timeout=60, what="the second crawl")
    finally:
        assert daemon.stop() == 0, daemon.text()
    # Restart: the daemon crawls again at once and runs its delivery passes; nothing is sent twice.
    log = tmp_path / "daemon2.log"
    again = Daemon(db, seeds, log, "--alerts-every", "0.2")
    try:
        poll(lambda: "crawl end: site" in again.text(), timeout=60, what="the crawl after the restart")
    finally:
        assert again.stop() == 0, again.text()
    assert receiver.requests == 4  # three stories, one retried send
    assert links(receiver.received()) == Counter({first[0]: 1, first[1]: 1, third: 1})
    assert copy not in links(receiver.received())
    (state,) = cli_json(db, "alerts", "list", seeds=seeds)
    assert (state["sent"], state["waiting"], state["failures"], state["last_error"]) == (3, 0, 0, None)
    # The copy found after story 1 was sent is named in no message; a message names the copies known then.
    assert all(f"Also at: {copy}" not in m["message"] for m in receiver.received())


def test_a_digest_groups_the_stories_and_sends_them_once(tmp_path: Path, db_url: str, site: SiteServer,
                                                         receiver: Receiver) -> None:
    paths: list[str] = []
    urls = [publish(site, paths, n) for n in (1, 2, 3)]
    seeds = alert_seeds(tmp_path / "seeds", site, f'[[alert]]\nname = "daily"\nurls = ["{receiver.url("/d")}"]\n'
                                                  'mode = "digest"\nevery = "1d"\n')
    run = crawl(db_url, seeds)
    assert run["matched"] == 3
    assert cli_json(db_url, "alerts", "send", seeds=seeds) == [{"queued": 3, "sent": 0, "failed": 0, "dropped": 0}]
    assert receiver.received() == []  # the digest is due in a day
    assert cli_json(db_url, "alerts", "send", "--digest-now", seeds=seeds)[0]["sent"] == 3
    (digest,) = receiver.received()
    assert digest["title"] == "newsmon daily: 3 new stories"
    assert links([digest]) == Counter() and all(digest["message"].count(url) == 1 for url in urls)
    assert cli_json(db_url, "alerts", "send", "--digest-now", seeds=seeds)[0]["sent"] == 0
    assert len(receiver.received()) == 1
    (state,) = cli_json(db_url, "alerts", "list", seeds=seeds)
    assert state["mode"] == "digest every 1d" and state["sent"] == 3 and state["next_digest"] is not None


def test_alerts_test_sends_a_sample_and_says_when_a_target_fails(tmp_path: Path, site: SiteServer,
                                                                 receiver: Receiver) -> None:
    seeds = alert_seeds(tmp_path / "seeds", site, f'[[alert]]\nname = "hook"\nurls = ["{receiver.url()}"]\n')
    db = f"sqlite:///{tmp_path / 'newsmon.db'}"
    (row,) = cli_json(db, "alerts", "test", "hook", seeds=seeds)
    assert row["ok"] is True
    (sample,) = receiver.received()
    assert sample["title"].startswith("[newsmon test] ")
    receiver.fail_next = 1
    proc = run_cli("--db", db, "--seeds", str(seeds), "alerts", "test", "hook", "--format", "json")
    assert proc.returncode == 1
    assert "error=500" in json.loads(proc.stdout)[0]["error"]
    proc = run_cli("--db", db, "--seeds", str(seeds), "alerts", "test", "nope")
    assert proc.returncode == 2 and proc.stderr.startswith("Error: no alert named 'nope'")
    # A test changes no delivery state.
    assert cli_json(db, "alerts", "list", seeds=seeds)[0]["sent"] == 0


SECRETS = ("s3cr3tpw", "t0k3n98765")


def test_alert_urls_secrets_are_never_printed_logged_or_stored(tmp_path: Path, site: SiteServer,
                                                              receiver: Receiver) -> None:
    paths: list[str] = []
    publish(site, paths, 1)
    url = receiver.url(f"/hooks/{SECRETS[1]}", auth=f"user:{SECRETS[0]}@")
    seeds = alert_seeds(tmp_path / "seeds", site, '[[alert]]\nname = "hook"\nurls = ["${HOOK_URL}"]\n')
    db = f"sqlite:///{tmp_path / 'newsmon.db'}"
    env = {"HOOK_URL": url}
    log = tmp_path / "newsmon.log"
    outputs = []

    def newsmon(*args: str, code: int = 0) -> None:
        proc = run_cli("--db", db, "--seeds", str(seeds), "--log-level", "debug", "--log-file", str(log), *args,
                       env=env)
        assert proc.returncode == code, proc.stderr
        outputs.extend([proc.stdout, proc.stderr])

    newsmon("crawl", "now")
    receiver.fail_next = 3
    newsmon("alerts", "send")  # fails: the error is recorded
    newsmon("alerts", "test", "hook", code=1)
    newsmon("alerts", "test", "hook", "--format", "json", code=1)
    for args in (("alerts",), ("alerts", "list", "--format", "json"), ("status",), ("sources",)):
        newsmon(*args)
    assert any("json://user:****@127.0.0.1" in out for out in outputs)
    assert any("error=500" in out for out in outputs)
    newsmon("alerts", "send", "--retry-given-up")
    newsmon("alerts", "test", "hook")
    assert receiver.auth[-1] == "Basic " + base64.b64encode(f"user:{SECRETS[0]}".encode()).decode()
    stored = "\n".join(sqlite3.connect(tmp_path / "newsmon.db").iterdump())
    for secret in SECRETS:
        for where, text in [*(("output", o) for o in outputs), ("log file", log.read_text()), ("database", stored)]:
            assert secret not in text, f"{secret} in the {where}"


@pytest.mark.parametrize(("alerts", "message"), [
    ('[[alert]]\nname = "a"\nurls = ["nosuch://{secret}@host"]\n', "alert 'a': urls[0]: Apprise knows no service "
                                                                    "for nosuch://"),
    ('[[alert]]\nname = "a"\nurls = ["json://{secret}@host"]\nrules = ["nope"]\n', "alert 'a': rules: no rule named "
                                                                                   "'nope'"),
    ('[[alert]]\nname = "a"\nurls = ["json://{secret}@host"]\nmode = "often"\n', "alert 'a': mode must be"),
    ('[[alert]]\nname = "a"\nurls = ["json://{secret}@host"]\nmode = "digest"\n', "alert 'a': a digest needs every"),
    ('[[alert]]\nname = "a"\nurls = ["json://{secret}@host"]\nevery = "1h"\n', "alert 'a': every/cron are for mode"),
    ('[[alert]]\nname = "a"\nurls = ["json://{secret}@host/${{UNSET_VAR_X}}"]\n', "alert 'a': urls[0] uses "
                                                                                 "${UNSET_VAR_X}, which is not set"),
    ('[[alert]]\nname = "a"\nurls = ["json://{secret}@host"]\nchannel = "x"\n', "alert 'a': unknown key 'channel'"),
    ('[[alert]]\nname = "a"\nurls = []\n', "alert 'a': urls must name at least one"),
    ('[[alert]]\nname = "a"\nurls = ["json://{secret}@host"]\nmode = "digest"\ncron = "99 * * * *"\n',
     "alert 'a': cron '99 * * * *'"),
])
def test_an_alerts_mistake_is_one_line_naming_file_and_alert_and_no_secret(tmp_path: Path, alerts: str,
                                                                          message: str) -> None:
    seeds = write_seeds(tmp_path / "seeds", {"name": "s", "feeds": ["http://127.0.0.1:9/rss.xml"]})
    (seeds / "alerts.toml").write_text(alerts.format(secret="pw" + SECRETS[0]), encoding="utf-8")
    for args in (("alerts",), ("crawl", "now"), ("status",), ("alerts", "send"), ("sources",)):
        proc = run_cli("--db", f"sqlite:///{tmp_path / 'n.db'}", "--seeds", str(seeds), *args)
        assert proc.returncode == 2, proc.stderr
        (line,) = proc.stderr.splitlines()
        assert line.startswith(f"Error: {seeds / 'alerts.toml'}: {message}"), line
        assert SECRETS[0] not in line


def test_a_failed_send_waits_its_retry_then_succeeds(tmp_path: Path, site: SiteServer, receiver: Receiver) -> None:
    paths: list[str] = []
    url = publish(site, paths, 1)
    seeds = alert_seeds(tmp_path / "seeds", site, f'[[alert]]\nname = "hook"\nurls = ["{receiver.url()}"]\n'
                                                  'retry = "6s"\n')
    db = f"sqlite:///{tmp_path / 'newsmon.db'}"
    crawl(db, seeds)
    receiver.fail_next = 1
    assert cli_json(db, "alerts", "send", seeds=seeds)[0] == {"queued": 1, "sent": 0, "failed": 1, "dropped": 0}
    (state,) = cli_json(db, "alerts", "list", seeds=seeds)
    assert (state["waiting"], state["failures"], state["retry_at"] is not None) == (1, 1, True)
    # Within its wait the target is left alone, however often a pass runs.
    assert cli_json(db, "alerts", "send", seeds=seeds)[0]["sent"] == 0 and receiver.requests == 1
    poll(lambda: cli_json(db, "alerts", "send", seeds=seeds)[0]["sent"] == 1, timeout=30, what="the retry")
    assert links(receiver.received()) == Counter({url: 1}) and receiver.requests == 2
