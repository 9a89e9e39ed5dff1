"""No silent drops: every page a crawl fetched and did not store is on its run with the reason, in
`newsmon runs --skipped` and at --log-level info; no listing page is stored as an article, however
the source is written (only start URLs and no allow; an allow that is just the site's prefix). And
the skip rows stay bounded (store.runs)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from scrapy.statscollectors import StatsCollector
from scrapy.utils.test import get_crawler
from sqlalchemy import create_engine, text

from crawler.analysis import Analysis
from crawler.crawl_run import SKIP_BATCH, CrawlRun
from crawler.items import AnalyzedPage
from crawler.pipelines import StorePipeline
from crawler.urls import article_key, is_listing_link, looks_like_article
from sample_site import SampleSite, build_sample_site
from sample_site.articles import Article, article_path, load_articles
from sample_site.templates import listing
from store.db import upgrade
from store.records import ArticleFilter, NewArticle, Outcome
from store.repository import Repository
from store.runs import PRUNE_EVERY, SKIP_RUNS, SKIPS_PER_RUN
from tests.conftest import cli_json, run_cli, write_seeds
from tests.sites import TimedSiteServer

# Listing pages under URLs that the article-URL heuristic takes for articles (a date, a long
# hyphenated slug): with no allow pattern they are fetched as articles, and only the page itself
# can say it is a listing. Each lists sample articles in the sample site's own listing template.
ARCHIVES = {
    "/business/2024-09/": ("Business, September 2024", ("000", "002", "bank", "004")),
    "/business/2024-09/?page=2": ("Business, September 2024, page 2", ("001", "003")),
    "/2024/09/21/": ("Saturday 21 September 2024", ("000", "sports", "culture", "diplomacy")),
    "/world/asia-pacific-news-and-analysis/": ("Asia-Pacific news and analysis", ("diplomacy", "culture", "002")),
}


@dataclass
class Crawled:
    server: TimedSiteServer
    site: SampleSite
    db: str
    seeds: Path
    source: dict[str, Any]  # as written in sources.toml
    run: dict[str, Any]
    log: str  # the crawl's stderr at --log-level info
    requested: list[str]  # the server's request log (paths)

    def cli(self, *args: str) -> Any:
        return cli_json(self.db, *args, seeds=self.seeds)

    def stored_keys(self, urls: list[str]) -> set[str]:
        repo = Repository.open(self.db)
        try:
            return repo.articles.known_urls(urls)
        finally:
            repo.close()


def _serve_sample_with_archives(server: TimedSiteServer) -> SampleSite:
    site = build_sample_site(server.url)
    server.set_pages(site.pages)
    arts = {a["key"]: Article(a, article_path(a)) for a in load_articles()}
    for path, (title, keys) in ARCHIVES.items():
        server.set_page(path, listing(title, [(arts[k].path, arts[k]) for k in keys], server.url))
    server.set_page("/archive/", listing("Archive", [(path, None) for path in ARCHIVES], server.url))
    return site


def _crawl(server: TimedSiteServer, folder: Path, source: dict[str, Any]) -> Crawled:
    site = _serve_sample_with_archives(server)
    seeds = write_seeds(folder / "seeds", source)
    db = f"sqlite:///{folder / 'newsmon.db'}"
    server.clear_log()
    proc = run_cli("--db", db, "--seeds", str(seeds), "--log-level", "info", "crawl", "now", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    (run,) = json.loads(proc.stdout)
    return Crawled(server, site, db, seeds, source, run, proc.stderr, server.requests())


@pytest.fixture(scope="module")
def start_urls_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    """The sample site crawled from start URLs alone: no allow, no feeds, no sitemaps."""
    with TimedSiteServer() as server:
        folder = tmp_path_factory.mktemp("start-urls-only")
        yield _crawl(server, folder, {"name": "sample-start",
                                      "start_urls": [f"{server.url}/", f"{server.url}/archive/"]})


@pytest.fixture(scope="module")
def prefix_allow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    """The sample site with the site's prefix as its only allow pattern, as a user who writes no
    regex would, and no listing hops: every link on the home page is fetched as an article."""
    with TimedSiteServer() as server:
        folder = tmp_path_factory.mktemp("prefix-allow")
        yield _crawl(server, folder, {"name": "sample-prefix", "start_urls": [f"{server.url}/"],
                                      "allow": [f"^{re.escape(server.url)}/"], "follow": 0})


def _skips(crawled: Crawled) -> dict[str, str]:
    return {e["url"]: e["reason"] for e in crawled.run["skip_list"]}


def test_without_allow_no_listing_page_is_stored(start_urls_only: Crawled) -> None:
    crawled = start_urls_only
    archives = [crawled.server.url + path for path in ARCHIVES]
    assert all(looks_like_article(url) for url in archives)  # what makes this test able to fail
    assert {urlsplit(u).path + (f"?{urlsplit(u).query}" if urlsplit(u).query else "") for u in archives} <= set(
        crawled.requested)
    stored = {a["url"] for a in crawled.cli("query", "--all")}
    assert stored and not {article_key(u) for u in stored} & {article_key(u) for u in archives}
    assert crawled.stored_keys(archives) == set()
    skips = {article_key(u): why for u, why in _skips(crawled).items()}
    for url in archives:
        assert skips[article_key(url)].startswith("not an article: listing page"), (url, skips.get(article_key(url)))
    assert crawled.run["outcome"] == "ok" and crawled.run["skipped"] == len(crawled.run["skip_list"])


def test_with_the_sites_prefix_as_allow_no_home_or_section_page_is_stored(prefix_allow: Crawled) -> None:
    crawled = prefix_allow
    sections = [f"{crawled.server.url}/{s}/" for s in ("business", "world", "sports")]
    assert {urlsplit(u).path for u in sections} <= set(crawled.requested)  # fetched as articles
    stored = {article_key(a["url"]) for a in crawled.cli("query", "--all")}
    assert stored and not stored & {article_key(u) for u in (*sections, crawled.server.url + "/")}
    skips = _skips(crawled)
    for url in sections:
        assert skips[url].startswith(("not an article: ", "too short: ")), (url, skips.get(url))
    assert skips[crawled.site.disallowed] == "robots.txt forbids it"


@pytest.mark.parametrize("name", ["start_urls_only", "prefix_allow"])
def test_every_fetched_page_is_stored_failed_or_skipped_with_a_reason(name: str, request: pytest.FixtureRequest
                                                                      ) -> None:
    crawled: Crawled = request.getfixturevalue(name)
    base = crawled.server.url
    # Discovery pages are read for links, not stored: robots.txt, the start URLs, and the section
    # pages below them when the spider follows listings.
    starts = crawled.source["start_urls"]
    follows = crawled.source.get("follow", 1) > 0
    fetched = {base + p for p in crawled.requested if p != "/robots.txt"}
    articles = {article_key(u) for u in fetched if u not in starts and not (follows and is_listing_link(u, starts))}
    stored = crawled.stored_keys(sorted(articles))
    failed = {article_key(e["url"]) for e in crawled.run["error_list"]}
    skipped = {article_key(e["url"]): e["reason"] for e in crawled.run["skip_list"]}
    assert articles - stored - failed - set(skipped) == set()
    assert all(reason.strip() for reason in skipped.values())
    assert not set(skipped) & stored  # a skipped page is not stored under another name either


@pytest.mark.parametrize("name", ["start_urls_only", "prefix_allow"])
def test_each_skip_is_one_info_line_and_listed_by_runs_skipped(name: str, request: pytest.FixtureRequest) -> None:
    crawled: Crawled = request.getfixturevalue(name)
    skips = _skips(crawled)
    assert skips
    lines = crawled.log.splitlines()
    for url, reason in skips.items():
        assert sum(f"skipped {url}: {reason}" in line for line in lines) == 1, url
    proc = run_cli("--db", crawled.db, "runs", "--skipped")
    assert proc.returncode == 0, proc.stderr
    run_id = crawled.run["id"]
    for url, reason in skips.items():
        # A long reason is wrapped to the width, the URL on a line of its own.
        assert f"run {run_id} {crawled.run['source']}: skipped, {reason} {url}" in " ".join(proc.stdout.split())
    (listed,) = cli_json(crawled.db, "runs")
    assert listed["skip_list"] == crawled.run["skip_list"] and listed["skipped"] == len(skips)
    assert " skip " in run_cli("--db", crawled.db, "runs").stdout  # the table's column (`skipped` in JSON)


# -- The store: all counted, a bounded number kept -------------------------------------------------

def test_skips_are_counted_all_and_kept_up_to_the_bound(db_url: str) -> None:
    repo = Repository.open(db_url)
    try:
        run = repo.runs.start("s")
        repo.runs.add_skips(run, [(f"https://x/{i}", "not an article: listing page")
                                  for i in range(SKIPS_PER_RUN - 1)])
        repo.runs.add_skips(run, [("https://x/a", "too short: 12 characters"),
                                  ("https://x/b", "robots.txt forbids it")])
        repo.runs.finish(run, Outcome.OK, pages=3)
        (record,) = repo.runs.get([run])
        assert record.skipped == SKIPS_PER_RUN + 1 and record.outcome == Outcome.OK and record.errors == 0
        assert len(record.skip_list) == SKIPS_PER_RUN
        assert record.skip_list[-1] == ("https://x/a", "too short: 12 characters")
        assert repo.runs.recent()[0].skip_list == ()  # only when asked
        assert repo.runs.recent(with_skips=True)[0].skip_list == record.skip_list
    finally:
        repo.close()


def test_skip_rows_are_kept_for_each_sources_newest_runs_only(db_url: str) -> None:
    repo = Repository.open(db_url)
    try:
        other = repo.runs.start("other")
        repo.runs.add_skips(other, [("https://o/1", "too short")])
        runs: list[int] = []
        # Pruned on one start in PRUNE_EVERY: go on to the first such start past SKIP_RUNS + 2 runs.
        while len(runs) < SKIP_RUNS + 2 or runs[-1] % PRUNE_EVERY:
            runs.append(repo.runs.start("s"))
            repo.runs.add_skips(runs[-1], [(f"https://x/{len(runs)}", "too short")])
        got = {r.id: r for r in repo.runs.get([other, *runs])}
        assert all(got[r].skip_list == () for r in runs[:-SKIP_RUNS])  # pruned as newer runs started
        assert all(len(got[r].skip_list) == 1 for r in runs[-SKIP_RUNS:])
        assert all(got[r].skipped == 1 for r in runs)  # the count stays
        assert got[other].skip_list == (("https://o/1", "too short"),)  # another source's are its own
    finally:
        repo.close()


def test_runs_from_before_skips_read_zero(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    upgrade(engine, "0005")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO runs (id, source, started, outcome, pages, new, matched, duplicates, errors) "
                          "VALUES (1, 's', '2024-09-21 00:00:00', 'ok', 1, 1, 0, 0, 0)"))
    engine.dispose()
    repo = Repository.open(url)
    try:
        (run,) = repo.runs.get([1])
        assert run.skipped == 0 and run.skip_list == ()
    finally:
        repo.close()


# -- The components: the run records skips; the store's "known" is a skip naming the article ------

def test_the_run_counts_and_writes_skips_in_batches_and_stays_ok(tmp_path: Path) -> None:
    repo = Repository.open(f"sqlite:///{tmp_path / 'n.db'}")
    try:
        stats = StatsCollector(get_crawler())
        stats.set_value("newsmon/discovery_pages", 1)
        run = CrawlRun(repo, "s", stats)
        run.spider_opened()
        assert run.run_id is not None
        for n in range(SKIP_BATCH + 1):
            run.page_skipped(url=f"https://x/{n}", reason="not an article: listing page")
        assert repo.runs.get([run.run_id])[0].skipped == SKIP_BATCH  # a full batch is written at once
        run.spider_closed(reason="finished")
        (record,) = repo.runs.get([run.run_id])
        assert (record.outcome, record.skipped, record.errors) == (Outcome.OK, SKIP_BATCH + 1, 0)
        assert record.skip_list[-1] == (f"https://x/{SKIP_BATCH}", "not an article: listing page")
        assert stats.get_value("newsmon/skipped") == SKIP_BATCH + 1
    finally:
        repo.close()


def _analysis(url: str, *variants: str, text: str = "An article's text.") -> Analysis:
    return Analysis(NewArticle(url=url, source="s", content_hash=str(hash(text)), text=text, variants=(url, *variants)))


def test_a_page_of_an_article_already_stored_is_a_skip_that_names_it(tmp_path: Path) -> None:
    repo = Repository.open(f"sqlite:///{tmp_path / 'n.db'}")
    try:
        skipped: list[tuple[str, str]] = []
        pipeline = StorePipeline(repo, "s", StatsCollector(get_crawler()), on_skip=lambda *a: skipped.append(a))
        pipeline.run_opened(run_id=repo.runs.start("s"))
        pipeline.process_item(AnalyzedPage("https://x/a", _analysis("https://x/a")))
        pipeline.flush()
        # Another URL whose page declares the first one canonical: the same article.
        pipeline.process_item(AnalyzedPage("https://x/b", _analysis("https://x/b", "https://x/a", text="Other.")))
        pipeline.flush()
        (stored,) = repo.articles.query(ArticleFilter(include_all=True))
        assert skipped == [("https://x/b", f"known article: another URL of article #{stored.id}")]
    finally:
        repo.close()
