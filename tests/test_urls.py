"""Canonical URLs and the article-URL heuristic: pure functions, no crawl."""

from __future__ import annotations

import re

import pytest

from crawler.urls import (
    article_key,
    canonical_link,
    canonicalize,
    is_listing_link,
    is_wanted,
    looks_like_article,
    same_site,
)


@pytest.mark.parametrize(("variant", "canonical"), [
    ("http://127.0.0.1:8000/business/2024-09/21/x.html?utm_source=rss&utm_medium=feed",
     "http://127.0.0.1:8000/business/2024-09/21/x.html"),
    ("http://127.0.0.1:8000/business/2024-09/21/x.html#comments", "http://127.0.0.1:8000/business/2024-09/21/x.html"),
    ("HTTP://News.Example.COM:80/a/b.html", "http://news.example.com/a/b.html"),
    ("https://news.example.com:443/a?b=2&a=1", "https://news.example.com/a?a=1&b=2"),
    ("https://news.example.com/a?id=7&fbclid=abc&gclid=x", "https://news.example.com/a?id=7"),
    ("  https://news.example.com/a  ", "https://news.example.com/a"),
])
def test_canonicalize(variant: str, canonical: str) -> None:
    assert canonicalize(variant) == canonical
    assert canonicalize(canonical) == canonical


@pytest.mark.parametrize(("url", "expected"), [
    ("https://www.chinadaily.com.cn/a/202409/21/WS66ee5d.html", True),
    ("https://example.com/business/2024-09/21/steel-goes-green.html", True),
    ("https://example.com/news/chinese-traditional-industries-embrace-high-tech-evolution", True),
    ("https://example.com/story/123456789", True),
    ("https://example.com/business/", False),
    ("https://example.com/tag/steel/", False),
    ("https://example.com/about", False),
    ("https://example.com/", False),
    ("https://example.com/img/2024/09/photo-of-a-green-factory.jpg", False),
])
def test_looks_like_article(url: str, expected: bool) -> None:
    assert looks_like_article(url) is expected


def test_allow_and_deny_override_the_heuristic() -> None:
    allow = [re.compile(r"/page/\d{6}/\d+\.shtml$")]
    deny = [re.compile(r"/page/202401/")]
    assert is_wanted("https://www.globaltimes.cn/page/202409/1320000.shtml", allow, deny)
    assert not is_wanted("https://www.globaltimes.cn/page/202401/1300000.shtml", allow, deny)
    assert not is_wanted("https://www.globaltimes.cn/business/index.html", allow, deny)


def test_same_site_accepts_subdomains_only_of_the_seed_site() -> None:
    seeds = ["https://www.cgtn.com/business"]
    assert same_site("https://news.cgtn.com/news/2024-09-21/x/p.html", seeds)
    assert same_site("https://cgtn.com/x", seeds)
    assert not same_site("https://evilcgtn.com/x", seeds)
    assert not same_site("https://cgtn.com.evil.net/x", seeds)


def test_listing_links_stay_below_the_start_url() -> None:
    starts = ["http://127.0.0.1:8000/business/"]
    assert is_listing_link("http://127.0.0.1:8000/business/energy/", starts)
    assert not is_listing_link("http://127.0.0.1:8000/sports/", starts)
    assert not is_listing_link("http://127.0.0.1:8000/business/2024-09/21/steel.html", starts)
    assert not is_listing_link("http://127.0.0.1:8000/business/about/", starts)


# -- One article, one key (what the spider coalesces before it requests anything) -------------------

@pytest.mark.parametrize("variant", [
    "https://news.example.com/world/2024/09/steel-goes-green",
    "https://news.example.com/world/2024/09/steel-goes-green/",
    "https://news.example.com/world/2024/09/steel-goes-green/index.html",
    "https://news.example.com/world/2024/09/steel-goes-green/index.htm",
    "https://news.example.com/world/2024/09/steel-goes-green/index.php",
    "https://news.example.com/world/2024/09/steel-goes-green/INDEX.HTML",
    "https://news.example.com/world/2024/09/steel-goes-green/?utm_source=rss&utm_medium=feed",
    "https://News.Example.com:443/world/2024/09/steel-goes-green/#comments",
    "https://news.example.com/world/2024/09/steel-goes-green?fbclid=abc",
])
def test_variants_of_one_article_share_its_key(variant: str) -> None:
    assert article_key(variant) == "https://news.example.com/world/2024/09/steel-goes-green"


def test_parameter_order_does_not_split_an_article() -> None:
    assert article_key("https://x.example/story?id=7&lang=en") == article_key("https://x.example/story/?lang=en&id=7")


@pytest.mark.parametrize(("one", "other"), [
    ("https://x.example/story?id=7", "https://x.example/story?id=8"),  # the query can name the article
    ("https://x.example/Story", "https://x.example/story"),  # paths are case-sensitive
    ("http://x.example/story", "https://x.example/story"),  # a scheme is kept: it can be another server
    ("https://x.example/story", "https://www.x.example/story"),
    ("https://x.example/story.html", "https://x.example/story"),  # only a directory's index page goes
    ("https://x.example/a/myindex.html", "https://x.example/a"),
])
def test_different_articles_keep_different_keys(one: str, other: str) -> None:
    assert article_key(one) != article_key(other)


def test_the_root_keeps_its_slash_and_a_key_is_its_own_key() -> None:
    assert article_key("https://x.example/index.html") == article_key("https://x.example") == "https://x.example/"
    for url in ("https://x.example/a/b/", "https://x.example/a/index.php?b=2&a=1", "https://x.example/"):
        assert article_key(article_key(url)) == article_key(url)


@pytest.mark.parametrize(("head", "expected"), [
    ('<link rel="canonical" href="https://x.example/a/">', "https://x.example/a/"),
    ("<LINK HREF='/a/b' REL='Canonical'>", "https://x.example/a/b"),
    ('<link href=/a/c rel=canonical />', "https://x.example/a/c"),
    ('<link rel="alternate canonical" href="https://x.example/d">', "https://x.example/d"),
    ('<link rel="stylesheet" href="/s.css"><link rel="canonical" href="https://x.example/e">', "https://x.example/e"),
    ('<link data-rel="canonical" rel="amphtml" href="/amp">', None),
    ('<link rel="canonical" data-href="/nope">', None),
    ('<link rel="canonical" href="">', None),
    ('<link rel="canonical" href="javascript:alert(1)">', None),
    ('<title>no link</title>', None),
])
def test_canonical_link_is_read_from_the_head(head: str, expected: str | None) -> None:
    html = f"<html><head>{head}</head><body><p>x</p></body></html>"
    assert canonical_link(html, "https://x.example/page") == expected


def test_a_canonical_link_in_the_body_is_not_the_pages() -> None:
    html = '<html><head><title>t</title></head><body><link rel="canonical" href="https://x.example/other"></body>'
    assert canonical_link(html, "https://x.example/page") is None
