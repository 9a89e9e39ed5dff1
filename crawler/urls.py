"""The canonical form of a URL, and which URLs look like articles."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

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


def canonicalize(url: str) -> str:
    """Return the canonical form: no tracking parameters, fragment or default port; sorted query."""
    # courlan drops tracking parameters (utm_*, fbclid, gclid, ...) and default ports, and
    # lowercases the host; w3lib then sorts the query, drops the fragment and normalizes escapes.
    try:
        cleaned = normalize_url(url.strip())
    except (ValueError, AttributeError):
        cleaned = url.strip()
    return canonicalize_url(cleaned)


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
