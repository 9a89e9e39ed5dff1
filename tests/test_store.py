"""The store on a real database: SQLite always, PostgreSQL when NEWSMON_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, inspect, select, text
from sqlalchemy.exc import IntegrityError

from store.database import Database
from store.db import SCHEMA_REVISION, alembic_config, open_db, redact
from store.errors import StoreError
from store.models import Base, Run
from store.records import FAILED_OUTCOMES, ArticleFilter, NewArticle, Outcome, SettledRun, ValidatorAnswer
from store.repository import Repository
from store.search import not_index_object


def _article(n: int, content: str | None = None, **kw: object) -> NewArticle:
    body = content or f"Article number {n} about green steel."
    fields = {"url": f"https://news.example/a/{n}", "source": "example", "content_hash": f"h{hash(body)}",
              "text": body, "variants": (f"https://news.example/a/{n}?utm_source=rss",),
              "title": f"Title {n}", "matches": {"green": ("green",)}}
    fields.update(kw)
    return NewArticle(**fields)  # type: ignore[arg-type]


@pytest.fixture
def repo(db_url: str) -> Iterator[Repository]:
    repository = Repository.open(db_url)
    yield repository
    repository.close()


def test_schema_revision_constant_is_the_newest_migration() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_REVISION


def test_migrations_create_exactly_the_models(repo: Repository) -> None:
    with repo.engine.connect() as conn:
        # The search index (store.search: an FTS5 table and triggers, or a tsvector column) is
        # the migration's alone: SQLAlchemy models cannot describe it.
        context = MigrationContext.configure(conn, opts={"include_name": not_index_object})
        diff = compare_metadata(context, Base.metadata)
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
    first = Repository.open(db_url)
    first.articles.add(_article(1))
    first.close()
    second = Repository.open(db_url)
    assert second.articles.count() == 1
    second.close()


def test_new_known_and_duplicate(repo: Repository) -> None:
    run = repo.runs.start("example")
    first = repo.articles.add(_article(1, run_id=run))
    assert first.status == "new"
    again = repo.articles.add(_article(99, variants=("https://news.example/a/1?utm_source=rss",)))
    assert (again.status, again.article_id) == ("known", first.article_id)
    copy = repo.articles.add(_article(2, content="Article number 1 about green steel.", run_id=run))
    assert copy.status == "duplicate" and copy.duplicate_of == first.article_id
    repo.runs.add_error(run, "https://news.example/broken", "HTTP 500")
    repo.runs.finish(run, Outcome.OK, pages=7)

    shown = repo.articles.query(ArticleFilter())
    assert [a.id for a in shown] == [first.article_id]
    everything = repo.articles.query(ArticleFilter(include_all=True))
    assert {a.id for a in everything} == {first.article_id, copy.article_id}
    dup = next(a for a in everything if a.id == copy.article_id)
    assert dup.text == "Article number 1 about green steel."  # text stored once, read through
    (record,) = repo.runs.recent(with_errors=True)
    assert (record.outcome, record.pages, record.new, record.matched, record.duplicates, record.errors) == \
        ("ok", 7, 1, 1, 1, 1)
    assert record.error_list == (("https://news.example/broken", "HTTP 500"),)


def test_a_batch_is_one_transaction_that_sees_its_own_earlier_articles(repo: Repository) -> None:
    run = repo.runs.start("example")
    outcomes = repo.articles.add_batch([
        _article(1, run_id=run),
        _article(2, run_id=run, matches={}),
        _article(3, content="Article number 1 about green steel.", run_id=run),  # copy of the first
        _article(98, run_id=run, variants=("https://news.example/a/2?utm_source=rss",)),  # the second again
    ])
    assert [o.status for o in outcomes] == ["new", "new", "duplicate", "known"]
    assert outcomes[2].duplicate_of == outcomes[0].article_id
    assert outcomes[3].article_id == outcomes[1].article_id
    (record,) = repo.runs.recent()
    assert (record.new, record.matched, record.duplicates) == (2, 1, 1)


def test_a_failed_batch_stores_none_of_it(repo: Repository) -> None:
    bad = _article(2, source=None)  # NOT NULL column: the insert fails mid-batch
    with pytest.raises(StoreError) as err:
        repo.articles.add_batch([_article(1), bad])
    # The database's own exception travels with the StoreError, not only its message.
    assert isinstance(err.value.__cause__, IntegrityError) and err.value.orig is err.value.__cause__
    assert repo.articles.count() == 0
    assert repo.articles.known_urls(["https://news.example/a/1"]) == set()


def test_block_counts_add_up_across_a_batch(repo: Repository) -> None:
    assert repo.boilerplate.count("s", [{"a": "A", "b": "B"}, {"a": "A"}]) == {"a": 2, "b": 1}
    assert repo.boilerplate.count("s", [{"a": "A"}, {"a": "A"}, {"b": "B"}, {"c": "C"}]) == {"a": 4, "b": 2, "c": 1}
    assert repo.boilerplate.learned("s", 2) == {"a": 4, "b": 2}
    repo.boilerplate.count("t", [{"a": "A"}, {"a": "A"}, {"z": "Z"}])
    # A batch's sources in one query, each with its own blocks; a source with none gets {}.
    assert repo.boilerplate.learned_many(["s", "t", "u"], 2) == {"s": {"a": 4, "b": 2}, "t": {"a": 2}, "u": {}}


def test_validators_of_one_save_update_each_row_by_its_own_answer(repo: Repository) -> None:
    feed, sitemap, listing = (f"https://news.example/{p}" for p in ("feed", "sitemap", "news/"))
    repo.validators.save("s", {feed: ValidatorAnswer(etag='"1"', content_hash="f1"),
                               sitemap: ValidatorAnswer(etag='"2"', content_hash="s1"),
                               listing: ValidatorAnswer(content_hash="l1")})
    # Two 304s and a changed body in one save: the 304s count up, the body's validators replace.
    repo.validators.save("s", {feed: ValidatorAnswer(not_modified=True), sitemap: ValidatorAnswer(not_modified=True),
                               listing: ValidatorAnswer(etag='"3"', content_hash="l2", distrust=True)})
    repo.validators.save("s", {feed: ValidatorAnswer(not_modified=True)})
    saved = repo.validators.load("s")
    assert (saved[feed].not_modified, saved[feed].etag, saved[feed].content_hash) == (2, '"1"', "f1")
    assert (saved[sitemap].not_modified, saved[sitemap].etag) == (1, '"2"')
    assert (saved[listing].not_modified, saved[listing].etag, saved[listing].content_hash,
            saved[listing].trusted) == (0, '"3"', "l2", False)


def test_known_urls_covers_every_variant(repo: Repository) -> None:
    repo.articles.add(_article(1))
    asked = ["https://news.example/a/1", "https://news.example/a/1?utm_source=rss", "https://news.example/a/2"]
    assert repo.articles.known_urls(asked) == set(asked[:2])
    assert repo.articles.known_urls([f"https://x/{i}" for i in range(1500)]) == set()


def test_filters_and_terms(repo: Repository) -> None:
    repo.articles.add(_article(1, source="a", matches={"green": ("green", "low-carbon")}))
    repo.articles.add(_article(2, source="b", matches={"digital": ("5G",)}))
    repo.articles.add(_article(3, source="b", matches={}))
    assert [a.url for a in repo.articles.query(ArticleFilter(sources=("b",)))] == ["https://news.example/a/2"]
    (green,) = repo.articles.query(ArticleFilter(rules=("green",)))
    assert green.terms == {"green": ["green", "low-carbon"]} and green.rules == ("green",)
    assert len(repo.articles.query(ArticleFilter(include_all=True))) == 3
    future = datetime.now(UTC) + timedelta(hours=1)
    assert repo.articles.query(ArticleFilter(since=future)) == []


def test_consumer_cursor_only_moves_forward(repo: Repository) -> None:
    assert repo.consumers.cursor("slack") == 0
    repo.consumers.advance("slack", 5)
    repo.consumers.advance("slack", 3)
    assert repo.consumers.cursor("slack") == 5
    assert repo.consumers.cursor("other") == 0


def test_datetimes_come_back_utc_aware(repo: Repository) -> None:
    published = datetime(2024, 9, 21, 17, 39, tzinfo=UTC) + timedelta(hours=0)
    repo.articles.add(_article(1, published=published))
    (a,) = repo.articles.query(ArticleFilter())
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
    assert repo.leases.acquire("xinhua", "host:1", ttl=60)
    assert repo.leases.acquire("xinhua", "host:1", ttl=60)  # re-entrant for its holder
    assert not repo.leases.acquire("xinhua", "host:2", ttl=60)
    assert repo.leases.all()["xinhua"].holder == "host:1"
    repo.leases.release("xinhua", "host:2")  # not the holder: no effect
    assert not repo.leases.acquire("xinhua", "host:2", ttl=60)
    repo.leases.release("xinhua", "host:1")
    assert repo.leases.acquire("xinhua", "host:2", ttl=60)


def test_expired_lease_is_taken_over(repo: Repository) -> None:
    assert repo.leases.acquire("cgtn", "dead:1", ttl=-1)  # already expired: its holder died
    orphan = repo.runs.start("cgtn", holder="dead:1")
    assert not repo.leases.all()["cgtn"].active()
    assert repo.leases.acquire("cgtn", "alive:2", ttl=60)
    assert {r.id: r.outcome for r in repo.runs.recent()}[orphan] == "killed"
    assert repo.leases.renew(["cgtn"], "dead:1", ttl=60) == set()
    assert repo.leases.renew(["cgtn"], "alive:2", ttl=60) == {"cgtn"}


def test_settle_runs_closes_what_a_dead_holder_left_open(repo: Repository) -> None:
    mine = repo.runs.start("a", holder="host:7")
    other = repo.runs.start("b", holder="host:8")
    assert repo.runs.settle("host:7", Outcome.KILLED) == 1
    outcomes = {r.id: r.outcome for r in repo.runs.recent()}
    assert outcomes == {mine: "killed", other: "running"}


def _runs(repo: Repository, source: str, *outcomes: Outcome) -> list[int]:
    ids = []
    for outcome in outcomes:
        ids.append(repo.runs.start(source))
        if outcome is not Outcome.RUNNING:
            repo.runs.finish(ids[-1], outcome, pages=1)
    return ids


@contextmanager
def _selects(repo: Repository) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(repo.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(repo.engine, "before_cursor_execute", count)


def test_outcomes_are_stored_as_their_old_strings(repo: Repository) -> None:
    (run,) = _runs(repo, "a", Outcome.TIMED_OUT)
    with repo.engine.connect() as conn:
        assert conn.execute(select(Run.outcome).where(Run.id == run)).scalar() == "timed_out"
    (record,) = repo.runs.recent()
    assert record.outcome is Outcome.TIMED_OUT and record.outcome in FAILED_OUTCOMES


def test_runs_get_returns_exactly_the_ids_asked_in_their_order(repo: Repository) -> None:
    first, second, third = _runs(repo, "a", Outcome.OK, Outcome.FAILED, Outcome.OK)
    repo.runs.add_error(second, "https://news.example/x", "HTTP 500")
    got = repo.runs.get([third, first, second])
    assert [r.id for r in got] == [third, first, second]
    assert [r.outcome for r in got] == [Outcome.OK, Outcome.OK, Outcome.FAILED]
    assert got[2].error_list == (("https://news.example/x", "HTTP 500"),)
    assert repo.runs.get([second], with_errors=False)[0].error_list == ()
    assert repo.runs.get([]) == []
    with pytest.raises(StoreError, match=str(third + 100)):
        repo.runs.get([first, third + 100])


def test_settled_runs_are_written_with_their_validators_in_one_transaction(repo: Repository) -> None:
    started = datetime(2024, 9, 21, 9, tzinfo=UTC)
    settled = [SettledRun("a", started, started + timedelta(seconds=2), Outcome.OK, 3),
               SettledRun("b", started, started + timedelta(seconds=5), Outcome.TIMED_OUT, 0)]
    feed = "https://a.example/feed.xml"
    ids = repo.runs.add_settled(settled, "host:1", also=lambda conn: repo.validators.save_in(
        conn, "a", {feed: ValidatorAnswer(etag='"v1"', content_hash="h1")}))
    runs = repo.runs.get(ids)
    assert [(r.source, r.outcome, r.pages, r.holder, r.finished) for r in runs] == [
        ("a", Outcome.OK, 3, "host:1", started + timedelta(seconds=2)),
        ("b", Outcome.TIMED_OUT, 0, "host:1", started + timedelta(seconds=5))]
    assert repo.validators.load("a")[feed].etag == '"v1"'

    # All or nothing: a run that cannot be written (no source) takes the validators and the run
    # before it back with it.
    other = "https://c.example/feed.xml"
    broken = [SettledRun("c", started, started, Outcome.OK, 1), SettledRun(None, started, started,  # type: ignore[arg-type]
                                                                           Outcome.OK, 1)]
    with pytest.raises(StoreError):
        repo.runs.add_settled(broken, "host:1", also=lambda conn: repo.validators.save_in(
            conn, "c", {other: ValidatorAnswer(etag='"v1"', content_hash="h1")}))
    assert repo.runs.last_id() == max(ids)
    assert repo.validators.load("c") == {}


def test_runs_get_finds_a_run_past_the_newest_fifty(repo: Repository) -> None:
    (old,) = _runs(repo, "a", Outcome.OK)
    _runs(repo, "b", *[Outcome.OK] * 55)
    assert [r.id for r in repo.runs.get([old])] == [old]


def test_latest_is_each_sources_newest_run_in_one_query(repo: Repository) -> None:
    a = _runs(repo, "a", Outcome.OK, Outcome.FAILED)
    b = _runs(repo, "b", Outcome.KILLED, Outcome.OK, Outcome.RUNNING)
    _runs(repo, "c", Outcome.OK)  # not asked for
    with _selects(repo) as seen:
        latest = repo.runs.latest(["a", "b", "never-crawled"])
    assert len(seen) == 1
    assert {s: r.id for s, r in latest.items()} == {"a": a[-1], "b": b[-1]}
    assert latest["a"].outcome is Outcome.FAILED and latest["b"].outcome is Outcome.RUNNING
    assert repo.runs.latest([]) == {}


def test_failures_count_back_to_the_last_ok_run_in_one_query(repo: Repository) -> None:
    # Stopped (a shutdown) and running runs neither count nor end the streak.
    _runs(repo, "a", Outcome.FAILED, Outcome.OK, Outcome.FAILED, Outcome.STOPPED, Outcome.TIMED_OUT,
          Outcome.KILLED, Outcome.RUNNING)
    _runs(repo, "b", Outcome.FAILED, Outcome.FAILED, Outcome.OK)
    _runs(repo, "c", Outcome.KILLED, Outcome.FAILED)  # never ok
    with _selects(repo) as seen:
        failures = repo.runs.failures(["a", "b", "c", "never-crawled"])
    assert len(seen) == 1
    assert failures == {"a": 3, "b": 0, "c": 2, "never-crawled": 0}
    assert [repo.runs.consecutive_failures(s) for s in ("a", "b", "c", "never-crawled")] == [3, 0, 2, 0]


def test_status_reads_a_few_runs_a_source_however_many_it_has(pg_schema_url: str) -> None:
    # PostgreSQL's EXPLAIN ANALYZE counts the rows each query reads. A source's newest run, its
    # failure streak and its last yield come from the end of its index range: grouped over
    # `source IN (...)`, each query read all 300 runs of every source (red before migration 0012).
    repo = Repository.open(pg_schema_url)
    try:
        with repo.db.write() as conn:
            conn.execute(text(
                "INSERT INTO runs (source, started, finished, outcome, pages, new, matched, duplicates, errors,"
                " skipped) SELECT 's' || (g % 3), now() - make_interval(secs => 900 - g), now(),"
                " CASE WHEN g % 5 = 0 THEN 'failed' ELSE 'ok' END, 1, CASE WHEN g = 870 THEN 1 ELSE 0 END,"
                " 0, 0, 0, 0 FROM generate_series(1, 900) g"))
        sources = ["s0", "s1", "s2"]
        seen: list[tuple[str, object]] = []

        def keep(conn: object, cursor: object, statement: str, parameters: object, *rest: object) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                seen.append((statement, parameters))

        event.listen(repo.engine, "before_cursor_execute", keep)
        answers = (repo.runs.latest(sources), repo.runs.failures(sources), repo.runs.last_yield(sources))
        event.remove(repo.engine, "before_cursor_execute", keep)
        assert answers[1] == {"s0": 1, "s1": 0, "s2": 0}  # s0's newest (g=900) failed
        assert set(answers[0]) == set(sources) and list(answers[2]) == ["s0"]
        assert answers[2]["s0"][1] == 10  # g = 873, 876, ..., 900 started after it
        read = 0
        with repo.engine.connect() as conn:
            # A table this small tempts the planner to read it whole: what is measured is whether a
            # query can be answered from the indexes, and how much of them it reads.
            conn.execute(text("SET enable_seqscan = off"))
            for statement, parameters in seen:
                plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar()
                read += _rows_read(plan[0]["Plan"], "runs")
        assert read <= 3 * 40, read
    finally:
        repo.close()


def _rows_read(node: dict[str, object], table: str) -> int:
    rows = 0
    if node.get("Relation Name") == table:
        loops = int(node.get("Actual Loops", 1))  # type: ignore[call-overload]
        rows += loops * (int(node.get("Actual Rows", 0)) + int(node.get("Rows Removed by Filter", 0)))  # type: ignore[call-overload]
    return rows + sum(_rows_read(child, table) for child in node.get("Plans", ()))  # type: ignore[attr-defined]


def test_chunked_in_runs_every_chunk(repo: Repository) -> None:
    ids = _runs(repo, "a", *[Outcome.OK] * 5)
    with repo.db.read() as conn:
        rows = list(Database.chunked_in(conn, lambda chunk: select(Run.id).where(Run.id.in_(chunk)), ids, size=2))
    assert sorted(r.id for r in rows) == ids


def test_old_quiet_runs_are_pruned_and_what_status_and_articles_need_is_kept(repo: Repository) -> None:
    from store.models import RunError, RunSkip
    from store.runs import PRUNE_EVERY, RUNS_KEPT, RUNS_KEPT_DAYS

    # 40 old runs (the 30th the newest ok one: failures count back to it), then RUNS_KEPT failed ones.
    old = _runs(repo, "s", *[Outcome.OK] * 30, *[Outcome.FAILED] * 10)
    recent = _runs(repo, "s", *[Outcome.FAILED] * RUNS_KEPT)
    other = _runs(repo, "t", Outcome.OK)
    repo.runs.add_error(old[6], "https://x.example/a", "timeout")
    repo.runs.add_skips(old[6], [("https://x.example/b", "not an article")])
    long_ago = datetime.now(UTC) - timedelta(days=RUNS_KEPT_DAYS + 1)
    with repo.db.write() as conn:
        conn.execute(Run.__table__.update().where(Run.id.in_([*old, *other])).values(started=long_ago))
        conn.execute(Run.__table__.update().where(Run.id == old[4]).values(new=1))  # an article names it
    failures = repo.runs.failures(["s"])["s"]
    # Pruning runs on one start in PRUNE_EVERY, for the source starting.
    started = []
    while not started or started[-1] % PRUNE_EVERY:
        started.append(repo.runs.start("s"))
    with repo.db.read() as conn:
        left = set(conn.execute(select(Run.id).where(Run.source == "s")).scalars())
        errors = conn.execute(select(RunError.id)).all()
        skips = conn.execute(select(RunSkip.id)).all()
        others = set(conn.execute(select(Run.id).where(Run.source == "t")).scalars())
    assert left & set(old) == {old[4], old[29]}  # the one that found something, the newest ok
    assert set(recent[-(RUNS_KEPT - len(started)):]) <= left and set(started) <= left
    assert errors == [] and skips == []  # the deleted runs' rows went with them
    assert others == set(other)  # another source's runs wait for its own start
    assert repo.runs.failures(["s"])["s"] == failures - 10  # the old failures are gone; running ones never count
