"""The crawl's Scrapy components one by one, built without a crawl: the CrawlRun extension (run row,
outcome, validator answers, fatal stop), the two pipelines (analysis; batched storing), the spider's
signals, the shared CrawlContext; then crawl() itself in a child process (one crawl per process)."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import CloseSpider, DropItem
from scrapy.settings import Settings
from scrapy.statscollectors import StatsCollector
from scrapy.utils.test import get_crawler

from crawler.analysis import Analysis
from crawler.config import Source
from crawler.context import CONTEXT_SETTING, CrawlContext, crawl_context
from crawler.crawl_run import CrawlRun
from crawler.extraction import Rejection
from crawler.items import AnalyzedPage, FetchedPage, FetchFailure
from crawler.pipelines import AnalysisPipeline, StorePipeline
from crawler.signals import article_limit_reached, articles_scheduled, validator_answered
from crawler.spiders.news import NewsSpider
from store.errors import StoreError
from store.records import NewArticle, Outcome, ValidatorAnswer
from store.repository import Repository
from tests.conftest import FAST_CRAWL_ENV, ROOT, write_seeds
from tests.sites import TimedSiteServer, serve_stories


@pytest.fixture
def repo(tmp_path: Path) -> Any:
    repository = Repository.open(f"sqlite:///{tmp_path / 'n.db'}")
    yield repository
    repository.close()


def _stats() -> StatsCollector:
    return StatsCollector(get_crawler())


def _article(n: int, source: str = "s") -> Analysis:
    url = f"https://news.example/a/{n}"
    return Analysis(NewArticle(url=url, source=source, content_hash=f"hash-{n}", text=f"Article {n} text.",
                               variants=(url,)))


# -- CrawlRun: the run row, from open to outcome -------------------------------------------------

def _opened_run(repo: Any, discovered: int = 1, **kwargs: Any) -> CrawlRun:
    stats = _stats()
    stats.set_value("newsmon/discovery_pages", discovered)
    run = CrawlRun(repo, "s", stats, holder="me", **kwargs)
    run.spider_opened()
    return run


@pytest.mark.parametrize(("reason", "outcome"), [("finished", Outcome.OK), ("shutdown", Outcome.STOPPED),
                                                  ("closespider_timeout", Outcome.TIMED_OUT),
                                                  ("store_failed", Outcome.FAILED), ("cancelled", Outcome.FAILED)])
def test_the_run_outcome_comes_from_the_close_reason(repo: Any, reason: str, outcome: Outcome) -> None:
    announced: list[int] = []
    run = _opened_run(repo, announce=announced.append)
    assert announced == [run.run_id]
    assert repo.runs.get([run.run_id])[0].outcome == Outcome.RUNNING
    run.spider_closed(reason=reason)
    (record,) = repo.runs.get([run.run_id])
    assert (record.outcome, record.holder, record.source) == (outcome, "me", "s")


def test_a_crawl_that_read_no_discovery_page_failed(repo: Any) -> None:
    run = _opened_run(repo, discovered=0)
    run.spider_closed(reason="finished")
    assert repo.runs.get([run.run_id])[0].outcome == Outcome.FAILED


def test_failures_are_recorded_on_the_run(repo: Any) -> None:
    run = _opened_run(repo)
    run.item_scraped(FetchFailure("s", "https://news.example/x", "HTTP 500"))
    run.item_scraped(AnalyzedPage("https://news.example/y", _article(1)))  # not a failure: ignored
    run.spider_closed(reason="finished")
    (record,) = repo.runs.get([run.run_id])
    assert record.error_list == (("https://news.example/x", "HTTP 500"),) and record.errors == 1
    assert record.outcome == Outcome.OK  # a crawl in which a page failed still ran


FEED = "https://news.example/rss.xml"


@pytest.mark.parametrize("spoiler", [None, "capped", "failure", "store_error"])
def test_validator_answers_are_saved_only_after_a_clean_uncapped_crawl(repo: Any, spoiler: str | None) -> None:
    run = _opened_run(repo)
    run.validator_answered(url=FEED, answer=ValidatorAnswer(etag='"v1"', content_hash="h"))
    if spoiler == "capped":
        run.article_limit_reached()
    elif spoiler == "failure":
        run.item_scraped(FetchFailure("s", "https://news.example/x", "HTTP 500"))
    elif spoiler == "store_error":
        run.store_failed(exc=StoreError("disk full"))
    run.spider_closed(reason="finished")
    saved = repo.validators.load("s")
    if spoiler is None:
        assert saved[FEED].etag == '"v1"'
    else:
        assert saved == {}


def test_a_store_failure_is_kept_as_the_same_exception_and_stops_the_crawl_once(repo: Any) -> None:
    stops: list[str] = []
    run = _opened_run(repo, stop=stops.append)
    first, second = StoreError("database or disk is full"), StoreError("database or disk is full")
    run.store_failed(exc=first)
    run.store_failed(exc=second)
    assert run.error is first and stops == ["store_failed"]
    run.spider_closed(reason="finished")  # e.g. the last batch failed as the spider closed
    assert repo.runs.get([run.run_id])[0].outcome == Outcome.FAILED


def test_a_run_that_cannot_be_opened_closes_the_spider(repo: Any) -> None:
    failure = StoreError("attempt to write a readonly database")

    def refuse(*args: Any, **kwargs: Any) -> int:
        raise failure

    repo.runs.start = refuse
    run = CrawlRun(repo, "s", _stats())
    with pytest.raises(CloseSpider) as closed:
        run.spider_opened()
    assert closed.value.reason == "store_failed" and run.error is failure and run.run_id is None
    run.spider_closed(reason="store_failed")  # nothing to close, and no second error


def test_a_pipeline_that_cannot_start_on_the_database_closes_the_spider_before_the_run(repo: Any) -> None:
    stops: list[str] = []
    run = CrawlRun(repo, "s", _stats(), stop=stops.append)
    failure = StoreError("no such table: boilerplate")
    run.store_failed(exc=failure)  # the storing pipeline's open_spider, before spider_opened
    with pytest.raises(CloseSpider):
        run.spider_opened()
    assert run.error is failure and run.run_id is None and stops == [] and repo.runs.recent() == []


# -- The pipelines ---------------------------------------------------------------------------------

class _Pool:
    def __init__(self, results: dict[str, Analysis | Exception | Rejection]) -> None:
        self.results = results
        self.expected: list[int] = []
        self.learned_seen: list[set[str]] = []

    def expect(self, pages: int) -> None:
        self.expected.append(pages)

    async def analyze(self, page: FetchedPage, min_chars: int, learned: Any) -> Analysis | Rejection:
        self.learned_seen.append(set(learned))
        result = self.results[page.url]
        if isinstance(result, Exception):
            raise result
        return result


def _page(url: str, revisit_of: int | None = None) -> FetchedPage:
    return FetchedPage("s", url, "<html></html>", (url,), revisit_of=revisit_of)


def test_the_analysis_pipeline_turns_pages_into_analyzed_pages_failures_or_drops() -> None:
    article = _article(1)
    pool = _Pool({"https://a/1": article, "https://a/2": Rejection("not an article: listing page"),
                  "https://a/3": ValueError("broken parser")})
    stats = _stats()
    skipped: list[tuple[str, str]] = []
    pipeline = AnalysisPipeline(pool, 100, stats, on_skip=lambda *a: skipped.append(a))  # type: ignore[arg-type]
    pipeline.boilerplate_learned(hashes={"h1"})
    pipeline.articles_scheduled(count=4)
    pipeline.articles_scheduled(count=8)
    assert pool.expected == [4, 12]  # the pool is told the crawl's running total

    analyzed = asyncio.run(pipeline.process_item(_page("https://a/1", revisit_of=7)))
    assert analyzed == AnalyzedPage("https://a/1", article, revisit_of=7) and analyzed.analysis is article
    assert pool.learned_seen == [{"h1"}]
    with pytest.raises(DropItem):
        asyncio.run(pipeline.process_item(_page("https://a/2")))
    assert stats.get_value("newsmon/not_article") == 1
    assert skipped == [("https://a/2", "not an article: listing page")]  # with its reason, for the run
    failed = asyncio.run(pipeline.process_item(_page("https://a/3")))
    assert failed == FetchFailure("s", "https://a/3", "analysis failed: ValueError('broken parser')")
    other = FetchFailure("s", "https://a/4", "HTTP 404")
    assert asyncio.run(pipeline.process_item(other)) is other


class _Articles:
    def __init__(self, fail_with: StoreError | None = None) -> None:
        self.batches: list[list[NewArticle]] = []
        self.fail_with = fail_with

    def add_batch(self, news: list[NewArticle], near_duplicate_bits: int) -> list[Any]:
        if self.fail_with is not None:
            raise self.fail_with
        self.batches.append(news)
        from store.records import AddOutcome, AddStatus

        return [AddOutcome(AddStatus.NEW, i) for i, _ in enumerate(news)]


class _Boilerplate:
    def count(self, source: str, pages: list[dict[str, str]]) -> dict[str, int]:
        return {}


class _Repo:
    def __init__(self, articles: _Articles) -> None:
        self.articles = articles
        self.boilerplate = _Boilerplate()


def test_batches_double_from_one_article_up_to_the_batch_size_and_carry_the_run() -> None:
    articles = _Articles()
    pipeline = StorePipeline(_Repo(articles), "s", _stats(), batch_size=4, batch_seconds=3600)  # type: ignore[arg-type]
    pipeline.run_opened(run_id=42)
    for n in range(12):
        pipeline.process_item(AnalyzedPage(f"u{n}", _article(n)))
    pipeline.close_spider()
    # The handful of a routine crawl is written at once; a burst in batches of at most batch_size.
    assert [len(b) for b in articles.batches] == [1, 2, 4, 4, 1]
    assert {a.run_id for b in articles.batches for a in b} == {42}


def test_a_failed_batch_is_reported_once_and_nothing_more_is_written(caplog: pytest.LogCaptureFixture) -> None:
    full = StoreError("database or disk is full")
    failures: list[StoreError] = []
    articles = _Articles(fail_with=full)
    pipeline = StorePipeline(_Repo(articles), "s", _stats(), on_failure=failures.append)  # type: ignore[arg-type]
    pipeline.run_opened(run_id=1)
    pipeline.process_item(AnalyzedPage("u1", _article(1)))
    articles.fail_with = None
    pipeline.process_item(AnalyzedPage("u2", _article(2)))
    pipeline.close_spider()
    assert failures == [full] and failures[0] is full
    assert articles.batches == []  # after a failure, nothing more: the crawl is stopping
    assert "1 analyzed article(s) not stored: the database stopped taking writes" in caplog.text


# -- The spider: signals, not state for others -----------------------------------------------------

def _spider(**kwargs: Any) -> tuple[NewsSpider, dict[str, list[Any]]]:
    crawler = get_crawler(NewsSpider)
    spider = NewsSpider.from_crawler(crawler, source=Source("s", feeds=("https://news.example/rss.xml",)),
                                     known_urls=lambda urls: {u for u in urls if u.endswith("/known")}, **kwargs)
    sent: dict[str, list[Any]] = {"scheduled": [], "capped": [], "answers": []}
    receivers = [lambda count: sent["scheduled"].append(count), lambda: sent["capped"].append(True),
                 lambda url, answer: sent["answers"].append((url, answer))]
    for receiver, signal in zip(receivers, (articles_scheduled, article_limit_reached, validator_answered),
                                strict=True):
        crawler.signals.connect(receiver, signal=signal, weak=False)
    return spider, sent


def test_the_spider_keeps_no_state_for_other_components() -> None:
    spider, _ = _spider()
    for attribute in ("rules", "answers", "capped", "scheduled"):
        assert not hasattr(spider, attribute), attribute


def test_the_spider_sends_what_it_scheduled_and_when_it_hit_the_limit() -> None:
    from crawler.discovery import Link

    def links(*names: str) -> list[Link]:
        return [Link(f"https://news.example/news/2024-10/01/{name}") for name in names]

    spider, sent = _spider(max_articles=3)
    first = list(spider._article_requests(links("one.html", "two.html", "known"), any_host=False))
    assert len(first) == 2 and sent == {"scheduled": [2], "capped": [], "answers": []}
    second = list(spider._article_requests(links("one.html", "three.html", "four.html"), any_host=False))
    assert [r.url for r in second] == ["https://news.example/news/2024-10/01/three.html"]
    assert sent["scheduled"] == [2, 1] and sent["capped"] == [True]


# -- The context: shared, never copied -----------------------------------------------------------------

def test_the_crawl_context_survives_scrapys_settings_copies(repo: Any) -> None:
    context = CrawlContext(repo, Source("s"), (), "me")
    settings = Settings({CONTEXT_SETTING: context})
    for copied in (settings.copy(), settings.frozencopy(), copy.deepcopy(settings)):
        assert crawl_context(copied) is context and crawl_context(copied).repository.engine is repo.engine
    crawler = get_crawler(NewsSpider, {CONTEXT_SETTING: context})
    assert crawl_context(crawler.settings) is context


def test_a_crawler_without_a_context_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="NM_CRAWL_CONTEXT"):
        crawl_context(Settings())


# -- crawl() in a child process --------------------------------------------------------------------

CHILD = """
import json, sys
from pathlib import Path
from crawler.config import load_config
from crawler.run import crawl
from store.errors import StoreError
from store.repository import Repository

