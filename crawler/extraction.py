"""HTML of a page -> Article (clean text and metadata), or a Rejection saying why it is not one.

The stages, in order: parse; the dates and body the page declares (JSON-LD, article:* tags); drop
blocks whose class names teasers ("related", "recommended"...); trafilatura's main text; too short?
a listing page (crawler/pagetype.py)? then what the page shows is not the article goes (teasers,
crawler/teasers.py; repeated, undeclared, byline and timestamp blocks, crawler/cleaning.py); the
headline (crawler/titles.py) leaves the text and the standfirst (crawler/standfirst.py) joins it.
extract() is the old interface (None for no article); extract_or_reason() gives the reason.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import py3langid
import trafilatura
from htmldate import find_date
from lxml.etree import XPath
from trafilatura.metadata import examine_meta, extract_meta_json, extract_title, extract_url
from trafilatura.settings import Document
from trafilatura.utils import load_html

from crawler.bylines import find_author
from crawler.cleaning import within_declared_body, without_metadata_lines, without_repeats
from crawler.links import StoryLinks, story_links
from crawler.pagetype import listing_reason
from crawler.standfirst import with_standfirst
from crawler.teasers import remove_teasers
from crawler.titles import headline_and_forms, without_headline

log = logging.getLogger(__name__)

# Blocks about other stories or about the site, never about this article. trafilatura already
# drops nav, aside, footer, form and comment blocks, but keeps "recommended"/"related" teaser
# lists that sit in ordinary divs after the body (seed article 000's Carney teaser leaks that way).
# Matched with one regex per element in Python: the same test as an XPath passed to trafilatura's
# prune_xpath cost 1.6 ms a page (20% of extraction, measured on bench/pages.py), this 0.4 ms.
# Class and id words that real sites use for those blocks (WordPress/Jetpack "jp-relatedposts",
# "read-more", "you-may-also-like", Outbrain/Taboola widgets, "more-stories" rails...). Not "teaser":
# German sites call their lead that, and the Washington Post's metered body is "teaser-content";
# dropping the word gained 14 of Fundus's pages up to 0.035 of body F1 and cost one 0.004, and the
# self-made gate still leaks no teaser. Teasers of any class are found by structure (crawler/teasers.py).
_BOILERPLATE = re.compile(
    r"recommend|related|most-?read|popular|trending|breadcrumb|newsletter|read-?more|also-?(like|read)"
    r"|may-?like|more-?(stories|news|from)|outbrain|taboola|recirc",
    re.IGNORECASE)
_WITH_CLASS_OR_ID = XPath("//*[@class or @id]")
# Language identification needs a few sentences, not the whole article; its cost grows with the
# sample (0.4 ms for 2,000 characters, 0.1 ms for 500, measured) and it runs on every page.
_LANG_SAMPLE_CHARS = 500
# 10 x trafilatura's min_extracted_size: the length above which its recall mode skips the fallbacks.
_TRUST_MAIN_TEXT_CHARS = 2500
# ... provided the text is mostly paragraphs: at least this share of it in lines of _PARAGRAPH_CHARS+.
# On Fundus's 258 pages the fast pass gave 2,500+ characters on 205; all but one had 0.67 or more of
# it in such lines; the one had 0.00 (us/WashingtonTimes: 2,513 characters of menu in 159 lines,
# body F1 0.13; with the full comparison 0.996).
_TRUST_PARAGRAPH_SHARE = 0.5
_PARAGRAPH_CHARS = 80
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# Where a byline stops naming people: "... Source: China Daily", "... Updated: 2022-03-17", "(Xinhua)".
_BYLINE_TAIL = re.compile(r"\s+(?:Source|Updated|Published|Posted|Editor)\b|\s*[|(]|\s+\d{4}-\d{2}-\d{2}",
                          re.IGNORECASE)


@dataclass(frozen=True)
class Article:
    """What extraction found on one page."""

    text: str
    title: str | None
    author: str | None
    published: datetime | None
    language: str | None
    description: str | None
    canonical_url: str | None
    modified: datetime | None = None
    # True when `published` is what the page declares (JSON-LD, article:published_time), not a guess.
    declared: bool = False
    # (why, block) for each block the cleaning removed from trafilatura's text: `newsmon rules test`.
    removed: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Rejection:
    """Why a page gave no article: one sentence with the measured evidence, for the crawl's records."""

    reason: str


