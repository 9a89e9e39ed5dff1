"""The first hour of a new user (issue 14): an unreachable crawl, --db mistakes, an 80-column
terminal, empty and unknown answers, a folder without a database, the demo twice, the daemon's
first line, a database the reader may not write, shell completion."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store.records import ArticleFilter, NewArticle
from store.repository import Repository
from tests.conftest import FAST_CRAWL_ENV, ROOT, WebStore, cli_json, poll, run_cli, write_seeds


def _closed_port() -> int:
    with socket.socket() as sock:  # bound, then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("Error: ")
    return line


# -- 1. An unreachable source: one line per failed URL ----------------------------------------------

@pytest.fixture(scope="module")
def dead_seeds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    port = _closed_port()
    urls = [f"http://127.0.0.1:{port}/feed.xml", f"http://127.0.0.1:{port}/other.xml"]
    seeds = write_seeds(tmp_path_factory.mktemp("dead") / "seeds", {"name": "dead-one", "feeds": urls[:1]},
                        {"name": "dead-two", "feeds": urls[1:], "start_urls": [f"http://127.0.0.1:{port}/news/"]})
    return seeds, [*urls, f"http://127.0.0.1:{port}/news/"]


@pytest.mark.parametrize("log_args", [(), ("--log-level", "error"), ("--log-file", "LOG")])
def test_an_unreachable_crawl_prints_one_line_per_failed_url(tmp_path: Path, dead_seeds: tuple[Path, list[str]],
                                                            log_args: tuple[str, ...]) -> None:
    seeds, urls = dead_seeds
    args = tuple(str(tmp_path / "crawl.log") if a == "LOG" else a for a in log_args)
    proc = run_cli("--db", f"sqlite:///{tmp_path / 'n.db'}", "--seeds", str(seeds), *args, "crawl", "now",
                   env={"NEWSMON_RETRY_TIMES": "0"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr and "robots.txt" not in proc.stderr, proc.stderr
    assert len(lines) == len(urls), proc.stderr
    for url in urls:
        assert sum(url in line for line in lines) == 1, (url, proc.stderr)
    assert "dead-one" in proc.stdout and "dead-two" in proc.stdout  # the summary


def test_a_robots_txt_that_cannot_be_fetched_is_one_info_line(tmp_path: Path,
                                                              dead_seeds: tuple[Path, list[str]]) -> None:
    seeds, _urls = dead_seeds
    proc = run_cli("--db", f"sqlite:///{tmp_path / 'n.db'}", "--seeds", str(seeds), "--log-level", "info",
                   "crawl", "now", "--source", "dead-one", env={"NEWSMON_RETRY_TIMES": "0"})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    (line,) = [line for line in proc.stderr.splitlines() if " scrapy.downloadermiddlewares.robotstxt: " in line]
    assert " INFO " in line and "/robots.txt could not be fetched" in line


# -- 2. --db values: one line each, never a traceback, never a guess -------------------------------

SUPPORTED = "newsmon takes sqlite:///PATH or postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"


@pytest.mark.parametrize(("db", "code", "says"), [
    ("newsmon.db", 2, "'newsmon.db' is not a database URL: for a SQLite file, write sqlite:///newsmon.db"),
    ("data/news.db", 2, "write sqlite:///data/news.db"),
    ("", 2, "the database URL is empty"),
    ("   ", 2, "the database URL is empty"),
    ("mysql://u:pw@db.example/news", 2, f"mysql:// databases are not supported: {SUPPORTED}"),
    ("foo://x", 2, f"foo:// databases are not supported: {SUPPORTED}"),
    ("http://example.com/x", 2, "http:// databases are not supported"),
    ("postgresql+psycopg2://u@127.0.0.1/x", 2, "postgresql+psycopg2:// databases are not supported"),
    ("c:news.db", 2, f"'c:news.db' is not a database URL: {SUPPORTED}"),
    ("postgresql://u:pw@127.0.0.1:notaport/x", 2, "is not a database URL"),
    ("postgresql://", 2, "postgresql:// names no host and no database: write postgresql://USER"),
    ("postgresql:///", 2, "names no host and no database"),
    ("postgresql://127.0.0.1", 2, "postgresql://127.0.0.1 names no database"),
    ("postgresql:///newsmon", 2, "names no host"),
    ("sqlite://", 2, "is a database in memory, gone when the command ends"),
    ("sqlite:///", 2, "is a database in memory"),
    ("sqlite:///:memory:", 2, "is a database in memory"),
    ("sqlite:///.", 2, "is a folder; name a file in it, such as sqlite:///newsmon.db"),
    ("sqlite:////no/such/dir/x.db", 1, "cannot open database sqlite:////no/such/dir/x.db: folder /no/such/dir"),
    ("postgresql://u:pw@127.0.0.1:1/x?connect_timeout=2", 1, "cannot open database postgresql+psycopg://u:***@"),
])
def test_every_db_value_is_one_line_and_nothing_is_created(tmp_path: Path, db: str, code: int, says: str) -> None:
    # Every command checks --db the same way (store.db.database_url, before anything connects): a
    # reader here, a writer in the test below.
    proc = run_cli("--db", db, "query", cwd=tmp_path)
    assert proc.returncode == code, proc.stderr
    line = _one_error_line(proc)
    assert says in line, line
    assert "pw" not in line.replace("psycopg", "")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("db", "says"), [("newsmon.db", "write sqlite:///newsmon.db"),
                                         ("postgresql://", "names no host and no database"),
                                         ("mysql://u:pw@db.example/news", "databases are not supported")])
def test_a_crawl_checks_its_db_value_too(tmp_path: Path, db: str, says: str) -> None:
    proc = run_cli("--db", db, "crawl", "now", "--source", "xinhua-english", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    line = _one_error_line(proc)
    assert says in line and "pw" not in line, line
    assert list(tmp_path.iterdir()) == []


def test_postgresql_without_psycopg_says_which_extra_to_install(tmp_path: Path) -> None:
    # psycopg is installed here: the child makes `import psycopg` fail as on a quick-start install.
    block = "import sys; sys.modules['psycopg'] = None; from scheduler.cli import main; main()"
    proc = subprocess.run([sys.executable, "-c", block, "--db", "postgresql://u:pw@127.0.0.1/news", "query"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert _one_error_line(proc) == ("Error: PostgreSQL needs the psycopg driver, which is not installed: "
                                     "pip install 'newsmon[postgres]'")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install 'newsmon[postgres]'" in readme


# -- 3. Articles on an 80-column terminal ------------------------------------------------------------

def _check_80(out: str, urls: list[str], width: int = 80) -> None:
    """Every URL whole on a line of its own; no other line wider than `width`."""
    lines = out.splitlines()
    stripped = [line.strip() for line in lines]
    for url in urls:
        assert url in stripped, f"{url} is not whole on a line of its own:\n{out}"
    for line in lines:
        assert len(line) <= width or line.strip() in urls, f"{len(line)} columns: {line!r}"
    assert "\x1b" not in out and "\x07" not in out  # no escape sequence from a page reaches the terminal


def test_query_fits_80_columns_with_each_url_whole(web_store: WebStore) -> None:
    stories = cli_json(web_store.db, "query", "--all")
    assert any(len(s["url"]) > 80 for s in stories) or any(len(s["title"] or "") > 70 for s in stories)
    proc = run_cli("--db", web_store.db, "query", "--all", env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    _check_80(proc.stdout, [s["url"] for s in stories])
    first = proc.stdout.split("\n\n")[0].splitlines()
    assert 3 <= len(first) <= 6, proc.stdout  # a story is a few lines, not sixteen
    assert "green steel title" in proc.stdout.replace("\n ", " ")  # the control characters' title, cleaned


def test_status_fits_80_columns_with_alert_urls_whole(web_store: WebStore, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(web_store.seeds, seeds)
    url = "json://newsmon:****@hooks.example.org:8443/services/newsmon-alerts/manufacturing-team"
    secret_url = url.replace("****", "pw")
    (seeds / "alerts.toml").write_text(f'[[alert]]\nname = "team"\nurls = ["{secret_url}"]\n', encoding="utf-8")
    proc = run_cli("--db", web_store.db, "--seeds", str(seeds), "status", env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    _check_80(proc.stdout, [url])
    header = proc.stdout.splitlines()[0].split()
    assert header[:3] == ["source", "last", "run"] and "sample-news" in proc.stdout


def test_piped_output_without_a_terminal_is_80_columns(web_store: WebStore) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.run([sys.executable, "-m", "scheduler", "--db", web_store.db, "query"], capture_output=True,
                          text=True, env=env, stdin=subprocess.DEVNULL, cwd=ROOT, timeout=60, start_new_session=True)
    assert proc.returncode == 0, proc.stderr
    _check_80(proc.stdout, [s["url"] for s in cli_json(web_store.db, "query")])


def test_search_and_runs_errors_keep_urls_whole(web_store: WebStore) -> None:
    found = cli_json(web_store.db, "search", "green")
    proc = run_cli("--db", web_store.db, "search", "green", env={"COLUMNS": "80"})
    assert proc.returncode == 0 and found, proc.stderr
    _check_80(proc.stdout, [s["url"] for s in found])
    runs = cli_json(web_store.db, "runs", "--errors")
    failed = [e["url"] for r in runs for e in r["error_list"]]
    proc = run_cli("--db", web_store.db, "runs", "--errors", env={"COLUMNS": "80"})
    assert proc.returncode == 0 and failed, proc.stderr
    _check_80(proc.stdout, failed)


# -- 4. Empty answers, unknown names, no database ----------------------------------------------------

@pytest.fixture
def store_copy(web_store: WebStore, tmp_path: Path) -> str:
    """A copy of the web tests' store, for commands that write (query --new moves a cursor)."""
    copy = tmp_path / "copy.db"
    with sqlite3.connect(web_store.db.removeprefix("sqlite:///")) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    return f"sqlite:///{copy}"


