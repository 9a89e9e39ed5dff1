"""`newsmon search` on a real database (SQLite always, PostgreSQL when NEWSMON_TEST_POSTGRES_URL is
set): the rule language over the word index, ranking, the index kept current and built by its
migration, and the real CLI."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from scheduler.cli import ARTICLE_KEYS
from scheduler.search import SearchQueryError, prepare, search_articles
from store.articles import ArticleText
from store.db import upgrade
from store.records import ArticleFilter, NewArticle
from store.repository import Repository
from store.search import WINDOW
from store.search_vector import search_vector
from tests.conftest import cli_json, run_cli


def _hash(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def _add(repo: Repository, n: int, title: str, body: str, **kw: object) -> int:
    fields = {"url": f"https://news.example/{n}", "source": "example", "content_hash": _hash(body),
              "text": body, "title": title}
    fields.update(kw)
    return repo.articles.add(NewArticle(**fields)).article_id  # type: ignore[arg-type]


def _ids(repo: Repository, query: str, **flt: object) -> list[int]:
    result = search_articles(repo, prepare(query), ArticleFilter(**{"limit": 20, **flt}))  # type: ignore[arg-type]
    return [f.article.id for f in result.found]


@pytest.fixture
def repo(db_url: str) -> Iterator[Repository]:
    repository = Repository.open(db_url)
    yield repository
    repository.close()


@pytest.fixture
def news(repo: Repository) -> dict[str, int]:
    """A handful of stories, none matched by a rule (search covers what the rules missed)."""
    return {
        "phrase": _add(repo, 1, "Mill opens", "The mill makes green steel for carmakers."),
        "apart": _add(repo, 2, "Paint prices", "Green paint and steel beams got dearer."),
        "coal": _add(repo, 3, "Coal returns", "Steel from coal: the old way, still cheap."),
        "decarbonisation": _add(repo, 4, "Plans", "Decarbonisation of steel plants begins in Europe."),
        "decarbonization": _add(repo, 5, "Plans (US)", "Decarbonization of the grid comes first."),
        "carbon": _add(repo, 6, "Prices", "Carbon prices rose again this week."),
        "hyphen": _add(repo, 7, "Cement", "Low-carbon cement, from the U.S. to Spain."),
        "cafe": _add(repo, 8, "Café owners", "A café in Lyon sells steel chairs."),
        "cjk": _add(repo, 9, "钢铁行业", "中国钢铁行业绿色转型 green steel"),
    }


def test_a_phrase_needs_its_words_in_a_row(repo: Repository, news: dict[str, int]) -> None:
    assert set(_ids(repo, '"green steel"')) == {news["phrase"], news["cjk"]}
    assert set(_ids(repo, "green steel")) == {news["phrase"], news["apart"], news["cjk"]}  # adjacent terms: AND
    # A phrase does not run from the title into the text (PostgreSQL's vector has them in a row:
    # the rule matcher, which decides, keeps them apart).
    across = _add(repo, 10, "Mills go green", "Steel demand rises.")
    assert across not in _ids(repo, '"green steel"')
    assert across in _ids(repo, "green steel")


def test_not_leaves_out_what_it_names(repo: Repository, news: dict[str, int]) -> None:
    assert set(_ids(repo, "steel NOT coal NOT green")) == {news["decarbonisation"], news["cafe"]}
    # The index folds case only, as the rules do: "cafe" is not "café".
    assert news["cafe"] in _ids(repo, "steel NOT cafe")
    assert news["cafe"] not in _ids(repo, "steel NOT café")


def test_a_wildcard_is_a_prefix_of_a_word(repo: Repository, news: dict[str, int]) -> None:
    assert set(_ids(repo, "decarboni*")) == {news["decarbonisation"], news["decarbonization"]}
    # Whole words: "Decarbonisation" does not start with "carbon"; case does not matter.
    assert set(_ids(repo, "CARBON*")) == {news["carbon"], news["hyphen"]}


def test_words_are_cut_as_the_rules_cut_them(repo: Repository, news: dict[str, int]) -> None:
    assert _ids(repo, '"low carbon"') == [news["hyphen"]]
    assert _ids(repo, "low-carbon") == [news["hyphen"]]
    assert _ids(repo, "U.S. AND spain") == [news["hyphen"]]
    assert _ids(repo, "钢铁 AND 绿色") == [news["cjk"]]  # Chinese: substrings
    assert set(_ids(repo, "绿色 OR cement")) == {news["cjk"], news["hyphen"]}
    # The index lower-cases where the rules casefold: a term is looked up both ways.
    upper, sharp = _add(repo, 11, "STRASSE GESPERRT", "Umleitung."), _add(repo, 12, "Die Straße", "Gesperrt.")
    assert set(_ids(repo, "Straße")) == {upper, sharp}


def test_a_title_hit_ranks_above_passing_mentions(repo: Repository) -> None:
    passing = _add(repo, 1, "Markets close higher", "Shares rose. Hydrogen came up. " + "Trade was calm. " * 3
                   + "Hydrogen again.")
    title = _add(repo, 2, "Hydrogen plant opens", "The plant starts next week in the north of Sweden.")
    result = search_articles(repo, prepare("hydrogen"), ArticleFilter(limit=20))
    assert [f.article.id for f in result.found] == [title, passing]
    assert result.found[0].rank > result.found[1].rank


def test_stories_by_default_every_copy_with_all(repo: Repository) -> None:
    first = _add(repo, 1, "Steel deal", "A steel deal was signed in Oslo.")
    exact = _add(repo, 2, "Steel deal (copy)", "A steel deal was signed in Oslo.", source="other")  # stores no text
    assert _ids(repo, '"steel deal"') == [first]
    assert _ids(repo, '"steel deal"', include_all=True) == [first, exact]
    assert _ids(repo, "oslo", include_all=True, sources=("other",)) == []  # found through its story only
    assert _ids(repo, "copy", include_all=True) == []  # ... whose title it does not share
    assert _ids(repo, "oslo NOT copy", include_all=True) == [first]  # the copy's own title counts


def test_filters_and_limit(repo: Repository, news: dict[str, int]) -> None:
    later = _add(repo, 20, "Steel", "Steel, again.", source="elsewhere")
    assert _ids(repo, "steel", sources=("elsewhere",)) == [later]
    assert len(_ids(repo, "steel", limit=2)) == 2
    assert _ids(repo, "steel", since=datetime(2999, 1, 1, tzinfo=UTC)) == []


def test_a_full_window_says_more_matched(repo: Repository, news: dict[str, int]) -> None:
    search = prepare("steel")
    result = repo.search.find(search.expr, ArticleFilter(limit=20), lambda *_: True, window=2)
    assert (result.ranked, result.more) == (2, True)
    # The window holds the newest candidates.
    assert {f.article.id for f in result.found} == {news["cafe"], news["cjk"]}
    assert WINDOW >= 100


def test_the_index_follows_new_and_rewritten_articles(repo: Repository) -> None:
    stored = _add(repo, 1, "Port news", "Ships wait. Subscribe to our newsletter.")
    assert _ids(repo, "newsletter") == [stored]
    row = next(a for a in repo.articles.query(ArticleFilter(include_all=True)) if a.id == stored)
    read = ArticleText(stored, None, None, row.title, None, str(row.text), _hash(str(row.text)))
    moved = repo.articles.rewrite(read, "Ships wait at anchor.", "cleaned", 0, (), {})
    assert moved == 0
    assert _ids(repo, "newsletter") == []
    assert _ids(repo, "anchor") == [stored]


def test_the_migration_indexes_articles_stored_before_it(db_url: str) -> None:
    engine = create_engine(db_url)
    upgrade(engine, "0007")
    with engine.begin() as conn:
        for i, title, body, dup in ((1, "Green steel", "Mills switch to hydrogen.", None),
                                    (2, "Green steel (copy)", None, 1)):
            conn.execute(text("INSERT INTO articles (id, url, source, title, text, content_hash, first_seen, "
                              "duplicate_of) VALUES (:i, :u, 's', :title, :body, 'h', :t, :d)"),
                         {"i": i, "u": f"https://x/{i}", "title": title, "body": body, "d": dup,
                          "t": datetime(2024, 9, 21, tzinfo=UTC).isoformat()})
    upgrade(engine)  # to the newest revision
    engine.dispose()
    repo = Repository.open(db_url)
    try:
        assert _ids(repo, "hydrogen") == [1]
        assert _ids(repo, '"green steel" hydrogen', include_all=True) == [1, 2]
    finally:
        repo.close()


def test_a_query_with_nothing_to_look_up_is_refused() -> None:
    for query in ("NOT coal", "steel OR NOT coal", "NOT (steel OR coal)"):
        with pytest.raises(SearchQueryError, match="names no word"):
            prepare(query)
    with pytest.raises(SearchQueryError, match="position 6"):
        prepare('steel "green')
    assert prepare("steel AND (mill OR NOT coal)")  # a NOT inside is fine beside a word


def test_cli_bad_query_is_one_line_and_exit_2(db_url: str) -> None:
    proc = run_cli("--db", db_url, "search", "steel AND (green")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "Error: query 'steel AND (green': unbalanced parenthesis at position 10"]
    proc = run_cli("--db", db_url, "search", "NOT coal")
    assert proc.returncode == 2 and proc.stderr.startswith("Error: query 'NOT coal' names no word")


def test_cli_prints_query_keys_and_rank(repo: Repository, db_url: str, news: dict[str, int]) -> None:
    found = cli_json(db_url, "search", '"green steel" OR decarboni*', "--limit", "3")
    assert [list(r) for r in found] == [[*ARTICLE_KEYS, "rank"]] * 3
    assert [r["rank"] for r in found] == sorted((r["rank"] for r in found), reverse=True)
    flt = ArticleFilter(limit=3)
    expected = search_articles(repo, prepare('"green steel" OR decarboni*'), flt)
    assert [r["id"] for r in found] == [f.article.id for f in expected.found]


# -- PostgreSQL's vector, written by newsmon (store.search_vector, migration 0013) --------------------------

def _vectors(repo: Repository) -> dict[int, tuple[str | None, str | None]]:
    """Each article's stored vector and the one store.search_vector makes of its row, both as PostgreSQL prints them."""
    with repo.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, title, text, search_vector::text AS stored FROM articles")).all()
        return {r.id: (r.stored, conn.execute(text("SELECT CAST(:v AS tsvector)::text"),
                                              {"v": search_vector(r.title, r.text)}).scalar()) for r in rows}


