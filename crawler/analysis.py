"""One page's CPU work, as a pure function: extract, drop learned boilerplate, match rules, fingerprint.

A page that gives no article gives the reason instead (crawler.extraction.Rejection), which the
crawl records on its run: no page is dropped without saying why.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from crawler.boilerplate import blocks, strip_learned
from crawler.extraction import Rejection, extract_or_reason
from crawler.fingerprints import bands, content_hash, simhash
from crawler.items import FetchedPage
from crawler.matching import match_article
from crawler.rules import Rule
from crawler.urls import article_key, canonicalize, is_http_url, same_site
from store.records import NewArticle

_DATE_DISAGREEMENT = timedelta(days=2)


@dataclass(frozen=True)
class Analysis:
    """A page turned into an article, with what boilerplate learning needs."""

    article: NewArticle
    # Every learnable paragraph of the extracted text (hash -> text), removed ones included.
    blocks: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)


def _published(page_date: datetime | None, declared: bool, listed: datetime | None) -> datetime | None:
    """Pick the publication time: what the page declares, else its guessed date unless a feed or
    sitemap dates the article more than two days away (the guess likely came from the wrong
    element), else the feed or sitemap date."""
    if page_date is None or (not declared and listed is not None and abs(page_date - listed) > _DATE_DISAGREEMENT):
        return listed or page_date
    return page_date


def analyze(page: FetchedPage, rules: Sequence[Rule], min_chars: int,
            learned: Collection[str] = ()) -> Analysis | Rejection:
    """Turn a fetched page into an article ready to store, or say why it is not one."""
    extracted = extract_or_reason(page.html, page.url, min_chars=min_chars)
    if isinstance(extracted, Rejection):
        return extracted
    text, removed = strip_learned(extracted.text, learned)
    if len(text) < min_chars:
        return Rejection(f"too short: {len(text)} characters of main text after removing {len(removed)} "
                         f"paragraph(s) learned as the source's boilerplate, fewer than {min_chars}")
    variants = list(page.variants)
    if extracted.canonical_url and _trusted_canonical(extracted.canonical_url, page.url):
        # Its key form too: the next crawl's known-URL check asks for the key of every link.
        variants += [canonicalize(extracted.canonical_url), article_key(extracted.canonical_url)]
    fingerprint = simhash(text)
    found = match_article(rules, extracted.title, text, extracted.language)
    article = NewArticle(
        url=page.url,
        source=page.source,
        content_hash=content_hash(text),
        text=text,
        variants=tuple(dict.fromkeys(variants)),
        title=extracted.title,
        author=extracted.author,
        published=_published(extracted.published, extracted.declared, page.listed_published),
        modified=extracted.modified,
        language=extracted.language,
        description=extracted.description,
        matches={name: m.terms for name, m in found.items()},
        scores={name: m.score for name, m in found.items() if m.score is not None},
        simhash=fingerprint,
        bands=bands(text),
    )
    return Analysis(article, blocks(extracted.text), removed)


def _trusted_canonical(canonical: str, url: str) -> bool:
    # Trusted only on the page's own site: a hostile or broken page could otherwise claim another
    # site's URL and shadow that article. And never the site's root: a misconfigured CMS that
    # declares its home page canonical on every page would make each article after the first a
    # "known article".
    return is_http_url(canonical) and same_site(canonical, [url]) and urlsplit(article_key(canonical)).path != "/"