def extract(html: str | bytes, url: str, min_chars: int = 250) -> Article | None:
    """Extract the article on the page at `url`, or return None if the page is not an article."""
    result = extract_or_reason(html, url, min_chars)
    return result if isinstance(result, Article) else None


def extract_or_reason(html: str | bytes, url: str, min_chars: int = 250) -> Article | Rejection:
    """Extract the article on the page at `url`, or say why the page is not an article."""
    tree = load_html(html)
    if tree is None:
        return Rejection("not an article: no HTML to parse")
    declared_published, declared_modified, declared_body = declared(tree)
    prune_boilerplate(tree)
    try:
        meta = page_metadata(tree, url)
    except (ValueError, TypeError, AttributeError) as exc:
        # As inside trafilatura's own bare_extraction: some pathological trees break these.
        log.debug("metadata failed on %s: %s", url, exc)
        return Rejection(f"not an article: its metadata could not be read ({type(exc).__name__})")
    text = main_text(tree, url)
    if len(text) < min_chars:
        return Rejection(f"too short: {len(text)} characters of main text, fewer than {min_chars}")
    links = story_links(tree, url)
    listing = listing_reason(links, text)
    if listing:
        return Rejection(f"not an article: {listing}")
    author = clean_author(meta.author)
    text, removed = clean_text(text, links, declared_body, author, url)
    if len(text) < min_chars:
        return Rejection(f"too short: {len(text)} characters of main text without teasers and template blocks, "
                         f"fewer than {min_chars}")
    title, headline_forms = headline_and_forms(tree, meta.title, meta.sitename, url)
    return Article(
        text=with_standfirst(without_headline(text, headline_forms), tree, meta.description),
        title=title,
        author=author,
        # The original date, without htmldate's slow extensive search (newsmon always asked so).
        published=declared_published or parse_date(find_date(tree, url=meta.url, extensive_search=False,
                                                             original_date=True)),
        language=detect_language(text),
        description=_clean(meta.description),
        canonical_url=_clean(meta.url),
        modified=declared_modified,
        declared=declared_published is not None,
        removed=removed,
    )


def clean_text(text: str, links: StoryLinks, body: str | None, author: str | None, url: str
               ) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Drop what the page shows is not the article: teasers, repeated blocks, blocks outside its declared
    body, the byline and timestamps; return the text and each removed block with why."""
    text, teasers = remove_teasers(text, links)
    text, repeats = without_repeats(text)
    text, outside = within_declared_body(text, body)
    text, metadata = without_metadata_lines(text, author)
    dropped = []
    for why, removed in (("a teaser for another story", teasers), ("repeated on the page", repeats),
                         ("not in the article body the page declares", outside), ("byline or timestamp", metadata)):
        for block in removed:
            log.debug("removed from %s, %s: %.80s", url, why, block)
            dropped.append((why, block))
    return text, tuple(dropped)


def main_text(tree: Any, url: str) -> str:
    """Return the page's main text as trafilatura extracts it ("" when it finds none)."""
    # trafilatura's own shortcut (compare_extraction's recall bypass): a main text this long is
    # kept without running readability and justext beside it, which cost 15% of extraction on
    # every page. Shorter texts get the full comparison, where the fallbacks earn their keep, and so
    # does a long text of short lines: a menu the main pass took for the article.
    text = _bare_text(tree, url, fast=True)
    if len(text) >= _TRUST_MAIN_TEXT_CHARS and _mostly_paragraphs(text):
        return text
    return _bare_text(tree, url, fast=False)


def _mostly_paragraphs(text: str) -> bool:
    in_paragraphs = sum(len(line) for line in text.split("\n") if len(line) >= _PARAGRAPH_CHARS)
    return in_paragraphs >= _TRUST_PARAGRAPH_SHARE * len(text)


def _bare_text(tree: Any, url: str, fast: bool) -> str:
    try:
        doc = trafilatura.bare_extraction(
            tree, url=url, with_metadata=False, include_comments=False, include_tables=True,
            include_images=False, include_links=False, fast=fast,
        )
    except (ValueError, TypeError, AttributeError) as exc:
        # trafilatura raises these on some pathological trees; the page is not usable.
        log.debug("extraction failed on %s: %s", url, exc)
        return ""
    return (doc.text or "").strip() if isinstance(doc, Document) else ""


