"""Topic by example: `like` rules in a real crawl, `rules test` explaining (no) matches, `rules apply`
applying an edited rule to stored articles, and the embedding model loading with no network.

The two stories in tests/data/like/ were written for these tests (behaviour, not quality: the
quality figures are bench/relevance.py's, on real pages): a paraphrase of the seed articles'
subject that avoids every word the boolean rules anchor on, and a near miss that shares the
topic's words (green, factory, emissions) but not its subject.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.config import load_config
from crawler.matching import evaluate
from sample_site import Page, build_sample_site
from tests.conftest import ROOT, cli_json, crawl, run_cli, write_seeds
from tests.sites import TimedSiteServer, serve_feed

DATA = Path(__file__).resolve().parent / "data" / "like"
LIKE_RULE = "manufacturing-by-example"
PARAPHRASE = "/business/2024-10/02/old-mills-new-tricks.html"
NEAR_MISS = "/local/2024-10/03/green-party-council-seats.html"


def _story(name: str) -> tuple[str, str]:
    title, _, body = (DATA / name).read_text(encoding="utf-8").partition("\n")
    return title.strip(), body.strip()


def _page(name: str) -> Page:
    title, body = _story(name)
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n\n"))
    return Page(f"<html><head><title>{html.escape(title)}</title></head><body><article>"
                f"<h1>{html.escape(title)}</h1>{paragraphs}</article></body></html>".encode())


@pytest.fixture
def two_stories(server: TimedSiteServer, tmp_path: Path) -> tuple[Path, str]:
    """A site serving the paraphrase and the near miss in a feed, and seeds with the default rules."""
    server.set_page(PARAPHRASE, _page("paraphrase.txt"))
    server.set_page(NEAR_MISS, _page("near-miss.txt"))
    feed = serve_feed(server, "/rss.xml", [PARAPHRASE, NEAR_MISS])
    seeds = write_seeds(tmp_path / "seeds", {"name": "two", "feeds": [feed]})
    return seeds, server.url


def test_like_rule_matches_a_paraphrase_no_boolean_rule_matches_and_not_a_near_miss() -> None:
    rules = load_config(ROOT / "seeds").rules
    title, body = _story("paraphrase.txt")
    verdicts = {v.rule: v for v in evaluate(rules, title, body, "en")}
    assert verdicts[LIKE_RULE].matched
    assert {name for name, v in verdicts.items() if v.matched} == {LIKE_RULE}
    similarity = verdicts[LIKE_RULE].similarity
    assert similarity is not None and similarity.score >= similarity.threshold
    title, body = _story("near-miss.txt")
    near = {v.rule: v for v in evaluate(rules, title, body, "en")}
    assert not any(v.matched for v in near.values())
    assert near[LIKE_RULE].similarity is not None
    assert near[LIKE_RULE].similarity.score < near[LIKE_RULE].similarity.threshold


def test_a_crawl_stores_the_like_score_and_query_shows_and_orders_by_it(two_stories: tuple[Path, str],
                                                                         tmp_path: Path) -> None:
    seeds, base = two_stories
    db = f"sqlite:///{tmp_path / 'newsmon.db'}"
    run = crawl(db, seeds)
    assert run["new"] == 2 and run["matched"] == 1
    (shown,) = cli_json(db, "query")
    assert shown["url"] == base + PARAPHRASE
    assert shown["rules"] == [LIKE_RULE] and shown["terms"] == {LIKE_RULE: []}
    assert 0.58 <= shown["score"] <= 1 and shown["scores"] == {LIKE_RULE: shown["score"]}
    everything = cli_json(db, "query", "--all", "--order", "score")
    assert [a["url"] for a in everything] == [base + PARAPHRASE, base + NEAR_MISS]
    assert everything[1]["score"] is None and everything[1]["rules"] == []


RULES_BEFORE = """
[[rule]]
name = "mills"
query = '"blast furnace"'
"""
RULES_AFTER = """
[[rule]]
name = "mills"
query = '"rolling mill"'

