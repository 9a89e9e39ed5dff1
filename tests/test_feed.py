"""`newsmon feed`: the Atom feed it writes parses cleanly in feedparser and lists the stories `query` lists.

The store is the session's `web_store`: the sample site crawled for real, plus hostile articles (a
title full of control characters, a javascript: URL, a copy at a javascript: URL).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

from store.records import StoredArticle
from tests.conftest import HOSTILE_URL, JAVASCRIPT_URLS, WebStore, query_json, run_cli
from web.feeds import atom_feed, entry_id, feed_info, summary, xml_text


def feed_cli(store: WebStore, *args: str) -> tuple[bytes, Any]:
    proc = run_cli("--db", store.db, "--seeds", str(store.seeds), "feed", *args)
    assert proc.returncode == 0, proc.stderr
    data = proc.stdout.encode()
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return data, parsed


def test_the_feed_lists_what_query_lists(web_store: WebStore) -> None:
    _, feed = feed_cli(web_store)
    stories = query_json(web_store.db, "--limit", "50")
    assert len(feed.entries) == len(stories) >= 6
    assert feed.feed.id == "urn:newsmon:feed"
    for entry, story in zip(feed.entries, stories, strict=True):
        assert entry.id == entry_id(story["url"])
        assert [t.term for t in entry.tags] == story["rules"]
        assert entry.updated == datetime.fromisoformat(story["updated"] or story["first_seen"]).isoformat()
        if story["url"].startswith("http"):
            assert entry.link == story["url"]
            assert entry.summary.startswith(" ".join(story["text"].split())[:100])
        for url in story["also_at"]:
            assert url in entry.summary
    titles = {e.id: e.title for e in feed.entries}
    assert titles[HOSTILE_URL].startswith("<script>window.pwned=1</script>Green steel")  # text, for the reader


def test_per_rule_and_limit(web_store: WebStore) -> None:
    for rule in ("digital-manufacturing", "green-manufacturing"):
        _, feed = feed_cli(web_store, "--rule", rule)
        assert feed.feed.title == f"newsmon: stories matching {rule}"
        assert [e.id for e in feed.entries] == [entry_id(a["url"]) for a in query_json(web_store.db, "--rule", rule)]
    _, feed = feed_cli(web_store, "--limit", "2")
    assert [e.id for e in feed.entries] == [entry_id(a["url"]) for a in query_json(web_store.db, "--limit", "2")]


def test_an_unknown_rule_is_one_error_line(web_store: WebStore) -> None:
    proc = run_cli("--db", web_store.db, "--seeds", str(web_store.seeds), "feed", "--rule", "nope")
    assert proc.returncode == 2
    assert proc.stderr.startswith("Error: no rule named 'nope' (rules: ")
    assert proc.stderr.count("\n") == 1 and proc.stdout == ""


def test_control_characters_and_javascript_urls_do_not_break_it(web_store: WebStore) -> None:
    _, feed = feed_cli(web_store, "--rule", "green-manufacturing")
    entries = {e.id: e for e in feed.entries}
    control = entries["https://hostile.example/news/control"]
    assert control.title == "Control chars[31m and a bell in a green steel title"
    # A javascript: URL is never a link, nor an id a reader would take for one; the text is the content.
    odd = entries[entry_id(JAVASCRIPT_URLS[1])]
    assert odd.id == "tag:newsmon,2024:url:javascript%3Aalert%28document.cookie%29"
    assert odd.link == odd.id and not odd.get("links")
    assert odd.content[0].value.startswith("A low-carbon steel plant opened.")
    hostile = entries[HOSTILE_URL]
    assert [link.href for link in hostile.links] == [HOSTILE_URL]
    assert f"Also at: {JAVASCRIPT_URLS[0]}" in hostile.summary


def test_output_file_is_the_same_feed(web_store: WebStore, tmp_path: Path) -> None:
    data, _ = feed_cli(web_store)
    out = tmp_path / "all.atom"
    out.write_text("an older feed")
    proc = run_cli("--db", web_store.db, "feed", "--output", str(out))
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    assert out.read_bytes() == data  # same store, same bytes: the feed's time is its newest entry's
    assert [p.name for p in tmp_path.iterdir()] == ["all.atom"]  # no temporary file left beside it
    proc = run_cli("--db", web_store.db, "feed", "--output", str(tmp_path / "missing" / "all.atom"))
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"Error: --output {tmp_path / 'missing' / 'all.atom'}: ")
    assert proc.stderr.count("\n") == 1


# -- the pure core ---------------------------------------------------------------------------------------

def story(**changes: Any) -> StoredArticle:
    values: dict[str, Any] = {
        "id": 1, "url": "https://example.com/a", "title": "A", "author": None, "published": None, "language": "en",
        "source": "s", "text": "word " * 300, "rules": ("r",), "terms": {"r": ["word"]},
        "first_seen": datetime(2024, 9, 21, 10, tzinfo=UTC), "duplicate_of": None}
    return StoredArticle(**{**values, **changes})


def test_an_empty_feed_parses() -> None:
    feed = feedparser.parse(atom_feed([], feed_info(), now=datetime(2024, 9, 21, tzinfo=UTC)))
    assert feed.bozo == 0 and feed.entries == []
    assert feed.feed.updated == "2024-09-21T00:00:00+00:00"


def test_served_feed_links_itself_and_its_page() -> None:
    info = feed_info("green & steel", "http://127.0.0.1:8765/")
    assert info.self_url == "http://127.0.0.1:8765/rules/green%20%26%20steel/feed.atom"
    assert info.page_url == "http://127.0.0.1:8765/articles?rule=green%20%26%20steel"
    feed = feedparser.parse(atom_feed([story()], info))
    assert feed.bozo == 0
    assert {(link.rel, link.href) for link in feed.feed.links} == {("self", info.self_url),
                                                                   ("alternate", info.page_url)}


@pytest.mark.parametrize("bad", ["\x00", "\x08", "\x0b", "\x1f", "\ufffe", "\uffff", "\ud800"])
def test_xml_text_drops_what_xml_cannot_carry(bad: str) -> None:
    assert xml_text(f"a{bad}b\tc\nd") == "ab\tc\nd"
    feed = feedparser.parse(atom_feed([story(title=f"T{bad}", text=f"x{bad}y", author=bad)], feed_info()))
    assert feed.bozo == 0 and feed.entries[0].title == "T"


def test_summary_is_cut_at_a_word() -> None:
    text = summary(story())
    assert len(text) <= 502 and text.endswith("word …")
    assert summary(story(text="short text", also_at=("https://b.example/1",))) == \
        "short text\n\nAlso at: https://b.example/1"