def page_metadata(tree: Any, url: str) -> Document:
    """Return the title, author, canonical URL, description and page type, as trafilatura finds them.

    trafilatura's extract_metadata in the order it runs its steps, less those whose results
    newsmon never stores (site name, categories, tags, license: a sixth of extraction) and less
    the date search, which runs only when the page declares no date (see extract()).
    """
    meta = examine_meta(tree)
    if meta.author and " " not in meta.author:
        meta.author = None  # what trafilatura does too: a single word is rarely a byline
    try:
        meta = extract_meta_json(tree, meta)
    except Exception as exc:  # trafilatura guards the same call: its JSON-LD parser has bugs
        log.debug("JSON-LD metadata failed on %s: %s", url, exc)
    meta.title = meta.title or extract_title(tree)
    meta.author = meta.author or find_author(tree)  # extract_author's answer, in less time
    meta.url = meta.url or extract_url(tree, url)
    return meta


_ARTICLE_TYPES = {"newsarticle", "article", "reportagenewsarticle", "blogposting", "analysisnewsarticle"}


def declared_dates(tree: Any) -> tuple[datetime | None, datetime | None]:
    """Return the (published, modified) times the page declares in JSON-LD or article:* meta tags."""
    published, modified, _body = declared(tree)
    return published, modified


def declared(tree: Any) -> tuple[datetime | None, datetime | None, str | None]:
    """Return the (published, modified) times and the article body the page declares, if it does."""
    published = modified = body = None
    # One pass over just these two tags (lxml filters them in C): this runs on every page.
    for element in tree.iter("script", "meta"):
        if element.tag == "script":
            if element.get("type") != "application/ld+json":
                continue
            for item in _ld_items(element.text or ""):
                if _is_article_type(item.get("@type")):
                    published = published or parse_date(item.get("datePublished"))
                    modified = modified or parse_date(item.get("dateModified"))
                    text = item.get("articleBody")
                    if isinstance(text, str) and len(text) > len(body or ""):
                        body = text
        else:
            prop = (element.get("property") or "").lower()
            if prop == "article:published_time":
                published = published or parse_date(element.get("content"))
            elif prop == "article:modified_time":
                modified = modified or parse_date(element.get("content"))
    return published, modified, body


def _is_article_type(value: Any) -> bool:
    types = value if isinstance(value, list) else [value]
    return any(isinstance(t, str) and t.lower() in _ARTICLE_TYPES for t in types)


def _ld_items(text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return []  # broken JSON-LD is common; the other sources still count
    items = data if isinstance(data, list) else [data]
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict):
            out.append(item)
            out.extend(g for g in item.get("@graph", []) if isinstance(g, dict))
    return out


def prune_boilerplate(tree: Any) -> int:
    """Remove teaser, related-story and similar blocks from a parsed page; return how many."""
    doomed = []
    for element in _WITH_CLASS_OR_ID(tree):
        marker = f"{element.get('class') or ''} {element.get('id') or ''}"
        # Spare a container that holds the headline or the article itself ("related-content" wrappers).
        if _BOILERPLATE.search(marker) and not _holds_article(element):
            doomed.append(element)
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()  # keeps the element's tail text, which belongs to its parent
    return len(doomed)


def _holds_article(element: Any) -> bool:
    return any(element.find(f".//{tag}") is not None for tag in ("h1", "article", "main"))


def detect_language(text: str) -> str | None:
    """Return the ISO 639-1 code of the text's language, or None if it is too short to tell."""
    sample = text[:_LANG_SAMPLE_CHARS]
    if len(sample.strip()) < 20:
        return None
    lang, _score = py3langid.classify(sample)
    return str(lang)


def parse_date(value: Any) -> datetime | None:
    """Parse trafilatura's date string (ISO date or datetime) into an aware UTC datetime."""
    if not isinstance(value, str) or not _DATE_RE.match(value):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def clean_author(value: Any) -> str | None:
    """Cut a byline down to the names ("By X Source: China Daily Updated: ..." -> "X")."""
    text = _clean(value)
    if text is None:
        return None
    text = _BYLINE_TAIL.split(text, maxsplit=1)[0]
    text = re.sub(r"^(by|from)\s+", "", text, flags=re.IGNORECASE).strip(" ,;:|-")
    return text or None


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value or None
