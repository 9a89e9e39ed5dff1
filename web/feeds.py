"""Atom feeds of matched stories: stored articles in, the feed's bytes out (pure; feedgen writes the XML).

One entry per story (its first copy, as `newsmon query` lists it); the other outlets' copies are
the summary's last line. An entry's id is the article's canonical URL, unique in the store and
the same in every database, so a reader that polls `newsmon feed` from two machines, or after a
restore, sees no story twice; a URL that is no web address (`javascript:`) goes into a `tag:` URI
instead, since readers take the id for the link when there is none. Titles and texts come from
hostile pages: characters XML 1.0 cannot carry (NUL, escape codes, lone surrogates) are dropped,
and only http(s) URLs become links.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from feedgen.feed import FeedGenerator

from store.records import StoredArticle

# Characters outside XML 1.0's Char production: lxml refuses a string holding one.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
SUMMARY_CHARS = 500
GENERATOR = "newsmon"


@dataclass(frozen=True)
class FeedInfo:
    """What the feed says of itself: its stable id, title, and where it and its page live (optional)."""

    id: str
    title: str
    self_url: str | None = None
    page_url: str | None = None


def feed_info(rule: str | None = None, base_url: str | None = None) -> FeedInfo:
    """The feed of every matched story, or of one rule's; `base_url` ("http://host:port/") when served."""
    if rule is None:
        path, fid, title, page = "feed.atom", "urn:newsmon:feed", "newsmon: matched stories", "articles"
    else:
        quoted = quote(rule, safe="")
        path, fid = f"rules/{quoted}/feed.atom", f"urn:newsmon:feed:rule:{quoted}"
        title, page = f"newsmon: stories matching {rule}", f"articles?rule={quote(rule)}"
    if base_url is None:
        return FeedInfo(fid, title)
    return FeedInfo(fid, title, base_url + path, base_url + page)


def is_http_url(url: str | None) -> bool:
    """True for an http(s) URL: the only kind newsmon turns into a link."""
    return bool(url) and re.match(r"^https?://[^\s]", url or "", re.IGNORECASE) is not None


def xml_text(text: str) -> str:
    """Return `text` without the characters XML 1.0 cannot carry."""
    return _NOT_XML.sub("", text)


def entry_id(url: str) -> str:
    """An entry's id: the story's canonical URL, or for a URL that is no web address a tag: URI built from it
    (feed readers take an id for the link when there is none, and a javascript: id would become one)."""
    if is_http_url(url):
        return xml_text(url)
    return "tag:newsmon,2024:url:" + quote(xml_text(url), safe="")


def summary(article: StoredArticle, limit: int = SUMMARY_CHARS) -> str:
    """The first `limit` characters of the text (cut at a word), then the story's other copies."""
    text = " ".join((article.text or "").split())
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + " …"
    if article.also_at:
        text += "\n\nAlso at: " + " ".join(article.also_at)
    return xml_text(text)


def atom_feed(articles: Sequence[StoredArticle], info: FeedInfo, now: datetime | None = None) -> bytes:
    """Return an Atom feed of `articles`, in their order (newest first as `query` gives them)."""
    fg = FeedGenerator()
    fg.id(info.id)
    fg.title(xml_text(info.title))
    fg.author({"name": GENERATOR})  # Atom wants an author; entries without their own inherit it
    fg.generator(GENERATOR)
    if info.self_url:
        fg.link(href=info.self_url, rel="self", type="application/atom+xml")
    if info.page_url:
        fg.link(href=info.page_url, rel="alternate", type="text/html")
    stamps = [_updated(a) for a in articles]
    # The newest entry's time, so an unchanged store gives a byte-identical feed.
    fg.updated(max(stamps, default=now or datetime.now(UTC)))
    for article, updated in zip(articles, stamps, strict=True):
        _entry(fg, article, updated)
    return bytes(fg.atom_str(pretty=True))


def _updated(article: StoredArticle) -> datetime:
    return article.updated or article.first_seen


def _entry(fg: FeedGenerator, article: StoredArticle, updated: datetime) -> None:
    fe = fg.add_entry(order="append")
    fe.id(entry_id(article.url))
    fe.title(xml_text(article.title or "").strip() or "(untitled)")
    fe.updated(updated)
    fe.published(article.published or article.first_seen)
    if is_http_url(article.url):
        # The only link: feedgen 1.0 writes an entry's links without their rel, and a link without
        # one is an alternate, so the other copies' links would read as the story's own.
        fe.link(href=xml_text(article.url), rel="alternate")
    if article.author and xml_text(article.author).strip():
        fe.author({"name": xml_text(article.author).strip()})
    text = summary(article)
    if is_http_url(article.url):
        fe.summary(text)
    else:
        # Atom asks an entry without an alternate link for content: here, the same text.
        fe.content(text, type="text")
    for rule in article.rules:
        fe.category(term=xml_text(rule))
