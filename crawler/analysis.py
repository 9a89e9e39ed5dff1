"""One page's CPU work, as a pure function: extract, drop learned boilerplate, match rules, fingerprint."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from crawler.boilerplate import blocks, strip_learned
from crawler.extraction import extract
from crawler.fingerprints import bands, content_hash, simhash
from crawler.items import FetchedPage
from crawler.rules import MatchText, Rule, match_rules
from crawler.urls import canonicalize, is_http_url, same_site
from store.repository import NewArticle


@dataclass(frozen=True)
class Analysis:
    """A page turned into an article, with what boilerplate learning needs."""

    article: NewArticle
    # Every learnable paragraph of the extracted text (hash -> text), removed ones included.
    blocks: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)


def analyze(page: FetchedPage, rules: Sequence[Rule], min_chars: int, run_id: int | None = None,
            learned: Collection[str] = ()) -> Analysis | None:
    """Turn a fetched page into an article ready to store, or None if it is not an article."""
    extracted = extract(page.html, page.url, min_chars=min_chars)
    if extracted is None:
        return None
    text, removed = strip_learned(extracted.text, learned)
    if len(text) < min_chars:
        return None
    variants = list(page.variants)
    # Trust the page's own canonical link only on its own site: a hostile or broken page
    # could otherwise claim another site's URL and shadow that article.
    if extracted.canonical_url and is_http_url(extracted.canonical_url) and same_site(
            extracted.canonical_url, [page.url]):
        variants.append(canonicalize(extracted.canonical_url))
    fingerprint = simhash(text)
    article = NewArticle(
        url=page.url,
        source=page.source,
        content_hash=content_hash(text),
        text=text,
        variants=tuple(dict.fromkeys(variants)),
        title=extracted.title,
        author=extracted.author,
        published=extracted.published or page.listed_published,
        language=extracted.language,
        description=extracted.description,
        matches=match_rules(rules, MatchText.of(extracted.title, text), extracted.language),
        run_id=run_id,
        simhash=fingerprint,
        bands=bands(text),
    )
    return Analysis(article, blocks(extracted.text), removed)