[[rule]]
name = "council"
query = '"council seats" AND factory'
"""


def test_rules_apply_lists_a_newly_matched_story_once_and_drops_a_match_that_no_longer_holds(
        two_stories: tuple[Path, str], tmp_path: Path) -> None:
    seeds, base = two_stories
    (seeds / "rules.toml").write_text(RULES_BEFORE, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'newsmon.db'}"
    crawl(db, seeds)
    assert [a["url"] for a in cli_json(db, "query", "--new", "--consumer", "me", seeds=seeds)] == [base + PARAPHRASE]
    assert cli_json(db, "query", "--new", "--consumer", "me", seeds=seeds) == []

    (seeds / "rules.toml").write_text(RULES_AFTER, encoding="utf-8")
    (report,) = cli_json(db, "rules", "apply", seeds=seeds)
    assert report == {"examined": 2, "changed": 2, "newly_matched": 1, "unmatched": 1, "rules": ["mills", "council"]}
    (new,) = cli_json(db, "query", "--new", "--consumer", "me", seeds=seeds)
    assert new["url"] == base + NEAR_MISS and new["terms"] == {"council": ["council seats", "factory"]}
    assert cli_json(db, "query", "--new", "--consumer", "me", seeds=seeds) == []
    assert [a["url"] for a in cli_json(db, "query", seeds=seeds)] == [base + NEAR_MISS]
    # Applying again changes nothing and lists nothing again.
    (again,) = cli_json(db, "rules", "apply", seeds=seeds)
    assert again["changed"] == 0 and again["newly_matched"] == 0
    assert cli_json(db, "query", "--new", "--consumer", "me", seeds=seeds) == []
    # The runs' matched counters follow their stories.
    (run,) = cli_json(db, "runs", seeds=seeds)
    assert run["matched"] == 1


def test_rules_test_explains_a_match_and_a_miss(two_stories: tuple[Path, str], tmp_path: Path) -> None:
    seeds, base = two_stories
    (seeds / "rules.toml").write_text(RULES_AFTER + f"""
