"""What `newsmon query`'s filters (an ArticleFilter) ask of the articles table, as SQL conditions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists

from store.models import Article, Match
from store.records import ArticleFilter


def conditions(flt: ArticleFilter) -> list[Any]:
    """The WHERE conditions of `flt`: sources, ids, time window, language, cursor, rules, originals."""
    cond: list[Any] = []
    if flt.sources:
        cond.append(Article.source.in_(flt.sources))
    if flt.ids:
        cond.append(Article.id.in_(flt.ids))
    if flt.updated_only:
        cond.append(Article.updated.is_not(None))
        if flt.since is not None:
            cond.append(Article.updated >= flt.since)
        if flt.until is not None:
            cond.append(Article.updated < flt.until)
    else:
        if flt.since is not None:
            cond.append(Article.first_seen >= flt.since)
        if flt.until is not None:
            cond.append(Article.first_seen < flt.until)
    if flt.language is not None:
        cond.append(Article.language == flt.language)
    if flt.after_listed is not None:
        cond.append(Article.listed > flt.after_listed)
    if flt.rules:
        cond.append(exists().where(and_(Match.article_id == Article.id, Match.rule.in_(flt.rules))))
    if not flt.include_all:
        cond.append(Article.duplicate_of.is_(None))
        if not flt.rules:
            cond.append(exists().where(Match.article_id == Article.id))
    return cond