mode, db, seeds = sys.argv[1:]
config = load_config(Path(seeds))
repository = Repository.open(db)
if mode == "fail":
    failure = StoreError("database or disk is full")
    def add_batch(*args, **kwargs):
        raise failure
    repository.articles.add_batch = add_batch
    try:
        crawl(config, list(config.sources), repository)
    except StoreError as exc:
        print(json.dumps({"same": exc is failure, "runs": [r.outcome for r in repository.runs.recent()]}))
elif mode == "crowd":
    start = repository.runs.start
    def crowded(source, holder=None):
        run_id = start(source, holder)
        for _ in range(60):  # other processes' runs, started while this crawl runs
            start("elsewhere")
        return run_id
    repository.runs.start = crowded
    records = crawl(config, list(config.sources), repository)
    print(json.dumps([{"id": r.id, "source": r.source, "new": r.new, "outcome": r.outcome} for r in records]))
"""


def _child(mode: str, tmp_path: Path) -> Any:
    with TimedSiteServer() as server:
        for name in ("a", "b"):
            serve_stories(server, 3, path=f"/{name}/2024-10/01/story-{{n}}.html", feed=f"/{name}.xml",
                          title=f"{name.upper()} {{n}}", offset=31 if name == "b" else 0)
        seeds = write_seeds(tmp_path / "seeds", *({"name": name, "feeds": [f"{server.url}/{name}.xml"],
                                                   "allow": [f"/{name}/"]} for name in ("b", "a")))
        proc = subprocess.run([sys.executable, "-c", CHILD, mode, f"sqlite:///{tmp_path / 'n.db'}", str(seeds)],
                              capture_output=True, text=True, cwd=ROOT, timeout=120,
                              env={**os.environ, **FAST_CRAWL_ENV})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.e2e
def test_crawl_raises_the_very_store_error_that_stopped_it(tmp_path: Path) -> None:
    result = _child("fail", tmp_path)
    assert result == {"same": True, "runs": ["failed", "failed"]}


@pytest.mark.e2e
def test_crawl_returns_its_runs_by_id_in_the_order_of_the_sources(tmp_path: Path) -> None:
    records = _child("crowd", tmp_path)
    # 120 newer runs of another source: the crawl's own are found by id, not among the newest.
    assert [(r["source"], r["new"], r["outcome"]) for r in records] == [("b", 3, "ok"), ("a", 3, "ok")]


def test_crawl_settings_copy_equals_scrapys_deep_copy_and_is_independent_of_its_original() -> None:
    from scrapy.settings import BaseSettings

    from crawler.config import Settings as NewsmonSettings
    from crawler.settings import scrapy_settings
    from crawler.settings_copy import CrawlSettings

    original = CrawlSettings(scrapy_settings(NewsmonSettings(), "WARNING"))
    cheap, deep = original.copy(), BaseSettings.copy(original)
    assert type(cheap) is CrawlSettings
    assert cheap.copy_to_dict() == deep.copy_to_dict()
    assert ({k: a.priority for k, a in cheap.attributes.items()}
            == {k: a.priority for k, a in deep.attributes.items()})
    # A crawler's own settings change without touching the process's: scalars, component dicts, lists.
    cheap.set("DOWNLOAD_DELAY", 7, priority="cmdline")
    cheap.getdict("DOWNLOADER_MIDDLEWARES")  # reading changes nothing
    cheap["DOWNLOADER_MIDDLEWARES"].set("x.Y", 1, priority="cmdline")
    cheap["RETRY_HTTP_CODES"].append(999)
    assert original["DOWNLOAD_DELAY"] != 7
    assert "x.Y" not in original["DOWNLOADER_MIDDLEWARES"]
    assert 999 not in original["RETRY_HTTP_CODES"]
    assert not cheap.frozen and cheap.frozencopy().frozen and not original.frozen
