"""Schema migrations keep data: a database made by the oldest migration, filled, upgrades to the
newest with every row intact. Kept true for every future migration by walking them all."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from scheduler.news import find_articles
from store.db import SCHEMA_REVISION, alembic_config, upgrade
from store.records import ArticleFilter, NewArticle, Outcome
from store.repository import Repository


def _fill_oldest_schema(url: str) -> None:
    engine = create_engine(url)
    upgrade(engine, "0001")
    now = datetime(2024, 9, 21, tzinfo=UTC).isoformat()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO runs (id, source, started, finished, outcome, pages, new, matched, "
                          "duplicates, errors) VALUES (1, 's', :t, :t, 'ok', 3, 2, 1, 1, 1)"), {"t": now})
        for i, dup in ((1, None), (2, 1)):
            conn.execute(text("INSERT INTO articles (id, url, source, title, text, content_hash, first_seen, run_id, "
                              "duplicate_of) VALUES (:i, :u, 's', :title, :body, 'h', :t, 1, :d)"),
                         {"i": i, "u": f"https://x/{i}", "title": f"T{i}", "body": None if dup else "green steel",
                          "t": now, "d": dup})
            conn.execute(text("INSERT INTO article_urls (url, article_id) VALUES (:u, :i)"),
                         {"u": f"https://x/{i}", "i": i})
        conn.execute(text("INSERT INTO matches (article_id, rule, terms) VALUES (1, 'green', :terms)"),
                     {"terms": '["green"]'})
        conn.execute(text("INSERT INTO run_errors (run_id, url, reason, at) VALUES (1, 'https://x/e', 'HTTP 500', :t)"),
                     {"t": now})
        conn.execute(text("INSERT INTO consumers (name, last_article_id, updated) VALUES ('slack', 1, :t)"),
                     {"t": now})
        if engine.dialect.name == "postgresql":  # rows with explicit ids leave the sequence behind
            conn.execute(text("SELECT setval(pg_get_serial_sequence('articles', 'id'), 2)"))
    engine.dispose()


def test_every_migration_is_in_one_line_from_the_oldest() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    revisions = [r.revision for r in script.walk_revisions()]
    assert revisions[-1] == "0001" and revisions[0] == SCHEMA_REVISION
    assert len(script.get_heads()) == 1


def test_oldest_schema_with_data_upgrades_intact(db_url: str) -> None:
    _fill_oldest_schema(db_url)
    repo = Repository.open(db_url)  # opening a database that is behind migrates it
    try:
        with repo.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_REVISION
        articles = {a.id: a for a in repo.articles.query(ArticleFilter(include_all=True))}
        assert set(articles) == {1, 2}
        assert articles[1].terms == {"green": ["green"]} and articles[2].text == "green steel"
        assert articles[1].also_at == ("https://x/2",)
        assert repo.articles.known_urls(["https://x/1", "https://x/2"]) == {"https://x/1", "https://x/2"}
        (run,) = repo.runs.recent(with_errors=True)
        assert (run.outcome, run.pages, run.new, run.errors, run.error_list) == \
            (Outcome.OK, 3, 2, 1, (("https://x/e", "HTTP 500"),))
        assert repo.consumers.cursor("slack") == 1
        # 0007: `listed` backfilled with the id, which is what consumers' cursors counted.
        assert (articles[1].listed, articles[2].listed, articles[1].scores) == (1, 2, {})
        assert find_articles(repo, ArticleFilter(), "slack").articles == []
        repo.articles.add(NewArticle(url="https://x/3", source="s", content_hash="h3", text="green steel again",
                                     matches={"green": ("green",)}, scores={"green": 0.7}))
        (new,) = find_articles(repo, ArticleFilter(), "slack").articles
        assert (new.url, new.listed, new.score) == ("https://x/3", 3, 0.7)
    finally:
        repo.close()


def test_processes_opening_one_new_postgresql_database_at_once_migrate_it_once(pg_schema_url: str) -> None:
    # Workers started together all find the schema missing; without a lock, the second CREATE TABLE
    # fails on PostgreSQL's catalog (duplicate key in pg_type) and that worker exits.
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = "import sys; from store.repository import Repository; Repository.open(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, pg_schema_url], cwd=ROOT, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    results = [(p.communicate(timeout=120)[1], p.returncode) for p in procs]
    results = [(rc, err) for err, rc in results]
    assert all(rc == 0 for rc, _ in results), results
    engine = create_engine(pg_schema_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_REVISION
    finally:
        engine.dispose()
