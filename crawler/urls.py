"""The canonical form of a URL, the key under which variants of one article are one, and which URLs
look like articles."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit, urlunsplit

from courlan import normalize_url
from w3lib.url import canonicalize_url

# Path segments that mark a listing, not an article.
_NOT_ARTICLE = re.compile(
    r"/(tag|tags|topic|topics|category|categories|author|authors|search|page|login|register|subscribe|"
    r"about|contact|privacy|terms|cookies?|video|videos|gallery|live|rss|feed|sitemap)(/|$|\?)",
    re.IGNORECASE,
)
_DATE_IN_PATH = re.compile(r"/(19|20)\d{2}[-/]?(0[1-9]|1[0-2])([-/]?\d{2})?/")
_ID_LIKE = re.compile(r"\d{5,}|[0-9a-f]{16,}", re.IGNORECASE)
_NON_PAGE_EXT = re.compile(r"\.(jpe?g|png|gif|webp|svg|pdf|zip|mp3|mp4|css|js|xml|rss|json|ico)$", re.IGNORECASE)
# A directory's index document, which servers answer for the directory itself.
_INDEX_PAGE = re.compile(r"/(?:index|default)\.(?:html?|shtml|php|aspx?|jsp)$", re.IGNORECASE)
# Where canonical_link looks for the head's end: heads past 64 KB (inline scripts and styles) are
# rare, and the link then falls to extraction.
_HEAD_CHARS = 65_536
_LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""(?<![\w-])(rel|href)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)


def canonicalize(url: str) -> str:
    """Return the canonical form: no tracking parameters, fragment or default port; sorted query."""
    # courlan drops tracking parameters (utm_*, fbclid, gclid, ...) and default ports, and
    # lowercases the host; w3lib then sorts the query, drops the fragment and normalizes escapes.
    try:
        cleaned = normalize_url(url.strip())
    except (ValueError, AttributeError):
        cleaned = url.strip()
    return canonicalize_url(cleaned)


def article_key(url: str) -> str:
    """Return the key that URL variants of one article share: the canonical form without a trailing
    slash or a directory index page ("/a/", "/a" and "/a/index.html" are one article)."""
    # Servers answer these variants with the same page (a directory, its index document, and the
    # slash-less form they redirect or rewrite): on the independent test web of issue #11, 12 of
    # 45 article downloads were such a second variant of an article fetched in the same crawl.
    # The scheme, host, case of the path and the query (sorted, tracking parameters dropped by
    # canonicalize) are kept: they can name different pages.
    parts = urlsplit(canonicalize(url))
    path = _INDEX_PAGE.sub("/", parts.path)
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return urlunsplit((parts.scheme, parts.netloc, path or "/", parts.query, ""))


def canonical_link(html: str, base: str) -> str | None:
    """Return the absolute URL of the page's <link rel="canonical">, read from its <head> only."""
    # A regex over the head, not a parse: the crawl process reads this on every article page, where
    # parsing costs 0.61 ms a page against 0.05 ms (bench/pages.py's 47 KB pages, measured).
    # Extraction reads the same link properly (crawler.analysis); this one only lets the spider
    # skip variants it finds later in the crawl.
    end = html.find("</head>", 0, _HEAD_CHARS)
    for tag in _LINK_TAG.findall(html, 0, end if end >= 0 else _HEAD_CHARS):
        attrs = {m.group(1).lower(): next(v for v in m.groups()[1:] if v is not None) for m in _ATTR.finditer(tag)}
        if "canonical" in attrs.get("rel", "").lower().split() and attrs.get("href", "").strip():
            absolute = urljoin(base, attrs["href"].strip())
            return absolute if is_http_url(absolute) else None
    return None


def is_http_url(url: str) -> bool:
    """Return True for an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def looks_like_article(url: str) -> bool:
    """Guess from the URL alone whether it is an article page (used when a source sets no allow)."""
    parts = urlsplit(url)
    path = parts.path
    if _NON_PAGE_EXT.search(path) or _NOT_ARTICLE.search(path):
        return False
    segments = [s for s in path.split("/") if s]
    if not segments:
        return False
    last = segments[-1].rsplit(".", 1)[0]
    if _DATE_IN_PATH.search(path + "/") or _ID_LIKE.search(path):
        return True
    # A long hyphenated slug ("china-steel-goes-green") reads as a headline.
    return last.count("-") >= 3 or (len(last) >= 25 and not last.isalpha())


def is_wanted(url: str, allow: Sequence[re.Pattern[str]], deny: Sequence[re.Pattern[str]]) -> bool:
    """Apply a source's allow/deny patterns; without allow, fall back to the heuristic."""
    if any(p.search(url) for p in deny):
        return False
    if allow:
        return any(p.search(url) for p in allow)
    return looks_like_article(url)


def same_site(url: str, seeds: Sequence[str]) -> bool:
    """Return True if `url` is on the host of one of `seeds` (or a subdomain of it)."""
    host = (urlsplit(url).hostname or "").lower()
    for seed in seeds:
        seed_host = (urlsplit(seed).hostname or "").lower()
        base = seed_host.removeprefix("www.")
        if host in (seed_host, base) or host.endswith("." + base):
            return True
    return False


def is_listing_link(url: str, start_urls: Sequence[str]) -> bool:
    """Return True for a section page below one of the start URLs (a listing hop, not an article)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if "." in last and not last.startswith("index."):
        return False
    if looks_like_article(url) or _NOT_ARTICLE.search(path):
        return False
    for start in start_urls:
        start_parts = urlsplit(start)
        if start_parts.hostname != parts.hostname:
            continue
        base = start_parts.path or "/"
        if path.startswith(base) and path != base and path.count("/") - base.count("/") <= 2:
            return True
    return False