def test_every_write_keeps_the_postgresql_vector_of_the_row(pg_schema_url: str) -> None:
    repo = Repository.open(pg_schema_url)
    try:
        first = _add(repo, 1, "Port news", "Ships wait. Subscribe to our newsletter.")
        exact = _add(repo, 2, "Port news (copy)", "Ships wait. Subscribe to our newsletter.")  # stores no text
        revisited = _add(repo, 3, "Mill", "The mill idles.")
        repo.articles.add_version(revisited, NewArticle(url="https://news.example/3", source="example",
                                                        content_hash=_hash("v2"), title="Mill restarts",
                                                        text="The mill runs on hydrogen now."))
        read = ArticleText(first, None, None, "Port news", None, "Ships wait. Subscribe to our newsletter.",
                           _hash("Ships wait. Subscribe to our newsletter."))
        assert repo.articles.rewrite(read, "Ships wait at anchor.", "cleaned", 0, (), {}) == 0
        vectors = _vectors(repo)
        assert vectors[exact] == (None, None)
        assert all(stored == made for stored, made in vectors.values()), vectors
        assert "'hydrogen':7B" in str(vectors[revisited][0]) and "'anchor':6B" in str(vectors[first][0])
        assert _ids(repo, "hydrogen") == [revisited] and _ids(repo, "newsletter") == []
    finally:
        repo.close()