def test_nothing_new_says_since_when_on_stderr(store_copy: str) -> None:
    first = run_cli("--db", store_copy, "query", "--new", "--consumer", "me")
    assert first.returncode == 0 and first.stdout, first.stderr
    again = run_cli("--db", store_copy, "query", "--new", "--consumer", "me")
    assert again.returncode == 0 and again.stdout == ""
    (line,) = again.stderr.splitlines()
    when = datetime.strptime(re.search(r"Nothing new since (\S+ \S+) UTC", line).group(1),  # type: ignore[union-attr]
                             "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    assert datetime.now(UTC) - when < timedelta(minutes=5)
    # Scripts get their empty list, and no note.
    assert cli_json(store_copy, "query", "--new", "--consumer", "me") == []


def test_an_empty_database_says_to_crawl(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'n.db'}"
    Repository.open(db).close()
    for args, says in ((("query",), "No articles stored yet: run `newsmon crawl now`"),
                       (("query", "--new"), "No articles stored yet"),
                       (("search", "green"), "No stored article matches 'green'."),
                       (("runs",), "No runs yet")):
        proc = run_cli("--db", db, *args)
        assert (proc.returncode, proc.stdout) == (0, ""), proc.stderr
        assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and says in proc.stderr, proc.stderr


@pytest.mark.parametrize("args", [("query", "--source", "nope"), ("query", "--rule", "nope"),
                                  ("query", "--source", "hostile-news", "--source", "nope"),
                                  ("search", "green", "--source", "nope"), ("search", "green", "--rule", "nope"),
                                  ("runs", "--source", "nope")])
def test_an_unknown_source_or_rule_is_a_usage_error(web_store: WebStore, args: tuple[str, ...]) -> None:
    proc = run_cli("--db", web_store.db, *args)
    assert proc.returncode == 2
    assert re.match(r"Error: no (source|rule) named 'nope' in \S+ or the database", _one_error_line(proc))


def test_a_name_gone_from_the_seeds_but_in_the_database_still_reads(web_store: WebStore) -> None:
    # hostile-news is only in the web store's own seeds; the bundled seeds do not name it.
    found = cli_json(web_store.db, "query", "--source", "hostile-news")
    assert found and {a["source"] for a in found} == {"hostile-news"}
    assert run_cli("--db", web_store.db, "runs", "--source", "hostile-news").returncode == 0


@pytest.mark.parametrize("args", [("query", "--new"), ("query",), ("search", "green"), ("runs",), ("status",),
                                  ("boilerplate",)])
def test_a_reader_in_a_folder_without_a_database_creates_none(tmp_path: Path, args: tuple[str, ...]) -> None:
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 1
    assert _one_error_line(proc) == ("Error: no newsmon database at newsmon.db: `newsmon crawl now` creates it, "
                                     "or point --db (NEWSMON_DB) at yours")
    assert list(tmp_path.iterdir()) == []


# -- 5. The demo: the same first copy every run, and a hint that names the seeds ---------------------

def _demo(folder: Path) -> tuple[list[dict[str, object]], str]:
    proc = run_cli("demo", "--dir", str(folder), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def test_two_demos_show_the_same_first_copy_and_the_hint_names_the_seeds(tmp_path: Path) -> None:
    def leads(articles: list[dict[str, object]]) -> dict[str, list[str]]:
        path = re.compile(r"^http://127\.0\.0\.1:\d+")
        return {path.sub("", str(a["url"])): sorted(path.sub("", u) for u in a["also_at"])  # type: ignore[attr-defined]
                for a in articles if a["also_at"]}

    first, stderr = _demo(tmp_path / "one")
    second, _ = _demo(tmp_path / "two")
    assert leads(first) == leads(second) == {
        "/business/2022-03/17/high-tech-green-development-complementary.html":
            ["/world/2022-03/18/high-tech-green-complementary-repost.html"]}
    db, seeds = f"sqlite:///{(tmp_path / 'one' / 'newsmon.db').resolve()}", (tmp_path / "one" / "seeds").resolve()
    assert f"  newsmon --db {db} --seeds {seeds} query" in stderr
    # The hint works as printed: a rule filter and the demo's own source name.
    shown = cli_json(db, "query", "--source", "sample-news", "--rule", "green-manufacturing", seeds=seeds)
    assert shown


def test_a_copy_found_later_in_the_same_run_leads_if_published_first(tmp_path: Path) -> None:
    repo = Repository.open(f"sqlite:///{tmp_path / 'n.db'}")
    try:
        def copy(url: str, day: int, run: int) -> NewArticle:
            return NewArticle(url=url, source="s", content_hash="same", text="The same text.", run_id=run,
                              published=datetime(2024, 3, day, tzinfo=UTC), matches={"r": ("text",)})

        run = repo.runs.start("s")
        repo.articles.add(copy("https://a.example/repost", 18, run))
        repo.articles.add(copy("https://a.example/original", 17, run))
        (story,) = repo.articles.query(ArticleFilter())
        assert (story.url, story.also_at) == ("https://a.example/original", ("https://a.example/repost",))
        # A later run never takes a story's lead: its URL already went out in feeds and alerts.
        later = repo.runs.start("s")
        repo.articles.add(copy("https://b.example/earliest", 1, later))
        (story,) = repo.articles.query(ArticleFilter())
        assert story.url == "https://a.example/original"
        assert set(story.also_at) == {"https://a.example/repost", "https://b.example/earliest"}
    finally:
        repo.close()


# -- 6. The daemon says it runs ----------------------------------------------------------------------

def _first_daemon_line(tmp_path: Path, db: str) -> tuple[str, Path, Path]:
    seeds = write_seeds(tmp_path / "seeds", {"name": "dead", "feeds": [f"http://127.0.0.1:{_closed_port()}/rss.xml"],
                                             "every": "1d"})
    err, log = tmp_path / "stderr.txt", tmp_path / "daemon.log"
    with err.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen([sys.executable, "-m", "scheduler", "--db", db, "--seeds", str(seeds), "--log-file",
                                 str(log), "daemon", "--grace", "0"], stdout=subprocess.DEVNULL, stderr=out, cwd=ROOT,
                                env={**os.environ, **FAST_CRAWL_ENV})
    try:
        poll(lambda: err.read_text(encoding="utf-8").endswith("\n"), timeout=60, what="the daemon's first line")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    lines = err.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1, lines  # the logs went to the file
    return lines[0], seeds, log


def test_the_daemon_says_it_runs_even_with_logs_in_a_file(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'n.db'}"
    line, seeds, log = _first_daemon_line(tmp_path, db)
    assert line == (f"newsmon daemon running: 1 source from {seeds}, up to 2 crawls at once, into {db}; "
                    f"logs to {log}. Ctrl-C stops it.")


def test_the_daemons_first_line_hides_the_password(tmp_path: Path, pg_schema_url: str) -> None:
    if "@" not in pg_schema_url:
        pytest.skip("needs a host-based PostgreSQL URL")
    scheme, rest = pg_schema_url.split("://", 1)
    user, host = rest.split("@", 1)
    line, _seeds, _log = _first_daemon_line(tmp_path, f"{scheme}://{user.split(':')[0]}:Sup3rS3cret@{host}")
    assert "Sup3rS3cret" not in line and f"into {scheme}://{user.split(':')[0]}:***@" in line


# -- 7. A database the reader may not write; shell completion ----------------------------------------

@contextmanager
def _immutable(path: Path) -> Iterator[None]:
    """Make `path` unwritable even for root (chattr +i: root's permission checks let everything by)."""
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("needs chattr +i (root, on ext4 or the like) to make a folder unwritable")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_readers_read_a_database_they_may_not_write(tmp_path: Path, store_copy: str) -> None:
    folder = tmp_path / "service"
    folder.mkdir()
    db_file = Path(store_copy.removeprefix("sqlite:///")).rename(folder / "newsmon.db")
    db = f"sqlite:///{db_file}"
    expected = cli_json(db, "query", "--all")
    before = db_file.read_bytes()
    with _immutable(folder), _immutable(db_file):
        assert cli_json(db, "query", "--all") == expected
        for args in (("status",), ("runs", "--errors"), ("search", "green"), ("boilerplate",), ("query",)):
            proc = run_cli("--db", db, *args)
            assert proc.returncode == 0 and proc.stdout, (args, proc.stderr)
        moved = run_cli("--db", db, "query", "--new")  # moves a cursor: a write, refused before any output
        assert moved.returncode == 1 and moved.stdout == ""
        assert "query --new moves consumer default's cursor, and this database is read-only" in _one_error_line(moved)
    assert db_file.read_bytes() == before and sorted(p.name for p in folder.iterdir()) == ["newsmon.db"]


def test_a_reader_may_not_migrate_says_so_in_one_line(tmp_path: Path, store_copy: str) -> None:
    db_file = Path(store_copy.removeprefix("sqlite:///"))
    with sqlite3.connect(db_file) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0001'")
    with _immutable(db_file):
        proc = run_cli("--db", store_copy, "query")
    assert proc.returncode == 1
    assert "read-only: its schema (0001) is older than this newsmon's" in _one_error_line(proc)


def test_shell_completion_comes_out_of_the_installed_command() -> None:
    script = Path(sys.executable).with_name("newsmon")
    if not script.exists():
        pytest.skip("newsmon is not installed beside this Python (pip install -e .)")
    proc = subprocess.run([str(script)], env={**os.environ, "_NEWSMON_COMPLETE": "bash_source"},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "complete -o nosort -F _newsmon_completion newsmon" in proc.stdout
    done = subprocess.run([str(script)], env={**os.environ, "_NEWSMON_COMPLETE": "bash_complete",
                                              "COMP_WORDS": "newsmon que", "COMP_CWORD": "1"},
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["plain,query"]
    assert '"$(_NEWSMON_COMPLETE=bash_source newsmon)"' in (ROOT / "README.md").read_text(encoding="utf-8")
