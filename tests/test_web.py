"""`newsmon serve` over real HTTP: pages and their JSON, filters, hostile content, the token, the bind rules.

The store is the session's `web_store` (the sample site crawled by `newsmon demo`, then hostile
articles written through the store); the app runs as `newsmon serve` in a child process.
"""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import feedparser
import pytest

from store.records import ArticleFilter, NewArticle
from store.repository import Repository
from tests.conftest import (
    HOSTILE_URL,
    JAVASCRIPT_URLS,
    Served,
    WebStore,
    cli_json,
    http_get,
    query_json,
    run_cli,
    serving,
    start_serve,
)
from web.feeds import entry_id

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")


@pytest.fixture(scope="module")
def served(web_store: WebStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(web_store, tmp_path_factory.mktemp("serve") / "stderr.log") as app:
        yield app


def get(served: Served, path: str, **headers: str) -> tuple[int, Any, bytes]:
    return http_get(served.url.rstrip("/") + path, headers)


def get_json(served: Served, path: str) -> Any:
    status, headers, body = get(served, path)
    assert status == 200, body
    assert headers["content-type"] == "application/json"
    return json.loads(body)


def page(served: Served, path: str) -> str:
    status, headers, body = get(served, path)
    assert status == 200, body
    assert headers["content-type"] == "text/html; charset=utf-8"
    return body.decode()


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, and its text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


# -- JSON: the same as the command line -------------------------------------------------------------

@pytest.mark.parametrize("params", [{}, {"rule": "digital-manufacturing"}, {"source": "sample-news"},
                                    {"rule": "green-manufacturing", "source": "hostile-news"}])
def test_articles_json_is_query_json(served: Served, web_store: WebStore, params: dict[str, str]) -> None:
    flags = [f"--{k}={v}" for k, v in params.items()]
    expected = query_json(web_store.db, *flags, "--limit", "50")
    got = get_json(served, "/articles.json?" + urlencode(params))
    assert got == expected
    assert got, "the filter should find stories in the web store"
    assert all(list(a) == list(expected[0]) for a in got)  # the same keys, in the same order


def test_article_json_is_its_query_record(served: Served, web_store: WebStore) -> None:
    listed = {a["id"]: a for a in query_json(web_store.db)}
    for article_id, record in listed.items():
        assert get_json(served, f"/articles/{article_id}.json") == record


def test_runs_and_sources_json_are_the_commands_json(served: Served, web_store: WebStore) -> None:
    assert get_json(served, "/runs.json") == cli_json(web_store.db, "runs")
    status = cli_json(web_store.db, "status", seeds=web_store.seeds)
    sources = get_json(served, "/sources.json")
    # Failing sources first, otherwise the seeds' order and the `status` rows themselves.
    assert [s["source"] for s in sources] == ["hostile-news", "sample-news"]
    assert sources[0]["outcome"] == "failed"
    assert sorted(sources, key=lambda s: s["source"]) == sorted(status, key=lambda s: s["source"])


# -- filters ----------------------------------------------------------------------------------------

def ids(served: Served, **params: str) -> list[int]:
    return [a["id"] for a in get_json(served, "/articles.json?" + urlencode(params))]


def test_filters_by_language_and_dates(served: Served, web_store: WebStore) -> None:
    everything = ids(served)
    hostile = {web_store.hostile_id, web_store.javascript_id, web_store.control_id}
    assert set(ids(served, language="de")) == hostile
    assert set(ids(served, language="en")) == set(everything) - hostile
    assert ids(served, language="fr") == []
    mark = web_store.mark.isoformat()
    assert set(ids(served, since=mark)) == hostile
    assert set(ids(served, until=mark)) == set(everything) - hostile
    today = datetime.now(UTC).date()
    # A day is a whole day: until today includes today, since tomorrow is nothing yet.
    assert ids(served, since=today.isoformat(), until=today.isoformat()) == everything
    assert ids(served, since=(today + timedelta(days=1)).isoformat()) == []
    assert ids(served, until=(today - timedelta(days=1)).isoformat()) == []
    assert ids(served, rule="digital-manufacturing", language="de") == []


def test_limit_and_pages(served: Served) -> None:
    everything = ids(served)
    assert len(everything) >= 6
    assert ids(served, limit="2") == everything[:2]
    assert ids(served, limit="2", page="2") == everything[2:4]
    html = page(served, "/articles?limit=2&page=2")
    assert 'href="/articles?limit=2">' in html and 'href="/articles?limit=2&amp;page=3">' in html


@pytest.mark.parametrize(("params", "named"), [("since=yesterday", "since"), ("until=2024-13-01", "until"),
                                               ("limit=0", "limit"), ("limit=%C2%B2", "limit"),
                                               ("page=-1", "page"), ("language=%3Cscript%3E", "language")])
def test_a_bad_filter_is_a_400_naming_it(served: Served, params: str, named: str) -> None:
    status, _, body = get(served, "/articles.json?" + params)
    assert status == 400
    assert json.loads(body)["error"].startswith(f"{named}: ")
    status, _, body = get(served, "/articles?" + params)
    assert status == 400 and f"{named}: " in body.decode()


def test_the_form_filters_with_plain_get(served: Served) -> None:
    html = page(served, "/articles?rule=digital-manufacturing")
    tags = Tags(html).tags
    forms = [a for t, a in tags if t == "form"]
    assert forms == [{"class": "filters", "method": "get", "action": "/articles"}]
    assert ("option", {"value": "digital-manufacturing", "selected": ""}) in tags
    assert {a["name"] for t, a in tags if t in ("select", "input")} == {"rule", "source", "language", "since",
                                                                        "until", "limit"}
    assert '<a class="feedlink" href="/rules/digital-manufacturing/feed.atom">' in html
    assert '<link rel="alternate" type="application/atom+xml" title="newsmon: these stories" ' \
           'href="/rules/digital-manufacturing/feed.atom">' in html
    status, _, body = get(served, "/articles?rule=no-such-rule")
    assert status == 200 and "No stories match these filters" in body.decode()


# -- pages --------------------------------------------------------------------------------------------

def test_article_page_highlights_the_terms_and_links_the_copies(served: Served, web_store: WebStore) -> None:
    html = page(served, f"/articles/{web_store.hostile_id}")
    assert "<mark>low-carbon</mark>" in html and "<mark>factory</mark>" in html  # factor* as the rule reads it
    assert "<mark>Green steel</mark>" in html  # in the title too, whatever the case
    assert f'<a href="{HOSTILE_URL}" rel="noopener noreferrer nofollow">' in html
    assert f'<span class="inert">{JAVASCRIPT_URLS[0]}</span>' in html  # the copy, shown not linked
    assert "green-manufacturing" in html and "Also at" in html
    demo = get_json(served, "/articles.json?source=sample-news")
    with_copy = next(a for a in demo if a["also_at"])
    html = page(served, f"/articles/{with_copy['id']}")
    assert f'<a href="{with_copy["also_at"][0]}" rel="noopener noreferrer nofollow">' in html
    assert html.count("<mark>") >= 5


def test_unknown_article_is_a_404_page_and_json(served: Served) -> None:
    status, headers, body = get(served, "/articles/999999")
    assert status == 404 and "No article with id 999999." in body.decode()
    assert headers["content-type"].startswith("text/html")
    status, _, body = get(served, "/articles/999999.json")
    assert status == 404 and json.loads(body) == {"error": "No article with id 999999.", "status": 404}
    assert get(served, "/articles/nope")[0] == 404
    assert get(served, "/rules/no-such-rule/feed.atom")[0] == 404


def test_sources_and_runs_pages(served: Served) -> None:
    html = page(served, "/sources")
    assert html.index("hostile-news") < html.index("sample-news")
    assert '<tr class="failing">' in html
    html = page(served, "/runs")
    assert "server-error-story.html</a><br><span class=\"reason\">HTTP 500</span>" in html
    assert f'<span class="inert">{JAVASCRIPT_URLS[0]}</span>' in html


def test_root_redirects_and_only_get_and_head_are_served(served: Served) -> None:
    status, headers, _ = get(served, "/")
    assert status == 302 and headers["location"] == "/articles"
    status, headers, body = http_get(served.url + "articles", method="HEAD")
    assert status == 200 and body == b""
    for method in ("POST", "PUT", "DELETE"):
        assert http_get(served.url + "articles", method=method)[0] == 405
    assert get(served, "/static/style.css")[0] == 200


def test_a_foreign_host_name_is_refused(served: Served) -> None:
    # DNS rebinding: a page on evil.example re-pointed at 127.0.0.1 must not read the app.
    assert get(served, "/articles", Host="evil.example")[0] == 400
    assert get(served, "/articles", Host="localhost:1234")[0] == 200


# -- feeds, served -----------------------------------------------------------------------------------

def test_served_feeds_parse_and_list_the_stories(served: Served, web_store: WebStore) -> None:
    status, headers, body = get(served, "/feed.atom")
    assert status == 200 and headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(body)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert [e.id for e in feed.entries] == [entry_id(a["url"]) for a in query_json(web_store.db, "--limit", "50")]
    assert any(link.rel == "self" for link in feed.feed.links)
    for rule in ("digital-manufacturing", "green-manufacturing"):
        feed = feedparser.parse(get(served, f"/rules/{quote(rule)}/feed.atom")[2])
        assert feed.bozo == 0
        assert [e.id for e in feed.entries] == [entry_id(a["url"]) for a in query_json(web_store.db, "--rule", rule)]
        assert all(rule in {t.term for t in e.tags} for e in feed.entries)
    assert '<a href="/feed.atom">Feed</a>' in page(served, "/sources")


# -- hostile content -----------------------------------------------------------------------------------

HOSTILE_PAGES = ("/articles", "/articles?language=de", "/sources", "/runs")


def test_hostile_content_renders_inert(served: Served, web_store: WebStore) -> None:
    paths = [*HOSTILE_PAGES, *(f"/articles/{i}" for i in (web_store.hostile_id, web_store.javascript_id,
                                                           web_store.control_id))]
    for path in paths:
        status, headers, body = get(served, path)
        assert status == 200
        assert headers["content-security-policy"] == CSP
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        html = body.decode()
        tags = Tags(html)
        assert not [t for t, _ in tags.tags if t in ("script", "img", "iframe", "object", "embed")], path
        assert not [(t, a) for t, a in tags.tags for k in a if k.startswith("on")], path
        links = [v for _, a in tags.tags for k, v in a.items() if k in ("href", "src", "action")]
        assert not [v for v in links if not v.startswith(("/", "http://", "https://", "#"))], path
        assert 'href="javascript:' not in html.lower()
    html = page(served, f"/articles/{web_store.hostile_id}")
    # The payloads are there, as text.
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;window.pwned=2&#34;&gt;" in html
    assert "&lt;b&gt;Mallory&lt;/b&gt;" in html
    html = page(served, f"/articles/{web_store.javascript_id}")
    assert f'<span class="inert">{JAVASCRIPT_URLS[1]}</span> (not a web address' in html


# -- token, bind, port, Ctrl-C ------------------------------------------------------------------------

def test_a_non_local_bind_needs_a_token(web_store: WebStore) -> None:
    for host in ("0.0.0.0", "192.0.2.1", "::"):
        proc = run_cli("--db", web_store.db, "--seeds", str(web_store.seeds), "serve", "--host", host,
                       env={"NEWSMON_SERVE_TOKEN": ""})
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith(f"Error: --host {host} is reachable from other machines")
        assert proc.stderr.count("\n") == 1


def test_with_a_token_every_request_shows_it(web_store: WebStore, tmp_path: Path) -> None:
    token = "s3cret-token-ABC"
    with serving(web_store, tmp_path / "stderr.log", "--host", "0.0.0.0",
                 env={"NEWSMON_SERVE_TOKEN": token}) as app:
        url = app.url.replace("0.0.0.0", "127.0.0.1")
        for path in ("/articles", "/articles.json", "/feed.atom", "/static/style.css", f"/articles?token={token}x"):
            status, headers, _ = http_get(url.rstrip("/") + path)
            assert status == 401, path
            assert headers["content-security-policy"] == CSP
        assert http_get(url + "articles", {"Authorization": "Bearer wrong"})[0] == 401
        assert http_get(url + "articles.json", {"Authorization": f"Bearer {token}"})[0] == 200
        # Once in the URL: a cookie, and the same URL without the token.
        status, headers, _ = http_get(url + f"articles?rule=green-manufacturing&token={token}&limit=20")
        assert status == 303 and headers["location"] == "/articles?rule=green-manufacturing&limit=20"
        cookie = headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and token not in cookie
        name_value = cookie.split(";")[0]
        status, _, body = http_get(url + "articles?rule=green-manufacturing&limit=20", {"Cookie": name_value})
        assert status == 200 and b"Matched stories" in body
        assert http_get(url + "articles", {"Cookie": name_value + "x"})[0] == 401
        assert app.stop() == 0
        assert token not in app.stderr()


def test_port_in_use_is_one_error_line_and_ctrl_c_exits_0(web_store: WebStore, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_cli("--db", web_store.db, "--seeds", str(web_store.seeds), "serve", "--port", str(port))
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"Error: cannot listen on 127.0.0.1 port {port}: ")
    assert proc.stderr.count("\n") == 1
    served = start_serve(web_store, tmp_path / "stderr.log")
    assert isinstance(served, Served)
    assert http_get(served.url + "articles")[0] == 200
    assert served.stop() == 0
    assert served.stderr().strip() == f"Serving {served.url} (Ctrl-C to stop)"


def test_an_empty_store_says_what_to_do(tmp_path: Path, web_store: WebStore) -> None:
    empty = WebStore(f"sqlite:///{tmp_path / 'empty.db'}", web_store.seeds, web_store.mark, 0, 0, 0)
    Repository.open(empty.db).close()  # a database with nothing in it (serve, a reader, creates none)
    with serving(empty, tmp_path / "stderr.log") as app:
        assert "No matched stories yet: run <code>newsmon crawl now</code>" in page(app, "/articles")
        assert "No crawls yet: run <code>newsmon crawl now</code>" in page(app, "/runs")
        assert "not crawled yet" in page(app, "/sources")
        assert get_json(app, "/articles.json") == []
        feed = feedparser.parse(get(app, "/feed.atom")[2])
        assert feed.bozo == 0 and feed.entries == []


# -- the store's new filters, on SQLite and PostgreSQL ----------------------------------------------------

def test_store_filters_by_language_until_and_offset(db_url: str) -> None:
    repo = Repository.open(db_url)
    try:
        outcomes = repo.articles.add_batch([
            NewArticle(url=f"https://example.com/{i}", source="s", content_hash=f"h{i}", text="text",
                       language=lang, matches={"r": ("text",)}) for i, lang in enumerate(["en", "de", "en"])])
        all_ids = [a.id for a in repo.articles.query(ArticleFilter())]
        assert all_ids == [o.article_id for o in reversed(outcomes)]
        assert [a.id for a in repo.articles.query(ArticleFilter(language="de"))] == [outcomes[1].article_id]
        assert [a.id for a in repo.articles.query(ArticleFilter(limit=1, offset=1))] == all_ids[1:2]
        future = datetime.now(UTC) + timedelta(minutes=5)
        assert repo.articles.query(ArticleFilter(until=datetime.now(UTC) - timedelta(minutes=5))) == []
        assert [a.id for a in repo.articles.query(ArticleFilter(until=future))] == all_ids
    finally:
        repo.close()


def test_serve_shows_the_seeds_as_edited_and_keeps_the_last_good_ones(tmp_path: Path, web_store: WebStore) -> None:
    seeds = Path(shutil.copytree(web_store.seeds, tmp_path / "seeds"))
    store = WebStore(web_store.db, seeds, web_store.mark, 0, 0, 0)
    with serving(store, tmp_path / "stderr.log") as app:
        assert "later-news" not in {s["source"] for s in get_json(app, "/sources.json")}
        with (seeds / "sources.toml").open("a", encoding="utf-8") as out:
            out.write('\n[[source]]\nname = "later-news"\nfeeds = ["https://later.example/feed.xml"]\n')
        assert "later-news" in {s["source"] for s in get_json(app, "/sources.json")}
        (seeds / "sources.toml").write_text("[[source]\nname = ", encoding="utf-8")  # a broken edit
        assert "later-news" in {s["source"] for s in get_json(app, "/sources.json")}
        assert "seeds edit rejected, still showing the last good config" in app.stderr()
