"""`newsmon search --like ID`: stored stories ranked by how similar they are to one article.

The same embedding and cosine as a `like` rule with that article as its one example, so a user
can see what such a rule would catch before writing it. Candidates are what a search query found
(when one is given) or the newest stories; they are embedded as they are read (about a thousand a
second), which bounds how many are ranked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crawler.examples import article_text
from crawler.similarity import embedder
from store.records import ArticleFilter, StoredArticle
from store.repository import Repository

# Newest stories ranked when no query narrows the candidates.
NEWEST = 3000


class NoSuchArticle(LookupError):
    """The article to compare with is not stored."""


@dataclass(frozen=True)
class Similar:
    article: StoredArticle
    similarity: float


def rank_like(repository: Repository, article_id: int, candidates: Sequence[StoredArticle] | None,
              flt: ArticleFilter) -> list[Similar]:
    """Rank `candidates` (None: the newest stories that `flt` allows) by similarity to the
    article, most similar first, the article itself left out; at most flt.limit of them."""
    example = repository.articles.get(article_id)
    if example is None or not example.text:
        raise NoSuchArticle(f"no stored article with id {article_id}")
    if candidates is None:
        newest = repository.articles.query(ArticleFilter(sources=flt.sources, rules=flt.rules, since=flt.since,
                                                         include_all=True, limit=NEWEST))
        candidates = [a for a in newest if flt.include_all or a.duplicate_of is None]
    candidates = [a for a in candidates if a.id != article_id and a.text]
    vectors = embedder().embed([article_text(example.title, example.text),
                                *(article_text(a.title, a.text) for a in candidates)])
    scores = vectors[1:] @ vectors[0]
    ranked = sorted(zip(candidates, scores, strict=True), key=lambda pair: -float(pair[1]))
    return [Similar(a, round(float(s), 4)) for a, s in ranked[:flt.limit]]
