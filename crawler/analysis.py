"""One page's CPU work, as a pure function: extract, match rules, fingerprint."""

from __future__ import annotations

from collections.abc import Sequence

from crawler.extraction import extract
from crawler.fingerprints import content_hash
from crawler.items import FetchedPage
from crawler.rules import MatchText, Rule, match_rules
from crawler.urls import canonicalize, is_http_url, same_site
from store.repository import NewArticle


def analyze(page: FetchedPage, rules: Sequence[Rule], min_chars: int, run_id: int | None = None
            ) -> NewArticle | None:
    """Turn a fetched page into an article ready to store, or None if it is not an article."""
    article = extract(page.html, page.url, min_chars=min_chars)
    if article is None:
        return None
    variants = list(page.variants)
    # Trust the page's own canonical link only on its own site: a hostile or broken page
    # could otherwise claim another site's URL and shadow that article.
    if article.canonical_url and is_http_url(article.canonical_url) and same_site(
            article.canonical_url, [page.url]):
        variants.append(canonicalize(article.canonical_url))
    matches = match_rules(rules, MatchText.of(article.title, article.text), article.language)
    return NewArticle(
        url=page.url,
        source=page.source,
        content_hash=content_hash(article.text),
        text=article.text,
        variants=tuple(dict.fromkeys(variants)),
        title=article.title,
        author=article.author,
        published=article.published or page.listed_published,
        language=article.language,
        description=article.description,
        matches=matches,
        run_id=run_id,
    )
