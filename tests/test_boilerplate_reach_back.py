"""Learned boilerplate reaches back: a paragraph learned on a later page is removed from the source's
articles stored before it, their fingerprints and rule matches are redone, and an article that matched
a rule only through it is no longer listed.

A real crawl of a fixture site on 127.0.0.1 through the real CLI, on SQLite and PostgreSQL; then the
storing pipeline and the store calls it makes, built without a crawl, on a real database.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from scrapy.statscollectors import StatsCollector
from scrapy.utils.test import get_crawler

from crawler.analysis import Analysis
from crawler.boilerplate import LEARNED_MIN_PAGES, blocks
from crawler.fingerprints import bands, content_hash, simhash
from crawler.items import AnalyzedPage
from crawler.pipelines import StorePipeline
from crawler.rules import MatchText, Rule, match_rules, parse_query
from sample_site import Page, load_articles
from store.records import ArticleFilter, NewArticle
from store.repository import Repository
from tests.conftest import cli_json, crawl, run_cli, write_seeds
from tests.sites import TimedSiteServer, serve_feed

ARTICLES = {a["key"]: a for a in load_articles()}
# The newsletter plug of the issue: inline after the body, a plain paragraph, on every page of the
# source; and the only place "tidal turbine" appears on the pages that are not about it.
PLUG = ("Get the Harbour Ledger newsletter: tidal turbine news from the estuary, in your inbox every "
        "Friday morning.")
OWN_TOPIC = ("Engineers lowered two tidal turbines into the estuary channel on Tuesday, the first of twelve "
             "the port authority has ordered.")
RULES_TOML = "[[rule]]\nname = \"tidal\"\nquery = '\"tidal turbine*\"'\n"
RULES = (Rule("tidal", parse_query('"tidal turbine*"')),)
BODIES = ["000", "001", "002", "004", "sports", "culture"]


def _page(n: int) -> Page:
    data = ARTICLES[BODIES[n]]
    paragraphs = [p for p in data["paragraphs"] if p not in data.get("headings", ())][:4]
    if n == 1:
        paragraphs.append(OWN_TOPIC)  # matches the rule on its own text, plug or not
    body = "".join(f"<p>{html.escape(p)}</p>" for p in [*paragraphs, PLUG])
    title = html.escape(data["title"])
    return Page((f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><nav><a href='/'>Home</a>"
                 f"</nav><div class='c9'><h1>{title}</h1>{body}</div><footer>Harbour Ledger</footer></body></html>"
                 ).encode())


def _serve(server: TimedSiteServer, pages: range) -> str:
    paths = [f"/ledger/2024-05/{n + 1:02d}/page-{n}.html" for n in pages]
    for n, path in zip(pages, paths, strict=True):
        server.set_page(path, _page(n))
    return serve_feed(server, "/feed.xml", paths)


def _by_page(articles: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {int(re.search(r"page-(\d+)", a["url"])[1]): a for a in articles}  # type: ignore[index]


@pytest.mark.e2e
def test_a_block_learned_later_is_removed_from_the_pages_that_taught_it(
        server: TimedSiteServer, tmp_path: Path, db_url: str) -> None:
    seeds = write_seeds(tmp_path / "seeds", {"name": "ledger", "feeds": [_serve(server, range(2))]})
    (seeds / "rules.toml").write_text(RULES_TOML, encoding="utf-8")

    # First crawl: two pages hold the plug, too few to learn it; page 0 matches only through it.
    crawl(db_url, seeds)
    first = _by_page(cli_json(db_url, "query", seeds=seeds))
    assert sorted(first) == [0, 1] and all(PLUG in a["text"] for a in first.values())

    # Second crawl: three more pages with it; the third article that holds it teaches it.
    _serve(server, range(6))
    proc = run_cli("--db", db_url, "--seeds", str(seeds), "--log-level", "info", "crawl", "now", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    everything = _by_page(cli_json(db_url, "query", "--all", seeds=seeds))
    assert sorted(everything) == list(range(6))
    assert [n for n, a in everything.items() if PLUG in a["text"]] == []
    # Only the plug went: each page keeps its own first paragraph.
    for n, a in everything.items():
        assert ARTICLES[BODIES[n]]["paragraphs"][0][:60] in a["text"]
    # Page 0, listed after the first crawl, matched through the plug alone: no longer listed.
    listed = _by_page(cli_json(db_url, "query", seeds=seeds))
    assert sorted(listed) == [1] and listed[1]["rules"] == ["tidal"]
    assert everything[0]["rules"] == []
    # The first crawl's run no longer counts page 0 as matched.
    runs = {r["id"]: r for r in cli_json(db_url, "runs", seeds=seeds)}
    assert [runs[i]["matched"] for i in sorted(runs)] == [1, 0]
    # Explainable: each stored article cleaned after the fact is logged with its id.
    cleaned = {int(m) for m in re.findall(r"removed learned boilerplate from article #(\d+)", proc.stderr)}
    assert {everything[0]["id"], everything[1]["id"]} <= cleaned
    (block,) = cli_json(db_url, "boilerplate", seeds=seeds)
    assert block["sample"] == PLUG and block["pages"] == 6
    # Not a version: the pages did not change, and `query --updated` does not announce them again.
    assert cli_json(db_url, "query", "--updated", "--all", seeds=seeds) == []
    assert json.loads(proc.stdout)[0]["matched"] == 0


# -- the pipeline and the store, without a crawl ------------------------------------------------------

def _analysis(n: int, paragraphs: list[str], source: str = "s") -> Analysis:
    text = "\n".join(paragraphs)
    url = f"https://ledger.example/a/{n}"
    return Analysis(NewArticle(url=url, source=source, content_hash=content_hash(text), text=text, variants=(url,),
                               title=f"Story {n}", matches=match_rules(RULES, MatchText.of(f"Story {n}", text), None),
                               simhash=simhash(text), bands=bands(text)), blocks(text))


def _body(n: int) -> list[str]:
    data = ARTICLES[BODIES[n]]
    return [p for p in data["paragraphs"] if p not in data.get("headings", ())][:3]


@pytest.fixture
def repo(db_url: str) -> Any:
    repository = Repository.open(db_url)
    yield repository
    repository.close()


def test_a_page_analyzed_before_the_block_was_learned_is_stored_without_it(repo: Repository) -> None:
    stats = StatsCollector(get_crawler())
    pipeline = StorePipeline(repo, "s", stats, batch_size=LEARNED_MIN_PAGES, batch_seconds=3600, rules=RULES)
    run_id = repo.runs.start("s")
    pipeline.run_opened(run_id=run_id)
    pipeline.open_spider()
    try:
        # All analyzed before anything was learned, as the pool runs ahead of the batches.
        analyses = [_analysis(n, [*_body(n), PLUG]) for n in range(5)]
        for a in analyses:
            pipeline.process_item(AnalyzedPage(a.article.url, a))
    finally:
        pipeline.close_spider()
    stored = repo.articles.query(ArticleFilter(include_all=True))
    assert len(stored) == 5 and [a.url for a in stored if PLUG in (a.text or "")] == []
    assert [a.url for a in repo.articles.query(ArticleFilter())] == []  # every match came from the plug
    assert stats.get_value("newsmon/matched", 0) == 0
    assert repo.runs.get([run_id])[0].matched == 0
    # The cleaned text's fingerprints are the ones stored: the same text found again is an exact copy.
    again = _analysis(9, _body(2))
    (outcome,) = repo.articles.add_batch([again.article])
    assert outcome.duplicate_of == next(a.id for a in stored if a.url.endswith("/2"))


def test_a_cleaning_redoes_an_exact_copy_and_yields_to_a_newer_version(repo: Repository) -> None:
    original = _analysis(1, [*_body(1), PLUG]).article
    copy = _analysis(2, [*_body(1), PLUG], source="other").article
    other = _analysis(3, [*_body(3), PLUG]).article
    ids = [o.article_id for o in repo.articles.add_batch([original, copy, other])]
    found = repo.articles.containing("s", repo.articles.query(ArticleFilter(include_all=True))[-1].first_seen,
                                     [PLUG])
    # The copy lives on another source but shows the original's text, so it is cleaned with it.
    assert [(a.id, a.exact_copy) for a in found] == [(ids[0], False), (ids[1], True), (ids[2], False)]
    kept = "\n".join(_body(1))
    for article in found[:2]:
        assert repo.articles.rewrite(article, kept, content_hash(kept), simhash(kept), bands(kept), {}) == (
            -1 if article.duplicate_of is None else 0)
    stale = dataclasses.replace(found[2], content_hash="changed-since")  # a revisit stored a version
    assert repo.articles.rewrite(stale, "x", content_hash("x"), simhash("x"), bands("x"), {}) is None
    by_id = {a.id: a for a in repo.articles.query(ArticleFilter(include_all=True))}
    assert by_id[ids[0]].text == kept and by_id[ids[1]].text == kept and by_id[ids[1]].rules == ()
    assert PLUG in (by_id[ids[2]].text or "") and by_id[ids[2]].rules == ("tidal",)
    # What the next same text finds: the cleaned hash and bands, not the old ones.
    assert repo.articles.find_story(simhash(kept), bands(kept)) == ids[0]
