"""What to show a reader: stored articles by filter, and for `--new` what a consumer has not been shown.

A consumer's cursor is a position in the stream of listed articles (Article.listed: an article
is listed when stored, and again when a rule edited later makes it match a rule it did not): it
was shown everything up to it. The cursor moves only when
the caller says the articles were delivered (`Delivery.ack()`, after the output was written), so
output that never got out is shown again next time; it then moves past every article stored when
the query ran, matched or not, except when `limit` cut the list: then only past what was shown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from store.records import ArticleFilter, StoredArticle
from store.repository import Repository


@dataclass(frozen=True)
class Delivery:
    """Articles to show, and where the consumer's cursor goes once they were shown (None: no consumer)."""

    articles: list[StoredArticle]
    repository: Repository
    consumer: str | None = None
    upto: int = 0

    def ack(self) -> None:
        """Record that the articles were delivered: move the consumer's cursor past them."""
        if self.consumer is not None:
            self.repository.consumers.advance(self.consumer, self.upto)


def find_articles(repository: Repository, flt: ArticleFilter, consumer: str | None = None) -> Delivery:
    """Return the articles matching `flt`; with `consumer`, only those it was not shown yet, newest first."""
    if consumer is None:
        return Delivery(repository.articles.query(flt), repository)
    cursor = repository.consumers.cursor(consumer)
    snapshot = repository.articles.max_listed()
    articles = repository.articles.query(replace(flt, after_listed=cursor))
    if flt.order == "score":
        articles.sort(key=lambda a: (a.score if a.score is not None else -2.0, a.first_seen), reverse=True)
    else:
        articles.sort(key=lambda a: (a.first_seen, a.id), reverse=True)
    delivered = max((a.listed for a in articles), default=0)
    # A --limit that cut the list leaves the rest for next time.
    upto = delivered if flt.limit is not None and len(articles) == flt.limit else max(snapshot, delivered)
    return Delivery(articles, repository, consumer, upto)
