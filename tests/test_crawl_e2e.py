"""End to end: the real CLI crawls the sample site on 127.0.0.1 with real Scrapy, trafilatura and DB."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from sample_site import SampleSite, build_sample_site, sources_toml
from tests.conftest import cli_json, crawl, fresh_db, run_cli, write_seeds
from tests.sites import Expected, TimedSiteServer, expect

pytestmark = pytest.mark.e2e


@dataclass
class Crawled:
    site: SampleSite
    expected: Expected
    db: str
    seeds: Path
    first: dict[str, Any]
    second: dict[str, Any]
    first_requests: list[str]
    second_requests: list[str]

    def cli(self, *args: str) -> Any:
        return cli_json(self.db, *args, seeds=self.seeds)


@pytest.fixture(scope="module")
def sample() -> Iterator[tuple[TimedSiteServer, SampleSite]]:
    with TimedSiteServer() as srv:
        site = build_sample_site(srv.url)
        srv.set_pages(site.pages)
        yield srv, site


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def crawled(request: pytest.FixtureRequest, sample: tuple[TimedSiteServer, SampleSite],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    srv, site = sample
    folder = tmp_path_factory.mktemp(f"e2e-{request.param}")
    seeds = write_seeds(folder / "seeds", text=sources_toml(site))
    with ExitStack() as stack:
        db = fresh_db(request.param, folder, stack)
        srv.clear_log()
        first = crawl(db, seeds)
        first_requests = srv.requests()
        srv.clear_log()
        second = crawl(db, seeds)
        yield Crawled(site, expect(site), db, seeds, first, second, first_requests, srv.requests())


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _article_urls(expected: Expected) -> set[str]:
    return {*expected.relevant, *expected.irrelevant, *(copy for _, copy in expected.syndicated)}


def test_every_relevant_article_is_stored_and_matched(crawled: Crawled) -> None:
    shown = crawled.cli("query")
    urls = {a["url"] for a in shown}
    # Whichever copy of a syndicated story was fetched first stands for it.
    stand_ins = {copy: original for original, copy in crawled.expected.syndicated}
    assert set(crawled.expected.relevant) <= {stand_ins.get(u, u) for u in urls}
    for article in shown:
        assert article["rules"], article["url"]
        # A boolean rule says which terms hit; a `like` rule, how similar the article is.
        assert all(article["terms"][rule] or rule in article["scores"] for rule in article["rules"])
        assert article["title"] and article["text"]


def test_irrelevant_articles_are_stored_but_not_matched(crawled: Crawled) -> None:
    everything = {a["url"]: a for a in crawled.cli("query", "--all")}
    shown = {a["url"] for a in crawled.cli("query")}
    for url in crawled.expected.irrelevant:
        assert url in everything, url
        assert everything[url]["rules"] == [] and url not in shown


def test_teaser_never_reaches_stored_text(crawled: Crawled) -> None:
    texts = [a["text"] or "" for a in crawled.cli("query", "--all")]
    assert texts
    for sentence in crawled.expected.teaser_sentences:
        assert not any(sentence in t for t in texts), sentence
    assert not any("Carney" in t for t in texts)


def test_no_article_stored_twice_and_syndicated_copy_links_to_original(crawled: Crawled) -> None:
    everything = crawled.cli("query", "--all")
    by_url = {a["url"]: a for a in everything}
    assert len(by_url) == len(everything)
    originals = [a for a in everything if a["duplicate_of"] is None]
    texts = Counter(a["text"] for a in originals)
    assert texts.most_common(1)[0][1] == 1
    shown = {a["url"] for a in crawled.cli("query")}
    for original, copy in crawled.expected.syndicated:
        # Crawl order decides which copy is first seen; the other points at it and is not shown.
        first, second = (original, copy) if by_url[copy]["duplicate_of"] else (copy, original)
        assert by_url[second]["duplicate_of"] == by_url[first]["id"]
        assert by_url[first]["duplicate_of"] is None
        assert first in shown and second not in shown
        assert by_url[first]["also_at"] == [second]


def test_first_crawl_fetches_each_article_once(crawled: Crawled) -> None:
    by_path = Counter(urlsplit(p).path for p in crawled.first_requests)
    for url in _article_urls(crawled.expected):
        assert by_path[urlsplit(url).path] == 1, url  # whatever tracking variants were linked
    failing = {_path(u) for u in crawled.expected.failing}
    for request, n in Counter(crawled.first_requests).items():
        if request not in failing:  # a 500 is retried, as it should be
            assert n == 1, (request, n)


def test_second_crawl_requests_no_article_page(crawled: Crawled) -> None:
    article_paths = {urlsplit(u).path for u in _article_urls(crawled.expected)}
    article_paths |= {urlsplit(old).path for old, _ in crawled.expected.redirects}
    requested = {urlsplit(p).path for p in crawled.second_requests}
    assert not requested & article_paths
    discovery = {urlsplit(u).path for u in (*crawled.site.feeds, *crawled.site.sitemaps, *crawled.site.start_urls)}
    assert discovery <= requested
    assert crawled.second["new"] == 0 and crawled.second["matched"] == 0


def test_robots_txt_is_obeyed(crawled: Crawled) -> None:
    assert "/robots.txt" in crawled.first_requests
    for url in crawled.expected.robots_disallowed:
        assert urlsplit(url).path not in {urlsplit(p).path for p in crawled.first_requests}


def test_failed_page_is_recorded_on_the_run(crawled: Crawled) -> None:
    assert crawled.first["errors"] >= len(crawled.expected.failing)
    failures = {e["url"]: e["reason"] for e in crawled.first["error_list"]}
    for url in crawled.expected.failing:
        assert failures.get(url) == "HTTP 500"
    (run,) = [r for r in crawled.cli("runs") if r["id"] == crawled.first["id"]]
    assert run["errors"] == crawled.first["errors"] and run["outcome"] == "ok"


def test_redirected_article_is_stored_under_its_target(crawled: Crawled) -> None:
    urls = {a["url"] for a in crawled.cli("query", "--all")}
    for old, new in crawled.expected.redirects:
        assert new in urls and old not in urls


def test_summary_counts_agree_with_the_store(crawled: Crawled) -> None:
    everything = crawled.cli("query", "--all")
    assert crawled.first["new"] == sum(1 for a in everything if a["duplicate_of"] is None)
    assert crawled.first["duplicates"] == sum(1 for a in everything if a["duplicate_of"] is not None)
    assert crawled.first["matched"] == len(crawled.cli("query"))
    assert crawled.first["pages"] >= len(everything)


def test_query_new_returns_each_item_exactly_once(crawled: Crawled) -> None:
    consumer = f"tester-{crawled.db[:6]}"
    first = crawled.cli("query", "--new", "--consumer", consumer)
    second = crawled.cli("query", "--new", "--consumer", consumer)
    assert {a["url"] for a in first} == {a["url"] for a in crawled.cli("query")}
    assert second == []
    paged = [crawled.cli("query", "--new", "--consumer", "pager", "--limit", "2")
             for _ in range(len(first) // 2 + 2)]
    seen = [a["id"] for page in paged for a in page]
    assert sorted(seen) == sorted(a["id"] for a in first)


def test_query_output_formats(crawled: Crawled) -> None:
    keys = ["id", "url", "title", "author", "published", "language", "source", "text", "rules", "terms",
            "score", "scores", "first_seen", "duplicate_of", "also_at", "modified", "updated", "versions"]
    (article, *_) = crawled.cli("query")
    assert list(article) == keys
    lines = run_cli("--db", crawled.db, "query", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [a["id"] for a in crawled.cli("query")]
    csv_out = run_cli("--db", crawled.db, "query", "--format", "csv").stdout.splitlines()
    assert csv_out[0].split(",") == keys
    table = run_cli("--db", crawled.db, "query").stdout
    assert table.count("sample-news") == len(crawled.cli("query"))
    assert all(a["url"] in map(str.strip, table.splitlines()) for a in crawled.cli("query"))  # each URL whole


def test_a_dead_source_is_a_failed_run_with_the_reason(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    seeds = write_seeds(tmp_path / "seeds", {"name": "dead", "feeds": [f"http://127.0.0.1:{port}/rss.xml"]})
    run = crawl(f"sqlite:///{tmp_path / 'n.db'}", seeds, env={"NEWSMON_RETRY_TIMES": "0"})
    assert run["outcome"] == "failed" and run["errors"] >= 1
    assert any("refused" in e["reason"].lower() for e in run["error_list"]), run["error_list"]


def test_query_filters(crawled: Crawled) -> None:
    everything = crawled.cli("query", "--all")
    assert crawled.cli("query", "--all", "--since", "1h") == everything
    assert crawled.cli("query", "--all", "--since", "2999-01-01") == []
    unknown = run_cli("--db", crawled.db, "query", "--all", "--source", "no-such-source")  # a typo is no empty list
    assert unknown.returncode == 2 and "no source named 'no-such-source'" in unknown.stderr
    upgrading = crawled.cli("query", "--rule", "high-tech-upgrading")
    assert upgrading and all("high-tech-upgrading" in a["rules"] for a in upgrading)
    assert len(crawled.cli("query", "--all", "--limit", "3")) == 3
