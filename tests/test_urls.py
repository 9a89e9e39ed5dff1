"""Canonical URLs and the article-URL heuristic: pure functions, no crawl."""

from __future__ import annotations

import re

import pytest

from crawler.urls import canonicalize, is_listing_link, is_wanted, looks_like_article, same_site


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
