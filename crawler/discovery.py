"""Feeds, sitemaps and listing pages -> candidate article links. Pure: bytes in, links out."""

from __future__ import annotations

import calendar
import re
import warnings
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.etree
import lxml.html

# A gzipped sitemap may inflate to this much and no more (the sitemap protocol caps a file at 50 MB).
MAX_INFLATED_BYTES = 50 * 1024 * 1024
_SKIP_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "#")
_NEXT_WORDS = {"next", "next page", "older", "older posts", "more", "»", "›", "next »", "next ›", "下一页"}  # noqa: RUF001
_SAFE_XML = lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                                 remove_comments=True, remove_pis=True, recover=True)


class DiscoveryError(ValueError):
    """The body is not what it was expected to be (a feed, a sitemap)."""


@dataclass(frozen=True)
class Link:
    url: str
    published: datetime | None = None
    title: str | None = None


@dataclass(frozen=True)
class SitemapPage:
    sitemaps: list[Link]
    urls: list[Link]


@dataclass(frozen=True)
class ListingPage:
    links: list[str]
    next_pages: list[str]


# -- feeds ---------------------------------------------------------------------------------------

def parse_feed(body: bytes, base_url: str) -> list[Link]:
    """Return the entries of an RSS or Atom feed; raise DiscoveryError if the body is no feed."""
    if not body.strip():
        raise DiscoveryError("not a feed: empty body")
    if _has_entity_declarations(body):
        # feedparser's sax parser expands internal entities: refuse "billion laughs" outright.
        raise DiscoveryError("not a feed: declares XML entities (refused)")
    with warnings.catch_warnings():
        # feedparser warns about its own deprecated internals on some inputs; not ours to fix.
        warnings.simplefilter("ignore")
        parsed = feedparser.parse(body, response_headers={"content-location": base_url},
                                  resolve_relative_uris=False, sanitize_html=False)
    version = parsed.get("version") or ""
    if not parsed.entries and not version:
        raise DiscoveryError("not a feed: no channel and no entries")
    links = []
    for entry in parsed.entries:
        url = _entry_url(entry)
        if url:
            links.append(Link(urljoin(base_url, url.strip()), _struct_time(entry), _text(entry.get("title"))))
    return links


def _entry_url(entry: Any) -> str | None:
    if entry.get("link"):
        return str(entry["link"])
    for link in entry.get("links", []):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    ident = entry.get("id") or ""
    return ident if re.match(r"^https?://", ident) else None


def _struct_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def _has_entity_declarations(body: bytes) -> bool:
    head = body[:65536]
    return b"<!ENTITY" in head or b"<!entity" in head


# -- sitemaps ------------------------------------------------------------------------------------

def parse_sitemap(body: bytes, base_url: str, max_links: int = 50_000) -> SitemapPage:
    """Return a sitemap index's child sitemaps or a urlset's URLs (with news dates and titles)."""
    body = _gunzip(body) if body[:2] == b"\x1f\x8b" else body
    if not body.strip():
        raise DiscoveryError("not a sitemap: empty body")
    try:
        root = lxml.etree.fromstring(body, parser=_SAFE_XML)
    except (lxml.etree.XMLSyntaxError, ValueError) as exc:
        raise DiscoveryError(f"not a sitemap: {exc}") from None
    if root is None:
        raise DiscoveryError("not a sitemap: no XML root")
    kind = _local(root.tag)
    if kind not in ("sitemapindex", "urlset"):
        raise DiscoveryError(f"not a sitemap: root element is <{kind}>")
    entries: list[Link] = []
    child_tag = "sitemap" if kind == "sitemapindex" else "url"
    for element in root:
        if len(entries) >= max_links:
            break
        if isinstance(element.tag, str) and _local(element.tag) == child_tag:
            link = _sitemap_entry(element, base_url)
            if link is not None:
                entries.append(link)
    return SitemapPage(sitemaps=entries, urls=[]) if kind == "sitemapindex" else SitemapPage([], entries)


def _sitemap_entry(element: Any, base_url: str) -> Link | None:
    fields: dict[str, str] = {}
    for child in element.iter():
        if isinstance(child.tag, str) and child.text and child.text.strip():
            fields.setdefault(_local(child.tag), child.text.strip())
    loc = fields.get("loc")
    if not loc:
        return None
    published = parse_w3c_date(fields.get("publication_date")) or parse_w3c_date(fields.get("lastmod"))
    return Link(urljoin(base_url, loc), published, fields.get("title"))


def parse_w3c_date(text: str | None) -> datetime | None:
    """Parse a W3C datetime (2024-09-21, 2024-09-21T17:39:00+08:00, ...Z) into aware UTC, or None."""
    if not text:
        return None
    value = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _gunzip(body: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_INFLATED_BYTES + 1)
    except zlib.error as exc:
        raise DiscoveryError(f"not a sitemap: bad gzip data: {exc}") from None
    if len(out) > MAX_INFLATED_BYTES or inflater.unconsumed_tail:
        raise DiscoveryError(f"sitemap exceeds {MAX_INFLATED_BYTES // 2**20} MB when decompressed")
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


# -- listing pages -------------------------------------------------------------------------------

def parse_listing(body: bytes, base_url: str, encoding: str | None = None) -> ListingPage:
    """Return a listing page's links and its pagination links; never raise on bad HTML."""
    if not body.strip():
        return ListingPage([], [])
    try:
        parser = lxml.html.HTMLParser(encoding=encoding) if encoding else None
        doc = lxml.html.document_fromstring(body, parser=parser)
    except (lxml.etree.ParserError, ValueError, LookupError):
        return ListingPage([], [])
    base = _base_href(doc, base_url)
    next_pages = _dedupe(urljoin(base, h) for h in _pagination_hrefs(doc) if _usable(h))
    skip = set(next_pages)
    links = _dedupe(urljoin(base, a.get("href", "").strip()) for a in doc.iter("a") if _usable(a.get("href")))
    return ListingPage([u for u in links if u not in skip and _is_http(u)], [u for u in next_pages if _is_http(u)])


def _base_href(doc: Any, url: str) -> str:
    for base in doc.iter("base"):
        href = str(base.get("href") or "").strip()
        if href:
            return urljoin(url, href)
    return url


def _pagination_hrefs(doc: Any) -> list[str]:
    hrefs = [el.get("href", "") for el in doc.iter("link", "a") if "next" in (el.get("rel") or "").lower().split()]
    for a in doc.iter("a"):
        text = " ".join(a.text_content().split()).lower()
        label = (a.get("aria-label") or "").strip().lower()
        cls = (a.get("class") or "").lower()
        is_next = text in _NEXT_WORDS or label in _NEXT_WORDS or "next" in cls.split() or "pagination-next" in cls
        if is_next or (text.isdigit() and _in_pagination(a)):
            hrefs.append(a.get("href", ""))
    return hrefs


def _in_pagination(element: Any) -> bool:
    for ancestor in element.iterancestors():
        marker = f"{ancestor.get('class') or ''} {ancestor.get('id') or ''}".lower()
        if "pag" in marker:
            return True
    return False


def _usable(href: str | None) -> bool:
    return bool(href and href.strip() and not href.strip().lower().startswith(_SKIP_SCHEMES))


def _is_http(url: str) -> bool:
    try:
        return urlsplit(url).scheme in ("http", "https")
    except ValueError:
        return False


def _dedupe(urls: Any) -> list[str]:
    return list(dict.fromkeys(u.split("#", 1)[0] for u in urls))


def _text(value: Any) -> str | None:
    return " ".join(str(value).split()) or None if value else None
