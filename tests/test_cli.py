"""The command line as a user meets it: help, errors and exit codes, the demo."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_cli, write_seeds


def test_demo_finds_the_relevant_sample_articles(tmp_path: Path) -> None:
    proc = run_cli("demo", "--dir", str(tmp_path / "demo"), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    articles = json.loads(proc.stdout)
    titles = {a["title"] for a in articles}
    assert "Chinese traditional industries embrace high-tech evolution, green transformation" in titles
    assert len(articles) == 5 and all(a["rules"] for a in articles)
    assert not any("Carney" in a["text"] for a in articles)
    assert (tmp_path / "demo" / "newsmon.db").exists()
    # It ends by saying how to read the results in a browser.
    db = f"sqlite:///{(tmp_path / 'demo' / 'newsmon.db').resolve()}"
    seeds = (tmp_path / "demo" / "seeds").resolve()
    assert f"newsmon --db {db} --seeds {seeds} serve\nthen open http://127.0.0.1:8765/" in proc.stderr


@pytest.mark.parametrize("command", [[], ["crawl"], ["crawl", "now"], ["query"], ["runs"], ["sources"],
                                     ["demo"], ["daemon"], ["status"]])
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    proc = run_cli(*command, "--help")
    assert proc.returncode == 0
    assert "Example:" in proc.stdout


def test_bad_seeds_is_one_error_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "sources.toml").write_text('[[source]]\nname = "x"\nfeeds = ["not-a-url"]\n')
    (tmp_path / "rules.toml").write_text('[[rule]]\nname = "r"\nquery = "green"\n')
    proc = run_cli("--db", f"sqlite:///{tmp_path / 'n.db'}", "--seeds", str(tmp_path), "crawl", "now")
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line == f"Error: {tmp_path / 'sources.toml'}: source 'x': feeds[1] 'not-a-url' is not an http(s) URL"
    assert not (tmp_path / "n.db").exists()


@pytest.mark.parametrize("command", [["sources"], ["crawl", "now"], ["daemon"]])
@pytest.mark.parametrize(("key", "value", "says"), [
    ("every", "soon", "every: 'soon' is not a duration like 30m, 2h, 1h30m or 1d"),
    ("cron", "61 * * * *", "cron '61 * * * *': "),
])
def test_a_bad_schedule_is_one_error_line_naming_file_source_and_key(
        tmp_path: Path, command: list[str], key: str, value: str, says: str) -> None:
    seeds = write_seeds(tmp_path / "seeds", {"name": "x", "feeds": ["https://a.example/rss"], key: value})
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = run_cli("--db", f"sqlite:///{tmp_path / 'n.db'}", "--seeds", str(seeds), *command,
                   env={"TMPDIR": str(scratch)})
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"Error: {seeds / 'sources.toml'}: source 'x': {says}")
    assert list(scratch.iterdir()) == []  # the daemon left no seeds snapshot behind


def test_unknown_source_is_a_usage_error() -> None:
    proc = run_cli("--db", "sqlite:///:memory:", "crawl", "now", "--source", "nope")
    assert proc.returncode == 2
    assert proc.stderr.startswith("Error: unknown source 'nope' (known: ")


def test_unreachable_database_exits_1_without_the_password() -> None:
    proc = run_cli("--db", "postgresql://newsmon:hunter2@127.0.0.1:1/x?connect_timeout=2", "query")
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("Error: cannot open database postgresql+psycopg://newsmon:***@127.0.0.1:1/x")
    assert "hunter2" not in proc.stderr + proc.stdout


def test_bad_since_and_bad_format_are_usage_errors(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'n.db'}"
    since = run_cli("--db", db, "query", "--since", "yesterday-ish")
    assert since.returncode == 2 and "--since" in since.stderr
    fmt = run_cli("--db", db, "query", "--format", "xml")
    assert fmt.returncode == 2 and "xml" in fmt.stderr


def test_sources_lists_the_default_seeds() -> None:
    proc = run_cli("sources", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    names = {s["name"] for s in json.loads(proc.stdout)}
    assert {"china-daily-business", "xinhua-english"} <= names


def test_query_without_a_database_creates_none(tmp_path: Path) -> None:
    proc = run_cli("--db", f"sqlite:///{tmp_path / 'n.db'}", "query", "--new", "--format", "json")
    assert proc.returncode == 1 and proc.stderr.startswith(f"Error: no newsmon database at {tmp_path / 'n.db'}")
    assert not (tmp_path / "n.db").exists()


def test_log_file_may_not_go_into_the_seeds_folder(tmp_path: Path) -> None:
    proc = run_cli("--seeds", str(tmp_path), "--log-file", str(tmp_path / "newsmon.log"), "sources")
    assert proc.returncode == 2 and "must not be written into the seeds folder" in proc.stderr
    assert not (tmp_path / "newsmon.log").exists()


def test_version() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("newsmon, version ")


def test_a_password_in_the_db_url_never_shows(tmp_path: Path, pg_schema_url: str) -> None:
    base = pg_schema_url
    if "@" not in base:
        pytest.skip("needs a host-based PostgreSQL URL")
    scheme, rest = base.split("://", 1)
    user_host = rest.split("@", 1)
    with_password = f"{scheme}://{user_host[0].split(':')[0]}:Sup3rS3cret@{user_host[1]}"
    (tmp_path / "sources.toml").write_text('[[source]]\nname = "s"\nfeeds = ["http://127.0.0.1:9/rss.xml"]\n')
    (tmp_path / "rules.toml").write_text('[[rule]]\nname = "r"\nquery = "green"\n')
    outputs = []
    for args in (("crawl", "now"), ("status",), ("runs", "--errors"), ("query", "--all")):
        proc = run_cli("--db", with_password, "--seeds", str(tmp_path), "--log-level", "debug", *args,
                       env={"NEWSMON_RETRY_TIMES": "0"})
        outputs.append(proc.stdout + proc.stderr)
        assert proc.returncode in (0, 1), proc.stderr
    bad = run_cli("--db", re.sub(r"@([^/:@]+)(:\d+)?/", r"@\1:1/", with_password), "query")  # nothing listens
    outputs.append(bad.stdout + bad.stderr)
    assert bad.returncode == 1
    assert all("Sup3rS3cret" not in out for out in outputs)