def test_the_postgresql_index_holds_the_rules_words(pg_schema_url: str) -> None:
    repo = Repository.open(pg_schema_url)
    try:
        sharp = _add(repo, 1, "Die Straße", "Gesperrt bis Montag.")
        snake = _add(repo, 2, "Config", "Set green_mode in the plant's file.")
        # The rules casefold: "strasse" matches "Straße", and the index now finds it (FTS5 does not).
        assert _ids(repo, "strasse") == [sharp]
        assert _ids(repo, "green_mode") == [snake]
        # "green_mode" is one word to the rules: not even a candidate for "green" (the parser cut it in two).
        assert repo.search.find(prepare("green").expr, ArticleFilter(), lambda *_: True).ranked == 0
    finally:
        repo.close()


def test_a_vector_keeps_within_postgresql_limits(pg_schema_url: str) -> None:
    quoted = "It's O'Brien\\'s back\\slash " + "x" * 3000 + " " + "steel " * 20000
    # 150,000 distinct words of 7 bytes, 12 bytes each to PostgreSQL with their position.
    many = " ".join(f"w{i:06d}" for i in range(150_000))
    engine = create_engine(pg_schema_url)
    try:
        with engine.connect() as conn:
            length, steel = conn.execute(text(
                "SELECT (SELECT count(*) FROM unnest(v)), "
                "(SELECT cardinality(positions) FROM unnest(v) WHERE lexeme = 'steel') "
                "FROM (SELECT CAST(:v AS tsvector) AS v) AS s"), {"v": search_vector("Title's", quoted)}).one()
            kept = conn.execute(text("SELECT length(CAST(:v AS tsvector))"), {"v": search_vector(None, many)}).scalar()
    finally:
        engine.dispose()
    # title, s, it, o, brien, back, slash, steel: the 3,000-byte word left out (PostgreSQL would refuse
    # it); steel's first 255 positions, as to_tsvector keeps.
    assert length == 8 and steel == 255
    # The vector stops at the last word that fits in tsvector's 1 MB instead of failing the insert.
    assert kept == ((1 << 20) - 1) // 12
    assert search_vector("A title", None) is None