[[rule]]
name = "{LIKE_RULE}"
like = ["examples/*.txt"]
threshold = 0.58
""", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'newsmon.db'}"
    crawl(db, seeds)
    ids = {a["url"]: a["id"] for a in cli_json(db, "query", "--all", seeds=seeds)}
    (near,) = cli_json(db, "rules", "test", "--article", str(ids[base + NEAR_MISS]), seeds=seeds)
    by_rule = {r["rule"]: r for r in near["rules"]}
    assert by_rule["council"]["matched"] and by_rule["council"]["terms"] == ["council seats", "factory"]
    assert not by_rule["mills"]["matched"] and by_rule["mills"]["terms_present"] == []
    like = by_rule[LIKE_RULE]
    assert not like["matched"] and like["score"] < like["threshold"] == 0.58
    assert like["nearest"].startswith("examples/") and like["nearest"].endswith(".txt")
    (para,) = cli_json(db, "rules", "test", base + PARAPHRASE, "--rule", LIKE_RULE, seeds=seeds)
    assert para["subject"].startswith(f"article {ids[base + PARAPHRASE]} ")
    assert [r["rule"] for r in para["rules"]] == [LIKE_RULE] and para["rules"][0]["matched"]
    table = run_cli("--db", db, "--seeds", str(seeds), "rules", "test", "--article", str(ids[base + NEAR_MISS]))
    assert table.returncode == 0, table.stderr
    assert "MATCH  council" in table.stdout and "below the threshold 0.58" in table.stdout
    unknown = run_cli("--db", db, "--seeds", str(seeds), "rules", "test", "--article", "1", "--rule", "nope")
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1 and "no rule named 'nope'" in unknown.stderr


def test_rules_test_shows_what_extraction_removed_from_a_page(tmp_path: Path) -> None:
    with TimedSiteServer() as srv:
        site = build_sample_site(srv.url)
        srv.set_pages(site.pages)
        seeds = write_seeds(tmp_path / "seeds")
        (result,) = cli_json(f"sqlite:///{tmp_path / 'newsmon.db'}", "rules", "test", site.articles["000"],
                             seeds=seeds)
    assert result["subject"] == site.articles["000"]
    assert any(r["matched"] for r in result["rules"])
    removed = " ".join(block["text"] for block in result["removed"])
    assert "Carney" in removed and "Carney" not in result["title"]


def test_like_examples_that_name_no_file_or_an_unstored_article_are_one_line_errors(tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds")
    db = f"sqlite:///{tmp_path / 'newsmon.db'}"
    for rule, message in [
        ('like = ["missing/*.txt"]', "like[1]: 'missing/*.txt' names no file"),
        ('like = ["examples/*.txt"]\nthreshold = 2', "threshold must be a number from -1 to 1"),
        ('unlike = ["examples/*.txt"]', "unlike needs like examples"),
        ('like = ["article:999"]', "like: 'article:999' is not a stored article"),
    ]:
        (seeds / "rules.toml").write_text(f'[[rule]]\nname = "r"\n{rule}\n', encoding="utf-8")
        proc = run_cli("--db", db, "--seeds", str(seeds), "rules", "apply")
        assert proc.returncode == 2, (rule, proc.stderr)
        assert proc.stderr.count("\n") == 1 and message in proc.stderr and "rule 'r'" in proc.stderr, proc.stderr


def test_a_stored_article_can_be_a_like_example(two_stories: tuple[Path, str], tmp_path: Path) -> None:
    seeds, base = two_stories
    (seeds / "rules.toml").write_text(RULES_BEFORE, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'newsmon.db'}"
    crawl(db, seeds)
    (seeds / "rules.toml").write_text(f'[[rule]]\nname = "like-that"\nlike = ["{base + NEAR_MISS}"]\n',
                                      encoding="utf-8")
    (report,) = cli_json(db, "rules", "apply", seeds=seeds)
    assert report["newly_matched"] == 1
    (shown,) = cli_json(db, "query", "--rule", "like-that", seeds=seeds)
    assert shown["url"] == base + NEAR_MISS and shown["score"] == pytest.approx(1.0, abs=1e-3)


def test_the_model_loads_and_embeds_with_no_network(tmp_path: Path) -> None:
    # A fresh HOME (no download cache), and every way out of this process closed: a network
    # namespace of its own where unshare can make one, and dead proxies and hub endpoints besides.
    code = ("from crawler.similarity import embedder; v = embedder().embed(['green steel mill']); "
            "print(round(float((v * v).sum()), 3))")
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "0", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", code]
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-rn", "true"], capture_output=True).returncode == 0:
        command = [unshare, "-rn", *command]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1.0"
    assert not any(tmp_path.rglob("*.safetensors")) and not any(tmp_path.rglob("*tokenizer*"))


def test_search_like_ranks_stored_stories_by_similarity_to_one(server: TimedSiteServer, tmp_path: Path) -> None:
    example = ROOT / "seeds" / "examples" / "lighthouse-green-factories.txt"
    server.set_page(PARAPHRASE, _page("paraphrase.txt"))
    server.set_page(NEAR_MISS, _page("near-miss.txt"))
    lighthouse = "/business/2024-10/01/lighthouse-factories.html"
    title, _, body = example.read_text(encoding="utf-8").partition("\n")
    server.set_page(lighthouse, Page(f"<html><head><title>{html.escape(title[:80])}</title></head><body><article>"
                                     f"{''.join(f'<p>{html.escape(p)}</p>' for p in body.split(chr(10)) if p)}"
                                     "</article></body></html>".encode()))
    seeds = write_seeds(tmp_path / "seeds", {"name": "three",
                                             "feeds": [serve_feed(server, "/rss.xml", [PARAPHRASE, NEAR_MISS,
                                                                                       lighthouse])]})
    db = f"sqlite:///{tmp_path / 'newsmon.db'}"
    crawl(db, seeds)
    ids = {a["url"]: a["id"] for a in cli_json(db, "query", "--all", seeds=seeds)}
    ranked = cli_json(db, "search", "--like", str(ids[server.url + lighthouse]), seeds=seeds)
    assert [a["url"] for a in ranked] == [server.url + PARAPHRASE, server.url + NEAR_MISS]
    assert 1 > ranked[0]["similarity"] > ranked[1]["similarity"]
    (narrowed,) = cli_json(db, "search", "factory", "--like", str(ids[server.url + lighthouse]), seeds=seeds)
    assert narrowed["url"] == server.url + NEAR_MISS
    missing = run_cli("--db", db, "search", "--like", "999")
    assert missing.returncode == 1 and "no stored article with id 999" in missing.stderr
