"""The store on a real database: SQLite always, PostgreSQL when NEWSMON_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from store.db import SCHEMA_REVISION, alembic_config, open_db, redact
from store.errors import StoreError
from store.models import Base
from store.repository import ArticleFilter, NewArticle, Repository


def _article(n: int, content: str | None = None, **kw: object) -> NewArticle:
    body = content or f"Article number {n} about green steel."
    fields = {"url": f"https://news.example/a/{n}", "source": "example", "content_hash": f"h{hash(body)}",
              "text": body, "variants": (f"https://news.example/a/{n}?utm_source=rss",),
              "title": f"Title {n}", "matches": {"green": ("green",)}}
    fields.update(kw)
    return NewArticle(**fields)  # type: ignore[arg-type]


@pytest.fixture
def repo(db_url: str) -> Iterator[Repository]:
    repository = Repository(open_db(db_url))
    yield repository
    repository.close()


def test_schema_revision_constant_is_the_newest_migration() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_REVISION


def test_migrations_create_exactly_the_models(repo: Repository) -> None:
    with repo.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert diff == []
    assert version == SCHEMA_REVISION


def test_partial_indexes_are_partial_in_the_database(repo: Repository) -> None:
    # compare_metadata (above) does not look at an index's WHERE.
    dialect = repo.engine.dialect.name

    def where(clause: object) -> str | None:
        return None if clause is None else str(clause).strip("() ").lower()

    with repo.engine.connect() as conn:
        inspector = inspect(conn)
        for table in Base.metadata.sorted_tables:
            reflected = {ix["name"]: where(ix.get("dialect_options", {}).get(f"{dialect}_where"))
                         for ix in inspector.get_indexes(table.name)}
            for index in table.indexes:
                assert reflected[index.name] == where(index.dialect_options[dialect]["where"]), index.name


def test_opening_twice_keeps_data(db_url: str) -> None:
    first = Repository(open_db(db_url))
    first.add_article(_article(1))
    first.close()
    second = Repository(open_db(db_url))
    assert second.article_count() == 1
    second.close()


def test_new_known_and_duplicate(repo: Repository) -> None:
    run = repo.start_run("example")
    first = repo.add_article(_article(1, run_id=run))
    assert first.status == "new"
    again = repo.add_article(_article(99, variants=("https://news.example/a/1?utm_source=rss",)))
    assert (again.status, again.article_id) == ("known", first.article_id)
    copy = repo.add_article(_article(2, content="Article number 1 about green steel.", run_id=run))
    assert copy.status == "duplicate" and copy.duplicate_of == first.article_id
    repo.add_run_error(run, "https://news.example/broken", "HTTP 500")
    repo.finish_run(run, "ok", pages=7)

    shown = repo.articles(ArticleFilter())
    assert [a.id for a in shown] == [first.article_id]
    everything = repo.articles(ArticleFilter(include_all=True))
    assert {a.id for a in everything} == {first.article_id, copy.article_id}
    dup = next(a for a in everything if a.id == copy.article_id)
    assert dup.text == "Article number 1 about green steel."  # text stored once, read through
    (record,) = repo.runs(with_errors=True)
    assert (record.outcome, record.pages, record.new, record.matched, record.duplicates, record.errors) == \
        ("ok", 7, 1, 1, 1, 1)
    assert record.error_list == (("https://news.example/broken", "HTTP 500"),)


def test_a_batch_is_one_transaction_that_sees_its_own_earlier_articles(repo: Repository) -> None:
    run = repo.start_run("example")
    outcomes = repo.add_articles([
        _article(1, run_id=run),
        _article(2, run_id=run, matches={}),
        _article(3, content="Article number 1 about green steel.", run_id=run),  # copy of the first
        _article(98, run_id=run, variants=("https://news.example/a/2?utm_source=rss",)),  # the second again
    ])
    assert [o.status for o in outcomes] == ["new", "new", "duplicate", "known"]
    assert outcomes[2].duplicate_of == outcomes[0].article_id
    assert outcomes[3].article_id == outcomes[1].article_id
    (record,) = repo.runs()
    assert (record.new, record.matched, record.duplicates) == (2, 1, 1)


def test_a_failed_batch_stores_none_of_it(repo: Repository) -> None:
    bad = _article(2, source=None)  # NOT NULL column: the insert fails mid-batch
    with pytest.raises(StoreError):
        repo.add_articles([_article(1), bad])
    assert repo.article_count() == 0
    assert repo.known_urls(["https://news.example/a/1"]) == set()


def test_block_counts_add_up_across_a_batch(repo: Repository) -> None:
    assert repo.count_blocks("s", [{"a": "A", "b": "B"}, {"a": "A"}]) == {"a": 2, "b": 1}
    assert repo.count_blocks("s", [{"a": "A"}, {"a": "A"}, {"b": "B"}, {"c": "C"}]) == {"a": 4, "b": 2, "c": 1}
    assert repo.learned_blocks("s", 2) == {"a": 4, "b": 2}


def test_known_urls_covers_every_variant(repo: Repository) -> None:
    repo.add_article(_article(1))
    asked = ["https://news.example/a/1", "https://news.example/a/1?utm_source=rss", "https://news.example/a/2"]
    assert repo.known_urls(asked) == set(asked[:2])
    assert repo.known_urls([f"https://x/{i}" for i in range(1500)]) == set()


def test_filters_and_terms(repo: Repository) -> None:
    repo.add_article(_article(1, source="a", matches={"green": ("green", "low-carbon")}))
    repo.add_article(_article(2, source="b", matches={"digital": ("5G",)}))
    repo.add_article(_article(3, source="b", matches={}))
    assert [a.url for a in repo.articles(ArticleFilter(sources=("b",)))] == ["https://news.example/a/2"]
    (green,) = repo.articles(ArticleFilter(rules=("green",)))
    assert green.terms == {"green": ["green", "low-carbon"]} and green.rules == ("green",)
    assert len(repo.articles(ArticleFilter(include_all=True))) == 3
    future = datetime.now(UTC) + timedelta(hours=1)
    assert repo.articles(ArticleFilter(since=future)) == []


def test_consumer_cursor_only_moves_forward(repo: Repository) -> None:
    assert repo.consumer_cursor("slack") == 0
    repo.advance_consumer("slack", 5)
    repo.advance_consumer("slack", 3)
    assert repo.consumer_cursor("slack") == 5
    assert repo.consumer_cursor("other") == 0


def test_datetimes_come_back_utc_aware(repo: Repository) -> None:
    published = datetime(2024, 9, 21, 17, 39, tzinfo=UTC) + timedelta(hours=0)
    repo.add_article(_article(1, published=published))
    (a,) = repo.articles(ArticleFilter())
    assert a.published == published and a.published.tzinfo is not None
    assert a.first_seen.tzinfo is not None


def test_unreachable_database_is_a_store_error_without_password() -> None:
    with pytest.raises(StoreError) as err:
        open_db("postgresql://newsmon:s3cret@127.0.0.1:1/nope?connect_timeout=2")
    assert "s3cret" not in str(err.value) and "127.0.0.1" in str(err.value)
    assert "s3cret" not in redact("postgresql://u:s3cret@h/db")


def test_missing_sqlite_folder_is_a_store_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StoreError, match="does not exist"):
        open_db(f"sqlite:///{tmp_path}/no/such/dir/x.db")


def test_not_a_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="not a database URL"):
        open_db("definitely not a url")


def test_lease_is_exclusive_until_released_or_expired(repo: Repository) -> None:
    assert repo.acquire_lease("xinhua", "host:1", ttl=60)
    assert repo.acquire_lease("xinhua", "host:1", ttl=60)  # re-entrant for its holder
    assert not repo.acquire_lease("xinhua", "host:2", ttl=60)
    assert repo.leases()["xinhua"].holder == "host:1"
    repo.release_lease("xinhua", "host:2")  # not the holder: no effect
    assert not repo.acquire_lease("xinhua", "host:2", ttl=60)
    repo.release_lease("xinhua", "host:1")
    assert repo.acquire_lease("xinhua", "host:2", ttl=60)


def test_expired_lease_is_taken_over(repo: Repository) -> None:
    assert repo.acquire_lease("cgtn", "dead:1", ttl=-1)  # already expired: its holder died
    orphan = repo.start_run("cgtn", holder="dead:1")
    assert not repo.leases()["cgtn"].active()
    assert repo.acquire_lease("cgtn", "alive:2", ttl=60)
    assert {r.id: r.outcome for r in repo.runs()}[orphan] == "killed"
    assert repo.renew_leases(["cgtn"], "dead:1", ttl=60) == set()
    assert repo.renew_leases(["cgtn"], "alive:2", ttl=60) == {"cgtn"}


def test_settle_runs_closes_what_a_dead_holder_left_open(repo: Repository) -> None:
    mine = repo.start_run("a", holder="host:7")
    other = repo.start_run("b", holder="host:8")
    assert repo.settle_runs("host:7", "killed") == 1
    outcomes = {r.id: r.outcome for r in repo.runs()}
    assert outcomes == {mine: "killed", other: "running"}
